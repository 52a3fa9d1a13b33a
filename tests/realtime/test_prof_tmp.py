import time, cProfile, pstats, asyncio
from szpak.api.deps import lookup_token
from szpak.domain import oauth, relationships
from szpak.domain.accounts import create_user
from szpak.storage.models import Account

async def test_prof(app):
    ctx = app.state.ctx; hub = app.state.hub
    async with ctx.tx() as tx:
        author = await create_user(tx, username="autor", email="a@example.com", password="sekretne-haslo")
        atok, _ = await oauth.issue_token(tx, application_id=None, user_id=author.id, scopes=["read","write"])
    toks = []
    async with ctx.tx() as tx:
        for n in range(1000):
            u = await create_user(tx, username=f"f{n}", email=f"f{n}@example.com", password="sekretne-haslo")
            t, _ = await oauth.issue_token(tx, application_id=None, user_id=u.id, scopes=["read"])
            await relationships.follow(tx, await tx.session.get(Account, u.account_id), author.account_id)
            toks.append(t)
    conns = []
    for t in toks:
        v = await lookup_token(ctx, app.state.token_cache, t)
        c = await hub.open(v, "ws", t); await hub.subscribe(c, ("user",)); conns.append(c)
    from szpak.domain.statuses import StatusDraft, create_status
    pr = cProfile.Profile()
    for i in range(10):
        async with ctx.tx() as tx:
            await create_status(tx, await tx.session.get(Account, author.account_id), StatusDraft(text=f"x {i}"))
        t = time.perf_counter()
        pr.enable()
        await hub.sync()
        pr.disable()
        print("hub ms", (time.perf_counter()-t)*1000)
        for c in conns:
            while not c.queue.empty(): c.queue.get_nowait()
    pstats.Stats(pr).sort_stats("tottime").print_stats(15)
