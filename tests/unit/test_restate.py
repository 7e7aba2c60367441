"""The update workflow (``reprokit restate``, like ``--snapshot-update``): from the committed ledger
it writes every stated verdict of expected/ back exactly as committed, comments and layout
included; a statement removed by hand comes back with its evidence, and ``--check`` reports it."""

import re
import shutil
from pathlib import Path

from reprokit import cli
from reprokit.restate import restate

ROOT = Path(__file__).resolve().parents[2]


def _drop_first_block(text: str) -> tuple[str, list[str]]:
    """The file without its first ``undecided:`` block, and the backends that block stated."""
    start = text.index("\n    undecided:\n") + 1
    body = start + len("    undecided:\n")
    end = body + re.search(r"^(?!      )", text[body:], re.M).start()
    backends = re.findall(r"^      ([a-z-]+):$", text[body:end], re.M)
    return text[:start] + text[end:], backends


def test_restate_writes_back_what_was_removed_and_nothing_else(tmp_path, capsys):
    expected = tmp_path / "expected"
    shutil.copytree(ROOT / "expected", expected)
    path = expected / "000_cebacc79b36ad6d2.yaml"
    committed = path.read_text()
    edited, backends = _drop_first_block(committed)
    assert edited != committed and backends
    path.write_text(edited)
    assert cli.main(["restate", "--check", "--expected", str(expected)]) == 1
    out = capsys.readouterr().out
    assert all(f"[{b}]: " in out and "-> undecided" in out for b in backends)
    assert path.read_text() == edited  # --check writes nothing
    changes = restate(expected)
    assert len(changes) == len(backends)
    assert path.read_text() == committed  # byte for byte: comments, order and wrapping kept
    for other in (ROOT / "expected").glob("*.yaml"):
        assert (expected / other.name).read_text() == other.read_text()
