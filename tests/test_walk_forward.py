"""Walk-forward: window arithmetic, and a market where the best parameter flips every day."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mmsim
from mmsim.sweep.walkforward import parse_objective, walk_forward, windows
from helpers import NAN, T0, taq

DAY = pd.Timedelta("1D")

#: Linear, no fees: a position of q bought at E and marked at M is worth q (M - E).
LINEAR = mmsim.Contract(inverse=False, tick_size=0.5, lot_size=1.0, contract_size=1.0,
                        maker_fee=0.0, taker_fee=0.0)


class Direction(mmsim.Strategy):
    """Buys (side 1) or sells (side -1) ``size`` at market at its first call, then holds."""

    def __init__(self, side, size=1.0):
        self.side, self.size = side, size
        self.sent = False

    def params(self):
        return {"side": self.side, "size": self.size}

    def on_signal(self, ctx):
        if not self.sent:
            ctx.market(self.side * self.size)
            self.sent = True


def _market(days=4):
    """Mid 100 -> 110 on even days, 110 -> 100 on odd days; quotes only, spread 1.

    Day d has quotes at d + 0h (the opening mid), d + 23h and d + 23h59m (the closing mid).
    """
    rows = []
    for d in range(days):
        open_, close = (100.0, 110.0) if d % 2 == 0 else (110.0, 100.0)
        base = d * 86400
        for seconds, mid in ((0, open_), (23 * 3600, close), (23 * 3600 + 59 * 60, close)):
            rows.append((base + seconds, NAN, 0.0, mid - 0.5, 1000.0, mid + 0.5, 1000.0))
    frame = taq(rows)
    signals = pd.DataFrame(
        {"x": 0.0},
        index=pd.DatetimeIndex([T0 + d * DAY + pd.Timedelta(h) for d in range(days)
                                for h in ("1h", "23h30min")], name="time"))
    return frame, signals


def test_windows_exact_boundaries():
    w = windows(T0, T0 + 4 * DAY, train="2D", test="12h", step="1D", embargo="6h")
    assert w.columns.tolist() == ["window", "train_start", "train_end", "test_start", "test_end"]
    expected = [
        (0, T0, T0 + 2 * DAY, T0 + pd.Timedelta("2D6h"), T0 + pd.Timedelta("2D18h")),
        (1, T0 + DAY, T0 + 3 * DAY, T0 + pd.Timedelta("3D6h"), T0 + pd.Timedelta("3D18h")),
    ]
    assert [tuple(r) for r in w.itertuples(index=False)] == expected
    # a bare number is seconds; a test span may end exactly at the end of the data
    w = windows("2019-04-01", "2019-04-04", train=86400, test=86400, step=86400)
    assert w["test_end"].tolist() == [T0 + 2 * DAY, T0 + 3 * DAY]


def test_windows_bad_input():
    with pytest.raises(ValueError, match=r"step \('12h'\) must be at least test \('1D'\)"):
        windows(T0, T0 + 9 * DAY, train="2D", test="1D", step="12h")
    with pytest.raises(ValueError, match="no walk-forward window fits .* train \\+ embargo"):
        windows(T0, T0 + 2 * DAY, train="2D", test="1D")
    with pytest.raises(ValueError, match="train must be a positive duration"):
        windows(T0, T0 + 2 * DAY, train="0s")
    with pytest.raises(ValueError, match="embargo must be zero or a positive duration"):
        windows(T0, T0 + 9 * DAY, embargo="-1h")
    with pytest.raises(ValueError, match="test must be a time span"):
        windows(T0, T0 + 9 * DAY, test="soon")


def test_parse_objective():
    assert parse_objective("sharpe") == ("sharpe", "max", "sharpe")
    assert parse_objective(("max_drawdown", "min")) == ("max_drawdown", "min", "max_drawdown")
    with pytest.raises(ValueError, match="objective must be a statistic name"):
        parse_objective(("max_drawdown", "down"))


@pytest.fixture(scope="module")
def flip():
    data, signals = _market()
    wf = walk_forward(data, signals, Direction, {"side": [1, -1]}, train="1D", test="1D",
                      step="1D", objective="pnl", executor="serial", contract=LINEAR,
                      balance=1000.0, latency=0.5)
    return data, signals, wf


def test_best_parameter_per_window(flip):
    _, _, wf = flip
    w = wf.windows
    assert w.columns.tolist() == ["window", "train_start", "train_end", "test_start", "test_end",
                                  "side", "in_sample", "out_of_sample"]
    # Three whole windows in [day 0, day 4): train on day k, test on day k + 1.
    assert w["train_start"].tolist() == [T0, T0 + DAY, T0 + 2 * DAY]
    assert w["test_end"].tolist() == [T0 + 2 * DAY, T0 + 3 * DAY, T0 + 4 * DAY]
    # Day k rises (even) or falls (odd): long wins, then short, then long. In sample the
    # winner pays 110 - 100.5 = 9.5 (a buy at the ask) or 109.5 - 100 = 9.5 (a sell at the
    # bid); the next day reverses: 100 - 110.5 = -10.5 (long) or 99.5 - 110 = -10.5 (short).
    assert w["side"].tolist() == [1, -1, 1]
    assert w["in_sample"].tolist() == [9.5, 9.5, 9.5]
    assert w["out_of_sample"].tolist() == [-10.5, -10.5, -10.5]
    # every training run is in the table, tagged with its window
    assert wf.table[["window", "side", "pnl"]].to_numpy().tolist() == [
        [0, 1, 9.5], [0, -1, -10.5], [1, 1, -10.5], [1, -1, 9.5], [2, 1, 9.5], [2, -1, -10.5]]
    assert wf.in_sample["pnl"].tolist() == [9.5, 9.5, 9.5]
    assert wf.out_of_sample["fills"].tolist() == [1, 1, 1]


def test_stitched_result_is_the_union_of_the_test_runs(flip):
    data, signals, wf = flip
    separate = [mmsim.backtest(data, signals, Direction(side), contract=LINEAR, balance=1000.0,
                               latency=0.5, start=T0 + k * DAY, end=T0 + (k + 1) * DAY)
                for k, side in ((1, 1), (2, -1), (3, 1))]
    stitched = wf.result
    # fills: the test runs' fills, order ids shifted by the orders of the earlier windows
    expected = pd.concat([r.fills.assign(order_id=r.fills["order_id"] + k)
                          for k, r in enumerate(separate)])
    pd.testing.assert_frame_equal(stitched.fills, expected)
    assert stitched.orders["order_id"].tolist() == [1, 2, 3]
    for mine, theirs in zip(wf.results, separate):
        pd.testing.assert_frame_equal(mine.fills, theirs.fills)
        pd.testing.assert_frame_equal(mine.balances, theirs.balances)
    # balances chain the PnL: window k's rows are shifted by the PnL of the earlier windows
    shifts = [0.0, -10.5, -21.0]
    expected_total = np.concatenate([r.balances["total"].to_numpy() + s
                                     for r, s in zip(separate, shifts)])
    assert stitched.balances["total"].to_numpy().tolist() == expected_total.tolist()
    stats = stitched.stats()
    assert stats["pnl"] == -31.5 and stats["fills"] == 3
    assert stats["start"] == (T0 + DAY + pd.Timedelta("1h")).value / 1e9
    # a flat position row opens every test window
    assert stitched.positions.loc[T0 + 2 * DAY, "amount"] == 0.0
    assert stitched.params["windows"] == 3


def test_objective_direction_and_callable():
    data, signals = _market(3)
    kwargs = dict(train="1D", test="1D", executor="serial", contract=LINEAR, balance=1000.0)
    # lowest pnl: the losing side in sample, which then wins out of sample
    low = walk_forward(data, signals, Direction, {"side": [1, -1]}, objective=("pnl", "min"),
                       **kwargs)
    assert low.windows["side"].tolist() == [-1, 1]
    assert low.windows["out_of_sample"].tolist() == [9.5, 9.5]
    # a callable scores a row; ties go to the first combination in grid order
    size = walk_forward(data, signals, Direction, {"side": [1, -1], "size": [1.0, 2.0]},
                        objective=lambda row: abs(row["pnl"]) / row["size"], **kwargs)
    assert size.windows[["side", "size"]].to_numpy().tolist() == [[-1, 1.0], [1, 1.0]]
    assert size.windows["in_sample"].tolist() == [10.5, 10.5]


class CountedDirection(Direction):
    """Direction that counts its constructions (runs) in this process."""

    built = 0

    def __init__(self, side, size=1.0):
        super().__init__(side, size)
        CountedDirection.built += 1


def test_store_resumes_without_rerunning(tmp_path):
    data, signals = _market(3)
    kwargs = dict(train="1D", test="1D", objective="pnl", executor="serial", contract=LINEAR,
                  balance=1000.0, store=tmp_path / "wf", progress=False)
    CountedDirection.built = 0
    first = walk_forward(data, signals, CountedDirection, {"side": [1, -1]}, **kwargs)
    # 2 windows x 2 sides trained, then 2 test runs
    assert CountedDirection.built == 6
    assert sorted(p.name for p in (tmp_path / "wf").iterdir()) == ["test", "train"]
    again = walk_forward(data, signals, CountedDirection, {"side": [1, -1]}, **kwargs)
    assert CountedDirection.built == 6
    pd.testing.assert_frame_equal(again.windows, first.windows)
    pd.testing.assert_frame_equal(again.result.fills, first.result.fills)


def test_report_has_the_walk_forward_section(flip, tmp_path):
    pytest.importorskip("plotly")
    from test_report import _Outline

    _, _, wf = flip
    path = wf.report(tmp_path / "wf.html")
    outline = _Outline()
    outline.feed(path.read_text(encoding="utf-8"))
    assert outline.sections[-1] == "walk-forward"
    assert outline.charts[-2:] == ["chart-walk-forward", "chart-out-of-sample"]
    windows, figures = outline.tables["sortable"][-8:-4], outline.tables["sortable"][-4:]
    assert windows[0][-3:] == ["side", "in_sample", "out_of_sample"]
    assert [row[-3:] for row in windows[1:]] == [["1", "9.5", "-10.5"], ["-1", "9.5", "-10.5"],
                                                 ["1", "9.5", "-10.5"]]
    assert figures[0][:5] == ["window", "pnl in", "pnl out", "sharpe in", "sharpe out"]
    assert [row[:3] for row in figures[1:]] == [["0", "9.5", "-10.5"], ["1", "9.5", "-10.5"],
                                                ["2", "9.5", "-10.5"]]
    spec = {row[0]: row[1] for row in outline.tables["walk-forward-spec"]}
    assert spec["windows"] == "3" and spec["objective"] == "pnl"


def test_bad_grid_and_span():
    data, signals = _market(3)
    with pytest.raises(ValueError, match="grid combination 0 sets 'start'"):
        walk_forward(data, signals, Direction, {"side": [1], "start": [T0]}, train="1D",
                     test="1D", executor="serial")
    with pytest.raises(ValueError, match="no walk-forward window fits"):
        walk_forward(data, signals, Direction, {"side": [1]}, train="3D", test="1D",
                     executor="serial")


def test_stitched_inverse_account_chains_pnl_into_nav():
    from helpers import NOFEE

    data, signals = _market()
    wf = walk_forward(data, signals, Direction, {"side": [1, -1]}, train="1D", test="1D",
                      objective="pnl", executor="serial", contract=NOFEE, balance=1.0,
                      progress=False)
    assert wf.windows["side"].tolist() == [1, -1, 1]
    # BTC PnL q (1/E - 1/M): long 1 bought at 110.5 marked at 100; short 1 sold at 99.5
    # marked at 110; long again at 110.5 marked at 100.
    pnl = [1 / 110.5 - 1 / 100, -(1 / 99.5 - 1 / 110), 1 / 110.5 - 1 / 100]
    assert wf.out_of_sample["pnl"].tolist() == pytest.approx(pnl, rel=1e-12)
    stats = wf.result.stats()
    assert stats["pnl"] == pytest.approx(sum(pnl), rel=1e-12)
    # the last NAV: the chained equity, 1 BTC plus every window's PnL, at the closing mid 100
    assert wf.result.balances["nav"].iloc[-1] == pytest.approx((1 + sum(pnl)) * 100, rel=1e-12)
    # and each window opens at the equity the previous one closed with, valued at its mid:
    # window 1 opens flat at mid 100 (day 2's open) with 1 + pnl[0] BTC
    opening = wf.result.balances.loc[T0 + 2 * DAY + pd.Timedelta("1h")]
    assert opening["total"] == pytest.approx(1 + pnl[0], rel=1e-12)
    assert opening["nav"] == pytest.approx((1 + pnl[0]) * 100, rel=1e-12)


def test_local_processes_give_the_serial_walk_forward():
    from sweep_strategies import Quoter
    from mmsim.data.synthetic import synthetic_taq

    data = synthetic_taq(duration="1h", seed=1)
    index = pd.date_range(data.index[0].ceil("1min"), data.index[-1], freq="1min", name="time")
    signals = pd.DataFrame({"sigma": np.full(len(index), 0.01)}, index=index)
    kwargs = dict(train="20min", test="20min", step="20min", objective="pnl", progress=False)
    grid = {"offset": [0, 1, 2]}
    serial = walk_forward(data, signals, Quoter, grid, executor="serial", **kwargs)
    local = walk_forward(data, signals, Quoter, grid, executor=2, **kwargs)
    assert len(serial.windows) == 2
    pd.testing.assert_frame_equal(local.windows, serial.windows)
    for name in ("orders", "fills", "balances", "positions"):
        pd.testing.assert_frame_equal(getattr(local.result, name), getattr(serial.result, name))


def test_data_of_the_wrong_kind_or_empty_is_refused():
    data, signals = _market(3)
    with pytest.raises(TypeError, match=r"^taq must be a TAQ DataFrame with a DatetimeIndex or "
                                        r"Aligned arrays, got ndarray$"):
        walk_forward(data.to_numpy(), signals, Direction, {"side": [1]}, train="1D",
                     test="1D", executor="serial")
    with pytest.raises(ValueError, match="^taq is empty: walk-forward needs data to lay "
                                         "windows in$"):
        walk_forward(data.iloc[:0], signals, Direction, {"side": [1]}, train="1D", test="1D",
                     executor="serial")


class Broken(Direction):
    """Direction that raises at every call from ``since`` on (always, by default)."""

    since = T0

    def on_signal(self, ctx):
        if ctx.timestamp >= self.since:
            raise RuntimeError("feed lost")
        super().on_signal(ctx)


def test_no_usable_training_run_leaves_nothing_to_test():
    data, signals = _market(3)
    # Every run fails, so the training table has no statistic columns at all.
    with pytest.warns(UserWarning) as caught, \
            pytest.raises(ValueError, match="^no walk-forward window has a successful training "
                                            "run with a finite pnl: nothing to test$"):
        walk_forward(data, signals, Broken, {"side": [1, -1]}, train="1D", test="1D",
                     objective="pnl", executor="serial", contract=LINEAR, balance=1000.0,
                     progress=False)
    assert [str(w.message) for w in caught] == [
        f"walk-forward window {w} has no successful training run with a finite pnl; it is "
        "left out" for w in (0, 1)]


def test_a_failing_test_run_names_its_window():
    data, signals = _market(3)
    # Windows: train day 0, test day 1; train day 1, test day 2. Only day 2 breaks.
    late = type("Late", (Broken,), {"since": T0 + 2 * DAY})
    with pytest.raises(RuntimeError, match=r"^the test run of walk-forward window 1 failed: "
                                           r"StrategyError: strategy Late raised at "
                                           r"2019-04-03 01:00:00\+00:00: "
                                           r"RuntimeError: feed lost$"):
        walk_forward(data, signals, late, {"side": [1, -1]}, train="1D", test="1D",
                     objective="pnl", executor="serial", contract=LINEAR, balance=1000.0,
                     progress=False)
