"""Throughput benchmark: the naive Hugging Face pipeline vs the package's batch path, in one run.

Not a test: timings depend on the machine. ``moderation bench`` prints entries/s,
tokens/s, the speed-up over the pipeline, each path's peak memory and its label
agreement with fp32. Every path runs in a fresh process of its own, so that its
peak memory (RSS) is its own and not the sum of everything loaded before it; the
int8 model is built (and cached) in a separate process before it is timed.
"""

from __future__ import annotations

import json
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Sequence

import numpy as np

from .labels import LABELS


@dataclass
class BenchRow:
    name: str
    entries: int
    seconds: float
    tokens: int
    peak_mb: float
    agreement: float | None = None

    @property
    def per_second(self) -> float:
        return self.entries / self.seconds

    def line(self, baseline: "BenchRow | None" = None) -> str:
        ratio = f"{self.per_second / baseline.per_second:6.1f}x" if baseline else "      "
        agree = f"{self.agreement:7.2%}" if self.agreement is not None else "      -"
        return (f"{self.name:28} {self.entries:7d} {self.per_second:10.1f} {self.tokens / self.seconds:11.0f} "
                f"{ratio} {self.peak_mb:8.0f} {agree}")


def bench_texts(tokenizer, source: Path | None, n: int, target_tokens: int = 136) -> list[str]:
    """``n`` texts of about ``target_tokens`` tokens (special tokens included) from a JSON Lines file.

    ``tokenizer`` is a ``tokenizers.Tokenizer``.
    """
    texts: list[str] = []
    if source is not None and source.exists():
        for line in source.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    if not texts:
        from .documents import parse_document

        example = Path(__file__).resolve().parents[1] / "examples" / "live_blog.txt"
        texts = [e.text for e in parse_document(example.read_text(encoding="utf-8"))]
    texts = [t for t in texts if len(t) > target_tokens * 6] or texts  # long enough to cut
    encoded = tokenizer.encode_batch([texts[i % len(texts)] for i in range(n)], add_special_tokens=False)
    # the first target_tokens - 2 tokens of each (room for [CLS] and [SEP]), decoded back to text
    return tokenizer.decode_batch([e.ids[: target_tokens - 2] for e in encoded])


def split_texts(source: Path | None, split: str) -> list[str]:
    if source is None or not source.exists():
        return []
    rows = (json.loads(l) for l in source.read_text(encoding="utf-8").splitlines() if l.strip())
    return [r["text"] for r in rows if r.get("split") == split]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the timed paths: each runs in a fresh process ------------------------------------
def _time_pipeline(model: str | None, texts: list[str], threads: int | None) -> tuple[float, float]:
    import torch
    from transformers import pipeline

    from .model_folder import load_model

    if threads:
        torch.set_num_threads(threads)
    hf_model, tokenizer, _ = load_model(model)
    pipe = pipeline("text-classification", model=hf_model, tokenizer=tokenizer, top_k=None,
                    function_to_apply="sigmoid", device=-1)
    pipe(texts[0], truncation=True)  # warm-up
    t0 = time.perf_counter()
    for text in texts:
        pipe(text, truncation=True)
    return time.perf_counter() - t0, peak_rss_mb()


def _prepare(model: str | None, backend: str) -> None:
    from .model import Moderator

    Moderator.from_pretrained(model, backend=backend)


def _time_backend(model: str | None, backend: str, texts: list[str], dev: list[str], batch_size: int | None,
                  threads: int | None) -> tuple[float, float, list, list]:
    from .model import Moderator

    mod = Moderator.from_pretrained(model, backend=backend, batch_size=batch_size, threads=threads)
    mod.predict(texts[:32])  # warm-up
    t0 = time.perf_counter()
    labels = [[label in p.labels for label in LABELS] for p in mod.predict(texts)]  # the path users get
    seconds = time.perf_counter() - t0
    dev_labels = [[label in p.labels for label in LABELS] for p in mod.predict(dev)] if dev else []
    return seconds, peak_rss_mb(), labels, dev_labels


def _in_fresh_process(fn, *args):
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def run_bench(model: str | None, source: Path | None, n: int = 1000, pipeline_n: int = 300,
              backends: Sequence[str] = ("fp32", "bf16", "int8"), batch_size: int | None = None,
              threads: int | None = None) -> str:
    from tokenizers import Tokenizer

    from .backends import Backend
    from .model_folder import open_folder

    backends = [Backend.parse(b) for b in backends]  # a bad name fails here, not in a subprocess
    tokenizer = Tokenizer.from_file(str(open_folder(model).tokenizer_json()))
    texts = bench_texts(tokenizer, source, n)
    n_tokens = sum(len(e.ids) + 2 for e in tokenizer.encode_batch(texts, add_special_tokens=False))
    mean_tokens = n_tokens / len(texts)
    lines = [f"{len(texts)} entries, mean {mean_tokens:.0f} tokens; batch size {batch_size or 'per backend'}; "
             f"threads {threads or 'default'}; each path in a fresh process", "",
             f"{'path':28} {'entries':>7} {'entries/s':>10} {'tokens/s':>11} {'vs pipe':>7} {'peak MB':>8} {'agree':>7}"]

    sub = texts[:pipeline_n]
    seconds, peak = _in_fresh_process(_time_pipeline, model, sub, threads)
    base_row = BenchRow("hf pipeline, one at a time", len(sub), seconds, int(mean_tokens * len(sub)), peak)
    lines.append(base_row.line())

    dev = split_texts(source, "dev")
    reference = dev_reference = None
    dev_lines = []
    for backend in backends:
        if backend is Backend.INT8:
            _in_fresh_process(_prepare, model, backend)  # build and cache outside the timed process
        seconds, peak, labels, dev_labels = _in_fresh_process(
            _time_backend, model, backend, texts, dev, batch_size, threads)
        labels, dev_labels = np.array(labels), np.array(dev_labels)
        if reference is None:
            reference, dev_reference = labels, dev_labels
        row = BenchRow(f"moderation batch, {backend}", len(texts), seconds, n_tokens, peak)
        row.agreement = float((labels == reference).all(axis=1).mean())
        lines.append(row.line(base_row))
        if dev:
            agree = float((dev_labels == dev_reference).all(axis=1).mean())
            dev_lines.append(f"  {backend:6} {agree:.2%} of {len(dev)} dev entries (full length)")
    lines += ["", "peak MB = peak resident memory of the process that ran the path",
              f"agree = entries whose three labels equal the {backends[0]} path's"]
    if dev_lines:
        lines += [f"label agreement with {backends[0]} on the dev split:", *dev_lines]
    return "\n".join(lines)
