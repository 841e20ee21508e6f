"""What the store is read as: task views, the training mix, the evaluation view, content-addressed
snapshots (the only way training reads data) and the reports (stats, class distribution, splits, duplicate
conflicts).

Part of ``curation`` (imports ``foundation`` and the rest of ``curation`` only).
"""

from typing import TYPE_CHECKING

from foundation import lazy_names

if TYPE_CHECKING:  # the public names and their modules; imported on first use (foundation.lazy_names)
    from .._splits import split_report
    from ._reports import (
        class_distribution,
        distribution_figure,
        duplicate_conflicts,
        label_stats,
        project_stats,
        save_figure_png,
        write_data_report,
    )
    from ._snapshots import export_records, read_snapshot, snapshot_records_path
    from ._views import MixResult, collapse_duplicates, evaluation_view, production_part, task_view, training_mix

__all__ = [
    "MixResult",
    "collapse_duplicates",
    "evaluation_view",
    "production_part",
    "task_view",
    "training_mix",
    "export_records",
    "read_snapshot",
    "snapshot_records_path",
    "class_distribution",
    "distribution_figure",
    "duplicate_conflicts",
    "label_stats",
    "project_stats",
    "save_figure_png",
    "write_data_report",
    "split_report",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
