"""The public face: every exported name resolves, and every public callable is documented."""
import importlib
import inspect
import pkgutil

import pytest

import mmsim


def test_every_exported_name_resolves():
    missing = [name for name in mmsim.__all__ if getattr(mmsim, name, None) is None]
    assert missing == []


def _public_modules():
    for info in pkgutil.walk_packages(mmsim.__path__, "mmsim."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            yield info.name


@pytest.mark.parametrize("module_name", sorted(_public_modules()))
def test_public_functions_and_classes_have_docstrings(module_name):
    module = importlib.import_module(module_name)
    assert inspect.getdoc(module), f"{module_name} has no module docstring"
    undocumented = []
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module_name:
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            if not inspect.getdoc(obj):
                undocumented.append(name)
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not inspect.isfunction(member):
                        continue
                    if not inspect.getdoc(member):
                        undocumented.append(f"{name}.{attr}")
    assert undocumented == [], f"{module_name}: undocumented {undocumented}"


def test_engine_context_methods_are_documented():
    for attr in ("limit", "market", "follow", "cancel", "orders", "nav", "position", "signal"):
        assert inspect.getdoc(getattr(mmsim.Context, attr)), attr


def test_subpackages_resolve_as_attributes_in_a_fresh_interpreter():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(mmsim.__file__).resolve().parents[1])
    code = "import mmsim; print(mmsim.data.TAQ_COLUMNS[0], mmsim.strategies.GLFT.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": root}, cwd=root)
    assert out.stdout.split() == ["price", "GLFT"]


def test_dir_lists_the_public_api_only():
    names = dir(mmsim)
    assert "annotations" not in names and "importlib" not in names
    assert not [n for n in names if n.startswith("_") and n != "__version__"]
    assert {"backtest", "Result", "data", "sweep", "__version__"} <= set(names)
    assert "annotations" not in dir(mmsim.data) and "importlib" not in dir(mmsim.data)


def _fresh(code: str, cwd) -> list:
    """What ``code`` prints in a new interpreter (beside, not inside, the checkout)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=cwd)
    return out.stdout.split()


def test_submodules_load_on_attribute_access(tmp_path):
    # A fresh interpreter: nothing has imported mmsim.data.bitmex yet.
    assert _fresh("import sys, mmsim; assert 'mmsim.data.bitmex' not in sys.modules; "
                  "print(mmsim.data.bitmex.to_taq.__module__, mmsim.data.tardis.__name__)",
                  tmp_path) == ["mmsim.data.bitmex", "mmsim.data.tardis"]


def test_other_exchanges_do_not_load_the_bitmex_module(tmp_path):
    # The merge and CSV helpers are exchange-neutral (mmsim.data.merge), the downloader is
    # mmsim.data.download: Binance, tardis.dev and bars need nothing of BitMEX's.
    assert _fresh("import sys, mmsim.data.binance, mmsim.data.tardis, mmsim.data.bars; "
                  "print('mmsim.data.bitmex' in sys.modules, 'mmsim.data.download' in sys.modules)",
                  tmp_path) == ["False", "False"]


def test_tests_find_the_shared_data_through_one_fixture(tmp_path):
    # MMSIM_SHARED points the suite at another folder; a missing file skips, and the summary
    # names it and the variable.
    import os
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    env = dict(os.environ, MMSIM_SHARED=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(tests / "test_compat.py"), "-k", "notebook or runs_unchanged"],
                         capture_output=True, text=True, cwd=tests.parent, env=env)
    reason = (f"shared data absent: {tmp_path}/seed/inventory-management-research.ipynb.txt "
              f"not found (set MMSIM_SHARED to the folder that holds data/ and seed/)")
    assert f"SKIPPED [2] tests/conftest.py:39: {reason}" in out.stdout, out.stdout
