"""Rendering screened entries with their warnings: plain text, Markdown, HTML, JSON Lines."""

from __future__ import annotations

import json
import re
from html import escape
from typing import Sequence

from .labels import LABELS
from .policy import WarningPolicy
from .results import ScreenedEntry

FORMATS = ("text", "markdown", "html", "jsonl")

# Control characters (C0 but tab, DEL, C1) and bidirectional overrides: on a terminal an ANSI
# sequence in an entry could rewrite its own "labels:" line, so they are shown, not obeyed.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What CommonMark gives meaning to, escaped so that entry text stays text: anywhere, the marks
# of HTML, links, images, emphasis, code, tables and entities; at a line's start, those of
# headings, quotes, lists and setext underlines.
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>&!|~])")
_MARKDOWN_LINE_START = re.compile(r"^([ \t]*)([#>+=\-]|\d+[.)])", re.MULTILINE)


def safe_text(text: str) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``), line breaks kept."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def markdown_text(text: str) -> str:
    """Entry text as literal Markdown: every special character escaped, control characters shown."""
    text = _MARKDOWN_INLINE.sub(r"\\\1", safe_text(text))
    return _MARKDOWN_LINE_START.sub(lambda m: m.group(1) + "".join("\\" + c if not c.isdigit() else c
                                                                   for c in m.group(2)), text)


def _scores_line(item: ScreenedEntry) -> str:
    scores = item.prediction.scores
    return ", ".join(f"{label.value} {scores[label]:.2f}" for label in LABELS)


def _labels(item: ScreenedEntry) -> str:
    return ", ".join(label.value for label in item.prediction.labels) or "none"


def _place(policy: WarningPolicy, banner: list[str], body: list[str]) -> list[str]:
    return banner + body if policy.placement == "before" else body + banner


def _verdict(item: ScreenedEntry) -> str:
    """Each label found with its score and the threshold it reached, or "none"."""
    pred = item.prediction
    found = [f"{label.value} {pred.scores[label]:.2f} (threshold {pred.thresholds[label]:.2f})"
             if label in pred.thresholds else label.value for label in pred.labels]
    return ", ".join(found) or "none"


def summary_line(items: Sequence[ScreenedEntry]) -> str:
    """``3 of 8 entries flagged: graphic_violence 1, unverified_rumour 1, solicitation 1``."""
    flagged = sum(1 for item in items if item.prediction.labels)
    counts = ", ".join(f"{label.value} {sum(label in item.prediction.labels for item in items)}" for label in LABELS)
    return f"{flagged} of {len(items)} entries flagged: {counts}"


def render_text(items: Sequence[ScreenedEntry], policy: WarningPolicy) -> str:
    blocks = []
    for item in items:
        entry, pred = item.entry, item.prediction
        head = f"[{safe_text(entry.id)} #{entry.key}]"
        if entry.headline:
            head += f' "{safe_text(entry.headline)}"'
        if entry.author:
            head += f" by {safe_text(entry.author)}"
        meta = [f"{head} labels: {_verdict(item)} | scores: {_scores_line(item)}"]
        banner = [f"!! {policy.heading}: {w}" for w in pred.warnings]
        body = ["    " + safe_text(line) if line else "" for line in entry.text.split("\n")]
        blocks.append("\n".join(meta + _place(policy, banner, body)))
    return "\n\n".join(blocks + [summary_line(items)]) + "\n"


def render_markdown(items: Sequence[ScreenedEntry], policy: WarningPolicy) -> str:
    blocks = []
    for item in items:
        entry, pred = item.entry, item.prediction
        title = markdown_text(entry.headline or f"Entry {entry.id}")
        meta = [f"## {title}", ""]
        if entry.author:
            meta += [f"*{markdown_text(entry.author)}*", ""]
        banner = []
        if pred.warnings:
            banner = [f"> **{policy.heading}:** " + " ".join(pred.warnings), ""]
        lines = entry.text.split("\n")
        body_text = "\n".join(lines[1:]).strip() if entry.headline else entry.text
        # one escaped paragraph per source paragraph; a hard break keeps each line a line
        body = [markdown_text(body_text).replace("\n", "  \n").replace("  \n  \n", "\n\n"), ""] if body_text else []
        footer = [f"`labels: {_labels(item)}` · `scores: {_scores_line(item)}`", ""]
        blocks.append("\n".join(meta + _place(policy, banner, body) + footer))
    return "\n".join(blocks)


def render_html(items: Sequence[ScreenedEntry], policy: WarningPolicy) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Screened entries</title>',
        # each entry is its own box, so a warning visibly belongs to the entry it sits in
        "<style>body{max-width:48em;margin:1em auto;font-family:sans-serif}"
        "article{border:1px solid #ccc;border-radius:6px;padding:.25em 1em .5em;margin:1.25em 0}"
        ".cw{border-left:4px solid #b00;background:#fff3f3;padding:.5em 1em;margin:.75em 0}"
        ".cw ul{margin:.25em 0}.meta,.summary{color:#555;font-size:.85em}</style></head><body>",
        f'<p class="summary">{escape(summary_line(items))}</p>',
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
