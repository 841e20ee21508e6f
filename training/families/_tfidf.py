"""Families ``tfidf`` (word and character TF-IDF) and ``chars`` (character n-grams alone), each with one
logistic regression per label (scikit-learn): a fast lexical baseline, and the ensemble's character-aware
member, which reads a word it has never seen whole (a typo, a spacing, a new spelling) by its pieces."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ._contract import Classifier, check_targets, write_json
from ._spelling import SpellingNormaliser

__all__ = ["TfidfClassifier", "CharNgramClassifier"]


class TfidfClassifier(Classifier):
    """Word (1-2) and character (2-5, within words) TF-IDF + one logistic regression per label,
    each fitted on the rows where that label is known."""

    family = "tfidf"
    param_types = {"spelling": SpellingNormaliser}

    def __init__(
        self,
        labels: Sequence[str],
        *,
        C: float = 4.0,
        max_features: int = 200_000,
        class_weight: str | None = "balanced",
        seed: int = 0,
        spelling: SpellingNormaliser | None = None,
    ):
        super().__init__()
        self._set_params(locals())
        self.labels = list(labels)
        self.vectorizer_ = None
        self.estimators_: list = []

    def fit(self, texts: Sequence[str], targets: np.ndarray, *, valid=None, monitor=None, **_) -> TfidfClassifier:
        from sklearn.linear_model import LogisticRegression

        y = check_targets(texts, targets, self.labels)
        self.vectorizer_ = self._vectorizer()
        x = self.vectorizer_.fit_transform(self.read(texts))
        self.estimators_ = []
        for j in range(len(self.labels)):
            known = ~np.isnan(y[:, j])
            yj = y[known, j]
            if known.sum() == 0 or len(np.unique(yj)) < 2:
                self.estimators_.append(float(yj.mean()) if known.any() else 0.0)  # constant prior
                continue
            clf = LogisticRegression(C=self.C, max_iter=2000, class_weight=self.class_weight, random_state=self.seed)
            clf.fit(x[known], yj.astype(int))
            self.estimators_.append(clf)
        self.labels_ = list(self.labels)
        if monitor is not None and valid is not None:  # one fit, one entry
            monitor(1, None, lambda: self.predict_proba(valid[0]))
        return self

    def _vectorizer(self):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        return FeatureUnion(
            [
                (
                    "word",
                    TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=self.max_features),
                ),
                ("char", _char_vectorizer(self.max_features)),
            ]
        )

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self._require_fitted()
        x = self.vectorizer_.transform(self.read(texts))
        cols = [
            np.full(x.shape[0], e, dtype=np.float32) if isinstance(e, float) else e.predict_proba(x)[:, 1]
            for e in self.estimators_
        ]
        return np.stack(cols, axis=1).astype(np.float32) if cols else np.zeros((x.shape[0], 0), np.float32)

    def save(self, path) -> Path:
        import joblib

        self._require_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        joblib.dump({"vectorizer": self.vectorizer_, "estimators": self.estimators_}, path / "tfidf.joblib")
        write_json(path / "config.json", self.get_config())
        return path

    @classmethod
    def load(cls, path, **_) -> TfidfClassifier:
        """Loads a joblib pickle: only load model directories you trust."""
        import joblib

        path = Path(path)
        m = cls.from_config(cls._read_config(path))
        state = joblib.load(path / "tfidf.joblib")
        m.vectorizer_, m.estimators_ = state["vectorizer"], state["estimators"]
        m.labels_ = list(m.labels)
        return m


def _char_vectorizer(max_features: int):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, max_features=max_features
    )


class CharNgramClassifier(TfidfClassifier):
    """Character n-grams (2-5, within word boundaries) TF-IDF + one logistic regression per label: the
    ensemble's character-aware member. Unlike the word + character ``tfidf`` member, no whole-word feature
    can outweigh the pieces, so a misspelt or re-spaced word still scores by what it shares with the word."""

    family = "chars"

    def _vectorizer(self):
        return _char_vectorizer(self.max_features)
