"""Tick data: the TAQ schema and its validation, reading and writing, exchange converters,
bars and features, and synthetic markets.

Converters live in submodules: :mod:`mmsim.data.bitmex` (public daily dumps, fetched by
:mod:`mmsim.data.download`), :mod:`mmsim.data.binance` (trades + bookTicker captures) and
:mod:`mmsim.data.tardis` (tardis.dev ``trades`` + ``quotes`` CSVs); each has ``to_taq``. Raw
websocket captures convert with ``binance.raw_to_taq`` (hftbacktest's logs) and
``bitmex.cryptofeed_to_taq`` (cryptofeed's BitMEX log). All of them merge trades and quotes
into TAQ through :mod:`mmsim.data.merge`.

``mmsim.data.schema`` is imported eagerly (the engine needs it); everything else is loaded on
first use, so ``import mmsim.data`` does not import pyarrow.
"""
from __future__ import annotations

from mmsim import _lazy

from mmsim.data.schema import (
    TAQ_COLUMNS,
    SchemaError,
    clean_taq,
    validate_signals,
    validate_taq,
)

# name -> module that defines it; resolved lazily by __getattr__ below.
_LAZY = {
    "synthetic_taq": "mmsim.data.synthetic",
    "read_taq": "mmsim.data.io",
    "write_taq": "mmsim.data.io",
    "TAQStream": "mmsim.data.io",
    "ohlcv": "mmsim.data.bars",
    "fix_features": "mmsim.data.bars",
    "volatility": "mmsim.data.bars",
    "align": "mmsim.data.align",
}

__all__ = ["TAQ_COLUMNS", "SchemaError", "validate_taq", "clean_taq", "validate_signals", *_LAZY]


# Converters and the other data modules, reachable as ``mmsim.data.bitmex`` without an import.
_SUBMODULES = ("schema", "io", "bars", "synthetic", "merge", "download", "bitmex", "binance",
               "tardis")

__getattr__, __dir__ = _lazy.attach(__name__, _LAZY, _SUBMODULES, public=__all__)
