"""Why a request could not be authenticated, and how each case is answered."""

from __future__ import annotations

from fastapi import HTTPException


class NotAuthenticated(Exception):
    """No credential, or one that is invalid, expired or revoked: 401."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuthUnavailable(Exception):
    """The auth server, its JWKS or the database could not be reached: 503, never 401."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConfigurationError(RuntimeError):
    """``AuthKeep`` was asked for something its mode cannot give (e.g. ``current_session`` in jwt
    mode). Raised where the app is defined, so the mistake shows at start-up, not as a 500 per request."""


def unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        status_code=401,
        detail={"message": "Not authenticated", "code": "UNAUTHORIZED", "reason": reason},
        headers={"WWW-Authenticate": 'Bearer realm="authkeep"'},
    )


def unavailable(reason: str) -> HTTPException:
    return HTTPException(
        status_code=503,
        detail={"message": "Authentication is temporarily unavailable", "code": "AUTH_UNAVAILABLE", "reason": reason},
        headers={"Retry-After": "2"},
    )


def email_not_verified() -> HTTPException:
    return HTTPException(status_code=403, detail={"message": "Email not verified", "code": "EMAIL_NOT_VERIFIED"})
