"""Training layer: embeddings, heads, thresholds, gates, ONNX export (reads ``curation`` only).

Nothing here imports ``workbench``: training runs headless.
"""

__all__: list[str] = []
