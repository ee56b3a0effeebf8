"""Aligned market data in one shared-memory block, mapped by every local worker without copying.

The parent copies the arrays once into a ``multiprocessing.shared_memory`` block (each array
at a 64-byte aligned offset) and hands the workers only the block's name and a small layout;
a worker's :class:`~mmsim.data.align.Aligned` is read-only NumPy views of that block.
"""
from __future__ import annotations

import os
import secrets
from multiprocessing import shared_memory

import numpy as np

from mmsim.data.align import Aligned, Checked, is_checked

__all__ = ["share", "attach"]

_ALIGN = 64


def share(data: Aligned):
    """Copy aligned arrays into a new shared-memory block.

    Parameters
    ----------
    data : Aligned

    Returns
    -------
    (multiprocessing.shared_memory.SharedMemory, dict)
        The block (the caller closes and unlinks it) and the layout :func:`attach` needs.
    """
    arrays, offset = {}, 0
    for name in Aligned._fields:
        value = getattr(data, name)
        if isinstance(value, np.ndarray):
            arrays[name] = (offset, value.dtype.str, value.shape)
            offset += -(-value.nbytes // _ALIGN) * _ALIGN
    # Named by the creating process, so a leak is traceable to the sweep that made it.
    block = shared_memory.SharedMemory(name=f"mmsim_{os.getpid()}_{secrets.token_hex(4)}",
                                       create=True, size=max(offset, 1))
    try:
        for name, (start, dtype, shape) in arrays.items():
            view = np.ndarray(shape, dtype=dtype, buffer=block.buf, offset=start)
            view[...] = getattr(data, name)
            del view  # no exported pointer may outlive the block's close()
    except BaseException:
        block.close()
        block.unlink()
        raise
    # Values checked here stay checked where the block is mapped (its views are read-only).
    tick_size = data.checked.tick_size if is_checked(data) else None
    return block, {"arrays": arrays, "columns": tuple(data.columns), "tick_size": tick_size}


def attach(name: str, layout: dict):
    """Map a block made by :func:`share`.

    Parameters
    ----------
    name : str
        The block's name.
    layout : dict
        The layout :func:`share` returned.

    Returns
    -------
    (multiprocessing.shared_memory.SharedMemory, Aligned)
        The open block (keep it alive as long as the arrays are used) and read-only views.
    """
    block = shared_memory.SharedMemory(name=name)
    fields = {}
    for field, (start, dtype, shape) in layout["arrays"].items():
        view = np.ndarray(shape, dtype=dtype, buffer=block.buf, offset=start)
        view.flags.writeable = False
        fields[field] = view
    data = Aligned(columns=layout["columns"], **fields)
    tick_size = layout["tick_size"]
    return block, data._replace(checked=None if tick_size is None else Checked(data, tick_size))
