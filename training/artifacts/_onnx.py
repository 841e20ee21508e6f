"""ONNX export of encoder + head, quantised variants, and onnxruntime inference.

One graph per variant maps (input_ids, attention_mask) to per-label probabilities:

- ``fp32``: the exported graph;
- ``fp16``: weights and activations in half precision, inputs and outputs kept float32;
- ``int8``: dynamic quantisation of the MatMul weights **per channel** (per-tensor int8 loses too much
  accuracy on these encoders), embeddings left in float; a model directory's export keeps the MatMuls
  that lose most in fp32, chosen on calib (``_int8``).

No variant is trusted: the trainer re-evaluates each on holdout, checks its parity with the torch
model and gates it on its own.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from curation import WorkbenchError
from foundation import atomic_write_text

from ..families._embeddings import length_sorted_batches
from ._int8 import quantize_int8

__all__ = ["VARIANTS", "export_onnx", "OnnxEncoderHead"]

VARIANTS = ("fp32", "fp16", "int8")


def export_onnx(
    module, tokenizer_dir, out_dir, *, max_length: int, variants: Sequence[str] = VARIANTS, opset: int = 17
) -> dict[str, Path]:
    """Export ``module`` (a torch module: input_ids, attention_mask -> probabilities) and its variants.

    Returns a mapping variant -> ONNX file. The tokenizer (``tokenizer.json``) is copied beside them.
    """
    import torch

    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise WorkbenchError("ONNX variants", expected=f"a subset of {list(VARIANTS)}", got=str(bad))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = Path(tokenizer_dir) / "tokenizer.json"
    if not tok.exists():
        raise WorkbenchError(
            f"tokenizer in {tokenizer_dir}",
            expected="a tokenizer.json (fast tokenizer)",
            got="none",
            fix="save the model with a fast tokenizer",
        )
    shutil.copyfile(tok, out / "tokenizer.json")
    atomic_write_text(out / "onnx_config.json", json.dumps({"max_length": max_length, "opset": opset}))
    fp32 = out / "model.fp32.onnx"
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    mask[1, 5:] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about shape-dependent branches
        torch.onnx.export(
            module.eval(),
            (ids, mask),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["probabilities"],
            opset_version=opset,
            dynamo=False,
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "probabilities": {0: "batch"},
            },
        )
    paths = {"fp32": fp32}
    if "fp16" in variants:
        import onnx
        from onnxruntime.transformers.float16 import convert_float_to_float16

        model = onnx.load(str(fp32))
        half = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=False)
        onnx.save(half, str(out / "model.fp16.onnx"))
        paths["fp16"] = out / "model.fp16.onnx"
    if "int8" in variants:  # every MatMul; ModelDirectory.export plans which stay fp32 (``_int8``)
        paths["int8"] = quantize_int8(fp32, out / "model.int8.onnx")
    if "fp32" not in variants:
        fp32.unlink()
        paths.pop("fp32")
    return paths


def _capped_threads(threads: int) -> int:
    cap = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, min(threads, int(cap))) if cap.isdigit() and int(cap) > 0 else threads


class OnnxEncoderHead:
    """onnxruntime inference over one exported variant, with length-sorted batches.

    Parameters
    ----------
    folder : path-like
        The export folder (``model.<variant>.onnx``, ``tokenizer.json``, ``onnx_config.json``).
    variant : str
        ``fp32``, ``fp16`` or ``int8``.
    threads : int
        intra-op threads of the session, at most ``$OMP_NUM_THREADS`` when that is set (the usual cap on
        a process's compute threads, which torch and the BLAS libraries follow too).
    """

    def __init__(self, folder, variant: str = "int8", *, threads: int = 2, batch_size: int = 64):
        self.folder = Path(folder)
        self.variant = variant
        self.threads = threads
        self.batch_size = batch_size
        self._session = None
        self._tokenizer = None

    def load(self) -> OnnxEncoderHead:
        if self._session is None:
            import onnxruntime as ort
            from tokenizers import Tokenizer

            path = self.folder / f"model.{self.variant}.onnx"
            if not path.exists():
                raise WorkbenchError(
                    f"ONNX variant {self.variant!r}",
                    expected=f"{path}",
                    got="no such file",
                    fix="export it first: workbench export MODEL --onnx " + self.variant,
                )
            cfg = json.loads((self.folder / "onnx_config.json").read_text())
            tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            tok.enable_truncation(max_length=int(cfg["max_length"]))
            tok.no_padding()
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = _capped_threads(self.threads)
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            self._tokenizer = tok
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.load()
        texts = list(texts)
        n_out = self._session.get_outputs()[0].shape[-1]
        if not texts:
            return np.zeros((0, n_out if isinstance(n_out, int) else 0), dtype=np.float32)
        encs = self._tokenizer.encode_batch(texts)
        ids = [e.ids for e in encs]
        out: np.ndarray | None = None
        for b in length_sorted_batches([len(x) for x in ids], self.batch_size):
            n = max(len(ids[i]) for i in b)
            x = np.zeros((len(b), n), dtype=np.int64)
            m = np.zeros((len(b), n), dtype=np.int64)
            for r, i in enumerate(b):
                x[r, : len(ids[i])] = ids[i]
                m[r, : len(ids[i])] = 1
            p = self._session.run(None, {"input_ids": x, "attention_mask": m})[0]
            if out is None:
                out = np.zeros((len(texts), p.shape[1]), dtype=np.float32)
            out[b] = p
        return out
