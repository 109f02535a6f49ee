"""Training side of the project: corpus, fine-tuning, calibration, evaluation.

Depends on the ``moderation`` package; ``moderation`` never imports this one.
"""
