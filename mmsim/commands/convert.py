"""``mmsim convert FORMAT``: exchange trade and quote files (or websocket captures) in, a
Parquet TAQ out."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register", "run"]

FORMATS = ("bitmex", "binance", "tardis", "binance-raw", "cryptofeed")

#: Formats read from websocket capture logs, given as arguments: one file holds both trades
#: and quotes.
CAPTURES = ("binance-raw", "cryptofeed")


def register(subparsers) -> None:
    """Add the ``convert`` sub-command.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The collection returned by ``ArgumentParser.add_subparsers``.
    """
    parser = subparsers.add_parser(
        "convert",
        help="convert exchange trade and quote files to a TAQ Parquet file",
        description=(
            "Convert raw trades and top-of-book quotes to the TAQ schema (fills sharing a\n"
            "timestamp and side aggregated, the quote in force before each trade attached,\n"
            "quote changes as quote-only rows) and write them with mmsim.write_taq: OUT\n"
            "ending in .parquet gives one file, .csv a CSV, anything else a directory of\n"
            "daily files. Prints the rows written and their time span."
        ),
        epilog=(
            "examples:\n"
            "  mmsim convert bitmex --trades trade/20190320.csv.gz --quotes quote/20190320.csv.gz"
            " --out taq.parquet\n"
            "  mmsim convert bitmex dumps/ --out taq/        # a download directory, day by day\n"
            "  mmsim convert binance --trades btcusd_perp_trades.csv.gz "
            "--quotes btcusd_perp_quotes.csv.gz --out perp.parquet\n"
            "  mmsim convert tardis --trades trades.csv.gz --quotes quotes.csv.gz --out t.parquet\n"
            "  mmsim convert binance-raw cm_btcusd_perp_20240808.gz cm_btcusd_perp_20240809.gz"
            " --out perp.parquet\n"
            "  mmsim convert cryptofeed raw_BITMEX.ws.1.0.txt --out xbt.parquet"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("format", choices=FORMATS, help="layout of the input files")
    parser.add_argument("source", nargs="*",
                        help="bitmex: a directory from mmsim.data.bitmex.download (trade/ and "
                             "quote/ folders), converted day by day; binance-raw (hftbacktest's "
                             "Binance captures) and cryptofeed (its BitMEX log): the capture "
                             "file(s), in order")
    parser.add_argument("--trades", nargs="+", metavar="FILE", help="trade CSV file(s)")
    parser.add_argument("--quotes", nargs="+", metavar="FILE", help="quote CSV file(s)")
    parser.add_argument("--out", "-o", required=True, help="output .parquet, .csv or directory")
    parser.add_argument("--symbol", help="symbol to keep (bitmex default: XBTUSD; others: the "
                                         "only one present)")
    parser.add_argument("--clock", choices=("exchange", "local"), default="exchange",
                        help="binance/tardis/captures: exchange timestamps (default) or "
                             "receive times")
    parser.add_argument("--local-time", action="store_true",
                        help="binance: keep receive times beside exchange times as a "
                             "local_time column (the strategy sees each row once received); "
                             "binance-raw and cryptofeed always keep them with exchange times")
    parser.add_argument("--unknown", choices=("infer", "drop", "raise"), default="infer",
                        help="tardis: trades whose side is 'unknown' "
                             "(default: infer from the quote)")
    parser.add_argument("--clean", action="store_true",
                        help="drop rows that break the TAQ schema instead of failing")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _time(ts) -> str:
    if ts.tz is not None:
        ts = ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]  # milliseconds


def _span(rows: int, first, last) -> str:
    if not rows:
        return "0 rows"
    return f"{rows:,} rows from {_time(first)} to {_time(last)} UTC"


def run(args) -> int:
    """Execute ``mmsim convert``.

    Parameters
    ----------
    args : argparse.Namespace
        ``format``, ``source`` (a list), ``trades``, ``quotes``, ``out``, ``symbol``,
        ``clock``, ``local_time``, ``unknown``, ``clean``, ``quiet``.

    Returns
    -------
    int
        0 on success, 2 on bad usage or data that cannot be converted.
    """
    from mmsim.data import binance, bitmex, tardis
    from mmsim.data.io import write_taq

    def fail(message: str) -> int:
        print(f"mmsim convert: {message}", file=sys.stderr)
        return 2

    out = Path(args.out)
    bitmex_symbol = args.symbol or "XBTUSD"
    try:
        if args.format in CAPTURES:
            if args.trades or args.quotes:
                return fail(f"{args.format} reads capture files, which hold both trades and "
                            f"quotes: give them as arguments, not --trades/--quotes")
            if not args.source:
                return fail(f"need the {args.format} capture FILE(s) to convert")
            convert = (binance.raw_to_taq if args.format == "binance-raw"
                       else bitmex.cryptofeed_to_taq)
            symbol = args.symbol if args.format == "binance-raw" else bitmex_symbol
            taq = convert(args.source, symbol, clock=args.clock, clean=args.clean,
                          local_time=True if args.local_time else None)
        elif args.source:
            if args.format != "bitmex":
                return fail("a source directory is only understood for bitmex; use --trades "
                            "and --quotes")
            if args.trades or args.quotes:
                return fail("give either a source directory or --trades/--quotes, not both")
            if out.suffix:
                return fail(f"a directory converts day by day into a directory of daily files; "
                            f"--out must be a directory, got {out}")
            if len(args.source) > 1:
                return fail(f"give one download directory, got {len(args.source)}")
            rows, first, last = bitmex.convert_days(
                args.source[0], out, symbol=bitmex_symbol, clean=args.clean,
                progress=not args.quiet)
            print(f"wrote {_span(rows, first, last)} to {out}")
            return 0
        elif not args.trades or not args.quotes:
            return fail("need --trades FILE... and --quotes FILE... (or, for bitmex, a "
                        "download directory)")
        elif args.format == "bitmex":
            taq = bitmex.to_taq(args.trades, args.quotes, symbol=bitmex_symbol, clean=args.clean)
        elif args.format == "binance":
            taq = binance.to_taq(args.trades, args.quotes, symbol=args.symbol, clock=args.clock,
                                 clean=args.clean, local_time=args.local_time)
        else:
            taq = tardis.to_taq(args.trades, args.quotes, symbol=args.symbol, clock=args.clock,
                                unknown=args.unknown, clean=args.clean)
        path = write_taq(taq, out)
    except (FileNotFoundError, ValueError) as exc:  # SchemaError is a ValueError
        return fail(str(exc))
    trades = int((taq["amount"] != 0).sum())
    first, last = (taq.index[0], taq.index[-1]) if len(taq) else (None, None)
    print(f"wrote {_span(len(taq), first, last)}: {trades:,} trades, "
          f"{len(taq) - trades:,} quote updates, to {path}")
    return 0
