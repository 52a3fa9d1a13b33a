"""``/api/v1/accounts``: registration, credentials, profiles, search, and the social graph.

Also serves uploaded profile pictures at ``/system/...`` (see ``setup``) and the two
profile-picture endpoints under ``/api/v1/profile``. Account lists are rendered from
accounts loaded in bulk; relationships from ``storage.graph.load_relations`` (a fixed
number of queries for any number of ids).

Lists ordered by an edge (followers, following) are paginated by that edge's id, as
Mastodon does, so ``max_id`` in their ``Link`` header is a follow id, not an account id.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from starlette.responses import FileResponse
from starlette.routing import Route
from pydantic import Field
from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.deps import current_ctx, Viewer, maybe, parse_id, require, viewer_account_id
from szpak.api.errors import APIError, error_response
from szpak.api.pagination import OFFSET_FIELD, Page, limit_field, link_header, page_params
from szpak.api.params import Params, body, query
from szpak.api.responses import JSON
from szpak.api.routes.lists import list_entity
from szpak.api.routes.media import FILE_HEADERS
from szpak.domain import accounts as account_actions
from szpak.domain import avatars, oauth
from szpak.domain import relationships as graph_actions
from szpak.domain import lists as list_actions
from szpak.domain.context import Context
from szpak.domain.errors import NotFound
from szpak.domain.visibility import visible_clause
from szpak.storage.account_search import search_accounts
from szpak.storage.graph import familiar_followers as load_familiar_followers
from szpak.storage.graph import load_relations
from szpak.storage.models import Account, Block, Follow, Status, StatusPin, StatusTag, Tag, User
from szpak.storage.queries import load_accounts, load_bundle
from szpak.media.storage import content_type_for

router = APIRouter()

#: Most ids one request may ask about (``id[]``), as a bound on the work one call can cause.
MAX_IDS = 100


# -- helpers -----------------------------------------------------------------------------

def flag(value: str | None) -> bool:
    """Query-string booleans the way Rails reads them."""
    return (value or "").strip().lower() in ("1", "true", "t", "yes", "on")


async def _ids_from_json_body(request: Request) -> list[Any]:
    """Some clients (Mastodon.py's ``account_familiar_followers``) send a GET with a JSON
    body ``{"id": [...]}``; Rails reads it like a query string, so we do too."""
    body = await request.body()
    if not body.strip() or len(body) > 64 * 1024:
        return []
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise APIError(400, "Malformed JSON body") from None
    raw = parsed.get("id", parsed.get("id[]", [])) if isinstance(parsed, dict) else []
    return raw if isinstance(raw, list) else [raw]


async def ids_param(request: Request) -> list[int]:
    """``id[]=1&id[]=2`` (or ``id=1``): distinct ids in the order given; malformed ones are
    simply unknown accounts, as in Mastodon."""
    raw: list[Any] = request.query_params.getlist("id[]") + request.query_params.getlist("id")
    if not raw:
        raw = await _ids_from_json_body(request)
    out: list[int] = []
    for item in raw:
        try:
            value = int(str(item))
        except ValueError:
            continue
        if 0 < value < 2**63 and value not in out:
            out.append(value)
    if len(out) > MAX_IDS:
        raise APIError(422, f"Validation failed: at most {MAX_IDS} ids per request")
    return out


async def visible_account(session: AsyncSession, account_id: int, viewer_id: int | None) -> Account:
    """The account, unless it does not exist or is suspended (then 404; its owner still sees it)."""
    account = await session.get(Account, account_id)
    if account is None or (account.suspended_at is not None and account.id != viewer_id):
        raise NotFound()
    return account


async def relationship_of(request: Request, ctx: Context, viewer_id: int, target_id: int) -> dict[str, Any]:
    async with ctx.read() as s:
        rel = await load_relations(s, viewer_id, [target_id])
    return request.app.state.renderer.relationship(target_id, rel)  # type: ignore[no-any-return]


async def credential_response(request: Request, ctx: Context, account_id: int) -> dict[str, Any]:
    """The CredentialAccount, from the entity cache when it holds it (api/cache.py)."""
    cache = request.app.state.entity_cache.credentials
    hit = cache.get(account_id)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    generation = cache.generation(account_id)
    async with ctx.read() as s:
        row = (await s.execute(select(Account, User).join(User, User.account_id == Account.id).where(Account.id == account_id))).first()
        if row is None:
            raise NotFound()
        pending = await account_actions.follow_requests_count(s, account_id)
    data = request.app.state.renderer.credential_account(row[0], user=row[1], follow_requests_count=pending)
    cache.fill(account_id, data, generation)
    return data  # type: ignore[no-any-return]


async def edge_page(
    request: Request, response: Response, ctx: Context, query_: Select[Any], edge_id: Any, page: Page
) -> list[dict[str, Any]]:
    """Run a ``select(edge.id, Account)`` query paginated by the edge id; render the accounts."""
    async with ctx.read() as s:
        rows = page.finish(list((await s.execute(page.apply(query_, edge_id))).all()))
    link_header(request, response, [row[0] for row in rows])
    renderer = request.app.state.renderer
    return [renderer.account(row[1]) for row in rows]


# -- registration and credentials --------------------------------------------------------

class Register(Params):
    username: str = ""
    email: str = ""
    password: str = ""
    agreement: bool = False
    locale: str = "pl"
    reason: str | None = None
    date_of_birth: str | None = None


@router.post("/api/v1/accounts")
async def register(
    request: Request,
    params: Register = body(Register),
    viewer: Viewer = require("write:accounts", user=False),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Sign up with an app token; the answer is a user token the app can use at once
    (in ``approval`` mode it exists but is refused with 403 until approved)."""
    if ctx.settings.registrations == "closed":
        raise APIError(403, "Registrations are not open on this server")
    scopes = sorted(viewer.scopes) or ["read"]
    try:
        async with ctx.tx() as tx:
            user = await account_actions.register(
                tx, username=params.username.strip(), email=params.email, password=params.password,
                agreement=params.agreement, locale=params.locale, reason=params.reason,
            )
            token, row = await oauth.issue_token(tx, application_id=viewer.application_id, user_id=user.id, scopes=scopes)
    except account_actions.RegistrationInvalid as exc:
        return JSON({"error": exc.message, "details": exc.details}, status_code=422)
    created = row.created_at or datetime.now(timezone.utc)
    return {"access_token": token, "token_type": "Bearer", "scope": " ".join(scopes), "created_at": int(created.timestamp())}


@router.get("/api/v1/accounts/verify_credentials")
async def verify_credentials(
    request: Request, viewer: Viewer = require("read:accounts", "profile"), ctx: Context = Depends(current_ctx)
) -> Any:
    assert viewer.account_id is not None
    return JSON(await credential_response(request, ctx, viewer.account_id))


class Source(Params):
    privacy: str | None = None
    sensitive: bool | None = None
    language: str | None = None


class UpdateCredentials(Params):
    display_name: str | None = None
    note: str | None = None
    locked: bool | None = None
    bot: bool | None = None
    discoverable: bool | None = None
    indexable: bool | None = None
    hide_collections: bool | None = None
    #: Szpak extension: person, brand, media or institution.
    kind: str | None = None
    fields_attributes: list[Any] | dict[str, Any] | None = None
    source: Source | None = None
    avatar: Any = None
    header: Any = None


def _upload(value: Any) -> Any:
    """An image part, or None when the client sent nothing (some send an empty field)."""
    return None if value is None or value == "" else value


@router.patch("/api/v1/accounts/update_credentials")
async def update_credentials(
    request: Request,
    params: UpdateCredentials = body(UpdateCredentials),
    viewer: Viewer = require("write:accounts"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    assert viewer.account_id is not None and viewer.user_id is not None
    creds = account_actions.Credentials(
        profile=params.model_dump(
            include={"display_name", "note", "locked", "bot", "discoverable", "indexable", "hide_collections", "kind"},
            exclude_none=True,
        ),
        privacy=params.source.privacy if params.source else None,
        sensitive=params.source.sensitive if params.source else None,
        language=params.source.language if params.source else None,
    )
    if params.fields_attributes is not None:
        creds.profile["fields"] = params.fields_attributes
    if (raw := _upload(params.avatar)) is not None:
        creds.avatar = await avatars.prepare_image(raw, "avatar")
    if (raw := _upload(params.header)) is not None:
        creds.header = await avatars.prepare_image(raw, "header")
    async with ctx.tx() as tx:
        await account_actions.update_credentials(tx, viewer.account_id, viewer.user_id, creds)
    return await credential_response(request, ctx, viewer.account_id)


@router.delete("/api/v1/profile/avatar")
async def delete_avatar(request: Request, viewer: Viewer = require("write:accounts"), ctx: Context = Depends(current_ctx)) -> Any:
    assert viewer.account_id is not None
    async with ctx.tx() as tx:
        await account_actions.remove_picture(tx, viewer.account_id, "avatar")
    return await credential_response(request, ctx, viewer.account_id)


@router.delete("/api/v1/profile/header")
async def delete_header(request: Request, viewer: Viewer = require("write:accounts"), ctx: Context = Depends(current_ctx)) -> Any:
    assert viewer.account_id is not None
    async with ctx.tx() as tx:
        await account_actions.remove_picture(tx, viewer.account_id, "header")
    return await credential_response(request, ctx, viewer.account_id)


# -- finding accounts ------------------------------------------------------------------------

@router.get("/api/v1/accounts")
async def get_accounts(
    request: Request, viewer: Viewer | None = maybe("read:accounts"), ctx: Context = Depends(current_ctx)
) -> Any:
    """Several accounts at once (``id[]``), in the order asked; unknown ones left out."""
    wanted = await ids_param(request)
    vid = viewer_account_id(viewer)
    async with ctx.read() as s:
        found = await load_accounts(s, wanted)
    renderer = request.app.state.renderer
    return [
        renderer.account(found[i]) for i in wanted
        if i in found and (found[i].suspended_at is None or found[i].id == vid)
    ]


class Lookup(Params):
    acct: str = Field(min_length=1, max_length=300)


@router.get("/api/v1/accounts/lookup")
async def lookup(
    request: Request,
    params: Lookup = query(Lookup),
    viewer: Viewer | None = maybe("read:accounts"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """``alice``, ``@alice`` or ``alice@<this server>`` name a local account; ``alice@other``
    a remote one already known here."""
    if "\x00" in params.acct:
        raise NotFound()
    user, _, domain = params.acct.strip().lstrip("@").partition("@")
    domain_key = "" if not domain or domain.lower() == ctx.settings.domain.lower() else domain.lower()
    async with ctx.read() as s:
        account = await s.scalar(
            select(Account).where(
                Account.username_lower == user.lower(), Account.domain_key == domain_key, Account.suspended_at.is_(None)
            )
        )
    if account is None:
        raise NotFound()
    return request.app.state.renderer.account(account)


#: The deepest ``offset`` account search serves; beyond it the answer is empty.
MAX_SEARCH_OFFSET = 10_000


class Search(Params):
    q: str = Field(max_length=500)
    limit: Annotated[int, limit_field(40, 80)] = 40
    offset: Annotated[int, OFFSET_FIELD] = 0
    resolve: bool = False
    following: bool = False


@router.get("/api/v1/accounts/search")
async def search(
    request: Request,
    params: Search = query(Search),
    viewer: Viewer = require("read:accounts"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Prefix search over usernames and display names, diacritic-insensitive. ``resolve``
    is accepted and ignored: there is no federation to resolve through yet."""
    if params.offset > MAX_SEARCH_OFFSET:
        return []
    async with ctx.read() as s:
        found = await search_accounts(
            s, params.q, viewer_id=viewer.account_id, limit=params.limit, offset=params.offset,
            following=params.following, local_domain=ctx.settings.domain,
        )
    renderer = request.app.state.renderer
    return [renderer.account(a) for a in found]


@router.get("/api/v1/accounts/relationships")
async def relationships(
    request: Request,
    with_suspended: str | None = None,
    viewer: Viewer = require("read:follows"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Relationships with each account in ``id[]``, in the order asked. Unknown accounts are
    left out, and suspended ones too unless ``with_suspended=true``."""
    assert viewer.account_id is not None
    wanted = await ids_param(request)
    async with ctx.read() as s:
        found = await load_accounts(s, wanted)
        rel = await load_relations(s, viewer.account_id, list(found))
    include_suspended = flag(with_suspended)
    renderer = request.app.state.renderer
    return [
        renderer.relationship(i, rel) for i in wanted
        if i in found and (include_suspended or found[i].suspended_at is None)
    ]


@router.get("/api/v1/accounts/familiar_followers")
async def familiar_followers(
    request: Request, viewer: Viewer = require("read:follows"), ctx: Context = Depends(current_ctx)
) -> Any:
    """For each account in ``id[]``: whom the viewer follows that also follows it."""
    assert viewer.account_id is not None
    wanted = await ids_param(request)
    async with ctx.read() as s:
        found = await load_accounts(s, wanted)
        known = [i for i in wanted if i in found and found[i].suspended_at is None]
        familiar = await load_familiar_followers(s, viewer.account_id, known)
    renderer = request.app.state.renderer
    return [{"id": str(i), "accounts": [renderer.account(a) for a in familiar.get(i, [])]} for i in known]


# -- one account -------------------------------------------------------------------------------

@router.get("/api/v1/accounts/{account_id}")
async def get_account(
    request: Request, account_id: str, viewer: Viewer | None = maybe("read:accounts"), ctx: Context = Depends(current_ctx)
) -> Any:
    async with ctx.read() as s:
        account = await visible_account(s, parse_id(account_id), viewer_account_id(viewer))
    return request.app.state.renderer.account(account)


class AccountStatuses(Params):
    pinned: bool = False
    exclude_replies: bool = False
    exclude_reblogs: bool = False
    only_media: bool = False
    tagged: str | None = Field(None, max_length=255, pattern=r"^[^\x00]*$")


def account_statuses_query(account_id: int, viewer_id: int | None, f: AccountStatuses) -> Select[Any]:
    """The statuses of one profile that ``viewer_id`` may see, filtered as asked."""
    q = select(Status).where(Status.account_id == account_id, visible_clause(viewer_id))
    if f.pinned:
        q = q.where(Status.id.in_(select(StatusPin.status_id).where(StatusPin.account_id == account_id)))
    if f.exclude_reblogs or f.pinned:
        q = q.where(Status.reblog_of_id.is_(None))
    if f.exclude_replies:
        # A thread the author continues (a reply to themselves) still belongs on the profile.
        q = q.where(or_(Status.in_reply_to_id.is_(None), Status.in_reply_to_account_id == account_id))
    if f.only_media:
        q = q.where(Status.has_media.is_(True), Status.reblog_of_id.is_(None))
    if f.tagged:
        name = f.tagged.strip().lstrip("#").lower()
        q = q.where(Status.id.in_(select(StatusTag.status_id).join(Tag, Tag.id == StatusTag.tag_id).where(Tag.name == name)))
    return q


@router.get("/api/v1/accounts/{account_id}/statuses")
async def account_statuses(
    request: Request,
    response: Response,
    account_id: str,
    filters: AccountStatuses = query(AccountStatuses),
    page: Page = Depends(page_params()),
    viewer: Viewer | None = maybe("read:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    vid = viewer_account_id(viewer)
    aid = parse_id(account_id)
    async with ctx.read() as s:
        await visible_account(s, aid, vid)
        rows = page.finish(list(await s.scalars(page.apply(account_statuses_query(aid, vid, filters), Status.id))))
        bundle = await load_bundle(s, rows, vid)
        data = request.app.state.renderer.statuses(rows, bundle)
        data = await request.app.state.presenter.apply_filters(s, vid, "account", data)
    link_header(request, response, [st.id for st in rows])
    return data


async def _collection_hidden(session: AsyncSession, account: Account, viewer_id: int | None) -> bool:
    """Followers/following stay hidden when the owner asked so (except from the owner), and
    from anyone the owner blocks."""
    if viewer_id == account.id:
        return False
    if account.hide_collections:
        return True
    if viewer_id is None:
        return False
    blocked = await session.scalar(
        select(Block.id).where(Block.account_id == account.id, Block.target_account_id == viewer_id).limit(1)
    )
    return blocked is not None


async def collection_shown(ctx: Context, account_id: int, viewer_id: int | None) -> bool:
    """Whether the account's followers, following and endorsements may be listed to the viewer
    (404 for an account the viewer cannot see)."""
    async with ctx.read() as s:
        account = await visible_account(s, account_id, viewer_id)
        return not await _collection_hidden(s, account, viewer_id)


async def _collection(
    request: Request, response: Response, ctx: Context, account_id: str, viewer: Viewer | None, page: Page, *, followers: bool
) -> Any:
    aid = parse_id(account_id)
    if not await collection_shown(ctx, aid, viewer_account_id(viewer)):
        return []
    other = Follow.account_id if followers else Follow.target_account_id
    mine = Follow.target_account_id if followers else Follow.account_id
    q = (
        select(Follow.id, Account)
        .join(Account, Account.id == other)
        .where(mine == aid, Account.suspended_at.is_(None))
    )
    return await edge_page(request, response, ctx, q, Follow.id, page)


@router.get("/api/v1/accounts/{account_id}/followers")
async def followers(
    request: Request,
    response: Response,
    account_id: str,
    page: Page = Depends(page_params(40, 80)),
    viewer: Viewer | None = maybe("read:accounts"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    return await _collection(request, response, ctx, account_id, viewer, page, followers=True)


@router.get("/api/v1/accounts/{account_id}/following")
async def following(
    request: Request,
    response: Response,
    account_id: str,
    page: Page = Depends(page_params(40, 80)),
    viewer: Viewer | None = maybe("read:accounts"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    return await _collection(request, response, ctx, account_id, viewer, page, followers=False)


@router.get("/api/v1/accounts/{account_id}/lists")
async def account_lists(
    account_id: str, viewer: Viewer = require("read:lists"), ctx: Context = Depends(current_ctx)
) -> Any:
    """The viewer's lists that contain this account."""
    aid = parse_id(account_id)
    async with ctx.read() as s:
        await visible_account(s, aid, viewer.account_id)
        return [list_entity(row) for row in await list_actions.lists_containing(s, viewer.account_id, aid)]


@router.get("/api/v1/accounts/{account_id}/featured_tags")
async def featured_tags(
    request: Request, account_id: str, viewer: Viewer | None = maybe("read:accounts"), ctx: Context = Depends(current_ctx)
) -> Any:
    """Hashtags featured on a profile (FeaturedTag entities, docs/api/social.md)."""
    from szpak.api.routes.featured_tags import featured_entity
    from szpak.domain.featured_tags import featured_of

    async with ctx.read() as s:
        account = await visible_account(s, parse_id(account_id), viewer_account_id(viewer))
        rows = await featured_of(s, account.id)
    return [featured_entity(request.app.state.renderer, f) for f in rows]


# -- acting on an account ---------------------------------------------------------------------

class FollowParams(Params):
    reblogs: bool | None = None
    notify: bool | None = None
    #: Accepted for compatibility; language filtering of follows is not stored yet.
    languages: list[str] | None = None


@router.post("/api/v1/accounts/{account_id}/follow")
async def follow(
    request: Request,
    account_id: str,
    params: FollowParams = body(FollowParams),
    viewer: Viewer = require("write:follows"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Follow (or request to follow a locked account); again to change reblogs/notify."""
    target = parse_id(account_id)
    async with ctx.tx() as tx:
        actor = await viewer.account(tx.session)
        await graph_actions.follow(tx, actor, target, reblogs=params.reblogs, notify_=params.notify)
    assert viewer.account_id is not None
    return await relationship_of(request, ctx, viewer.account_id, target)


async def act_on_account(
    request: Request, ctx: Context, viewer: Viewer, account_id: str, action: Any
) -> dict[str, Any]:
    """Run one graph action ``action(tx, actor, target)`` on the account, answer with the
    Relationship as it stands afterwards."""
    target = parse_id(account_id)
    async with ctx.tx() as tx:
        actor = await viewer.account(tx.session)
        await action(tx, actor, target)
    assert viewer.account_id is not None
    return await relationship_of(request, ctx, viewer.account_id, target)


def _simple_action(path: str, scope: str, action: Any, doc: str) -> None:
    """Register ``POST /api/v1/accounts/{id}/<path>``: run one graph action, answer with the
    Relationship as it stands afterwards."""

    async def endpoint(
        request: Request, account_id: str, viewer: Viewer = require(scope), ctx: Context = Depends(current_ctx)
    ) -> Any:
        return await act_on_account(request, ctx, viewer, account_id, action)

    endpoint.__doc__ = doc
    endpoint.__name__ = path
    router.post(f"/api/v1/accounts/{{account_id}}/{path}")(endpoint)


_simple_action("unfollow", "write:follows", graph_actions.unfollow, "Stop following, or withdraw a follow request.")
_simple_action(
    "remove_from_followers", "write:follows", graph_actions.remove_from_followers,
    "Make the account stop following the viewer.",
)
_simple_action("block", "write:blocks", graph_actions.block, "Block; severs follows both ways.")
_simple_action("unblock", "write:blocks", graph_actions.unblock, "Lift a block.")
_simple_action("unmute", "write:mutes", graph_actions.unmute, "Lift a mute.")


class MuteParams(Params):
    notifications: bool = True
    duration: int = Field(0, ge=0)


@router.post("/api/v1/accounts/{account_id}/mute")
async def mute(
    request: Request,
    account_id: str,
    params: MuteParams = body(MuteParams),
    viewer: Viewer = require("write:mutes"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Mute, by default also in notifications; ``duration`` seconds (0: until unmuted)."""
    target = parse_id(account_id)
    async with ctx.tx() as tx:
        actor = await viewer.account(tx.session)
        await graph_actions.mute(tx, actor, target, notifications=params.notifications, duration=params.duration)
    assert viewer.account_id is not None
    return await relationship_of(request, ctx, viewer.account_id, target)


# -- serving uploaded pictures -------------------------------------------------------------------

async def serve_picture(request: Request) -> Any:
    """An avatar or header from ``data_dir/system/accounts``, with the headers media files
    get (api/routes/media.py): its real type, ``nosniff``, a sandboxing CSP, and a year of
    caching (a picture's name is its content hash, so a cached one is never stale)."""
    rel = "accounts/" + str(request.path_params.get("path", ""))
    target = None if "/." in rel else avatars.safe_target(request.app.state.settings.data_dir, rel)
    if target is None or not target.is_file():
        return error_response(404, "Record not found")
    return FileResponse(target, media_type=content_type_for(rel), headers=FILE_HEADERS)


def setup(app: FastAPI) -> None:
    """Serve uploaded pictures (``/system/accounts/...``) from ``data_dir/system``. The default
    pictures under ``/static`` are served by the web UI's mount (``web/routes.py``)."""
    system = avatars.system_dir(app.state.settings.data_dir)
    # First, like the media route: nothing mounted later may answer for it.
    app.router.routes.insert(0, Route("/system/accounts/{path:path}", serve_picture, methods=["GET", "HEAD"]))

    async def make_system_dir(_app: FastAPI) -> None:
        # Created at start-up rather than import: a missing directory would make every
        # /system request fail instead of answering 404.
        system.mkdir(parents=True, exist_ok=True)

    app.state.startup_hooks.append(make_system_dir)
