"""Lazy attributes for a package: names and submodules imported on first access, so that
``import mmsim`` stays fast and optional dependencies stay optional until used."""
from __future__ import annotations

import importlib

__all__ = ["attach"]


def attach(package: str, exports: dict, submodules=(), public=()):
    """The ``__getattr__`` and ``__dir__`` of a package with lazy members.

    Parameters
    ----------
    package : str
        The package's dotted name (its ``__name__``).
    exports : dict
        Name -> dotted name of the module that defines it, imported on first access.
    submodules : iterable of str
        Submodules reachable as attributes (``package.sub``) without importing them first.
    public : iterable of str
        Further public names the package defines itself (``__version__``, eager imports).

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)``. ``__dir__`` lists the public names only, not what the
        package imports for its own use.
    """
    submodules = frozenset(submodules)
    listing = sorted(set(exports) | submodules | set(public))

    def __getattr__(name: str):
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    def __dir__():
        return list(listing)

    return __getattr__, __dir__
