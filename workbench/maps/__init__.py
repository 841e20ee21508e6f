"""Maps: where records sit in embedding space and where labels collide.

- ``projection`` — PCA + umap-learn 2-D projection, cached per (snapshot, encoder, parameters) under
  ``DIR/cache/maps/``; later records are placed without refitting (:func:`build_map`);
- ``figure`` — the WebGL map (:class:`EmbeddingMap`): colour modes, hover, lasso / box selection as
  store record ids, linked highlights, standalone HTML;
- ``interference`` — label pairs ranked by neighbourhood mixing, model confusion, co-occurrence and
  centroid distance, and the heatmap;
- ``clusters`` — HDBSCAN clusters with their label mix, dominant seeds and an interference score.

This package imports ``curation`` and ``training`` (the embedding cache, model directories), nothing
of the other ``workbench`` packages: sending a selection to review is ``workbench.review``'s
(``push_selection``), tagging it is the store's (``Project.records.tag``).
"""

from .clusters import cluster_table, find_clusters
from .figure import COLOUR_MODES, EmbeddingMap, colour_groups, hover_texts
from .interference import (
    centroid_distance,
    co_occurrence,
    confusion_rate,
    interference_figure,
    interference_table,
    map_interference,
    neighbourhood_mixing,
)
from .projection import MapData, Projection, ProjectionParams, build_map

__all__ = [
    "COLOUR_MODES",
    "EmbeddingMap",
    "MapData",
    "Projection",
    "ProjectionParams",
    "build_map",
    "centroid_distance",
    "cluster_table",
    "co_occurrence",
    "colour_groups",
    "confusion_rate",
    "find_clusters",
    "hover_texts",
    "interference_figure",
    "interference_table",
    "map_interference",
    "neighbourhood_mixing",
]
