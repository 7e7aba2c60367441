"""A document may be a Jupyter notebook: a claim's quote is found in its cells' sources and their
text outputs (streams, results, displays), read with nbformat."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from test_declarations import GOOD, folder  # noqa: F401  (the fixture)

from reprokit import claims
from reprokit.errors import ExpectationError


def _notebook(path):
    nb = new_notebook(cells=[
        new_markdown_cell("# A GRU adder"),
        new_code_cell("model.summary()", outputs=[new_output("stream", name="stdout", text="Total params: 88\n")]),
        new_code_cell("model.evaluate(x, y)", outputs=[new_output("execute_result", data={"text/plain": "[0.31, 0.9]"},
                                                                  execution_count=2)]),
    ])
    nbformat.write(nb, str(path))


def _yaml(quote: str) -> str:
    return GOOD.replace("document: 005_demo.txt", "document: 005_demo.ipynb").replace(
        'quote: "Total params: 88", measure: params', f'quote: "{quote}", measure: params')


@pytest.mark.parametrize("quote", ["Total params: 88", "[0.31, 0.9]", "model.summary()"])
def test_a_quote_is_found_in_a_notebooks_sources_and_outputs(folder, quote):  # noqa: F811
    _notebook(folder / "docs" / "005_demo.ipynb")
    (folder / "expected" / "005_demo.yaml").write_text(_yaml(quote))
    loaded = claims.load(folder / "expected", documents=folder / "docs")
    assert loaded[0].document == "005_demo.ipynb"


def test_a_quote_the_notebook_does_not_hold_is_named(folder):  # noqa: F811
    _notebook(folder / "docs" / "005_demo.ipynb")
    (folder / "expected" / "005_demo.yaml").write_text(_yaml("Total params: 99"))
    with pytest.raises(ExpectationError, match="does not occur in 005_demo.ipynb"):
        claims.load(folder / "expected", documents=folder / "docs")


def test_a_file_that_is_no_notebook_is_one_clear_line(folder):  # noqa: F811
    (folder / "docs" / "005_demo.ipynb").write_text("{not a notebook")
    (folder / "expected" / "005_demo.yaml").write_text(_yaml("Total params: 88"))
    with pytest.raises(ExpectationError, match="005_demo.ipynb: not a readable Jupyter notebook"):
        claims.load(folder / "expected", documents=folder / "docs")


def test_reprokit_new_starts_a_notebooks_file_from_its_text(folder, monkeypatch, capsys):  # noqa: F811
    from reprokit import cli
    _notebook(folder / "docs" / "005_demo.ipynb")
    monkeypatch.setenv("REPROKIT_DOCUMENTS_DIR", str(folder / "docs"))
    (folder / "new").mkdir()
    assert cli.main(["new", "005_demo.ipynb", "--expected", str(folder / "new")]) == 0
    text = (folder / "new" / "005_demo.yaml").read_text()
    assert 'title: "A GRU adder"' in text and "#   Total params: 88" in text and "cells" not in text
    assert cli.main(["new", "005_demo.ipynb", "--expected", str(folder / "missing")]) == 2
    assert "no such folder; create it" in capsys.readouterr().err
