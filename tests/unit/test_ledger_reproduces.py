"""The committed ledger reproduces from the committed code: the cheapest recorded full runs,
retrained in a fresh process at one thread (as the full profile trains) for their first epoch,
give every number of the recorded first epoch to the last bit, on a processor with the recorded
one's instruction sets (elsewhere the test says why it cannot hold, and skips). This keeps the ledger honest (CI reads recorded runs back instead of training
them) and is the gate for speed levers: one that changes a single bit fails here and must change
the recipe (and the ledger) instead."""

from __future__ import annotations

import os
import re
import textwrap

import pytest
from fresh_process import run_json

from reprokit import experiments, ledger

# The first epoch of the recorded run, retrained: every metric of its history at epoch 1 must be
# the recorded one to the last bit. An epoch is the whole code path (data, model, initialisation,
# optimizer, evaluation) at a tenth of a full run's cost; the later epochs repeat it.
SCRIPT = textwrap.dedent("""
    import dataclasses, json, sys
    from reprokit import experiments
    exp = dataclasses.replace(experiments.get(sys.argv[1]), epochs=1)
    r = experiments.train(exp, sys.argv[2], int(sys.argv[3]))
    print("RESULT" + json.dumps(r))
""")

# In both backends: one experiment fed from arrays and one from ready batches (a Keras PyDataset),
# both of document 004 (written for torch: torch's own training in the torch column), and one of a
# document written for Keras (the torch column ports Keras's training).
RUNS = [(name, backend, seed) for name, seed in (("binadd.h3.l3.ce", 0), ("index.simple2", 1), ("imdbq.adam5", 0))
        for backend in ("torch", "keras")]


def _first_epoch(result: dict) -> dict:
    return {k: v[0] for k, v in result["history"].items()}  # times differ, numbers must not


@pytest.mark.parametrize("name, backend, seed", RUNS, ids=[f"{n}/{b}-seed{s}" for n, b, s in RUNS])
def test_recorded_run_reproduces_bit_for_bit(name, backend, seed):
    pytest.importorskip({"torch": "torch", "keras": "keras"}[backend])
    if not os.environ.get("REPROKIT_DATA_DIR"):
        pytest.skip("needs the data: set REPROKIT_DATA_DIR")
    state, entry = ledger.status(experiments.get(name), backend, seed)
    assert state == "current", f"{name}/{backend}-seed{seed}: the ledger entry is {state}; record the run again"
    if why := ledger.bit_identical_here(entry):
        pytest.skip(why)
    retrained, recorded = _first_epoch(run_json(SCRIPT, name, backend, str(seed))), _first_epoch(entry["result"])
    differ = [k for k in recorded if retrained.get(k) != recorded[k]]
    assert not differ, (f"{name}/{backend}-seed{seed}: retrained {differ} differ from the ledger entry recorded at "
                        f"{entry['recorded']['commit'][:7]}, e.g. {differ[0]}: {str(retrained.get(differ[0]))[:160]} "
                        f"vs {str(recorded[differ[0]])[:160]}")


def test_on_another_processor_the_check_skips_with_its_reason(monkeypatch):
    """The ledger was recorded on one kind of processor; CI lands on others (one whose
    name has parentheses). There the bit-for-bit check says why it cannot hold and skips: it
    neither fails nor passes vacuously."""
    if not os.environ.get("REPROKIT_DATA_DIR"):
        pytest.skip("needs the data: set REPROKIT_DATA_DIR")
    other = f"{ledger.cpu_model()}(R) @ 2.10GHz (another machine)"  # this one's name, changed
    monkeypatch.setattr(ledger, "cpu_model", lambda: other)
    name, backend, seed = RUNS[0]
    with pytest.raises(pytest.skip.Exception, match=r"recorded on .*, this is " + re.escape(other)):
        test_recorded_run_reproduces_bit_for_bit(name, backend, seed)
