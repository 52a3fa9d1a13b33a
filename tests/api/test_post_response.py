"""POST /api/v1/statuses answers with the status rendered in its own transaction
(api/routes/statuses.py ``_render_new``, docs/performance.md) instead of reading it back
after the commit. That answer must be exactly what a GET of the same status returns to
the author right after (and what ``Presenter.statuses`` renders, key order included), for
every kind of post: replies, mentions, tags, links, polls, media, content warnings, each
visibility, languages, idempotent replays.
"""

from __future__ import annotations

from typing import Any

import orjson

from .test_media import image_bytes, uploaded


async def _same_as_get(client: Any, user: Any, **fields: Any) -> dict[str, Any]:
    extra = fields.pop("_headers", {})
    r = await user.client.post("/api/v1/statuses", json=fields, headers={**user.headers, **extra})
    assert r.status_code == 200, r.text
    posted = r.json()
    got = await user.get(f"/api/v1/statuses/{posted['id']}")
    assert got.status_code == 200, got.text
    assert posted == got.json(), fields
    # Byte for byte as the Presenter composes it after the commit (key order included).
    async with client.app.state.ctx.read() as s:
        fresh = await client.app.state.presenter.statuses(s, [int(posted["id"])], int(user.id))
    assert r.content == orjson.dumps(fresh[0], option=orjson.OPT_NON_STR_KEYS), fields
    return posted  # type: ignore[no-any-return]


async def test_post_answer_equals_a_later_get_for_every_kind_of_post(client: Any) -> None:
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    await bob.follow(alice)

    first = await _same_as_get(client, alice, status="Dzień dobry")
    await _same_as_get(client, alice, status="Link https://example.com/a?b=c i drugi http://example.org")
    await _same_as_get(client, alice, status="Jeden #tag")
    await _same_as_get(client, alice, status="Trzy #Kraków #tag #Zupa i #tag znowu")
    await _same_as_get(client, alice, status="Cześć @bob")
    await _same_as_get(client, alice, status="Cześć @carol i @bob i @nikt i @bob")
    await _same_as_get(client, alice, status="Sama do siebie @alice")
    await _same_as_get(client, alice, status="Ostrożnie", spoiler_text="CW", language="pl")
    await _same_as_get(client, alice, status="Wrażliwe", sensitive=True, language="en-GB")
    for visibility in ("public", "unlisted", "private", "direct"):
        await _same_as_get(client, alice, status=f"@bob {visibility} #widoczność https://example.com", visibility=visibility)
    # Replies: to another's post, to one's own, and a reply that mentions.
    theirs = await bob.post_status("Pytanie?")
    await _same_as_get(client, alice, status="@bob Odpowiedź", in_reply_to_id=theirs["id"])
    await _same_as_get(client, alice, status="Ciąg dalszy", in_reply_to_id=first["id"])
    await _same_as_get(client, carol, status="@alice @bob wątek #rozmowa", in_reply_to_id=first["id"], visibility="unlisted")
    # Polls, single and multiple choice, hidden totals.
    await _same_as_get(client, alice, status="Ankieta", poll={"options": ["tak", "nie"], "expires_in": 3600})
    await _same_as_get(
        client, alice, status="Ankieta 2 #ankieta",
        poll={"options": ["a", "b", "c"], "expires_in": 600, "multiple": True, "hide_totals": True},
    )
    # Media: one and two attachments, with and without text, under a content warning.
    one = await uploaded(alice, image_bytes(), description="opis")
    await _same_as_get(client, alice, status="Zdjęcie", media_ids=[one["id"]])
    two = [(await uploaded(alice, image_bytes()))["id"] for _ in range(2)]
    await _same_as_get(client, alice, status="", media_ids=two, spoiler_text="uwaga", visibility="private")
    # An idempotent replay answers with the first post, read back after the commit.
    a = await _same_as_get(client, alice, status="Raz", _headers={"Idempotency-Key": "k-1"})
    b = await _same_as_get(client, alice, status="Raz", _headers={"Idempotency-Key": "k-1"})
    assert a["id"] == b["id"]
