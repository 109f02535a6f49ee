"""Two baselines trained and scored on the same split as the model.

* TF-IDF (word 1-2 grams) + one logistic regression per label, thresholds fitted on dev.
* Keyword rules: hand-written cue lists per label, the kind of filter a newsroom
  might write without a model.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from moderation.labels import LABELS, Label

from .calibrate import fit_threshold


class TfidfLogReg:
    name = "tfidf_logreg"

    def fit(self, texts: Sequence[str], y: np.ndarray, seed: int = 13) -> "TfidfLogReg":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200_000)
        x = self.vectorizer.fit_transform(texts)
        self.models = [
            LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced", random_state=seed).fit(x, y[:, j])
            for j in range(len(LABELS))
        ]
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        x = self.vectorizer.transform(texts)
        return np.stack([m.predict_proba(x)[:, 1] for m in self.models], axis=1)

    def fit_thresholds(self, texts: Sequence[str], y: np.ndarray) -> np.ndarray:
        prob = self.predict_proba(texts)
        return np.array([fit_threshold(prob[:, j], y[:, j]) for j in range(len(LABELS))])


KEYWORDS: dict[Label, list[str]] = {
    Label.GRAPHIC_VIOLENCE: [
        r"\bblood(y|ied|stained)?\b", r"\bbod(y|ies)\b", r"\bcorpses?\b", r"\bwounds?\b", r"\bshot (him|her|them|dead)\b",
        r"\bbehead", r"\bmutilat", r"\btortur", r"\bstabbed\b", r"\bdismember", r"\bremains\b", r"\bgore\b",
        r"\bgraphic (footage|video|images)\b", r"\bslit\b", r"\bsevered\b", r"\bcharred\b", r"\bexecuted\b",
    ],
    Label.UNVERIFIED_RUMOUR: [
        r"\breportedly\b", r"\ballegedly\b", r"\bunconfirmed\b", r"\brumou?r", r"\bis said to\b", r"\bsources? (said|say|close)",
        r"\binsiders?\b", r"\bcould not (be )?(independently )?verif", r"\bunverified\b", r"\bclaimed\b",
        r"\bit is understood\b", r"\bleaked\b", r"\bspeculat", r"\bunnamed\b", r"\banonymous\b",
    ],
    Label.SOLICITATION: [
        r"\bdonat(e|ion)", r"\btext \w+ to \d+", r"\bsubscribe\b", r"\bsign up\b", r"\bgofundme\b", r"\bjustgiving\b",
        r"\bbuy (now|tickets|your)\b", r"\benter (now|our|the) ?(competition|draw)?", r"\bplease (give|help|donate|support)\b",
        r"\bcrowdfund", r"\bappeal\b", r"\bper (week|month)\b", r"\bcalls cost\b",
    ],
}


class KeywordRules:
    name = "keyword_rules"

    def __init__(self) -> None:
        self.patterns = {label: [re.compile(p, re.IGNORECASE) for p in pats] for label, pats in KEYWORDS.items()}

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(LABELS)))
        for i, text in enumerate(texts):
            for j, label in enumerate(LABELS):
                out[i, j] = float(any(p.search(text) for p in self.patterns[label]))
        return out
