"""ASGI application factory. The lifespan opens storage, the bus and the job worker."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from szpak.api.responses import JSON

from szpak.api import errors
from szpak.api.cache import EntityCache
from szpak.api.deps import TokenCache
from szpak.api.presenter import Presenter
from szpak.api.serializers import Renderer
from szpak.config import Settings
from szpak.domain.context import Context
from szpak.jobs.runner import Worker
from szpak.realtime.bus import Bus, InProcessBus
from szpak.storage.db import Database
from szpak.storage.migrate import upgrade_async

log = logging.getLogger(__name__)


def make_bus(settings: Settings) -> Bus:
    if settings.redis_url:
        from szpak.realtime.redis_bus import RedisBus

        return RedisBus(settings.redis_url, channel=settings.redis_channel)
    return InProcessBus()


#: Seconds after start-up at which the heap is frozen again, for what background start-up
#: work (the listening models, loaded in threads) allocated meanwhile.
FREEZE_AGAIN_AFTER = (10.0, 60.0)


def _freeze_heap() -> None:
    """Keep what start-up allocated out of the garbage collector's full collections
    (``gc.freeze``). With the models loaded a full collection walked ~250k long-lived
    objects and stalled every request in flight for 90–170 ms: the home timeline's p99
    under load (docs/performance.md). Only for a serving process (``run_workers``), not
    for the many short-lived apps of the test suite."""
    gc.collect()
    gc.freeze()
    loop = asyncio.get_running_loop()
    for delay in FREEZE_AGAIN_AFTER:
        loop.call_later(delay, gc.freeze)


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await upgrade_async(settings.effective_database_url)
        db = Database(settings.effective_database_url)
        bus = make_bus(settings)
        ctx = Context(settings, db, bus)
        app.state.ctx = ctx
        app.state.settings = settings
        app.state.renderer = Renderer(settings)
        cache = TokenCache()
        app.state.token_cache = cache
        bus.subscribe(cache.on_event)
        entities = EntityCache(enabled=settings.entity_cache)
        bus.subscribe(entities.on_event)
        app.state.entity_cache = entities
        app.state.presenter = Presenter(app.state.renderer, entities)
        await bus.start()
        for startup in app.state.startup_hooks:
            await startup(app)
        worker = Worker(ctx)
        app.state.worker = worker
        if settings.run_workers:
            await worker.start()
            _freeze_heap()
        try:
            yield
        finally:
            for shutdown in reversed(app.state.shutdown_hooks):
                await shutdown(app)
            await worker.stop()
            await bus.close()
            await db.dispose()

    app = FastAPI(
        title="Szpak",
        version="0.1.0",
        default_response_class=JSON,
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []
    errors.install(app)
    from szpak.api.routes import register_routes

    register_routes(app)
    return app
