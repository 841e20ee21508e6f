"""Shared fixtures of the training tests."""

from curation import Taxonomy

# two labels with hand-set gates and threshold ranges, for the threshold and gate unit tests
TAX = Taxonomy.from_dict(
    {
        "labels": [
            {
                "name": "a",
                "tier": "T2",
                "gate": {"min_f1": 0.5, "recall_floor": 0.5, "fpr_budget": 0.5},
                "threshold_range": [0.1, 0.9],
            },
            {
                "name": "b",
                "tier": "T3",
                "gate": {"min_f1": 0.9, "recall_floor": 1.0, "fpr_budget": 0.0},
                "threshold_range": [0.1, 0.9],
            },
        ]
    }
)
