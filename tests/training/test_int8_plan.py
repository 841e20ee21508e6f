"""The int8 plan's record of what its per-group losses were measured on (training.artifacts._int8): a re-plan reuses
the losses only when the graph and the probe's fp32 scores are the same."""

import numpy as np

from training.artifacts._int8 import _measured_on


def test_losses_are_keyed_by_the_graph_bytes_and_the_probe_scores(tmp_path):
    graph = tmp_path / "model.fp32.onnx"
    graph.write_bytes(b"\x08\x07" * 3_000_000)  # over one read chunk
    scores = np.array([[0.1, 0.9], [0.25, 0.5]], dtype=np.float32)
    key = _measured_on(graph, scores)
    assert key == _measured_on(graph, scores.astype(np.float64))  # the same graph and scores: the same key
    assert _measured_on(graph, scores + 1e-9) == key  # below the rounding of the scores (1e-6)
    assert _measured_on(graph, scores + 1e-4)["probe_scores_sha256"] != key["probe_scores_sha256"]
    assert _measured_on(graph, scores[:1])["probe_scores_sha256"] != key["probe_scores_sha256"]  # another probe
    graph.write_bytes(b"\x08\x07" * 3_000_000 + b"\x00")
    changed = _measured_on(graph, scores)
    assert (
        changed["graph_sha256"] != key["graph_sha256"] and changed["probe_scores_sha256"] == key["probe_scores_sha256"]
    )
