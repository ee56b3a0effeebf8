"""The README's first example runs as written and produces fills."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_backtest_example_runs():
    if not README.exists():
        pytest.skip("README.md is not beside the tests")
    code = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[0]
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)
    result = namespace["result"]
    # The quoter keeps one bid and one ask: every order is a limit of +-100 contracts.
    assert set(result.orders["amount"]) == {100.0, -100.0}
    assert len(result.fills) > 0
    assert len(result.balances) == len(namespace["signals"]) + len(result.fills)
