"""Rendering screened entries with their warnings: plain text, Markdown, HTML, JSON Lines."""

from __future__ import annotations

import json
from html import escape
from typing import Sequence

from .labels import LABELS
from .policy import WarningPolicy
from .results import ScreenedEntry

FORMATS = ("text", "markdown", "html", "jsonl")


def _scores_line(item: ScreenedEntry) -> str:
    scores = item.prediction.scores
    return ", ".join(f"{label.value} {scores[label]:.2f}" for label in LABELS)


def _labels(item: ScreenedEntry) -> str:
    return ", ".join(label.value for label in item.prediction.labels) or "none"


def _place(policy: WarningPolicy, banner: list[str], body: list[str]) -> list[str]:
    return banner + body if policy.placement == "before" else body + banner


def render_text(items: Sequence[ScreenedEntry], policy: WarningPolicy) -> str:
    blocks = []
    for item in items:
        entry, pred = item.entry, item.prediction
        head = f"[{entry.id}]" + (f" by {entry.author}" if entry.author else "")
        meta = [f"{head} labels: {_labels(item)} | scores: {_scores_line(item)}"]
        banner = [f"!! {policy.heading}: {w}" for w in pred.warnings]
        body = ["    " + line if line else "" for line in entry.text.split("\n")]
        blocks.append("\n".join(meta + _place(policy, banner, body)))
    return "\n\n".join(blocks) + "\n"


def render_markdown(items: Sequence[ScreenedEntry], policy: WarningPolicy) -> str:
    blocks = []
    for item in items:
        entry, pred = item.entry, item.prediction
        title = entry.headline or f"Entry {entry.id}"
        meta = [f"## {title}", ""]
        if entry.author:
            meta += [f"*{entry.author}*", ""]
        banner = []
        if pred.warnings:
            banner = [f"> **{policy.heading}:** " + " ".join(pred.warnings), ""]
        lines = entry.text.split("\n")
        body_text = "\n".join(lines[1:]).strip() if entry.headline else entry.text
        body = [body_text, ""] if body_text else []
        footer = [f"`labels: {_labels(item)}` · `scores: {_scores_line(item)}`", ""]
        blocks.append("\n".join(meta + _place(policy, banner, body) + footer))
    return "\n".join(blocks)


def render_html(items: Sequence[ScreenedEntry], policy: WarningPolicy) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Screened entries</title>',
        "<style>.cw{border-left:4px solid #b00;background:#fff3f3;padding:.5em 1em;margin:.5em 0}"
        ".meta{color:#555;font-size:.85em}</style></head><body>",
    ]
    for item in items:
        entry, pred = item.entry, item.prediction
        labels = " ".join(label.value for label in pred.labels)
        banner = []
        if pred.warnings:
            warns = "".join(f"<li>{escape(w)}</li>" for w in pred.warnings)
            banner = [
                f'<aside class="cw" role="note" data-labels="{escape(labels)}">'
                f"<strong>{escape(policy.heading)}</strong><ul>{warns}</ul></aside>"
            ]
        lines = entry.text.split("\n")
        body_lines = lines[1:] if entry.headline else lines
        paragraphs = [p.strip() for p in "\n".join(body_lines).split("\n\n") if p.strip()]
        body = []
        if entry.headline:
            body.append(f"<h2>{escape(entry.headline)}</h2>")
        if entry.author:
            body.append(f'<p class="byline">{escape(entry.author)}</p>')
        body += [f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs]
        body.append(f'<p class="meta">labels: {escape(_labels(item))}; scores: {escape(_scores_line(item))}</p>')
        parts.append(f'<article id="entry-{escape(entry.id)}">' + "".join(_place(policy, banner, body)) + "</article>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_jsonl(items: Sequence[ScreenedEntry], policy: WarningPolicy) -> str:
    return "".join(json.dumps(item.to_dict(), ensure_ascii=False) + "\n" for item in items)


RENDERERS = {"text": render_text, "markdown": render_markdown, "html": render_html, "jsonl": render_jsonl}


def render(items: Sequence[ScreenedEntry], policy: WarningPolicy, fmt: str = "text") -> str:
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}") from None
    return renderer(items, policy)
