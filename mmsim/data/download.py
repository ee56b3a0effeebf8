"""Downloading market data over HTTP: BitMEX's public daily dumps and its funding history.

Each file is fetched through a ``.part`` file that an interrupted download resumes with an
HTTP range request, and retried with a doubling delay; a day already on disk is skipped.
"""
from __future__ import annotations

import datetime as _dt
import http.client
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable

import pandas as pd

__all__ = ["download", "BASE_URL", "API_URL"]

#: Where BitMEX serves its public daily dumps.
BASE_URL = "https://public.bitmex.com/data"

#: BitMEX's REST API, which serves the funding history (``/funding``).
API_URL = "https://www.bitmex.com/api/v1"

#: Records per request of the funding history: the API's largest page.
FUNDING_PAGE = 500

#: Seconds before the first retry of a failed download; doubled at each further one (max 10).
RETRY_DELAY = 0.5


def _dates(start_date, end_date) -> list[_dt.date]:
    start = pd.Timestamp(start_date).date()
    end = pd.Timestamp(end_date).date()
    if end < start:
        raise ValueError(f"end_date {end} is before start_date {start}")
    return [start + _dt.timedelta(days=k) for k in range((end - start).days + 1)]


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _fetch(url: str, target: Path, timeout: float, retries: int, bar) -> None:
    """Download ``url`` to ``target`` through ``target.part``, resuming a partial download.

    ``bar`` is a tqdm bar counting the file's bytes."""
    part = target.with_name(target.name + ".part")
    for attempt in range(retries + 1):
        have = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(url, headers={"User-Agent": "mmsim"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status = getattr(response, "status", 200)
                if have and status != 206:  # the server ignored the range: start over
                    have = 0
                length = response.headers.get("Content-Length")
                expected = have + int(length) if length is not None else None
                bar.reset(total=expected)  # a retry starts from what is on disk
                bar.update(have)
                with open(part, "ab" if have else "wb") as out:
                    while True:
                        try:
                            chunk = response.read(1 << 20)
                        except http.client.IncompleteRead as exc:  # keep what arrived
                            out.write(exc.partial)
                            raise
                        if not chunk:
                            break
                        out.write(chunk)
                        bar.update(len(chunk))
            size = part.stat().st_size
            if expected is not None and size != expected:
                raise OSError(f"incomplete download of {url}: {size} of {expected} bytes")
            os.replace(part, target)
            return
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:  # range beyond the end: the part file is complete
                os.replace(part, target)
                return
            if exc.code == 404:
                raise FileNotFoundError(f"{url} not found (404): no dump for that day?") from exc
            if attempt == retries:
                raise
        except (http.client.HTTPException, OSError):  # URLError and timeouts are OSErrors
            if attempt == retries:
                raise
        time.sleep(min(RETRY_DELAY * 2.0**attempt, 10.0))


def download(
    start_date,
    end_date,
    dest: str | os.PathLike,
    *,
    base_url: str = BASE_URL,
    kinds: Iterable[str] = ("trade", "quote"),
    api_url: str = API_URL,
    symbol: str = "XBTUSD",
    progress: bool = True,
    timeout: float = 60.0,
    retries: int = 3,
) -> list[Path]:
    """Download BitMEX daily trade and quote dumps, and the funding history, for
    ``start_date`` to ``end_date`` (inclusive).

    Dumps land in ``dest/trade/YYYYMMDD.csv.gz`` and ``dest/quote/YYYYMMDD.csv.gz``. Days whose
    file is already there are skipped; an interrupted download resumes from its ``.part`` file
    (with an HTTP range request) the next time. The funding history of ``symbol`` over the
    range (kind ``"funding"``, from the REST API, which pages it) lands in one file,
    ``dest/funding/SYMBOL-YYYYMMDD-YYYYMMDD.json``, that :func:`read_funding` reads.

    Parameters
    ----------
    start_date, end_date : str, datetime.date or pandas.Timestamp
        First and last UTC day.
    dest : str or os.PathLike
        Destination directory (created if needed).
    base_url : str
        Server root of the dumps; they are fetched from ``{base_url}/{kind}/{YYYYMMDD}.csv.gz``.
    kinds : iterable of str
        Any of ``"trade"``, ``"quote"`` and ``"funding"``.
    api_url : str
        REST API root; the funding history is fetched from ``{api_url}/funding``.
    symbol : str, default "XBTUSD"
        Symbol of the funding history (the dumps hold every symbol).
    progress : bool
        Show a tqdm progress bar (bytes) per file.
    timeout : float
        Seconds before a stalled connection is abandoned.
    retries : int
        Further attempts after a failed one (each resumes where the last stopped).

    Returns
    -------
    list of pathlib.Path
        Every file of the range, downloaded now or already present: the dumps in date order,
        then the funding file.

    Raises
    ------
    FileNotFoundError
        If the server has no file for a day (HTTP 404).
    """
    from tqdm.auto import tqdm

    dest = Path(dest)
    kinds = list(kinds)
    for kind in kinds:
        if kind not in ("trade", "quote", "funding"):
            raise ValueError(f"kinds must be any of 'trade', 'quote' and 'funding', got {kind!r}")
    days = _dates(start_date, end_date)
    paths = []
    for day in days:
        for kind in kinds:
            if kind == "funding":
                continue
            name = f"{day:%Y%m%d}.csv.gz"
            target = dest / kind / name
            paths.append(target)
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            url = f"{base_url.rstrip('/')}/{kind}/{name}"
            with tqdm(desc=f"{kind} {day}", unit="B", unit_scale=True, unit_divisor=1024,
                      disable=not progress, leave=False) as bar:
                _fetch(url, target, timeout, retries, bar)
            if not _is_gzip(target):
                bad = target.with_name(target.name + ".bad")
                os.replace(target, bad)
                raise OSError(f"{url} did not return a gzip file (kept as {bad})")
    if "funding" in kinds:
        target = dest / "funding" / f"{symbol}-{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}.json"
        paths.append(target)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tqdm(desc=f"funding {symbol}", unit="B", unit_scale=True, unit_divisor=1024,
                      disable=not progress, leave=False) as bar:
                _fetch_funding(api_url, symbol, days[0], days[-1], target, timeout, retries, bar)
    return paths


def _fetch_funding(api_url: str, symbol: str, first: _dt.date, last: _dt.date, target: Path,
                   timeout: float, retries: int, bar) -> None:
    """The funding history of ``symbol`` on days ``first`` to ``last``, page by page, to
    ``target`` as one JSON list of the API's records (oldest first)."""
    import json
    import urllib.parse

    records = []
    page = target.with_name(target.name + ".page")
    while True:
        query = urllib.parse.urlencode({
            "symbol": symbol, "startTime": f"{first:%Y-%m-%d}T00:00:00.000Z",
            "endTime": f"{last:%Y-%m-%d}T23:59:59.999Z", "count": FUNDING_PAGE,
            "start": len(records), "reverse": "false"})
        url = f"{api_url.rstrip('/')}/funding?{query}"
        _fetch(url, page, timeout, retries, bar)
        try:
            batch = json.loads(page.read_text(encoding="utf-8"))
        except ValueError:
            batch = None
        finally:
            page.unlink()
        if not isinstance(batch, list):
            raise OSError(f"{url} did not return a JSON list of funding records")
        records += batch
        if len(batch) < FUNDING_PAGE:
            break
    part = target.with_name(target.name + ".part")
    part.write_text(json.dumps(records), encoding="utf-8")
    os.replace(part, target)

