"""The three labels and what they mean.

This is the project's own statement of the labelling guideline (``LABELS.md``,
v1.1), kept next to the code that uses it. Every part of the package that needs
a label's meaning (warnings, model card, CLI help) reads it from here.
"""

from __future__ import annotations

from enum import Enum

GUIDELINE_VERSION = "v1.1"


class Label(str, Enum):
    """A content label. The value is the name used in files and on the CLI."""

    GRAPHIC_VIOLENCE = "graphic_violence"
    UNVERIFIED_RUMOUR = "unverified_rumour"
    SOLICITATION = "solicitation"

    def __str__(self) -> str:  # "graphic_violence", not "Label.GRAPHIC_VIOLENCE"
        return self.value

    @property
    def definition(self) -> str:
        return DEFINITIONS[self]

    @property
    def default_warning(self) -> str:
        return DEFAULT_WARNINGS[self]

    @classmethod
    def parse(cls, names: str | list[str] | tuple[str, ...]) -> tuple["Label", ...]:
        """Parse ``"a,b"`` or ``["a", "b"]`` into labels; unknown names raise ``ValueError``."""
        if isinstance(names, str):
            names = [n for n in (p.strip() for p in names.split(",")) if n]
        out = []
        for name in names:
            try:
                out.append(cls(name.strip().lower().replace("-", "_")))
            except ValueError:
                known = ", ".join(label.value for label in cls)
                raise ValueError(f"unknown label {name!r} (known: {known})") from None
        return tuple(out)


LABELS: tuple[Label, ...] = tuple(Label)


def reaches(score, threshold):
    """The one decision rule: a label is given when its calibrated score reaches its threshold.

    Works on floats and, element-wise, on numpy arrays (scores against per-label thresholds)."""
    return score >= threshold

DEFINITIONS: dict[Label, str] = {
    Label.GRAPHIC_VIOLENCE: (
        "The entry puts physical harm in front of the reader in concrete terms: what was "
        "done to a body (wounds, blood, remains, where someone was struck), the killing, "
        "maiming, torture or rape of particular victims told as something that happened, "
        "or a description of footage or pictures that show such harm. Not enough on its "
        "own: conflict or attacks named in general, a bare number of dead or injured, "
        "weapons and strategy, violence that is only threatened or imagined, damage to "
        "buildings or things with no harm to people described."
    ),
    Label.UNVERIFIED_RUMOUR: (
        "The main claim of the entry is offered as not (yet) established: it rests on "
        "unnamed or anonymous sources, hearsay, leaks, gossip, speculation or unconfirmed "
        "social-media posts, is hedged ('reportedly', 'allegedly', 'is said to', "
        "'unconfirmed reports'), or the entry says it could not be verified. Not a rumour: "
        "named officials or institutions speaking on the record about their own actions, "
        "confirmed events, court proceedings and formal charges, opinion and analysis, or "
        "a hedge that touches only a side detail, or one side's on-the-record claim about "
        "its own actions told as that side's statement (it becomes a rumour when the entry "
        "presents it as unconfirmed or unverifiable). Short breaking items count the same "
        "as long ones: '10 reportedly shot dead at ...' is a rumour, a flat 'gunman takes "
        "hostages at ...' is not."
    ),
    Label.SOLICITATION: (
        "The entry asks the reader to give or do something for a cause, campaign or "
        "commercial offer: donate, send money, text a code, ring a premium line, buy, "
        "subscribe, sign up, enter a competition, follow a payment or donation link. Not "
        "solicitation: reporting that somebody else appealed, pledged or urged; site "
        "navigation such as 'follow our live blog' or 'read more'; police or other "
        "authorities asking for witnesses or information; helpline signposting. A report "
        "of someone else's fundraiser becomes solicitation when the entry itself tells "
        "the reader how to give (a link, a number); a publication's own subscription, "
        "newsletter and competition pushes inside an entry count."
    ),
}

DEFAULT_WARNINGS: dict[Label, str] = {
    Label.GRAPHIC_VIOLENCE: "This entry contains descriptions of graphic violence.",
    Label.UNVERIFIED_RUMOUR: "This entry reports claims that have not been verified.",
    Label.SOLICITATION: "This entry asks readers for money or action.",
}
