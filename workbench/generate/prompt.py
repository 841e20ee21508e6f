"""The chat request for one chunk of a batch: taxonomy descriptions, the seed, its kind, the labels every
example of the chunk must carry, and a strict JSON schema for the answer."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

from curation import Taxonomy

from .base import SeedSpec

__all__ = ["build_messages", "response_format", "prompt_hash"]


def response_format(k: int) -> dict[str, Any]:
    """``response_format`` of type ``json_schema``: ``{"examples": [{"text": str, "labels": [str]}]}``."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "examples",
            "strict": True,
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "required": ["examples"],
                "properties": {
                    "examples": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": k,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["text", "labels"],
                            "properties": {
                                "text": {"type": "string"},
                                "labels": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    }
                },
            },
        },
    }


def build_messages(taxonomy: Taxonomy, seed: SeedSpec, labels: Mapping[str, int], k: int) -> list[dict[str, str]]:
    """System and user messages asking for ``k`` examples that exhibit exactly the labels set to 1 in
    ``labels`` (for a hard-negative seed: none of its target labels)."""
    described = sorted({*seed.target_labels, *seed.overlap, *labels})
    glossary = "\n".join(f"- {name}: {taxonomy[name].description or name}" for name in described if name in taxonomy)
    positive = [lab for lab, v in labels.items() if v == 1]
    system = (
        "You write realistic examples of user-generated content for training a content-moderation "
        "classifier. Answer with JSON only, in the requested schema."
    )
    if seed.kind == "hard_negative":
        task = (
            f"Write {k} examples that are genuinely benign and acceptable, close to the boundary of "
            f"{', '.join(seed.target_labels)} but clearly not exhibiting it. Never write coercive, harmful "
            "or abusive content framed as acceptable. Each example's labels must be []."
        )
    else:
        task = (
            f"Write {k} examples that each genuinely exhibit all of these labels: {', '.join(positive)}. "
            f"Each example's labels must be {json.dumps(positive)}."
        )
    user = (
        f"Label definitions:\n{glossary}\n\nSeed example ({seed.kind.replace('_', ' ')}, context "
        f"{seed.context}):\n{seed.text}\n\n{task} Vary wording, length, tone and target; do not repeat or "
        f"lightly paraphrase the seed. Write for the context {seed.context}.\n"
        f"Return exactly {k} examples; each example's labels: {json.dumps(positive)}"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def prompt_hash(messages: list[dict[str, str]], fmt: Mapping[str, Any]) -> str:
    blob = json.dumps([messages, fmt], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
