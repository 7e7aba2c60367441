"""The device option (``--reprokit-device``, ``reprokit train --device``, ``$REPROKIT_DEVICE``)
reaches every backend's models and each run's key; checked here on the CPU, where a GPU asked for
is one clear line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reprokit import experiments, settings

ROOT = Path(__file__).resolve().parents[2]
pytest_plugins = ["pytester"]


def test_a_malformed_device_is_a_usage_error_at_parse_time(pytester):
    result = pytester.runpytest_subprocess("--reprokit-device", "gpu0", "-p", "no:cacheprovider")
    assert result.ret == 4  # pytest's usage error, before anything is collected
    result.stderr.fnmatch_lines(["*--reprokit-device*'gpu0': give cpu, cuda or cuda:N*"])


@pytest.mark.parametrize("backend", ["torch", "keras"])
def test_a_gpu_this_machine_lacks_is_one_line(backend, tmp_path):
    pytest.importorskip({"torch": "torch", "keras": "tensorflow"}[backend])
    if backend == "torch":
        import torch
        if torch.cuda.is_available():
            pytest.skip("this machine has a GPU")
    env = {**os.environ, "REPROKIT_RESULTS_DIR": str(tmp_path), "KERAS_BACKEND": "tensorflow"}
    out = subprocess.run([sys.executable, "-m", "reprokit.cli", "train", "binadd.h3.l3.ce", backend, "0",
                          "--device", "cuda:1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "reprokit: device cuda:1:" in out.stderr and "or on cpu" in out.stderr
    assert not list(tmp_path.rglob("*.json"))


def test_the_device_is_part_of_a_runs_key_and_absent_on_the_cpu(monkeypatch):
    exp = experiments.get("binadd.h3.l3.ce")
    monkeypatch.delenv("REPROKIT_DEVICE", raising=False)
    on_cpu = experiments.key(exp, "torch", 0)
    assert "device" not in on_cpu["env"]  # the keys recorded on the CPU stay valid
    monkeypatch.setenv("REPROKIT_DEVICE", "cuda:1")
    on_gpu = experiments.key(exp, "torch", 0)
    assert on_gpu["env"]["device"] == "cuda:1" and {"gpu", "cuda_libraries"} <= set(on_gpu["env"])
    assert on_gpu != on_cpu
    monkeypatch.setenv("REPROKIT_DEVICE", "tpu")
    with pytest.raises(Exception, match="REPROKIT_DEVICE='tpu': give cpu, cuda or cuda:N"):
        settings.device()


def test_the_torch_model_batches_and_group_live_on_the_device(monkeypatch):
    """torch's ``meta`` device stands in for a GPU: everything the trainers create must land on
    the device the option names, or a computation mixing devices raises here as it would on one."""
    torch = pytest.importorskip("torch")
    import numpy as np

    from reprokit import models
    from reprokit.backends import torch as T
    from reprokit.backends import torch_group
    monkeypatch.setattr(T, "DEVICE", torch.device("meta"))
    spec = models.get("index.gru5")
    model = T.build(spec, 0)
    assert {p.device.type for p in model.parameters()} == {"meta"}
    x = np.zeros((2, 4, 10), "float32")
    assert T._tensor(x, spec).device.type == "meta" and T._labels([1, 2]).device.type == "meta"
    assert model(T._tensor(x, spec)).device.type == "meta"
    cpu = [w for w in T.get_weights(T.Network(spec))]  # weights as the group receives them
    group = torch_group.Group(spec, [cpu, cpu])
    assert {p.device.type for p in group.parameters()} == {"meta"}
    out = group(T._tensor(np.zeros((2, 3, 4, 10), "float32"), spec), torch.tensor([4, 3], device="meta"))
    assert out.device.type == "meta"


def test_a_gpu_runs_record_names_the_gpu(monkeypatch):
    from reprokit import ledger
    monkeypatch.setattr(experiments, "accelerator", lambda device: {"gpu": "NVIDIA H200, 580.159.04"})
    monkeypatch.setenv("REPROKIT_DEVICE", "cuda:1")
    assert ledger.device() == "NVIDIA H200, 580.159.04 (cuda:1)"
    monkeypatch.setenv("REPROKIT_DEVICE", "cpu")
    assert "cores" in ledger.device()
