"""Maps: where labels collide in embedding space.

``interference`` ranks label pairs by how much they get in each other's way (neighbourhood mixing in
embedding space, model confusion, co-occurrence, centroid distance) and draws the heatmap. The 2-D
projection, the map figure and clusters come next (see the maps issue). Pure array code over
embeddings and label matrices; this package imports ``curation`` and ``training`` (the embedding
cache), nothing of the other ``workbench`` packages.
"""

from .interference import (centroid_distance, co_occurrence, confusion_rate, interference_figure,
                           interference_table, neighbourhood_mixing)

__all__ = ["centroid_distance", "co_occurrence", "confusion_rate", "interference_figure", "interference_table",
           "neighbourhood_mixing"]
