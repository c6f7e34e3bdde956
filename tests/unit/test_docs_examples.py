"""Every Python block of the documentation site (docs/**/*.md) runs as a script of its own.

A block that cannot run in the tests is preceded, on the line right above its fence, by
``<!-- no-test: reason -->``; it is skipped with that reason (docs/development.md).
"""

import re
from pathlib import Path

import pytest
from tests.unit.test_readme import run_python_block

DOCS = Path(__file__).resolve().parents[2] / "docs"
_FENCE = re.compile(
    r"(?:<!--\s*no-test:\s*(?P<reason>.*?)\s*-->\n)?```python\n(?P<code>.*?)```", re.S
)


def _blocks() -> list[tuple[str, str, str | None]]:
    """``(id, code, no-test reason or None)`` of every Python block, page by page."""
    out = []
    for page in sorted(DOCS.rglob("*.md")):
        rel = page.relative_to(DOCS).as_posix()
        for i, m in enumerate(_FENCE.finditer(page.read_text())):
            out.append((f"{rel}:{i}", m.group("code"), m.group("reason")))
    return out


_BLOCKS = _blocks()


def test_docs_have_python_examples():
    assert len(_BLOCKS) >= 10


def test_no_test_markers_give_a_reason():
    for block_id, _, reason in _BLOCKS:
        assert reason is None or reason.strip(), f"{block_id}: no-test marker without a reason"


@pytest.mark.parametrize(
    ("code", "reason"), [(c, r) for _, c, r in _BLOCKS], ids=[b for b, _, _ in _BLOCKS]
)
def test_docs_python_block_runs_as_a_script(code, reason, tmp_path):
    """Each Python block, pasted into a script of its own, runs without error."""
    if reason is not None:
        pytest.skip(f"no-test: {reason}")
    run_python_block(code, tmp_path, "docs")
