"""Throughput benchmark: the naive Hugging Face pipeline vs the package's batch path, in one run.

Not a test: timings depend on the machine. ``moderation bench`` prints entries/s,
tokens/s, the speed-up, peak memory and label agreement with fp32.
"""

from __future__ import annotations

import json
import resource
import time
from dataclasses import dataclass
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
    agreement: float | None = None

    @property
    def per_second(self) -> float:
        return self.entries / self.seconds

    def line(self, baseline: "BenchRow | None" = None) -> str:
        ratio = f"{self.per_second / baseline.per_second:6.1f}x" if baseline else "      "
        agree = f"{self.agreement:7.2%}" if self.agreement is not None else "      -"
        return (f"{self.name:28} {self.entries:7d} {self.per_second:10.1f} {self.tokens / self.seconds:11.0f} "
                f"{ratio} {agree}")


def bench_texts(tokenizer, source: Path | None, n: int, target_tokens: int = 136) -> list[str]:
    """``n`` texts of about ``target_tokens`` tokens (special tokens included) from a JSON Lines file."""
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
    ids = tokenizer([texts[i % len(texts)] for i in range(n)], add_special_tokens=False)["input_ids"]
    # the first target_tokens - 2 tokens of each (room for [CLS] and [SEP]), decoded back to text
    return [tokenizer.decode(seq[: target_tokens - 2]) for seq in ids]


def split_texts(source: Path | None, split: str) -> list[str]:
    if source is None or not source.exists():
        return []
    rows = (json.loads(l) for l in source.read_text(encoding="utf-8").splitlines() if l.strip())
    return [r["text"] for r in rows if r.get("split") == split]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_bench(model: str | None, source: Path | None, n: int = 1000, pipeline_n: int = 300,
              backends: Sequence[str] = ("fp32", "bf16"), batch_size: int = 64, threads: int | None = None) -> str:
    import torch
    from transformers import pipeline

    from .model import Moderator

    if threads:
        torch.set_num_threads(threads)
    mod = Moderator.from_pretrained(model, batch_size=batch_size)
    texts = bench_texts(mod.tokenizer, source, n)
    n_tokens = sum(len(ids) + 2 for ids in mod.tokenizer(texts, add_special_tokens=False)["input_ids"])
    mean_tokens = n_tokens / len(texts)
    lines = [f"{len(texts)} entries, mean {mean_tokens:.0f} tokens; torch {torch.__version__}, "
             f"{torch.get_num_threads()} threads", "",
             f"{'path':28} {'entries':>7} {'entries/s':>10} {'tokens/s':>11} {'vs pipe':>7} {'agree':>7}"]

    # 1. naive pipeline: one entry at a time (timed on a subset; it is slow)
    pipe = pipeline("text-classification", model=mod.model, tokenizer=mod.tokenizer, top_k=None,
                    function_to_apply="sigmoid", device=-1)
    sub = texts[:pipeline_n]
    pipe(sub[0], truncation=True)
    t0 = time.perf_counter()
    for text in sub:
        pipe(text, truncation=True)
    base = BenchRow("hf pipeline, one at a time", len(sub), time.perf_counter() - t0, int(mean_tokens * len(sub)))
    lines.append(base.line())

    agreement_texts = split_texts(source, "dev")
    thresholds = np.array([mod.thresholds[label] for label in LABELS])
    reference = None
    dev_reference = None
    dev_lines = []
    for backend in backends:
        if backend == "int8":
            runner = Moderator.from_pretrained(model, batch_size=batch_size, backend="int8")
        else:
            runner = Moderator(mod.model, mod.tokenizer, mod.config, batch_size=batch_size, backend=backend)
        runner.predict_proba(texts[:32])  # warm-up
        t0 = time.perf_counter()
        probs = runner.predict_proba(texts)
        row = BenchRow(f"moderation batch, {backend}", len(texts), time.perf_counter() - t0, n_tokens)
        labels = probs >= thresholds
        if reference is None:
            reference = labels
        row.agreement = float((labels == reference).all(axis=1).mean())
        lines.append(row.line(base))
        if agreement_texts:
            dev_labels = runner.predict_proba(agreement_texts) >= thresholds
            if dev_reference is None:
                dev_reference = dev_labels
            agree = float((dev_labels == dev_reference).all(axis=1).mean())
            dev_lines.append(f"  {backend:6} {agree:.2%} of {len(agreement_texts)} dev entries (full length)")
    lines += ["", f"peak memory (RSS): {peak_rss_mb():.0f} MB",
              f"agree = entries whose three labels equal the {backends[0]} path's"]
    if dev_lines:
        lines += [f"label agreement with {backends[0]} on the dev split:", *dev_lines]
    return "\n".join(lines)
