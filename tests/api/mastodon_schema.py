"""A small checker of JSON values against the entity schemas in
``../shared/mastodon-api/openapi.json`` (types, required keys, enums, nested refs).

It covers the subset of JSON Schema the generated spec uses for entities, so tests
need no extra dependency. Where ``../shared`` is absent (a user's checkout) the
checks are skipped, as ``conftest.shared_path`` does for other shared data.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

SPEC = Path(__file__).resolve().parents[3] / "shared" / "mastodon-api" / "openapi.json"
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "array": (list,), "object": (dict,), "null": (type(None),),
}


@lru_cache(maxsize=1)
def _schemas() -> dict[str, Any]:
    return json.loads(SPEC.read_text())["components"]["schemas"]  # type: ignore[no-any-return]


def _type_ok(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[name])


def problems(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema`` (empty when it conforms)."""
    if "$ref" in schema:
        target = _schemas()[schema["$ref"].rsplit("/", 1)[-1]]
        return problems(value, {**target, **{k: v for k, v in schema.items() if k != "$ref"}}, where)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            branches = [problems(value, branch, where) for branch in schema[key]]
            if all(branches):
                return [f"{where}: matches no branch of {key}: {branches}"]
    found: list[str] = []
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        if not any(_type_ok(value, n) for n in names):
            return [f"{where}: {value!r} is not of type {names}"]
    if "enum" in schema and value not in schema["enum"] and value is not None:
        found.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                found.append(f"{where}: missing required {key!r}")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                found += problems(value[key], sub, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += problems(item, schema["items"], f"{where}[{i}]")
    return found


def assert_entity(value: Any, entity: str) -> None:
    """Fail with every problem when ``value`` is not a valid Mastodon ``entity``."""
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not present")
    found = problems(value, {"$ref": f"#/components/schemas/{entity}"})
    assert not found, "\n".join(found[:20])
