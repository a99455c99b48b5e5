"""``AuthKeep``: FastAPI dependencies that tell who is calling, in one of three modes.

- ``jwt`` (default): ``Authorization: Bearer <JWT>`` verified against the auth server's JWKS.
  Stateless and fastest; a revoked session's JWT stays valid until it expires (15 minutes by default).
- ``database``: the signed session cookie or a bearer session token, looked up in the shared
  PostgreSQL. Revocation is immediate.
- ``remote``: the credential is forwarded to the auth server's ``get-session``; answers are
  cached for a few seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlparse

import httpx
from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from . import credentials as creds
from .database import SessionStore
from .errors import AuthUnavailable, NotAuthenticated, email_not_verified, unauthorized, unavailable
from .jwks import JwksCache, verify
from .models import Session, User
from .remote import RemoteSessions

Mode = Literal["jwt", "database", "remote"]
USER_FIELDS = ("id", "email", "name", "emailVerified", "image", "createdAt", "updatedAt")


@dataclass(frozen=True)
class Identity:
    """Everything known about the caller: the user, the session (not in jwt mode) and the JWT claims (jwt mode)."""

    user: User
    session: Session | None = None
    claims: dict[str, Any] = field(default_factory=dict)


class AuthKeep:
    def __init__(
        self,
        base_url: str,
        *,
        mode: Mode = "jwt",
        base_path: str = "/api/auth",
        database_url: str | None = None,
        secret: str | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        algorithms: tuple[str, ...] = ("EdDSA",),
        leeway: float = 0.0,
        jwks_ttl: float = 300.0,
        remote_cache_ttl: float = 5.0,
        cookie_prefix: str = "better-auth",
        require_signed_bearer: bool = False,
        timeout: float = 3.0,
    ) -> None:
        if mode not in ("jwt", "database", "remote"):
            raise ValueError(f"mode must be 'jwt', 'database' or 'remote', not {mode!r}")
        if any(a.upper().startswith("HS") or a.lower() == "none" for a in algorithms):
            raise ValueError("only asymmetric algorithms can verify authkeep's JWTs")
        if mode == "database" and not (database_url and secret):
            raise ValueError("database mode needs database_url and secret (the auth server's BETTER_AUTH_SECRET)")
        origin = "{0.scheme}://{0.netloc}".format(urlparse(base_url))
        self.mode: Mode = mode
        self.api_url = base_url.rstrip("/") + base_path
        self.secret = secret
        self.cookie_prefix = cookie_prefix
        self.require_signed_bearer = require_signed_bearer
        self.jwt_options = {
            "algorithms": tuple(algorithms),
            "issuer": issuer or origin,
            "audience": audience or origin,
            "leeway": leeway,
        }
        self._http = httpx.AsyncClient(timeout=timeout)
        self.jwks = JwksCache(f"{self.api_url}/jwks", self._http, ttl=jwks_ttl)
        self.remote = RemoteSessions(self.api_url, self._http, ttl=remote_cache_ttl)
        self._verified: dict[str, Identity] = {}
        self.sessions = SessionStore(database_url, timeout=timeout) if mode == "database" and database_url else None

        # Declared so the security schemes appear in the OpenAPI document; reading is done by hand
        # because the cookie may carry either of better-auth's two names.
        bearer_scheme = HTTPBearer(auto_error=False, scheme_name="authkeep", description=self._scheme_description())
        cookie_scheme = APIKeyCookie(name=f"{cookie_prefix}.session_token", auto_error=False, scheme_name="authkeep session cookie")

        # One dependency does the work (FastAPI charges per dependency); the two scheme
        # parameters only make the security schemes appear in the OpenAPI document.
        async def optional_identity(
            request: Request,
            _bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
            _cookie: str | None = Depends(cookie_scheme),
        ) -> Identity | None:
            return await self._resolve(request, required=False)

        async def identity(
            request: Request,
            _bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
            _cookie: str | None = Depends(cookie_scheme),
        ) -> Identity:
            return await self._resolve(request, required=True)

        async def current_user(
            request: Request,
            _bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
            _cookie: str | None = Depends(cookie_scheme),
        ) -> User:
            return (await self._resolve(request, required=True)).user

        async def optional_user(found: Identity | None = Depends(optional_identity)) -> User | None:
            return found.user if found else None

        async def current_session(found: Identity = Depends(identity)) -> Session:
            if found.session is None:
                raise RuntimeError("current_session needs mode='database' or mode='remote': a JWT carries no session")
            return found.session

        async def verified_user(user: User = Depends(current_user)) -> User:
            if not user.email_verified:
                raise email_not_verified()
            return user

        self.identity = identity
        self.optional_identity = optional_identity
        self.current_user = current_user
        self.optional_user = optional_user
        self.current_session = current_session
        self.verified_user = verified_user

    def _scheme_description(self) -> str:
        return {
            "jwt": "A JWT from the auth server's /token endpoint or set-auth-jwt header.",
            "database": "The better-auth session token (signed or bare), or the session cookie.",
            "remote": "The better-auth session token (signed or bare), or the session cookie.",
        }[self.mode]

    async def _resolve(self, request: Request, *, required: bool) -> Identity | None:
        """``authenticate`` with its failures turned into HTTP answers (401 only when required; 503 always)."""
        try:
            return await self.authenticate(request)
        except NotAuthenticated as e:
            if required:
                raise unauthorized(e.reason) from e
            return None
        except AuthUnavailable as e:
            raise unavailable(e.reason) from e

    async def authenticate(self, request: Request) -> Identity:
        """Who is calling; raises ``NotAuthenticated`` or ``AuthUnavailable``."""
        bearer = creds.read_authorization(request)
        if self.mode == "jwt":
            if not bearer or not creds.looks_like_jwt(bearer):
                raise NotAuthenticated("no JWT")
            return await self._from_jwt(bearer)
        if self.mode == "remote":
            headers = {}
            if bearer and not creds.looks_like_jwt(bearer):
                headers["authorization"] = f"Bearer {bearer}"
            else:
                cookie = creds.read_cookie(request, self.cookie_prefix)
                if cookie is None:
                    raise NotAuthenticated("no session cookie or bearer token")
                names = creds.cookie_names(self.cookie_prefix)
                headers["cookie"] = "; ".join(f"{n}={cookie}" for n in names)
            body = await self.remote.find(headers)
            if body is None:
                raise NotAuthenticated("no such session")
            return Identity(user=User.model_validate(body["user"]), session=Session.model_validate(body["session"]))
        return await self._from_database(request, bearer)

    async def _from_jwt(self, token: str) -> Identity:
        # A JWT never changes, so a verified one is remembered until its own expiry; `exp` is
        # checked again on every use. Keys are the whole token: nothing else can match.
        now = time.time()
        hit = self._verified.get(token)
        if hit is not None and hit.claims["exp"] > now:
            return hit
        claims = await verify(token, self.jwks, **self.jwt_options)
        user = User.model_validate({k: claims.get(k) for k in USER_FIELDS} | {"id": claims["sub"]})
        found = Identity(user=user, claims=claims)
        if len(self._verified) >= 10_000:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = found
        return found

    async def _from_database(self, request: Request, bearer: str | None) -> Identity:
        assert self.sessions is not None and self.secret is not None
        token: str | None = None
        if bearer and not creds.looks_like_jwt(bearer):
            if "." in bearer:
                token = creds.verify_signed(self.secret, bearer)
            elif not self.require_signed_bearer:
                token = bearer
        if token is None:
            cookie = creds.read_cookie(request, self.cookie_prefix)
            if cookie is not None:
                token = creds.verify_signed(self.secret, cookie)
        if token is None:
            raise NotAuthenticated("no valid session cookie or bearer token")
        row = await self.sessions.find(token)
        if row is None:
            raise NotAuthenticated("session expired or revoked")
        user = User.model_validate({k: row[f"u_{k}"] for k in USER_FIELDS})
        session = Session.model_validate({k: row[k] for k in ("id", "userId", "expiresAt", "createdAt", "updatedAt", "ipAddress", "userAgent")})
        return Identity(user=user, session=session)

    async def aclose(self) -> None:
        """Closes the HTTP client and the database pool (call it from your app's lifespan)."""
        await self._http.aclose()
        if self.sessions:
            await self.sessions.close()
