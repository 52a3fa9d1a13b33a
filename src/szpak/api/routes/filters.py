"""``/api/v2/filters`` (with ``/api/v2/filters/keywords/:id`` and ``/api/v2/filters/statuses/:id``)
and the v1 ``/api/v1/filters`` (docs/api/filters.md).

Routes parse and authorise; ``domain/filters.py`` writes and matches. A filter (keyword,
filtered status) that is not the viewer's answers 404, as one that does not exist.
``setup`` gives the Presenter a ``FilterCache`` kept current by ``FiltersChanged``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from szpak.api.deps import Viewer, current_ctx, own_id, parse_id, require
from szpak.api.params import Params, body
from szpak.domain import filters as actions
from szpak.domain.context import Context

router = APIRouter()

READ = ("read:filters",)
WRITE = ("write:filters",)


def setup(app: FastAPI) -> None:
    async def start(app: FastAPI) -> None:
        cache = actions.FilterCache(enabled=app.state.settings.entity_cache)
        app.state.ctx.bus.subscribe(cache.on_event)
        app.state.filter_cache = cache
        app.state.presenter.filters = cache

    app.state.startup_hooks.append(start)


# -- request bodies ------------------------------------------------------------------------

class FilterFields(Params):
    title: Any = None
    context: Any = None
    filter_action: Any = None
    expires_in: Any = None
    keywords_attributes: Any = None


class KeywordFields(Params):
    keyword: Any = None
    whole_word: Any = None


class StatusFields(Params):
    status_id: Any = None


class V1Fields(Params):
    phrase: Any = None
    context: Any = None
    irreversible: Any = None
    whole_word: Any = None
    expires_in: Any = None


def _given(params: Params, name: str) -> Any:
    return getattr(params, name) if name in params.model_fields_set else actions._UNSET


# -- single keywords and filtered statuses ------------------------------------------------
# Registered before ``/api/v2/filters/{filter_id}``: Mastodon's paths are
# ``/api/v2/filters/keywords/:id`` and ``/api/v2/filters/statuses/:id``, so the specific ones
# must be matched first. ``/api/v2/filter_keywords/:id`` and ``/api/v2/filter_statuses/:id``
# (Szpak's first spelling) stay as aliases.

@router.get("/api/v2/filters/keywords/{keyword_id}")
@router.get("/api/v2/filter_keywords/{keyword_id}", include_in_schema=False)
async def show_keyword(keyword_id: str, viewer: Viewer = require(*READ), ctx: Context = Depends(current_ctx)) -> Any:
    async with ctx.read() as s:
        _, row = await actions.owned_keyword(s, own_id(viewer), parse_id(keyword_id))
        return actions.keyword_entity(row)


@router.put("/api/v2/filters/keywords/{keyword_id}")
@router.put("/api/v2/filter_keywords/{keyword_id}", include_in_schema=False)
async def update_keyword(
    keyword_id: str,
    params: KeywordFields = body(KeywordFields),
    viewer: Viewer = require(*WRITE),
    ctx: Context = Depends(current_ctx),
) -> Any:
    kid = parse_id(keyword_id)
    async with ctx.tx() as tx:
        row = await actions.update_keyword(tx, own_id(viewer), kid, keyword=params.keyword, whole_word=params.whole_word)
        return actions.keyword_entity(row)


@router.delete("/api/v2/filters/keywords/{keyword_id}")
@router.delete("/api/v2/filter_keywords/{keyword_id}", include_in_schema=False)
async def destroy_keyword(keyword_id: str, viewer: Viewer = require(*WRITE), ctx: Context = Depends(current_ctx)) -> Any:
    kid = parse_id(keyword_id)
    async with ctx.tx() as tx:
        await actions.delete_keyword(tx, own_id(viewer), kid)
    return {}


@router.get("/api/v2/filters/statuses/{filter_status_id}")
@router.get("/api/v2/filter_statuses/{filter_status_id}", include_in_schema=False)
async def show_status(filter_status_id: str, viewer: Viewer = require(*READ), ctx: Context = Depends(current_ctx)) -> Any:
    async with ctx.read() as s:
        _, row = await actions.owned_filter_status(s, own_id(viewer), parse_id(filter_status_id))
        return actions.status_entity(row)


@router.delete("/api/v2/filters/statuses/{filter_status_id}")
@router.delete("/api/v2/filter_statuses/{filter_status_id}", include_in_schema=False)
async def destroy_status(
    filter_status_id: str, viewer: Viewer = require(*WRITE), ctx: Context = Depends(current_ctx)
) -> Any:
    fsid = parse_id(filter_status_id)
    async with ctx.tx() as tx:
        await actions.delete_filter_status(tx, own_id(viewer), fsid)
    return {}


# -- v2 filters ----------------------------------------------------------------------------

@router.get("/api/v2/filters")
async def index(viewer: Viewer = require(*READ), ctx: Context = Depends(current_ctx)) -> Any:
    async with ctx.read() as s:
        rows = await actions.filters_of(s, own_id(viewer))
        ids = [f.id for f in rows]
        keywords, statuses = await actions.keywords_of(s, ids), await actions.statuses_of(s, ids)
    return [actions.filter_entity(f, keywords[f.id], statuses[f.id]) for f in rows]


@router.post("/api/v2/filters")
async def create(
    params: FilterFields = body(FilterFields), viewer: Viewer = require(*WRITE), ctx: Context = Depends(current_ctx)
) -> Any:
    async with ctx.tx() as tx:
        f = await actions.create_filter(
            tx, own_id(viewer), title=params.title, context=params.context, action=params.filter_action,
            expires_in=params.expires_in, keywords=params.keywords_attributes,
        )
        return await actions.full_entity(tx.session, f)


@router.get("/api/v2/filters/{filter_id}")
async def show(filter_id: str, viewer: Viewer = require(*READ), ctx: Context = Depends(current_ctx)) -> Any:
    async with ctx.read() as s:
        return await actions.full_entity(s, await actions.owned_filter(s, own_id(viewer), parse_id(filter_id)))


@router.put("/api/v2/filters/{filter_id}")
async def update(
    filter_id: str,
    params: FilterFields = body(FilterFields),
    viewer: Viewer = require(*WRITE),
    ctx: Context = Depends(current_ctx),
) -> Any:
    fid = parse_id(filter_id)
    async with ctx.tx() as tx:
        f = await actions.update_filter(
            tx, own_id(viewer), fid, title=_given(params, "title"), context=_given(params, "context"),
            action=_given(params, "filter_action"), expires_in=_given(params, "expires_in"),
            keywords=params.keywords_attributes,
        )
        return await actions.full_entity(tx.session, f)


@router.delete("/api/v2/filters/{filter_id}")
async def destroy(filter_id: str, viewer: Viewer = require(*WRITE), ctx: Context = Depends(current_ctx)) -> Any:
    fid = parse_id(filter_id)
    async with ctx.tx() as tx:
        await actions.delete_filter(tx, own_id(viewer), fid)
    return {}


# -- keywords ------------------------------------------------------------------------------

@router.get("/api/v2/filters/{filter_id}/keywords")
async def keywords(filter_id: str, viewer: Viewer = require(*READ), ctx: Context = Depends(current_ctx)) -> Any:
    async with ctx.read() as s:
        f = await actions.owned_filter(s, own_id(viewer), parse_id(filter_id))
        return [actions.keyword_entity(k) for k in (await actions.keywords_of(s, [f.id]))[f.id]]


@router.post("/api/v2/filters/{filter_id}/keywords")
async def add_keyword(
    filter_id: str,
    params: KeywordFields = body(KeywordFields),
    viewer: Viewer = require(*WRITE),
    ctx: Context = Depends(current_ctx),
) -> Any:
    fid = parse_id(filter_id)
    async with ctx.tx() as tx:
        row = await actions.add_keyword(tx, own_id(viewer), fid, keyword=params.keyword, whole_word=params.whole_word)
        return actions.keyword_entity(row)


# -- filtered statuses ---------------------------------------------------------------------

@router.get("/api/v2/filters/{filter_id}/statuses")
async def statuses(filter_id: str, viewer: Viewer = require(*READ), ctx: Context = Depends(current_ctx)) -> Any:
    async with ctx.read() as s:
        f = await actions.owned_filter(s, own_id(viewer), parse_id(filter_id))
        return [actions.status_entity(row) for row in (await actions.statuses_of(s, [f.id]))[f.id]]


@router.post("/api/v2/filters/{filter_id}/statuses")
async def add_status(
    filter_id: str,
    params: StatusFields = body(StatusFields),
    viewer: Viewer = require(*WRITE),
    ctx: Context = Depends(current_ctx),
) -> Any:
    fid = parse_id(filter_id)
    async with ctx.tx() as tx:
        return actions.status_entity(await actions.add_status(tx, own_id(viewer), fid, params.status_id))


# -- v1 ------------------------------------------------------------------------------------

@router.get("/api/v1/filters")
async def v1_index(viewer: Viewer = require(*READ), ctx: Context = Depends(current_ctx)) -> Any:
    async with ctx.read() as s:
        rows = await actions.filters_of(s, own_id(viewer))
        keywords = await actions.keywords_of(s, [f.id for f in rows])
    return [actions.v1_entity(f, k) for f in rows for k in keywords[f.id]]


@router.post("/api/v1/filters")
async def v1_create(
    params: V1Fields = body(V1Fields), viewer: Viewer = require(*WRITE), ctx: Context = Depends(current_ctx)
) -> Any:
    async with ctx.tx() as tx:
        f, k = await actions.v1_create(
            tx, own_id(viewer), phrase=params.phrase, context=params.context, irreversible=params.irreversible,
            whole_word=params.whole_word, expires_in=params.expires_in,
        )
        return actions.v1_entity(f, k)


@router.get("/api/v1/filters/{keyword_id}")
async def v1_show(keyword_id: str, viewer: Viewer = require(*READ), ctx: Context = Depends(current_ctx)) -> Any:
    async with ctx.read() as s:
        f, k = await actions.owned_keyword(s, own_id(viewer), parse_id(keyword_id))
        return actions.v1_entity(f, k)


@router.put("/api/v1/filters/{keyword_id}")
async def v1_update(
    keyword_id: str,
    params: V1Fields = body(V1Fields),
    viewer: Viewer = require(*WRITE),
    ctx: Context = Depends(current_ctx),
) -> Any:
    kid = parse_id(keyword_id)
    async with ctx.tx() as tx:
        f, k = await actions.v1_update(
            tx, own_id(viewer), kid, phrase=params.phrase, context=params.context, irreversible=params.irreversible,
            whole_word=params.whole_word, expires_in=_given(params, "expires_in"),
        )
        return actions.v1_entity(f, k)


@router.delete("/api/v1/filters/{keyword_id}")
async def v1_destroy(keyword_id: str, viewer: Viewer = require(*WRITE), ctx: Context = Depends(current_ctx)) -> Any:
    kid = parse_id(keyword_id)
    async with ctx.tx() as tx:
        await actions.v1_delete(tx, own_id(viewer), kid)
    return {}
