"""Overlapping token windows, so that a cue deep inside a long article is not cut off.

Training and prediction share this code: an entry becomes one or more windows of
at most ``max_length`` tokens (special tokens included), consecutive windows
overlapping by ``stride`` tokens, and the entry's score for a label is the
maximum of its windows' scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Windows:
    """Token windows of a batch of texts; ``owner[i]`` is the text window ``i`` came from."""

    input_ids: list[list[int]]
    owner: list[int]
    n_texts: int


def window_spans(n_tokens: int, size: int, stride: int) -> list[tuple[int, int]]:
    """Start/end offsets of windows of ``size`` tokens overlapping by ``stride``."""
    if size <= 0 or not 0 <= stride < size:
        raise ValueError(f"need size > 0 and 0 <= stride < size, got size={size}, stride={stride}")
    if n_tokens <= size:
        return [(0, n_tokens)]
    step = size - stride
    spans = []
    start = 0
    while True:
        end = min(start + size, n_tokens)
        spans.append((start, end))
        if end == n_tokens:
            return spans
        start += step
        if start + size > n_tokens:  # last window: align to the end, keep it full
            start = n_tokens - size


def make_windows(tokenizer, texts: Sequence[str], max_length: int, stride: int) -> Windows:
    """Tokenise ``texts`` and cut each into overlapping windows with [CLS] ... [SEP]."""
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    if cls_id is None or sep_id is None:
        raise ValueError("the tokenizer needs a CLS and a SEP token for windowing")
    body = max_length - 2
    encoded = tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    input_ids: list[list[int]] = []
    owner: list[int] = []
    for i, ids in enumerate(encoded):
        for start, end in window_spans(len(ids), body, stride):
            input_ids.append([cls_id, *ids[start:end], sep_id])
            owner.append(i)
    return Windows(input_ids=input_ids, owner=owner, n_texts=len(encoded))
