"""Every test that docs/errors.md cites exists in the file it names."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "docs" / "errors.md"
CITATION = re.compile(r"(tests/[\w/]+\.py)::(test_\w+)(\[[^\]`|]*\])?")


def cited_tests(text: str) -> set[tuple[str, str]]:
    """The (file, test name) pairs cited as ``tests/file.py::test_name[param]``."""
    return {(m.group(1), m.group(2)) for m in CITATION.finditer(text)}


def test_citation_pattern_strips_parameters():
    text = "`tests/a.py::test_x[case-1]`, tests/sub/b.py::test_y and `tests/a.py::test_x`"
    assert cited_tests(text) == {("tests/a.py", "test_x"), ("tests/sub/b.py", "test_y")}


def test_every_cited_test_exists():
    cited = cited_tests(CATALOGUE.read_text())
    assert cited, "docs/errors.md cites no tests"
    missing = []
    for path, name in sorted(cited):
        source = ROOT / path
        if not source.is_file():
            missing.append(f"{path}::{name} (no such file)")
        elif not re.search(rf"^\s*(?:async\s+)?def {re.escape(name)}\(",
                           source.read_text(), re.MULTILINE):
            missing.append(f"{path}::{name}")
    assert not missing, "docs/errors.md cites tests that do not exist:\n" + "\n".join(missing)
