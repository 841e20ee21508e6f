"""argilla-server objects as index rows: metadata, suggestions, response answers, field text, and the JSON
helpers the rows and queries share."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Optional

from argilla_server.models import Dataset, Record, Response, Suggestion


def epoch(value: Optional[datetime]) -> Optional[float]:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def to_json(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


def json_path(*names: str) -> str:
    """The JSON path of nested keys (names with quotes or backslashes are refused)."""
    for name in names:
        if any(ch in name for ch in "\"'\\"):
            raise ValueError(f"Property name {name!r} contains a quote or backslash; names may not contain them.")
    return "$" + "".join(f'."{name}"' for name in names)


def json_path_literal(*names: str) -> str:
    """The same path as a SQL string literal, for expressions that appear more than once in a statement."""
    return "'" + json_path(*names) + "'"


def field_text(field, value: Any) -> Optional[str]:
    if value is None or field.is_image:
        return None
    if field.is_chat and isinstance(value, list):
        parts = []
        for message in value:
            if isinstance(message, dict):
                parts.extend(str(message.get(key, "")) for key in ("role", "content"))
            else:
                parts.append(str(message))
        return "\n".join(parts)
    return value if isinstance(value, str) else str(value)


def record_metadata(record: Record, dataset: Dataset) -> dict:
    metadata = record.metadata_ or {}
    return {
        prop.name: metadata[prop.name] for prop in dataset.metadata_properties if metadata.get(prop.name) is not None
    }


def suggestion_doc(suggestion: Suggestion) -> dict:
    return {"type": suggestion.type, "agent": suggestion.agent, "score": suggestion.score, "value": suggestion.value}


def response_answers(response: Response) -> dict:
    return {question: (value or {}).get("value") for question, value in (response.values or {}).items()}


def enum_value(value: Any) -> Any:
    return getattr(value, "value", value)
