"""Websocket capture logs: one received message a line, its receive time first.

The Binance (hftbacktest) and BitMEX (cryptofeed) capture readers share this. A log is read
whole (gunzipped when it is gzip), its lines split, the receive times parsed with numpy, and
the messages of the streams a reader wants parsed in one go by pyarrow's JSON reader against
an explicit schema (several times faster than ``json.loads`` line by line). When that fails,
the lines are gone through one by one with the standard ``json`` module to name the first
bad one: its file, its line number and what was expected there.
"""
from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from mmsim.data.schema import SchemaError

#: Characters of a bad line quoted in an error.
QUOTED = 80


def paths(source, what: str) -> list[Path]:
    """``source`` (a path or a list of them) as paths that exist, in the order given."""
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    found = [Path(p) for p in items]
    for path in found:
        if not path.exists():
            raise FileNotFoundError(f"no such {what} file: {path}")
    return found


def read_lines(path: Path) -> list[bytes]:
    """The lines of a capture file, gunzipped if it is gzip (told by its first bytes)."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.split(b"\n")


class Log:
    """The message lines of one capture file: their line numbers and receive times.

    Parameters
    ----------
    path : pathlib.Path
        The file, plain or gzip.
    sep : bytes
        What stands between the receive time and the message (``b" "``, ``b": "``).
    decimals : int
        9 when receive times are epoch seconds with up to nine decimals (cryptofeed), 0 when
        they are integer nanoseconds (hftbacktest).
    expected : str
        How a line looks, for errors (``"'<receive time in ns> <JSON message>'"``).
    skip : bytes, optional
        Lines starting with it are the recorder's own notes, not messages.
    """

    def __init__(self, path: Path, sep: bytes, decimals: int, expected: str,
                 skip: bytes | None = None):
        self.path, self.sep = path, sep
        lines = read_lines(path)
        keep = [k for k, text in enumerate(lines)
                if text and not text.isspace() and not (skip and text.startswith(skip))]
        self.lines = [lines[k] for k in keep]
        self.number = np.asarray(keep, dtype=np.int64) + 1
        self.cut = [text.find(sep) for text in self.lines]
        heads = [text[:cut] if cut > 0 else text for text, cut in zip(self.lines, self.cut)]
        self.received = receive_times(path, self.number, heads, decimals, expected)

    def messages(self, key: bytes) -> tuple[np.ndarray, np.ndarray, list[bytes]]:
        """Line numbers, receive times and texts of the messages that contain ``key``."""
        # A substring test is far cheaper than parsing every message (depth updates, the
        # bulk of a capture, are never parsed); the parsed fields are checked afterwards.
        picked = [k for k, text in enumerate(self.lines) if key in text]
        step = len(self.sep)
        texts = [self.lines[k][self.cut[k] + step:] for k in picked]
        return self.number[picked], self.received[picked], texts


def bad_line(path: Path, line: int, expected: str, got) -> SchemaError:
    """The error for line ``line`` (counted from 1) of ``path``, quoting what it holds."""
    if isinstance(got, bytes):
        got = got.decode("utf-8", "replace")
    if isinstance(got, str) and len(got) > QUOTED:
        got = got[:QUOTED] + "..."
    return SchemaError(f"{path}, line {line}: expected {expected}, got {got!r}")


def receive_times(path: Path, lines: np.ndarray, texts: list[bytes], decimals: int,
                  expected: str) -> np.ndarray:
    """Receive times written as decimal numbers to int64 nanoseconds.

    ``decimals`` is 0 for integer nanoseconds and 9 for seconds with up to nine decimals:
    both are parsed exactly (a float would round the nanoseconds of today's epoch times).
    """
    text = np.array(texts, dtype=bytes)
    if decimals:
        split = np.char.partition(text, b".")
        whole, frac = split[..., 0], split[..., 2]
        ok = (np.char.isdigit(frac) | (frac == b"")) & (np.char.str_len(frac) <= decimals)
    else:
        whole, frac = text, None
        ok = np.ones(len(text), bool)
    # 19 digits of nanoseconds reach 2286, beyond int64 (2262); any later capture is bad data.
    ok &= np.char.isdigit(whole) & (np.char.str_len(whole) <= 19 - decimals)
    if not ok.all():
        first = int(np.argmin(ok))
        raise bad_line(path, int(lines[first]), expected, texts[first])
    if not len(text):
        return np.empty(0, np.int64)
    times = whole.astype(np.int64) * 10**decimals
    if decimals:
        # Right-pad the fraction to nine digits: '0018098' is 001809800 ns.
        times += np.char.ljust(frac, decimals, b"0").astype(np.int64)
    return times


def parse_messages(path: Path, lines: np.ndarray, texts: list[bytes], schema: pa.Schema,
                   what: str) -> pa.Table:
    """JSON messages, one a line, to a table of the fields in ``schema``.

    Fields the schema marks not nullable must be present and not null; fields it does not
    name are ignored. ``lines`` are the line numbers of ``texts`` in ``path``, for errors.
    """
    if not texts:
        return schema.empty_table()
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    blob = b"\n".join(texts)
    try:
        # One block for the whole file: the messages are short and threads only cost here.
        table = pj.read_json(io.BytesIO(blob), parse_options=options,
                             read_options=pj.ReadOptions(use_threads=False,
                                                         block_size=max(len(blob) + 1, 1 << 20)))
    except pa.ArrowInvalid as exc:
        problem = exc
    else:
        if table.num_rows == len(texts):
            return table
        problem = f"{table.num_rows} rows for {len(texts)} lines"  # blank messages are skipped
    _raise_first_bad(path, lines, texts, schema, what)
    # pyarrow refused what json takes (an integer beyond int64, say)
    raise SchemaError(f"{path}: cannot read the {what} messages: {problem}")


def _raise_first_bad(path, lines, texts, schema, what) -> None:
    """Raise the error of the first message that breaks ``schema`` (the slow path)."""
    for line, text in zip(lines, texts):
        try:
            value = json.loads(text)
        except ValueError:
            raise bad_line(path, int(line), f"a {what} message in JSON", text) from None
        problem = _problem(value, pa.struct(list(schema)), "")
        if problem is not None:
            expected, got = problem
            raise bad_line(path, int(line), f"{expected} in a {what} message", got)


#: The Python values json gives for each type of a schema, and its name in errors.
_PYTHON_TYPES = {"string": ((str,), "a string"), "int64": ((int,), "an integer"),
                 "bool": ((bool,), "true or false"), "double": ((int, float), "a number")}


def _problem(value, kind: pa.DataType, name: str):
    """The first way ``value`` breaks ``kind``, as (what was expected, what was found), or
    None."""
    if pa.types.is_struct(kind):
        if not isinstance(value, dict):
            return f"an object{' in ' + repr(name) if name else ''}", value
        for field in kind:
            inner = f"{name}.{field.name}" if name else field.name
            if value.get(field.name) is None:
                if not field.nullable:
                    return f"field {inner!r}", value
                continue
            problem = _problem(value[field.name], field.type, inner)
            if problem is not None:
                return problem
        return None
    if pa.types.is_list(kind):
        if not isinstance(value, list):
            return f"a list in {name!r}", value
        for k, item in enumerate(value):
            problem = _problem(item, kind.value_type, f"{name}[{k}]")
            if problem is not None:
                return problem
        return None
    allowed, called = _PYTHON_TYPES[str(kind)]
    # bool is an int to Python but not a number in JSON
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        return f"field {name!r} to be {called}", value
    return None


def numbers(path: Path, lines: np.ndarray, texts: pa.Array, name: str, what: str) -> np.ndarray:
    """Numbers sent as strings (Binance's prices and sizes) to float64."""
    try:
        return pc.cast(texts, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        text = pd.Series(texts.to_numpy(zero_copy_only=False))
        first = int(np.argmax(pd.to_numeric(text, errors="coerce").isna().to_numpy()))
        raise bad_line(path, int(lines[first]), f"field {name!r} of a {what} message to be "
                       f"a number", text.iloc[first]) from None
