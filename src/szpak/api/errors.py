"""Errors as Mastodon returns them: ``{"error": "..."}`` with the right status.

    APIError               raised by routes for HTTP-level problems
    DomainError (domain)   raised by actions; mapped by its ``status_code``
    RequestValidationError FastAPI's own: 422 with the first problem spelled out
    a database data error  422: input the database refused as a value (PostgreSQL's
                           SQLSTATE class 22: a NUL byte in text, an integer beyond
                           BIGINT, ...) that no check caught earlier; logged
    OverflowError          422: a number too large for the driver (sqlite3) or a date
    anything else          500 with a generic text; logged, never shown
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from szpak.api.responses import JSON
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from szpak.domain.errors import DomainError

log = logging.getLogger(__name__)


class APIError(Exception):
    def __init__(self, status_code: int, message: str, *, headers: dict[str, str] | None = None, **extra: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers
        self.extra = extra


def unauthorized(message: str = "The access token is invalid") -> APIError:
    return APIError(401, message, headers={"WWW-Authenticate": 'Bearer realm="Szpak", error="invalid_token"'})


def forbidden_scope() -> APIError:
    return APIError(
        403,
        "This action is outside the authorized scopes",
        headers={"WWW-Authenticate": 'Bearer realm="Szpak", error="insufficient_scope"'},
    )


def describe_validation(errors: list[dict]) -> str:  # type: ignore[type-arg]
    parts = []
    for err in errors[:3]:
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path")]
        field = ".".join(loc)
        msg = err.get("msg", "is invalid")
        parts.append(f"{field} {msg}".strip() if field else msg)
    return "Validation failed: " + "; ".join(parts)


def error_response(status: int, message: str, headers: dict[str, str] | None = None, **extra: str) -> JSON:
    return JSON({"error": message, **extra}, status_code=status, headers=headers)


def is_data_error(exc: DBAPIError) -> bool:
    """The database refused a value (SQLSTATE class 22, "data exception"), or the driver
    refused to send it (asyncpg: an int beyond int64, text with NUL)."""
    from sqlalchemy.exc import DataError

    if isinstance(exc, DataError):
        return True
    seen = 0
    err: BaseException | None = exc.orig
    while err is not None and seen < 4:
        state = getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)
        if isinstance(state, str) and state.startswith("22"):
            return True
        if type(err).__name__ == "DataError":
            return True
        err = err.__cause__
        seen += 1
    return False


def install(app: FastAPI) -> None:
    @app.exception_handler(DBAPIError)
    async def _database_error(req: Request, exc: DBAPIError) -> JSON:
        if not is_data_error(exc):
            raise exc  # a real fault: the generic handler answers 500
        detail = str(exc.orig)
        log.warning("database refused a value on %s %s: %s", req.method, req.url.path, detail[:200])
        if "0x00" in detail:
            return error_response(422, "Validation failed: text must not contain NUL bytes")
        if "out of" in detail and "range" in detail:
            return error_response(422, "Validation failed: a number is out of range")
        return error_response(422, "Validation failed: a value is not acceptable")

    @app.exception_handler(APIError)
    async def _api_error(_req: Request, exc: APIError) -> JSON:
        return error_response(exc.status_code, exc.message, exc.headers, **exc.extra)

    @app.exception_handler(DomainError)
    async def _domain_error(_req: Request, exc: DomainError) -> JSON:
        return error_response(exc.status_code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSON:
        return error_response(422, describe_validation(list(exc.errors())))

    @app.exception_handler(ValidationError)
    async def _pydantic_validation(_req: Request, exc: ValidationError) -> JSON:
        return error_response(422, describe_validation(list(exc.errors())))

    @app.exception_handler(OverflowError)
    async def _overflow(req: Request, exc: OverflowError) -> JSON:
        # A number too large for the database driver (sqlite3: beyond 64 bits) or for a date.
        log.warning("number out of range on %s %s: %s", req.method, req.url.path, exc)
        return error_response(422, "Validation failed: a number is out of range")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSON:
        message = {404: "Record not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
        return error_response(exc.status_code, message, dict(exc.headers) if exc.headers else None)

    @app.exception_handler(Exception)
    async def _crash(req: Request, exc: Exception) -> JSON:
        log.exception("unhandled error on %s %s", req.method, req.url.path)
        return error_response(500, "Internal server error")
