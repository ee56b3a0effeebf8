"""Tick data: the TAQ schema, its validation and the arrays the engine replays."""
from mmsim.data.schema import TAQ_COLUMNS, SchemaError, validate_signals, validate_taq

__all__ = ["TAQ_COLUMNS", "SchemaError", "validate_taq", "validate_signals"]
