"""What each data lever adds, measured with TF-IDF + LR: ``python -m moderation_training.levers``.

A transformer run takes about 40 minutes on two cores, so the recipe's levers are
measured one by one, cumulatively, with the cheap baseline trained on exactly the
data each step would give the model (the same ``training_sets`` the trainer
calls, with thresholds fitted on that step's dev set). Scores are on real-dev
(all eight sets; eval-only sets are measured, never trained or fitted on), so the
test split stays untouched. The transformer itself is measured on the whole
recipe only (``moderation evaluate``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Sequence

from .baselines import TfidfLogReg
from .config import load_config
from .data import Example, batch_of, clear_mask, label_matrix
from .metrics import report
from .realdata import find_realdata, is_real, load_real, training_sets

WAVE3 = ["cx_gv", "cx_ur", "cx_so", "cx_mixed", "cx2_long", "cx2_world", "cx2_live", "cx2_ur", "cx3_long_a",
         "cx3_long_b"]
RT = ["rt_gv", "rt_ur", "rt_so", "rt_tab"]
RT2 = ["rt2_local", "rt2_video", "rt2_spec", "rt2_appeal", "rt2_long_a", "rt2_long_b"]
GIVE = ["rt2_give_a", "rt2_give_b", "rt2_give_long"]
RT3 = ["rt3_wound", "rt3_hedge", "rt3_rumourword", "rt3_video", "rt3_long"]
RT3_GIVE = ["rt3_give_a", "rt3_give_b"]
RT4 = ["rt4_alleged", "rt4_killline", "rt4_spec_a", "rt4_spec_b", "rt4_noharm"]
ROUND4 = "r4-"  # stratum prefix of the fourth real-text round

# (name, batches the step adds, real-train used, round-4 real texts used); each step adds one lever
ADDED: list[tuple[str, list[str], bool, bool]] = [
    ("0.1.0 corpus", [], False, False),
    ("+ third-wave contrast sets", WAVE3, False, False),
    ("+ rt_* real-form entries", RT, False, False),
    ("+ real-train (rounds 1-3) = 0.2.0", [], True, False),
    ("+ round-4 real texts (violence cues)", [], True, True),
    ("+ rt2_* entries from real-dev errors", RT2, True, True),
    ("+ rt2_give_* short text-to-give appeals = 0.3.0", GIVE, True, True),
    ("+ rt3_* entries from 0.3.0's real-dev errors", RT3, True, True),
    ("+ rt3_give_* asks against giving reported = 0.4.0", RT3_GIVE, True, True),
    ("+ rt4_* entries from 0.4.0's real-dev errors", RT4, True, True),
]
LEVER_BATCHES = [b for _, added, _, _ in ADDED for b in added]
# (name, batches left out: those later steps add, real-train used, round-4 real texts used)
STEPS: list[tuple[str, list[str], bool, bool]] = [
    (name, [b for _, later, _, _ in ADDED[i + 1 :] for b in later], real, round4)
    for i, (name, _, real, round4) in enumerate(ADDED)
]


def _keep(example: Example, round4: bool) -> bool:
    return round4 or not (is_real(example) and str(example.raw.get("stratum", "")).startswith(ROUND4))


def step_data(data_args, exclude: Sequence[str], real: bool, round4: bool) -> tuple[list[Example], list[Example]]:
    args = dataclasses.replace(data_args, exclude_batches=list(exclude), real_labels=data_args.real_labels if real else "")
    train, dev = training_sets(args)
    return [e for e in train if _keep(e, round4)], [e for e in dev if _keep(e, round4)]


def measure(config: str, realdata: str | None = None) -> list[dict]:
    cfg = load_config(config)
    folder = find_realdata(realdata or cfg.data.realdata or None)
    real_dev = load_real("dev", folder, cfg.data.real_labels)
    y_eval = label_matrix(real_dev)
    present = {batch_of(e.id) for e in step_data(cfg.data, [], False, False)[0]}
    missing = [b for b in LEVER_BATCHES if b not in present]
    if missing:
        print(f"note: batches {missing} are not in the corpus, so their steps add nothing")
    rows = []
    for name, exclude, real, round4 in STEPS:
        train, dev = step_data(cfg.data, exclude, real, round4)
        model = TfidfLogReg().fit([e.text for e in train], label_matrix(train))
        thresholds = model.fit_thresholds([e.text for e in dev], label_matrix(dev))
        prob = model.predict_proba([e.text for e in real_dev])
        clear = report(y_eval, prob, thresholds, clear_mask(real_dev))
        every = report(y_eval, prob, thresholds)
        rows.append({"step": name, "train": len(train), "real_train": sum(map(is_real, train)), "dev": len(dev),
                     "real_dev_clear_macro_f1": clear["macro_f1"], "real_dev_all_macro_f1": every["macro_f1"],
                     "per_label_clear": {k: v["f1"] for k, v in clear["labels"].items()}})
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/default.yaml")
    ap.add_argument("--realdata", default=None)
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = ap.parse_args(argv)
    rows = measure(args.config, args.realdata)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("| step | train (real) | real-dev clear macro-F1 | gv | ur | so | real-dev all |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        f = list(r["per_label_clear"].values())
        print(f"| {r['step']} | {r['train']} ({r['real_train']}) | {r['real_dev_clear_macro_f1']:.3f} | "
              f"{f[0]:.3f} | {f[1]:.3f} | {f[2]:.3f} | {r['real_dev_all_macro_f1']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
