"""The verdict rules of reprokit.compare and the quick profile's ledger check, on made-up runs."""

from __future__ import annotations

import json

import pytest

from reprokit import check, compare, experiments, ledger, measures, settings
from reprokit.claims import Claim


def st(values):
    return measures.stats(values)


def test_mean_within_elementwise_and_broadcast():
    compare.mean_within({"a": st([[1.0, 0.5], [1.0, 0.7]])}, {"a": [1.0, 0.6]}, 0.03)
    with pytest.raises(AssertionError, match=r"a \[1\]"):
        compare.mean_within({"a": st([[1.0, 0.5], [1.0, 0.51]])}, {"a": [1.0, 0.9]}, 0.03)
    compare.mean_at_least({"a": st([[0.97, 0.99], [0.98, 0.96]])}, {"a": 0.96}, 0.02)
    with pytest.raises(AssertionError, match="below the documented 0.96"):
        compare.mean_at_least({"a": st([[0.97, 0.80], [0.98, 0.81]])}, {"a": 0.96}, 0.02)


def _order(a, b, rel, tol=0.0):
    compare.order({"stats": {"a": st(a), "b": st(b)}, "pairs": [["a", rel, "b"]]}, True, tol)


def test_order_relations_judge_noise():
    _order([0.9, 0.91, 0.92], [0.8, 0.81, 0.79], ">")
    with pytest.raises(AssertionError, match="a > b fails"):
        _order([0.9, 0.5, 0.7], [0.7, 0.8, 0.6], ">")  # apart in the means, not beyond the noise
    _order([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], ">=")  # ties at the ceiling hold for >=
    with pytest.raises(AssertionError):
        _order([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], ">")
    _order([0.60, 0.61, 0.62], [0.60, 0.60, 0.61], "!>", 0.01)
    with pytest.raises(AssertionError):
        _order([0.70, 0.71, 0.72], [0.60, 0.60, 0.61], "!>", 0.01)
    with pytest.raises(AssertionError):
        _order([0.70], [0.60], "~", 0.05)


def test_ratio_in_range():
    r = {"a/b": {"median": 1.9, "q1": 1.8, "q3": 2.0, "a_ms": 19.0, "b_ms": 10.0}}
    compare.ratio_in_range(r, {"a/b": [1.5, 2.5]})
    with pytest.raises(AssertionError, match="outside"):
        compare.ratio_in_range(r, {"a/b": [0.5, 0.75]})


def test_metric_syntax():
    run = {"history": {"accuracy": [0.5, 0.96, 0.99], "val_accuracy": [0.6, 0.8, 0.7]},
           "test": {"accuracy": 0.7}, "accuracy_by_length": [1.0, 0.5]}
    assert measures.value(run, "test.accuracy") == 0.7
    assert measures.value(run, "accuracy@2") == 0.96
    assert measures.value(run, "val_accuracy") == 0.7
    assert measures.value(run, "max:val_accuracy") == 0.8
    assert measures.value(run, "argmax:val_accuracy") == 2
    assert measures.value(run, "epochs_to:accuracy>=0.95") == 2
    assert measures.value(run, "epochs_to:accuracy>=0.999") == 4  # never: epochs + 1
    assert measures.value(run, "mean:accuracy_by_length") == 0.75


def _claim(**kw) -> Claim:
    base = dict(id="stack4.acc.val_max", kind="acc", document="003.txt", quote="q", measure="training.metrics",
                expected={"max:val_accuracy": 0.8374}, compare="mean_within", file="f.yaml",
                args={"experiment": "stack4", "metrics": ["max:val_accuracy"]}, tolerance=0.03, why_tolerance="w")
    base.update(kw)
    return Claim(**base)


def _record(tmp_path, monkeypatch, best: list[float]):
    """Ledger entries for stack4 in keras with the given best validation accuracies; smoke runs stubbed."""
    monkeypatch.setattr(settings, "RESULTS_DIR", tmp_path)
    exp = experiments.get("stack4")
    for seed, acc in enumerate(best):
        key = {"recipe": json.loads(json.dumps(exp.recipe())), "seed": seed, "data": "d", "env": {}}
        p = ledger.path("stack4", "keras", seed)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps({"key": key, "result": {"history": {"val_accuracy": [acc]}}}))
    monkeypatch.setattr(experiments.ImdbData, "digest", lambda self: "d")
    monkeypatch.setattr(experiments, "run", lambda *a, **k: {"test": {"accuracy": 0.9}})


def test_smoke_mode_only_for_expensive_claims_in_quick():
    assert check.mode(_claim(), "quick") == "smoke"
    assert check.mode(_claim(), "full") == "verdict"
    cheap = _claim(args={"experiment": "imdbq.adam5", "metrics": ["test.accuracy"]})
    assert check.mode(cheap, "quick") == "verdict"


def test_ledger_check_agrees_pending_and_disagrees(tmp_path, monkeypatch):
    _record(tmp_path, monkeypatch, [0.83, 0.84, 0.85])
    assert check.smoke(_claim(), "keras")["ledger"] == "reproduced"
    # expected/ says non-reproduction, the ledger says reproduced: the test fails and says so
    from reprokit.claims import NonReproduction
    stale = _claim(known_nonrepro={"keras": NonReproduction({}, "r")})
    with pytest.raises(AssertionError, match="ledger's full runs give 'reproduced'"):
        check.smoke(stale, "keras")
    assert check.smoke(_claim(), "torch")["ledger"].startswith("pending")


def test_stale_entry_is_not_used(tmp_path, monkeypatch):
    _record(tmp_path, monkeypatch, [0.83, 0.84, 0.85])
    p = ledger.path("stack4", "keras", 1)
    entry = json.loads(p.read_text())
    entry["key"]["recipe"]["epochs"] = 3
    p.write_text(json.dumps(entry))
    assert "stack4/keras-seed1: stale" in check.smoke(_claim(), "keras")["ledger"]


def test_smoke_failure_names_the_run(monkeypatch):
    monkeypatch.setattr(experiments, "run", lambda *a, **k: {"test": {"accuracy": 0.5}})
    with pytest.raises(AssertionError, match="did not learn"):
        check.smoke(_claim(), "keras")
