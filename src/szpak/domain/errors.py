"""Domain errors. The API layer maps each to an HTTP status and a Mastodon-style body.

    DomainError            base: a rule was broken (422)
    ├── NotFound           the thing does not exist or the actor may not see it (404)
    ├── Forbidden          the actor may see it but not do this (403)
    ├── Conflict           the request collides with the current state (409)
    └── Invalid            the input breaks a validation rule (422)
"""

from __future__ import annotations


class DomainError(Exception):
    status_code = 422

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404

    def __init__(self, message: str = "Record not found") -> None:
        super().__init__(message)


class Forbidden(DomainError):
    status_code = 403

    def __init__(self, message: str = "This action is not allowed") -> None:
        super().__init__(message)


class Conflict(DomainError):
    status_code = 409


class Invalid(DomainError):
    status_code = 422
