"""What training knows for the model card: the description of the training data.

The card's format, template and rendering belong to ``moderation.model_folder``;
this module only supplies the data a folder's ``moderation.json`` cannot: where the
training data came from, by name and licence.
"""

from __future__ import annotations

from typing import Any, Mapping

from moderation.model_folder import ModelCard, ModelConfig

#: The real-text sets that can be trained on, as the card names them (with their licences).
REAL_SOURCES = {
    "pheme": "PHEME rumour tweets (Kochkina, Liakata and Zubiaga; annotations CC-BY 4.0)",
    "drm": "Disaster Response Messages (Munro 2012; CC-BY 4.0)",
    "clx": "CrisisLexT26 crisis tweets (Olteanu, Castillo et al. 2015; MIT)",
}
EVAL_ONLY_NOTE = ("Eval-only sets (FNC-1, Emergent, BBC News, AG News, Gun Violence Archive articles) are never "
                  "trained on, nor used for thresholds.")


def data_description(extra: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The card's one-line summary of the training data and its Training data list, from ``moderation.json`` extra."""
    real = extra.get("real_train_entries") or 0
    if not real:
        summary = "the project corpus, `training/data/`"
    else:
        summary = f"{extra['train_entries'] - real} of the project corpus and {real} real texts"
    if not extra.get("real_train_sets"):
        return summary, ()
    lines = [f"{extra['train_entries'] - real} entries of the project corpus, written for it "
             "(`training/data/corpus.jsonl`; dataset card beside it)."]
    for set_name, n in extra["real_train_sets"].items():
        lines.append(f"{n} real texts of {REAL_SOURCES.get(set_name, set_name)}, labelled for this project "
                     "(ids and labels in `training/data/real_labels.jsonl`; the texts are not redistributed).")
    return summary, (*lines, EVAL_ONLY_NOTE)


def model_card(config: ModelConfig, **results: Any) -> ModelCard:
    """The card data of a model this package trained: ``moderation.json``, the data description, ``results``."""
    summary, lines = data_description(config.extra or {})
    return ModelCard.from_config(config, data_summary=summary, training_data=lines, **results)
