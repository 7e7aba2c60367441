"""The models and experiments a document's file declares (reprokit/declarations.py): built into
the vocabulary's dataclasses, every problem reported at once with its file, name and field, and
the quick profile's rule for what it may train whole."""

import textwrap

import pytest

from reprokit import check, claims, declarations, experiments, models, settings
from reprokit.errors import ExpectationError

GOOD = textwrap.dedent("""\
    document: 005_demo.txt
    claims:
      - {id: demo.params.total, kind: params, quote: "Total params: 88", measure: params,
         args: {model: demo.gru, layers: total}, expected: 88, compare: equal}
      - {id: demo.acc.test, kind: acc, quote: "Total params: 88", measure: training.metrics,
         args: {experiment: demo.adder, metrics: ["test.accuracy"]}, expected: {"test.accuracy": 0.9},
         compare: plausible_run, tolerance: 0.01, why_tolerance: "a point of accuracy"}
    models:
      demo.gru:
        steps: null
        features: 2
        layers:
          - {kind: recurrent, cell: gru, units: 3, return_sequences: true}
          - {kind: dense, units: 1, activation: sigmoid}
    experiments:
      demo.adder:
        model: demo.gru
        data: {kind: binary_addition, length: 4, train_samples: 640}
        optimizer: adam
        learning_rate: 0.01
        epochs: 2
        batch_size: 64
        full_run_s: 20
    """)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "005_demo.txt").write_text("Total params: 88\n")
    (tmp_path / "expected").mkdir()
    monkeypatch.setattr(settings, "EXPECTED_DIR", tmp_path / "expected")
    return tmp_path


def _write(folder, text: str) -> None:
    (folder / "expected" / "005_demo.yaml").write_text(text)


def test_a_document_declares_its_models_and_experiments(folder):
    _write(folder, GOOD)
    loaded = claims.load(folder / "expected", documents=folder / "docs")
    assert [c.id for c in loaded] == ["demo.params.total", "demo.acc.test"]
    gru = models.get("demo.gru")
    assert gru == models.Model("demo.gru", None, 2, (models.Recurrent("gru", 3, return_sequences=True),
                                                     models.Dense(1, "sigmoid")))
    adder = experiments.get("demo.adder")
    assert adder.data == experiments.BinaryAdditionData(4, train_samples=640) and adder.learning_rate == 0.01
    assert adder.recipe()["model"] == "demo.gru" and "seed_budget" not in adder.recipe()


def test_every_problem_at_once_with_its_file_name_and_field(folder):
    bad = (GOOD.replace("units: 3,", "units: three,")
           .replace("cell: gru", "cell: gru, colour: red")
           .replace("learning_rate: 0.01", "learning_rate: 1e-2")
           .replace("    epochs: 2\n", "")
           .replace("kind: binary_addition", "kind: addition")
           + "  demo.orphan:\n    model: demo.missing\n    data: {kind: mnist_rows}\n"
             "    optimizer: adam\n    learning_rate: 0.001\n    epochs: 1\n    batch_size: 64\n")
    _write(folder, bad)
    with pytest.raises(ExpectationError) as info:
        claims.load(folder / "expected", documents=folder / "docs")
    text = str(info.value)
    for line in [
        "005_demo.yaml: model demo.gru: field layers[0] (recurrent): field units: 'three' is not a whole number",
        "005_demo.yaml: model demo.gru: field layers[0] (recurrent): field colour: unknown",
        "005_demo.yaml: experiment demo.adder: field learning_rate: '1e-2' is not a number (write 1.0e-3, not 1e-3",
        "005_demo.yaml: experiment demo.adder: field epochs: required",
        "005_demo.yaml: experiment demo.adder: field data: 'addition': give a mapping whose kind is one of",
        "005_demo.yaml: experiment demo.orphan: field model: 'demo.missing' is declared in no file",
    ]:
        assert line in text, text


def test_a_name_declared_twice_is_one_problem(folder):
    _write(folder, GOOD)
    (folder / "expected" / "006_other.yaml").write_text("document: 005_demo.txt\nclaims: []\n" + GOOD[GOOD.index("models:"):])
    with pytest.raises(ExpectationError, match="006_other.yaml: model demo.gru: declared twice .also in 005_demo.yaml."):
        declarations.load(folder / "expected")


def test_an_experiment_is_trained_whole_in_the_quick_profile_only_at_a_stated_low_cost(folder):
    _write(folder, GOOD)
    (acc,) = [c for c in claims.load(folder / "expected", documents=folder / "docs") if c.kind == "acc"]
    assert experiments.cheap(experiments.get("demo.adder")) and check.mode(acc, "quick") == "verdict"
    _write(folder, GOOD.replace("    full_run_s: 20\n", "    full_run_s: 600\n"))
    assert not experiments.cheap(experiments.get("demo.adder"))
    assert check.mode(acc, "quick") == "smoke"  # its verdict waits for the ledger; nothing trains whole


def test_an_experiment_with_no_smoke_run_and_no_stated_cost_is_an_error(folder):
    """The quick profile would train nothing and show nothing learned: once it "passed" in 0.1 s as
    'smoke passed (ledger pending)'."""
    _write(folder, GOOD.replace("    full_run_s: 20\n", ""))
    with pytest.raises(ExpectationError, match=r"005_demo.yaml: experiment demo.adder: field smoke: no smoke run "
                                               r"and no stated cost \(full_run_s\): give a smoke: block"):
        claims.load(folder / "expected", documents=folder / "docs")


def test_the_five_documents_declare_every_model_and_experiment_once():
    declared = declarations.load(settings.EXPECTED_DIR)
    assert len(declared.models) == 36 and len(declared.experiments) == 39
    assert {e.model for e in declared.experiments.values()} <= set(declared.models)
