"""Uniform request parameters: JSON, form and multipart bodies (and the query string)
become one dict, then a pydantic model validates it.

Mastodon clients send Rails-style nested form keys (``media_ids[]``,
``poll[options][]``, ``fields_attributes[0][name]``); these become lists and
dicts exactly as a JSON body would carry them.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import orjson
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, ValidationError

from szpak.api.errors import APIError, describe_validation

M = TypeVar("M", bound=BaseModel)
_KEY_RE = re.compile(r"\[([^\]]*)\]")
MAX_BODY = 16 * 1024 * 1024


class Params(BaseModel):
    """Base for request models: unknown keys are ignored, as Mastodon does."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


def _split_key(key: str) -> list[str]:
    head = key.split("[", 1)[0]
    return [head, *_KEY_RE.findall(key[len(head):])]


def _assign(target: dict[str, Any], key: str, value: Any) -> None:
    parts = _split_key(key)
    node: Any = target
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt = None if last else parts[i + 1]
        if part == "":  # "[]": append to a list
            if not isinstance(node, list):
                return
            if last:
                node.append(value)
                return
            # Rails: ``a[][k]=1&a[][j]=2`` fill one hash; a key already in the last hash
            # (``a[][k]=1&a[][k]=2``) starts the next one.
            if nxt != "" and node and isinstance(node[-1], dict) and nxt not in node[-1]:
                node = node[-1]
                continue
            node.append({} if nxt != "" else [])
            node = node[-1]
            continue
        if not isinstance(node, dict):
            return
        if last:
            node[part] = value
            return
        if part not in node or not isinstance(node[part], (dict, list)):
            node[part] = [] if nxt == "" else {}
        node = node[part]


def _listify(value: Any) -> Any:
    """``{"0": {...}, "1": {...}}`` (from ``x[0][name]``) becomes a list."""
    if isinstance(value, dict):
        value = {k: _listify(v) for k, v in value.items()}
        if value and all(k.isdigit() for k in value):
            return [value[k] for k in sorted(value, key=int)]
        return value
    if isinstance(value, list):
        return [_listify(v) for v in value]
    return value


def nest(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        _assign(out, key, value)
    return _listify(out)


async def read_params(request: Request, *, include_query: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = nest(list(request.query_params.multi_items())) if include_query else {}
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method in ("GET", "HEAD"):
        return data
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.form(max_part_size=MAX_BODY)
        except Exception as exc:  # malformed multipart
            raise APIError(400, f"Malformed request body: {exc}") from exc
        data.update(nest(list(form.multi_items())))
        return data
    body = await request.body()
    if len(body) > MAX_BODY:
        raise APIError(413, "Request body is too large")
    if not body.strip():
        return data
    if ctype == "application/json" or ctype.endswith("+json") or body.lstrip()[:1] in (b"{", b"["):
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise APIError(400, f"Malformed JSON body: {exc}") from exc
        if not isinstance(parsed, dict):
            raise APIError(422, "Validation failed: the JSON body must be an object")
        data.update(parsed)
        return data
    if ctype:
        raise APIError(415, f"Unsupported content type {ctype}")
    return data


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise APIError(422, describe_validation(list(exc.errors()))) from exc


def body(model: type[M]) -> Any:
    """Route dependency: ``params: CreateStatus = body(CreateStatus)``."""

    async def dependency(request: Request) -> M:
        return validate(model, await read_params(request))

    return Depends(dependency)


def query(model: type[M]) -> Any:
    """Route dependency for GET parameters with the same nesting rules (``types[]=...``)."""

    async def dependency(request: Request) -> M:
        return validate(model, nest(list(request.query_params.multi_items())))

    return Depends(dependency)
