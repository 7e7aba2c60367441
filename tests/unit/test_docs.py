"""What a person reads: a short README that says only what is true of this checkout, and a
documentation site that builds with warnings as errors (mkdocs --strict: a broken link or a page
missing from the navigation fails here)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_documentation_site_builds_without_a_warning(tmp_path):
    pytest.importorskip("mkdocs")
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert (tmp_path / "site" / "verdicts" / "index.html").exists()


def test_the_readme_is_one_screenful_of_commands_and_links():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 300
    for link in [part.split(")")[0] for part in text.split("](")[1:]]:
        target = link.split("#")[0]
        if target and "://" not in target:
            assert (ROOT / target).exists(), f"README links to {target}, which is not in the checkout"
