"""Backends: one enum, one resolver (the only reader of $MODERATION_BACKEND), one runner per backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from moderation import backends
from moderation.backends import Backend, Bf16Runner, Fp32Runner, Int8Runner, resolve_backend
from moderation.model import Moderator
from moderation.model_folder import ModelLoadError

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["Council approves budget.", "Soldiers shot the guard. " * 40, ""]


def test_backend_is_a_str_enum_with_plain_names():
    assert [b.value for b in Backend] == ["auto", "fp32", "bf16", "int8"]
    assert Backend.INT8 == "int8" and str(Backend.INT8) == "int8" and f"{Backend.BF16}" == "bf16"
    assert Backend.parse("fp32") is Backend.FP32 and Backend.parse(Backend.INT8) is Backend.INT8
    with pytest.raises(ValueError, match="backend must be one of auto, fp32, bf16, int8, not 'fp16'"):
        Backend.parse("fp16")
    import moderation

    assert moderation.Backend is Backend and "Backend" in moderation.__all__


def test_resolver_auto(monkeypatch):
    monkeypatch.delenv("MODERATION_BACKEND", raising=False)
    assert resolve_backend("fp32") is Backend.FP32 and resolve_backend(Backend.BF16) is Backend.BF16
    monkeypatch.setattr(backends, "int8_available", lambda: True)
    assert resolve_backend() is Backend.INT8 and resolve_backend("auto") is Backend.INT8
    monkeypatch.setattr(backends, "int8_available", lambda: False)
    import moderation.hardware as hardware

    monkeypatch.setattr(hardware, "cpu_supports_bf16", lambda: True)
    assert resolve_backend() is Backend.BF16
    monkeypatch.setattr(hardware, "cpu_supports_bf16", lambda: False)
    assert resolve_backend() is Backend.FP32
    assert resolve_backend("int8") is Backend.INT8  # asked for: not second-guessed


def test_the_environment_sets_the_library_default(monkeypatch):
    monkeypatch.setattr(backends, "int8_available", lambda: True)
    monkeypatch.setenv("MODERATION_BACKEND", "fp32")
    assert Backend.parse(None) is Backend.FP32 and resolve_backend() is Backend.FP32
    assert resolve_backend("auto") is Backend.INT8  # a backend asked for by name, auto included, beats the environment
    monkeypatch.setenv("MODERATION_BACKEND", "gpu")
    with pytest.raises(ValueError, match=r"not 'gpu' \(from \$MODERATION_BACKEND\)"):
        resolve_backend()


def test_moderation_backend_fp32_is_honoured_by_the_library_default(tiny_model, monkeypatch):
    monkeypatch.setenv("MODERATION_BACKEND", "fp32")
    mod = Moderator.from_pretrained(tiny_model)
    assert mod.backend is Backend.FP32 and type(mod.runner) is Fp32Runner
    monkeypatch.setenv("MODERATION_BACKEND", "bf16")
    assert type(Moderator.from_pretrained(tiny_model).runner) is Bf16Runner


def test_every_runner_has_the_same_interface(tiny_model):
    pytest.importorskip("onnxruntime")
    results = {}
    for backend in ("fp32", "bf16", "int8"):
        mod = Moderator.from_pretrained(tiny_model, backend=backend)
        assert mod.backend == backend and mod.runner.backend is Backend(backend)
        windows = [[101, 2000, 102], [101, 2000, 2001, 2002, 102]]
        logits = mod.runner.logits(windows)
        assert isinstance(logits, np.ndarray) and logits.shape == (2, 3)
        results[backend] = mod.predict_proba(TEXTS)
    assert isinstance(Moderator.from_pretrained(tiny_model, backend="int8").runner, Int8Runner)
    for backend in ("bf16", "int8"):
        assert abs(results[backend] - results["fp32"]).max() < 0.05


def test_batch_size_is_the_torch_runners_windows_per_call(tiny_model):
    assert Moderator.from_pretrained(tiny_model, backend="fp32").runner.batch_size == Fp32Runner.default_batch_size
    small = Moderator.from_pretrained(tiny_model, backend="fp32", batch_size=1)
    assert small.runner.batch_size == 1
    big = Moderator.from_pretrained(tiny_model, backend="fp32")
    assert abs(small.predict_proba(TEXTS) - big.predict_proba(TEXTS)).max() < 1e-5


def test_a_model_in_memory_runs_on_torch_backends_only(tiny_model):
    from moderation.model_folder import load_model

    model, tokenizer, config = load_model(tiny_model)
    assert Moderator.from_model(model, tokenizer, config).backend is Backend.FP32
    assert Moderator.from_model(model, tokenizer, config, backend="bf16").backend is Backend.BF16
    with pytest.raises(ValueError, match="fp32 or bf16, not int8"):
        Moderator.from_model(model, tokenizer, config, backend="int8")


@pytest.fixture
def failing_export(monkeypatch, tmp_path):
    """The ONNX export fails as an untraceable architecture would."""
    pytest.importorskip("onnxruntime")
    from moderation import onnx_backend as ox

    def fail(model, target):
        raise RuntimeError("the tracer met an op it cannot export")

    monkeypatch.setenv("MODERATION_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MODERATION_BACKEND", raising=False)
    monkeypatch.setattr(ox, "export_int8", fail)


def test_auto_falling_back_from_a_failing_int8_warns_with_the_reason(tiny_model, failing_export):
    with pytest.warns(UserWarning, match="auto backend: the int8 model is unavailable .*cannot export .*"
                                         "the tracer met an op it cannot export.*running (bf16|fp32) instead"):
        mod = Moderator.from_pretrained(tiny_model)
    assert mod.backend in (Backend.BF16, Backend.FP32)
    assert mod.predict_proba(TEXTS).shape == (3, 3)


def test_explicit_int8_that_fails_raises(tiny_model, failing_export):
    with pytest.raises(ModelLoadError, match="cannot export .*the tracer met an op it cannot export"):
        Moderator.from_pretrained(tiny_model, backend="int8")


def test_the_fallback_warning_reaches_stderr(tiny_model, tmp_path):
    """Not a log record at INFO: a warning a user sees, in a plain process with default settings."""
    pytest.importorskip("onnxruntime")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    env = {k: v for k, v in os.environ.items() if k not in ("MODERATION_BACKEND", "PYTHONWARNINGS")}
    env.update(MODERATION_CACHE=str(blocked), PYTHONPATH=str(ROOT))
    code = ("import sys; from moderation import Moderator; "
            "print(Moderator.from_pretrained(sys.argv[1]).backend)")
    out = subprocess.run([sys.executable, "-c", code, str(tiny_model)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() in ("bf16", "fp32")
    assert "UserWarning: auto backend: the int8 model is unavailable (cannot write the int8 model" in out.stderr
