"""Probe: why does a trained model still fail functionalities of its suite? Inference only, nothing trained.

    python -m bench.suite_probe MODEL_DIR [MODEL_DIR ...]

Per model, on the test-side cases it is gated on (``suite_cases.jsonl``, all of them, pending included):

1. each functionality's pass rate as the model scores it, and with a spelling normaliser in front of the
   model (leetspeak digits and symbols read as letters, letters spaced out joined again: ``d1sgusting`` ->
   ``disgusting``, ``p a t h e t i c`` -> ``pathetic``): how much of a spelling failure is the encoder's
   word pieces not reading through the obfuscation, and how much is the statement underneath;
2. for an ensemble, per functionality that fails: of its failing cases, how many each member alone would
   pass at the model's threshold, and each member's mean probability on them (a member that scores every
   case low caps the average: with weights w, the others must make up for it).

Models trained now read through the same normaliser themselves (``TrainSpec.spelling``, on by default), so for
them the two columns agree; for a model trained before, the second column is what the normaliser would add.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from training.artifacts import load_model
from training.evaluation import suite_result
from training.families import SpellingNormaliser

normalise_spelling = SpellingNormaliser()  # the library's normaliser (issue 45), every step on


def pass_rates(model, result, predict) -> pd.DataFrame:
    """Pass rate per functionality, as scored (``result``, of ``predict``) and with the normaliser in front."""
    raw = result.functionalities
    normalised = suite_result(model, lambda texts: predict([normalise_spelling(t) for t in texts])).functionalities
    return pd.DataFrame({"cases": raw["cases"], "as scored": raw["pass_rate"], "normalised": normalised["pass_rate"]})


def members_on_failures(model, result) -> pd.DataFrame:
    """Per failing functionality and ensemble member (of ``result``'s failing cases): the cases the member
    alone passes, its mean probability."""
    clf = model.classifier()
    members = getattr(clf, "members", None)
    if not members:
        return pd.DataFrame()
    failing = result.cases[~result.cases["passed"]]
    rows = []
    for func, part in failing.groupby("functionality"):
        for (label, want), group in part.groupby(part["expect"].map(lambda e: next(iter(e.items())))):
            j = model.labels.index(label)
            texts = group["text"].tolist()
            for i, m in enumerate(members):
                p = m.predict_proba(texts)[:, j]
                alone = (p >= model.thresholds[j]) == bool(want)
                rows.append(
                    {
                        "functionality": func,
                        "failing": len(texts),
                        "member": f"{i}:{m.family} (w {clf.weights[i]:.2f})",
                        "passes alone": int(alone.sum()),
                        "mean p": round(float(np.mean(p)), 3),
                    }
                )
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path)
    args = ap.parse_args(argv)
    pd.set_option("display.width", 160)
    for path in args.models:
        model = load_model(path)
        predict = model.predictor("torch")
        result = suite_result(model, predict)  # scored once: both tables read it
        print(f"== {path} (threshold per label: {dict(zip(model.labels, model.thresholds))})")
        print(pass_rates(model, result, predict).round(3).to_string())
        table = members_on_failures(model, result)
        if not table.empty:
            print("ensemble members on the failing cases:")
            print(table.to_string(index=False))


if __name__ == "__main__":
    main()
