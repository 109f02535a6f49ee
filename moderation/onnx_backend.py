"""The int8 backend: ONNX export of the merged model, dynamic int8 quantisation, onnxruntime.

Optional extra ``[onnx]`` (onnxruntime; exporting once also needs ``onnx``). The
quantised model is built on first use from the safetensors weights and cached
(``$MODERATION_CACHE``, default ``~/.cache/news-moderation``), keyed by the model
folder's content, so later runs start without importing torch or transformers:
the tokenizer is read straight from ``tokenizer.json`` with ``tokenizers``.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from .model import ADAPTER_NAME, MODEL_CONFIG_NAME, ModelLoadError


def cache_dir() -> Path:
    return Path(os.environ.get("MODERATION_CACHE", Path.home() / ".cache" / "news-moderation"))


def model_digest(folder: Path, base: Path | None) -> str:
    """A short hash of the files that define the model (weights and settings)."""
    h = hashlib.sha256()
    names = [MODEL_CONFIG_NAME, ADAPTER_NAME, "model.safetensors", "config.json"]
    for root in (folder, base):
        if root is None:
            continue
        for name in names:
            path = root / name
            if path.is_file():
                stat = path.stat()
                h.update(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def tokenizer_file(folder: Path, base: Path | None) -> Path:
    for root in (folder, base):
        if root is not None and (root / "tokenizer.json").is_file():
            return root / "tokenizer.json"
    raise ModelLoadError(f"no tokenizer.json in {folder} or its base model; the int8 backend needs one")


class FastTokenizer:
    """The slice of the Hugging Face tokenizer API the package uses, on ``tokenizers`` alone."""

    def __init__(self, path: Path):
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(path))
        self._tok.no_truncation()
        self._tok.no_padding()
        vocab = self._tok.get_vocab()
        self.cls_token_id = vocab.get("[CLS]", vocab.get("<s>"))
        self.sep_token_id = vocab.get("[SEP]", vocab.get("</s>"))
        self.pad_token_id = vocab.get("[PAD]", vocab.get("<pad>", 0))

    def __call__(self, texts: Sequence[str], add_special_tokens: bool = False, **_: object) -> dict:
        encoded = self._tok.encode_batch(list(texts), add_special_tokens=add_special_tokens)
        return {"input_ids": [e.ids for e in encoded]}


class OnnxClassifier:
    """Runs the quantised model; ``logits(ids, mask)`` takes and returns numpy arrays."""

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)}
        return self.session.run(["logits"], feeds)[0]


def export_int8(model, target: Path) -> Path:
    """Export ``model`` (a torch sequence classifier) to ONNX and quantise its weights to int8."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    fp32 = target.with_name("model.fp32.onnx")
    ids = torch.full((2, 16), 1000, dtype=torch.long)
    mask = torch.ones_like(ids)

    class _Logits(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about Python-side shape checks that are constant here
        torch.onnx.export(
            _Logits(model), (ids, mask), str(fp32), input_names=["input_ids", "attention_mask"],
            output_names=["logits"], opset_version=17, dynamo=False,
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                          "logits": {0: "batch"}},
        )
    tmp = target.with_suffix(".tmp")
    quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    os.replace(tmp, target)
    fp32.unlink(missing_ok=True)
    return target

