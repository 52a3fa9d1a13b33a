"""The rendered-entity cache: generations stop stale fills; events invalidate."""

from szpak.api.cache import EntityCache, GenerationalLRU
from szpak.domain.events import AccountUpdated, RelationshipChanged, StatusCreated, StatusDeleted, StatusUpdated


def test_fill_after_invalidation_is_ignored():
    c: GenerationalLRU[int] = GenerationalLRU(10)
    g = c.generation(1)
    c.invalidate(1)  # a write committed while the read was in flight
    c.fill(1, {"stale": True}, g)
    assert c.get(1) is None
    g = c.generation(1)
    c.fill(1, {"fresh": True}, g)
    assert c.get(1) == {"fresh": True}


def test_reset_cannot_resurrect_a_stale_read():
    c: GenerationalLRU[int] = GenerationalLRU(1)
    g = c.generation(7)
    for k in range(10):  # enough invalidations to force a reset of the generation table
        c.invalidate(k)
    c.fill(7, "stale", g)
    assert c.get(7) is None


def test_lru_evicts_oldest():
    c: GenerationalLRU[int] = GenerationalLRU(2)
    for k in (1, 2, 3):
        c.fill(k, k, c.generation(k))
    assert c.get(1) is None and c.get(2) == 2 and c.get(3) == 3


async def test_events_drop_what_they_change():
    cache = EntityCache(100)
    for aid in (1, 2):
        cache.accounts.fill(aid, {"id": aid}, cache.accounts.generation(aid))
    for sid in (10, 11):
        cache.statuses.fill(sid, {"id": sid}, cache.statuses.generation(sid))
    await cache.on_event(StatusCreated(status_id=12, account_id=1, visibility="public", reblog_of_id=10))
    assert cache.accounts.get(1) is None and cache.statuses.get(10) is None
    assert cache.accounts.get(2) is not None and cache.statuses.get(11) is not None
    await cache.on_event(StatusUpdated(status_id=11, account_id=2, visibility="public"))
    assert cache.statuses.get(11) is None
    cache.accounts.fill(1, {"id": 1}, cache.accounts.generation(1))
    await cache.on_event(RelationshipChanged(account_id=1, target_account_id=2, kind="follow"))
    assert cache.accounts.get(1) is None and cache.accounts.get(2) is None
    cache.statuses.fill(11, {"id": 11}, cache.statuses.generation(11))
    await cache.on_event(StatusDeleted(status_id=11, account_id=2, visibility="public"))
    assert cache.statuses.get(11) is None
    await cache.on_event(AccountUpdated(account_id=2))
    assert cache.credentials.get(2) is None


def test_disabled_cache_stores_nothing():
    cache = EntityCache(10, enabled=False)
    cache.accounts.fill(1, {"id": 1}, cache.accounts.generation(1))
    assert cache.accounts.get(1) is None
