"""BitMEX dumps to TAQ (hand-built fixtures and the real cryptofeed capture) and the downloader."""
import gzip
import http.server
import re
import threading

import numpy as np
import pandas as pd
import pytest

from helpers import BITMEX_DIR
from mmsim.data import bitmex, download, merge
from mmsim.data.io import read_taq
from mmsim.data.schema import TAQ_COLUMNS, SchemaError

NAN = np.nan

TRADES = """timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional
2019-03-20D00:00:05.698000000,XBTUSD,Buy,8200,3997,ZeroPlusTick,a,1,1,1
2019-03-20D00:00:06.933000000,XBTUSD,Buy,25,3997,ZeroPlusTick,b,1,1,1
2019-03-20D00:00:07.546000000,XBTUSD,Sell,783273,3996.5,MinusTick,c,1,1,1
2019-03-20D00:00:07.546000000,ETHUSD,Sell,5,130,MinusTick,x,1,1,1
2019-03-20D00:00:07.546000000,XBTUSD,Sell,215586,3996,MinusTick,d,1,1,1
2019-03-20D00:00:07.546000000,XBTUSD,Buy,10,3997,PlusTick,e,1,1,1
2019-03-20D00:00:07.546000000,XBTUSD,Sell,1000,3995.5,MinusTick,f,1,1,1
2019-03-20D00:00:08.000000000,XBTUSD,Buy,100,3997,ZeroPlusTick,g,1,1,1
"""
QUOTES = """timestamp,symbol,bidSize,bidPrice,askPrice,askSize
2019-03-20D00:00:06.000000000,XBTUSD,758874,3996.5,3997,885865
2019-03-20D00:00:06.000000000,ETHUSD,10,129.95,130,10
2019-03-20D00:00:06.500000000,XBTUSD,758874,3996.5,3997,885865
2019-03-20D00:00:07.000000000,XBTUSD,783273,3996.5,3997,862056
2019-03-20D00:00:07.546000000,XBTUSD,301000,3995.5,3997,862046
2019-03-20D00:00:07.900000000,XBTUSD,301000,3995.5,3996,7000
"""


@pytest.fixture
def dumps(tmp_path):
    trades, quotes = tmp_path / "trade.csv", tmp_path / "quote.csv.gz"
    trades.write_text(TRADES)
    quotes.write_bytes(gzip.compress(QUOTES.encode()))
    return trades, quotes


def test_to_taq_by_hand(dumps):
    taq = bitmex.to_taq(*dumps)
    t = lambda s: pd.Timestamp(f"2019-03-20 00:00:{s}", tz="UTC")  # noqa: E731
    expected = pd.DataFrame(
        [
            # the first trade comes before any quote
            [3997.0, 8200.0, NAN, NAN, NAN, NAN],
            # the 06.500 quote repeats the 06.000 one: not a change, no row
            [NAN, 0.0, 3996.5, 758874.0, 3997.0, 885865.0],
            [3997.0, 25.0, 3996.5, 758874.0, 3997.0, 885865.0],
            [NAN, 0.0, 3996.5, 783273.0, 3997.0, 862056.0],
            # three sells at 07.546 are one order: summed size, VWAP price; the buy at the same
            # time is its own row; both see the 07.000 quote, not the 07.546 one (their result)
            [(783273 * 3996.5 + 215586 * 3996 + 1000 * 3995.5) / 999859, -999859.0,
             3996.5, 783273.0, 3997.0, 862056.0],
            [3997.0, 10.0, 3996.5, 783273.0, 3997.0, 862056.0],
            [NAN, 0.0, 3995.5, 301000.0, 3997.0, 862046.0],
            [NAN, 0.0, 3995.5, 301000.0, 3996.0, 7000.0],
            [3997.0, 100.0, 3995.5, 301000.0, 3996.0, 7000.0],
        ],
        index=pd.DatetimeIndex([t("05.698"), t("06.000"), t("06.933"), t("07.000"), t("07.546"),
                                t("07.546"), t("07.546"), t("07.900"), t("08.000")], name="time"
                               ).as_unit("ns"),
        columns=list(TAQ_COLUMNS),
    )
    pd.testing.assert_frame_equal(taq, expected, check_exact=False, rtol=1e-12)
    # The notebook's row: 3996.371527, -998859 is the same kind of VWAP.
    assert taq["price"].iloc[4] == pytest.approx(3996.5 - (215586 * 0.5 + 1000) / 999859, abs=1e-9)


def test_to_taq_takes_frames_and_other_symbols(dumps):
    trades = pd.read_csv(dumps[0])
    quotes = pd.read_csv(dumps[1])
    from_frames = bitmex.to_taq(trades, quotes)
    pd.testing.assert_frame_equal(from_frames, bitmex.to_taq(*dumps))
    eth = bitmex.to_taq(trades, quotes, symbol="ETHUSD")
    assert list(eth["amount"]) == [0.0, -5.0]
    with pytest.raises(ValueError, match=r"several symbols \['ETHUSD', 'XBTUSD'\]; pass symbol="):
        bitmex.to_taq(trades, quotes, symbol=None)
    with pytest.raises(ValueError, match="no rows for symbol 'XBTUSDT'"):
        bitmex.to_taq(trades, quotes, symbol="XBTUSDT")


def test_to_taq_several_files_in_a_list(tmp_path, dumps):
    lines = TRADES.splitlines()
    first, second = tmp_path / "t1.csv", tmp_path / "t2.csv"
    first.write_text("\n".join(lines[:4]) + "\n")
    second.write_text("\n".join(lines[:1] + lines[4:]) + "\n")
    pd.testing.assert_frame_equal(bitmex.to_taq([first, second], dumps[1]), bitmex.to_taq(*dumps))


def test_to_taq_errors(tmp_path, dumps):
    with pytest.raises(FileNotFoundError, match="no such trades file"):
        bitmex.to_taq(tmp_path / "nope.csv", dumps[1])
    bad = pd.read_csv(dumps[0]).drop(columns=["price"])
    with pytest.raises(SchemaError, match=r"trades is missing column\(s\) \['price'\]"):
        bitmex.to_taq(bad, dumps[1])
    odd = pd.read_csv(dumps[0])
    odd.loc[1, "side"] = "Short"
    with pytest.raises(SchemaError, match="'side' must be Buy or Sell, got 'Short' at row 1"):
        bitmex.to_taq(odd, dumps[1])
    crossed = pd.read_csv(dumps[1])
    crossed.loc[4, "bidPrice"] = 3997.5
    with pytest.raises(SchemaError, match="crossed quote"):
        bitmex.to_taq(dumps[0], crossed)
    assert len(bitmex.to_taq(dumps[0], crossed, clean=True)) == 8


def test_parse_time():
    ns = bitmex.parse_time(["2019-03-20D00:00:05.698000000", "2019-03-20D23:59:59.999999999"])
    assert ns[0] == pd.Timestamp("2019-03-20 00:00:05.698", tz="UTC").value
    assert ns[1] == pd.Timestamp("2019-03-20 23:59:59.999999999", tz="UTC").value
    with pytest.raises(SchemaError, match="cannot parse timestamps such as 'yesterday'"):
        bitmex.parse_time(["yesterday"])
    # The message names the first bad value and its row, not the first value.
    with pytest.raises(SchemaError, match=r"such as '2019-03-20D25:00:00' \(row 1\)"):
        bitmex.parse_time(["2019-03-20D00:00:05", "2019-03-20D25:00:00", "later"])
    with pytest.raises(SchemaError, match=r"such as None \(row 0\)"):
        bitmex.parse_time([None])


def test_build_taq_sorts_unsorted_input_and_handles_no_trades():
    taq = merge.build_taq([3, 1], [1, -1], [1.0, 2.0], [10.0, 9.0],
                           [2, 0], [9.0, 8.0], [5.0, 5.0], [10.0, 9.5], [5.0, 5.0])
    assert list(taq.index.asi8) == [0, 1, 2, 3]
    assert list(taq["amount"]) == [0.0, -2.0, 0.0, 1.0]
    assert taq["bid_price"].iloc[1] == 8.0  # the quote at 0
    assert taq["bid_price"].iloc[3] == 9.0  # the quote at 2
    only_quotes = merge.build_taq([], [], [], [], [5], [1.0], [2.0], [1.5], [2.0])
    assert len(only_quotes) == 1 and only_quotes["amount"].iloc[0] == 0.0
    assert list(only_quotes.columns) == list(TAQ_COLUMNS)
    assert only_quotes.index.tz is not None
    naive = merge.build_taq([], [], [], [], [5], [1.0], [2.0], [1.5], [2.0], tz=None)
    assert naive.index.tz is None and naive.index[0].value == 5
    with pytest.raises(ValueError, match="tz must be 'UTC' or None"):
        merge.build_taq([], [], [], [], [5], [1.0], [2.0], [1.5], [2.0], tz="Europe/Paris")


# ---- the real capture ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_files(shared):
    return shared(*BITMEX_DIR, "xbtusd_trades.csv"), shared(*BITMEX_DIR, "xbtusd_quotes.csv")


@pytest.fixture(scope="module")
def real_taq(real_files):
    return bitmex.to_taq(*real_files)


def test_real_capture_converts(real_taq, real_files):
    trades, quotes = map(pd.read_csv, real_files)
    taq = real_taq
    is_trade = taq["amount"] != 0
    # 16 fills in 6 (timestamp, side) groups; every quote row changes the quote.
    assert is_trade.sum() == trades.groupby(["timestamp", "side"]).ngroups == 6
    assert (~is_trade).sum() == len(quotes) == 286
    assert taq["amount"].abs().sum() == trades["size"].sum()
    # The sweep at 22:36:33.432: fills computed by hand from the capture.
    sweep = trades[trades["timestamp"] == "2021-07-22D22:36:33.432000000"]
    row = taq.loc[pd.Timestamp("2021-07-22 22:36:33.432", tz="UTC")]
    row = row[row["amount"] != 0].iloc[0]
    assert row["amount"] == sweep["size"].sum() == 33400
    assert row["price"] == pytest.approx((sweep["size"] * sweep["price"]).sum() / 33400)
    assert row["price"] > row["ask_price"]  # through the displayed ask (100 contracts)
    # Its quote is the last one stamped before it.
    last = quotes[quotes["timestamp"] < "2021-07-22D22:36:33.432000000"].iloc[-1]
    assert (row["bid_price"], row["bid_amount"], row["ask_price"], row["ask_amount"]) == \
        (last["bidPrice"], last["bidSize"], last["askPrice"], last["askSize"])
    # On the 0.5 tick, uncrossed.
    assert ((taq["bid_price"].dropna() * 2) % 1 == 0).all()
    quoted = taq["bid_price"].notna()
    assert (taq.loc[quoted, "bid_price"] < taq.loc[quoted, "ask_price"]).all()


def test_a_backtest_runs_on_the_real_capture(real_taq):
    pytest.importorskip("mmsim._core", reason="the compiled engine is not built")
    import mmsim

    class Quoter(mmsim.Strategy):
        def on_signal(self, ctx):
            for oid in ctx.orders["order_id"]:
                ctx.cancel(oid)
            if ctx.bid_price == ctx.bid_price:  # a quote exists
                ctx.limit(ctx.bid_price, 100)
                ctx.limit(ctx.ask_price, -100)

    signals = pd.DataFrame({"x": 0.0}, index=pd.date_range("2021-07-22 22:36:00", "2021-07-22 22:36:37",
                                                           freq="1s", tz="UTC", name="time"))
    result = mmsim.backtest(real_taq, signals, Quoter(), contract=mmsim.BITMEX_XBTUSD, latency=0.1)
    assert len(result.orders) > 0

    class Idle(mmsim.Strategy):
        def on_signal(self, ctx):
            pass

    quiet = mmsim.backtest(real_taq, signals, Idle(), contract=mmsim.BITMEX_XBTUSD)
    assert len(quiet.balances) == len(signals)


# ---- download ------------------------------------------------------------------------------

def _dump(day: str, kind: str) -> bytes:
    stamp = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    if kind == "trade":
        text = (TRADES.splitlines()[0] + "\n"
                + f"{stamp}D00:00:01.000000000,XBTUSD,Buy,{int(day[-2:])},4000,PlusTick,a,1,1,1\n"
                + f"{stamp}D12:00:00.000000000,XBTUSD,Sell,7,3999.5,MinusTick,b,1,1,1\n")
    else:
        text = (QUOTES.splitlines()[0] + "\n"
                + f"{stamp}D06:00:00.000000000,XBTUSD,1000,3999.5,4000,2000\n"
                + f"{stamp}D18:00:00.000000000,XBTUSD,1100,{3999 + int(day[-2:])},"
                  f"{4000 + int(day[-2:])},2100\n")
    return gzip.compress(text.encode())


class _Server:
    """Serves ``files`` (path -> bytes, or a function of the path) on 127.0.0.1 with Range
    support; records requests.

    ``cut_first`` drops the first response halfway through its body, ``cut_always`` every one.
    """

    def __init__(self, files, ignore_range=False, cut_first=False, cut_always=False):
        self.files = files
        self.requests = []
        self.ignore_range = ignore_range
        self.cut_first = cut_first
        self.cut_always = cut_always
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                files = server.files
                body = files(self.path) if callable(files) else files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and not server.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                if server.cut_always or (server.cut_first and len(server.requests) == 1):
                    payload = payload[: len(payload) // 2]  # the connection drops halfway
                    self.close_connection = True
                self.wfile.write(payload)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


DAYS = ("20190320", "20190321", "20190322")


def _files():
    return {f"/data/{kind}/{day}.csv.gz": _dump(day, kind) for day in DAYS for kind in ("trade", "quote")}


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch):
    monkeypatch.setattr(download, "RETRY_DELAY", 0.01)


def test_download_fetches_each_day_and_skips_present_ones(tmp_path, capsys):
    files = _files()
    with _Server(files) as server:
        paths = bitmex.download("2019-03-20", "2019-03-22", tmp_path, base_url=server.url)
        assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
            f"{kind}/{day}.csv.gz" for day in DAYS for kind in ("trade", "quote")]
        for p in paths:
            assert p.read_bytes() == files[f"/data/{p.parent.name}/{p.name}"]
        assert len(server.requests) == 6
        assert "trade 2019-03-20" in capsys.readouterr().err  # the tqdm bar
        # Everything present: nothing is fetched again.
        again = bitmex.download("2019-03-20", "2019-03-22", tmp_path, base_url=server.url,
                                progress=False)
        assert again == paths and len(server.requests) == 6
        # One day missing: only that day's files are fetched.
        paths[2].unlink()
        bitmex.download("2019-03-20", "2019-03-22", tmp_path, base_url=server.url, progress=False)
        assert server.requests[6:] == [("/data/trade/20190321.csv.gz", None)]
    assert not list(tmp_path.rglob("*.part"))


def test_download_resumes_a_partial_file(tmp_path):
    files = _files()
    body = files["/data/quote/20190321.csv.gz"]
    part = tmp_path / "quote" / "20190321.csv.gz.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(body[:100])
    with _Server(files) as server:
        bitmex.download("2019-03-21", "2019-03-21", tmp_path, base_url=server.url,
                        kinds=["quote"], progress=False)
    assert server.requests == [("/data/quote/20190321.csv.gz", "bytes=100-")]
    assert (tmp_path / "quote" / "20190321.csv.gz").read_bytes() == body
    assert not part.exists()


def test_download_restarts_when_the_server_ignores_ranges(tmp_path):
    files = _files()
    body = files["/data/trade/20190320.csv.gz"]
    part = tmp_path / "trade" / "20190320.csv.gz.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"stale bytes")
    with _Server(files, ignore_range=True) as server:
        bitmex.download("2019-03-20", "2019-03-20", tmp_path, base_url=server.url,
                        kinds=["trade"], progress=False)
    assert (tmp_path / "trade" / "20190320.csv.gz").read_bytes() == body


def test_download_retries_a_dropped_connection_from_where_it_stopped(tmp_path):
    files = _files()
    body = files["/data/trade/20190320.csv.gz"]
    with _Server(files, cut_first=True) as server:
        bitmex.download("2019-03-20", "2019-03-20", tmp_path, base_url=server.url,
                        kinds=["trade"], progress=False)
    assert (tmp_path / "trade" / "20190320.csv.gz").read_bytes() == body
    assert server.requests[0] == ("/data/trade/20190320.csv.gz", None)
    assert server.requests[1] == ("/data/trade/20190320.csv.gz", f"bytes={len(body) // 2}-")


def test_a_resumed_download_counts_each_byte_once(tmp_path):
    class Bar:
        def __init__(self):
            self.n, self.total = 0, None

        def reset(self, total=None):
            self.n, self.total = 0, total

        def update(self, k):
            self.n += k

    files = _files()
    body = files["/data/trade/20190320.csv.gz"]
    bar = Bar()
    with _Server(files, cut_first=True) as server:
        download._fetch(f"{server.url}/trade/20190320.csv.gz", tmp_path / "t.csv.gz", 5.0, 3, bar)
    assert len(server.requests) == 2  # the dropped connection, then the resumed rest
    assert (bar.n, bar.total) == (len(body), len(body))


def test_download_errors(tmp_path):
    with _Server(_files()) as server:
        with pytest.raises(FileNotFoundError, match=r"/data/trade/20190323.csv.gz not found \(404\)"):
            bitmex.download("2019-03-23", "2019-03-23", tmp_path, base_url=server.url,
                            progress=False)
    with _Server({"/data/trade/20190320.csv.gz": b"<html>no</html>"}) as server:
        with pytest.raises(OSError, match="did not return a gzip file"):
            bitmex.download("2019-03-20", "2019-03-20", tmp_path, base_url=server.url,
                            kinds=["trade"], progress=False)
    with pytest.raises(ValueError, match="end_date 2019-03-19 is before start_date 2019-03-20"):
        bitmex.download("2019-03-20", "2019-03-19", tmp_path)
    with pytest.raises(ValueError, match="kinds must be any of 'trade', 'quote' and 'funding', "
                                         "got 'book'"):
        bitmex.download("2019-03-20", "2019-03-20", tmp_path, kinds=["book"])


def test_a_download_that_keeps_ending_early_is_reported_and_kept_for_resuming(tmp_path):
    files = _files()
    body = files["/data/trade/20190320.csv.gz"]
    with _Server(files, cut_always=True) as server:
        url = f"{server.url}/trade/20190320.csv.gz"
        with pytest.raises(OSError, match=rf"^incomplete download of {re.escape(url)}: "
                                          rf"{len(body) // 2} of {len(body)} bytes$"):
            bitmex.download("2019-03-20", "2019-03-20", tmp_path, base_url=server.url,
                            kinds=["trade"], progress=False, retries=0)
        assert not (tmp_path / "trade" / "20190320.csv.gz").exists()
        half = body[:len(body) // 2]
        assert (tmp_path / "trade" / "20190320.csv.gz.part").read_bytes() == half
        # The next call resumes from the kept part and counts what it holds.
        more = len(half) + (len(body) - len(half)) // 2
        with pytest.raises(OSError, match=rf"^incomplete download of {re.escape(url)}: "
                                          rf"{more} of {len(body)} bytes$"):
            bitmex.download("2019-03-20", "2019-03-20", tmp_path, base_url=server.url,
                            kinds=["trade"], progress=False, retries=0)
    assert server.requests[-1] == ("/data/trade/20190320.csv.gz", f"bytes={len(half)}-")


def test_convert_days_needs_a_day_with_both_dumps(tmp_path):
    (tmp_path / "trade").mkdir()
    (tmp_path / "quote").mkdir()
    (tmp_path / "trade" / "20190320.csv.gz").write_bytes(_dump("20190320", "trade"))
    (tmp_path / "quote" / "20190321.csv.gz").write_bytes(_dump("20190321", "quote"))
    assert bitmex.dump_days(tmp_path) == []
    with pytest.raises(FileNotFoundError, match=rf"^{re.escape(str(tmp_path))} has no day with "
                                                r"both a trade and a quote dump$"):
        bitmex.convert_days(tmp_path, tmp_path / "taq", progress=False)
    assert not (tmp_path / "taq").exists()


def test_convert_days_carries_the_last_quote_into_the_next_day(tmp_path):
    with _Server(_files()) as server:
        bitmex.download("2019-03-20", "2019-03-22", tmp_path / "dumps", base_url=server.url,
                        progress=False)
    rows, first, last = bitmex.convert_days(tmp_path / "dumps", tmp_path / "taq", progress=False)
    taq = read_taq(tmp_path / "taq")
    assert rows == len(taq)
    assert first == taq.index[0] and last == taq.index[-1]
    assert sorted(p.name for p in (tmp_path / "taq").iterdir()) == [
        "2019-03-20.parquet", "2019-03-21.parquet", "2019-03-22.parquet"]
    # Day 1's first trade (00:00:01) comes before any quote; day 2's sees day 1's last quote.
    day1 = taq.loc["2019-03-20"]
    assert np.isnan(day1["bid_price"].iloc[0])
    day2_first = taq.loc["2019-03-21"].iloc[0]
    assert day2_first["amount"] == 21
    assert (day2_first["bid_price"], day2_first["ask_price"]) == (3999.0 + 20, 4000.0 + 20)
    # The same as converting everything at once.
    whole = bitmex.to_taq(sorted((tmp_path / "dumps" / "trade").iterdir()),
                          sorted((tmp_path / "dumps" / "quote").iterdir()))
    pd.testing.assert_frame_equal(taq, whole)


def test_build_taq_receive_times_go_together():
    import numpy as np
    from mmsim.data.merge import build_taq
    one = np.array([0], dtype=np.int64)
    with pytest.raises(ValueError, match=r"^trade_local and quote_local go together: give both "
                                         r"or neither"):
        build_taq(one, [1], [1.0], [100.0], one, [99.5], [1.0], [100.0], [1.0], trade_local=one)


FUNDING_CSV = (
    "timestamp,symbol,fundingInterval,fundingRate,fundingRateDaily\n"
    "2019-04-01T12:00:00.000Z,XBTUSD,2000-01-01T08:00:00.000Z,0.0001,0.0003\n"
    "2019-04-01T04:00:00.000Z,XBTUSD,2000-01-01T08:00:00.000Z,-0.000375,-0.001125\n"
    "2019-04-01T04:00:00.000Z,ETHUSD,2000-01-01T08:00:00.000Z,0.01,0.03\n"
)


def test_read_funding_csv_and_json(tmp_path):
    import json

    import pandas as pd
    from mmsim.data.bitmex import read_funding
    path = tmp_path / "funding.csv"
    path.write_text(FUNDING_CSV)
    frame = read_funding(path)
    # XBTUSD only, sorted by time, as backtest(funding=) takes it.
    assert frame.index.tolist() == [pd.Timestamp("2019-04-01 04:00", tz="UTC"),
                                    pd.Timestamp("2019-04-01 12:00", tz="UTC")]
    assert frame["rate"].tolist() == [-0.000375, 0.0001]
    records = pd.read_csv(path).to_dict(orient="records")
    (tmp_path / "funding.json").write_text(json.dumps(records))
    pd.testing.assert_frame_equal(read_funding(tmp_path / "funding.json"), frame)


def test_read_funding_errors_are_named(tmp_path):
    from mmsim.data.bitmex import read_funding
    from mmsim.data.schema import SchemaError
    path = tmp_path / "funding.csv"
    path.write_text(FUNDING_CSV.replace("fundingRate,", "rate,", 1))
    with pytest.raises(SchemaError, match=r"^funding is missing column\(s\) \['fundingRate'\]"):
        read_funding(path)
    path.write_text(FUNDING_CSV.replace(",0.0001,", ",x,"))
    with pytest.raises(SchemaError, match=r"^funding column 'fundingRate' is 'x' at row 0"):
        read_funding(path)
    with pytest.raises(FileNotFoundError, match=r"no such funding file"):
        read_funding(tmp_path / "none.json")


def _funding_api(records):
    """The API's /funding: ``records`` filtered by time and paged by ``start`` and ``count``."""
    import json
    import urllib.parse

    def serve(path):
        url = urllib.parse.urlsplit(path)
        if url.path != "/api/funding":
            return None
        q = dict(urllib.parse.parse_qsl(url.query))
        assert (q["symbol"], q["reverse"]) == ("XBTUSD", "false")
        lo, hi = pd.Timestamp(q["startTime"]), pd.Timestamp(q["endTime"])
        chosen = [r for r in records if lo <= pd.Timestamp(r["timestamp"]) <= hi]
        start, count = int(q["start"]), int(q["count"])
        return json.dumps(chosen[start:start + count]).encode()
    return serve


def test_download_funding_pages_through_the_history(tmp_path):
    import urllib.parse

    # Every 8 hours from 2019-01-01 04:00: 600 records up to 2019-07-19 20:00, and more after.
    times = pd.Timestamp("2019-01-01 04:00", tz="UTC") + pd.Timedelta("8h") * np.arange(620)
    records = [{"timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "symbol": "XBTUSD",
                "fundingInterval": "2000-01-01T08:00:00.000Z", "fundingRate": k * 1e-6,
                "fundingRateDaily": k * 3e-6} for k, t in enumerate(times)]
    with _Server(_funding_api(records)) as server:
        api = server.url.replace("/data", "/api")
        paths = bitmex.download("2019-01-01", "2019-07-19", tmp_path, kinds=["funding"],
                                api_url=api, progress=False)
        assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
            "funding/XBTUSD-20190101-20190719.json"]
        # Two pages: 500 records, then the last 100.
        starts = [dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))["start"]
                  for path, _ in server.requests]
        assert starts == ["0", "500"]
        frame = bitmex.read_funding(paths[0])
        assert len(frame) == 600
        assert frame.index[0] == times[0] and frame.index[-1] == times[599]
        assert frame["rate"].tolist() == [k * 1e-6 for k in range(600)]
        # Present: not fetched again.
        bitmex.download("2019-01-01", "2019-07-19", tmp_path, kinds=["funding"], api_url=api,
                        progress=False)
        assert len(server.requests) == 2
        assert sorted(p.name for p in (tmp_path / "funding").iterdir()) == [paths[0].name]


def test_download_funding_that_is_not_json_is_an_error(tmp_path):
    with _Server(lambda path: b"<html>busy</html>") as server:
        api = server.url.replace("/data", "/api")
        with pytest.raises(OSError, match=r"/api/funding\?symbol=XBTUSD&.* did not return a JSON "
                                          r"list of funding records$"):
            bitmex.download("2019-01-01", "2019-01-02", tmp_path, kinds=["funding"],
                            api_url=api, progress=False)
        assert list((tmp_path / "funding").iterdir()) == []
