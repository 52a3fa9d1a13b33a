"""Errors as Mastodon returns them: ``{"error": "..."}`` with the right status.

    APIError               raised by routes for HTTP-level problems
    DomainError (domain)   raised by actions; mapped by its ``status_code``
    RequestValidationError FastAPI's own: 422 with the first problem spelled out
    anything else          500 with a generic text; logged, never shown
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from szpak.api.responses import JSON
from pydantic import ValidationError
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


def install(app: FastAPI) -> None:
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

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSON:
        message = {404: "Record not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
        return error_response(exc.status_code, message, dict(exc.headers) if exc.headers else None)

    @app.exception_handler(Exception)
    async def _crash(req: Request, exc: Exception) -> JSON:
        log.exception("unhandled error on %s %s", req.method, req.url.path)
        return error_response(500, "Internal server error")
