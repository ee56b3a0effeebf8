"""The ``mmsim convert`` command: raw files in, a TAQ file out, rows and time span printed."""
import gzip
from pathlib import Path

import pandas as pd
import pytest

from helpers import BINANCE_DIR, BITMEX_DIR
from mmsim.cli import main
from mmsim.data import binance, bitmex, tardis
from mmsim.data.io import read_taq



@pytest.fixture
def binance_files(shared):
    return (shared(*BINANCE_DIR, "btcusd_perp_trades.csv.gz"),
            shared(*BINANCE_DIR, "btcusd_perp_quotes.csv.gz"))


def test_convert_binance(tmp_path, capsys, binance_files):
    trades, quotes = binance_files
    out = tmp_path / "perp.parquet"
    assert main(["convert", "binance", "--trades", str(trades), "--quotes", str(quotes),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed == (f"wrote 50,189 rows from 2024-08-08 23:54:17.476 to 2024-08-09 00:05:04.785 "
                       f"UTC: 1,834 trades, 48,355 quote updates, to {out}\n")
    pd.testing.assert_frame_equal(read_taq(out), binance.to_taq(trades, quotes))


def test_convert_binance_keeping_receive_times(tmp_path, capsys, binance_files):
    trades, quotes = binance_files
    out = tmp_path / "perp.parquet"
    assert main(["convert", "binance", "--trades", str(trades), "--quotes", str(quotes),
                 "--out", str(out), "--local-time"]) == 0
    pd.testing.assert_frame_equal(read_taq(out), binance.to_taq(trades, quotes, local_time=True))
    assert list(read_taq(out).columns)[-1] == "local_time"


def test_convert_bitmex_capture_to_csv(tmp_path, capsys, shared):
    trades, quotes = shared(*BITMEX_DIR, "xbtusd_trades.csv"), shared(*BITMEX_DIR, "xbtusd_quotes.csv")
    out = tmp_path / "xbt.csv"
    assert main(["convert", "bitmex", "--trades", str(trades), "--quotes", str(quotes),
                 "--out", str(out)]) == 0
    assert "wrote 292 rows from 2021-07-22 22:35:59.790 to 2021-07-22 22:36:37.610 UTC: 6 trades, " \
           "286 quote updates" in capsys.readouterr().out
    pd.testing.assert_frame_equal(read_taq(out), bitmex.to_taq(trades, quotes))


def test_convert_binance_raw_captures(tmp_path, capsys, shared, binance_files):
    raw = [shared(*BINANCE_DIR, "raw", f"cm_btcusd_perp_2024080{d}.gz") for d in (8, 9)]
    trades, quotes = binance_files
    out = tmp_path / "perp.parquet"
    assert main(["convert", "binance-raw", *map(str, raw), "--out", str(out)]) == 0
    # The same rows as the CSVs derived from these captures, receive times kept.
    assert capsys.readouterr().out == (
        f"wrote 50,189 rows from 2024-08-08 23:54:17.476 to 2024-08-09 00:05:04.785 "
        f"UTC: 1,834 trades, 48,355 quote updates, to {out}\n")
    pd.testing.assert_frame_equal(read_taq(out), binance.to_taq(trades, quotes, local_time=True))


def test_convert_a_cryptofeed_log(tmp_path, capsys, shared):
    log = shared(*BITMEX_DIR, "raw_BITMEX.ws.1.0.txt")
    out = tmp_path / "xbt.parquet"
    assert main(["convert", "cryptofeed", str(log), "--out", str(out), "--clock", "local"]) == 0
    assert "wrote 292 rows" in capsys.readouterr().out
    pd.testing.assert_frame_equal(read_taq(out), bitmex.cryptofeed_to_taq(log, clock="local"))


def _day_dir(root: Path) -> Path:
    for day, price in (("20190320", 4000), ("20190321", 4010)):
        stamp = f"{day[:4]}-{day[4:6]}-{day[6:]}"
        (root / "trade").mkdir(parents=True, exist_ok=True)
        (root / "quote").mkdir(parents=True, exist_ok=True)
        (root / "trade" / f"{day}.csv.gz").write_bytes(gzip.compress(
            (f"timestamp,symbol,side,size,price\n{stamp}D01:00:00.000000000,XBTUSD,Buy,5,{price}\n")
            .encode()))
        (root / "quote" / f"{day}.csv.gz").write_bytes(gzip.compress(
            (f"timestamp,symbol,bidSize,bidPrice,askPrice,askSize\n"
             f"{stamp}D00:30:00.000000000,XBTUSD,10,{price - 0.5},{price},20\n").encode()))
    return root


def test_convert_a_bitmex_download_directory_day_by_day(tmp_path, capsys):
    source = _day_dir(tmp_path / "dumps")
    out = tmp_path / "taq"
    assert main(["convert", "bitmex", str(source), "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out == (f"wrote 4 rows from 2019-03-20 00:30:00.000 to "
                                       f"2019-03-21 01:00:00.000 UTC to {out}\n")
    assert sorted(p.name for p in out.iterdir()) == ["2019-03-20.parquet", "2019-03-21.parquet"]
    assert len(read_taq(out, "2019-03-21", "2019-03-22")) == 2


def test_convert_tardis(tmp_path, capsys):
    trades, quotes = tmp_path / "t.csv", tmp_path / "q.csv"
    trades.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
                      "deribit,BTC-PERPETUAL,1572566400500000,1572566400600000,1,buy,9150.5,10\n")
    quotes.write_text("exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,"
                      "bid_amount\n"
                      "deribit,BTC-PERPETUAL,1572566400000000,1572566400100000,100,9150.5,9150,200\n")
    out = tmp_path / "t.parquet"
    assert main(["convert", "tardis", "--trades", str(trades), "--quotes", str(quotes),
                 "--out", str(out), "--clock", "local"]) == 0
    assert "wrote 2 rows from 2019-11-01 00:00:00.100 to 2019-11-01 00:00:00.600 UTC: 1 trades" \
        in capsys.readouterr().out
    pd.testing.assert_frame_equal(read_taq(out), tardis.to_taq(trades, quotes, clock="local"))


@pytest.mark.parametrize("argv, message", [
    (["convert", "binance", "--out", "x.parquet"], "need --trades FILE... and --quotes FILE..."),
    (["convert", "binance", "somedir", "--out", "x"], "a source directory is only understood for bitmex"),
    (["convert", "bitmex", "somedir", "--trades", "a", "--quotes", "b", "--out", "x"],
     "give either a source directory or --trades/--quotes, not both"),
    (["convert", "bitmex", "somedir", "--out", "x.parquet"], "--out must be a directory"),
    (["convert", "bitmex", "missing_dir", "--out", "x"], "has no trade/ folder"),
    (["convert", "tardis", "--trades", "nope.csv", "--quotes", "nope.csv", "--out", "x.parquet"],
     "no such trades file"),
    (["convert", "bitmex", "a", "b", "--out", "x"], "give one download directory, got 2"),
    (["convert", "cryptofeed", "--out", "x.parquet"], "need the cryptofeed capture FILE(s)"),
    (["convert", "binance-raw", "--trades", "a", "--quotes", "b", "--out", "x.parquet"],
     "binance-raw reads capture files, which hold both trades and quotes: give them as "
     "arguments, not --trades/--quotes"),
    (["convert", "binance-raw", "nope.gz", "--out", "x.parquet"], "no such capture file: nope.gz"),
])
def test_convert_errors(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_convert_reports_schema_errors_and_cleans(tmp_path, capsys):
    trades, quotes = tmp_path / "t.csv", tmp_path / "q.csv"
    trades.write_text("timestamp,symbol,side,size,price\n"
                      "2019-03-20D00:00:02.000000000,XBTUSD,Buy,5,4000\n")
    quotes.write_text("timestamp,symbol,bidSize,bidPrice,askPrice,askSize\n"
                      "2019-03-20D00:00:00.000000000,XBTUSD,10,3999.5,4000,20\n"
                      "2019-03-20D00:00:01.000000000,XBTUSD,10,4000.5,4000,20\n")
    argv = ["convert", "bitmex", "--trades", str(trades), "--quotes", str(quotes),
            "--out", str(tmp_path / "o.parquet")]
    assert main(argv) == 2
    assert "crossed quote at row 1" in capsys.readouterr().err
    assert main(argv + ["--clean"]) == 0
    assert "wrote 2 rows" in capsys.readouterr().out
