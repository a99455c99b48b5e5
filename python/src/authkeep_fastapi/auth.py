"""``AuthKeep``: FastAPI dependencies that tell who is calling, in one of three modes.

- ``jwt`` (default): ``Authorization: Bearer <JWT>`` verified against the auth server's JWKS.
  Stateless and fastest; a revoked session's JWT stays valid until it expires (15 minutes by default).
- ``database``: the signed session cookie or a bearer session token, looked up in the shared
  PostgreSQL, in tables named as ``schema`` says (better-auth's names by default). Revocation is
  immediate. Needs the ``database`` extra (psycopg).
- ``remote``: the credential is forwarded to the auth server's ``get-session`` on every request
  (revocation is immediate), or its answers are cached for ``remote_cache_ttl`` seconds when set.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

import httpx
from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from . import credentials as creds
from ._log import Throttled
from ._log import logger as _root_logger
from ._loops import PerLoop
from .errors import AuthUnavailable, ConfigurationError, NotAuthenticated, email_not_verified, unauthorized, unavailable
from .jwks import JwksCache, verify
from .models import Session, User
from .pooler import POOLER_SETTINGS, Pooler
from .remote import MAX_CACHE_TTL, RemoteSessions
from .schema import Schema, coerce

if TYPE_CHECKING:
    from .database import SessionStore

Mode = Literal["jwt", "database", "remote"]
USER_FIELDS = ("id", "email", "name", "emailVerified", "image", "createdAt", "updatedAt")
SECRET_MISMATCH = "the session's signature does not match this API's secret: is BETTER_AUTH_SECRET the same as the auth server's?"
NO_CREDENTIAL = "no session cookie or bearer token"

logger = _root_logger.getChild("auth")


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
        jwks_backoff: float = 2.0,
        remote_cache_ttl: float = 0.0,
        schema: Schema | None = None,
        cookie_prefix: str = "better-auth",
        require_signed_bearer: bool = False,
        timeout: float = 3.0,
        pooler: Pooler = "auto",
    ) -> None:
        if mode not in ("jwt", "database", "remote"):
            raise ValueError(f"mode must be 'jwt', 'database' or 'remote', not {mode!r}")
        if any(a.upper().startswith("HS") or a.lower() == "none" for a in algorithms):
            raise ValueError("only asymmetric algorithms can verify authkeep's JWTs")
        if pooler not in POOLER_SETTINGS:
            raise ValueError(f"pooler must be 'auto', 'transaction' or 'none', not {pooler!r}")
        if mode == "database" and not (database_url and secret):
            raise ValueError("database mode needs database_url and secret (the auth server's BETTER_AUTH_SECRET)")
        if not 0 <= remote_cache_ttl <= MAX_CACHE_TTL:
            # Refused rather than lowered: a silently shorter cache would not be what was asked
            # for, and a longer one would leave signed-out sessions working for minutes.
            raise ValueError(
                f"remote_cache_ttl must be between 0 and {MAX_CACHE_TTL:g} seconds, not {remote_cache_ttl:g}: a signed-out "
                "or revoked session keeps working on this API for as long as its answer is cached"
            )
        if schema is not None and not isinstance(schema, Schema):
            raise TypeError(f"schema must be an authkeep_fastapi.Schema (e.g. Schema.from_toml(...)), not {type(schema).__name__}")
        origin = "{0.scheme}://{0.netloc}".format(urlparse(base_url))
        self.mode: Mode = mode
        self.base_path = "/" + base_path.strip("/")
        self.api_url = base_url.rstrip("/") + self.base_path
        self.secret = secret
        self.cookie_prefix = cookie_prefix
        self.require_signed_bearer = require_signed_bearer
        self.timeout = timeout
        # Names of the auth database (database mode) and the types of the user's additional
        # fields (every mode); better-auth's defaults when not given.
        self.schema = schema or Schema()
        self._secret_mismatches = Throttled(logger)
        self.jwt_options = {
            "algorithms": tuple(algorithms),
            "issuer": issuer or origin,
            "audience": audience or origin,
            "leeway": leeway,
        }
        # One HTTP client per event loop, made on first use: a client made here, outside any loop,
        # would carry its pooled connections from one loop into the next (see _loops.PerLoop).
        self._clients: PerLoop[httpx.AsyncClient] = PerLoop(lambda: httpx.AsyncClient(timeout=timeout))
        self.jwks = JwksCache(f"{self.api_url}/jwks", self._client, ttl=jwks_ttl, backoff=jwks_backoff)
        self.remote = RemoteSessions(self.api_url, self._client, ttl=remote_cache_ttl)
        self._verified: dict[str, Identity] = {}
        self.sessions: SessionStore | None = None
        if mode == "database" and database_url:
            # Imported here so that jwt and remote modes never need psycopg; without it this
            # raises ImportError saying which extra to install.
            from .database import SessionStore

            # pooler: "transaction" when database_url goes through a transaction-mode pooler
            # (PgBouncer, Supavisor, Neon's pooled URL), "auto" to recognise one from the URL.
            self.sessions = SessionStore(database_url, schema=self.schema, timeout=timeout, pooler=pooler)

        # Declared so the security schemes appear in the OpenAPI document; reading is done by hand
        # because the cookie may carry either of better-auth's two names. One name per kind of
        # credential: a jwt-mode and a session-mode AuthKeep in one app would otherwise register
        # two different schemes under one name, and the document would show only one of them.
        bearer_scheme = HTTPBearer(auto_error=False, scheme_name=self.scheme_name, description=self._scheme_description())
        cookie_scheme: Callable[..., Any]
        if mode == "jwt":
            cookie_scheme = _no_cookie  # a JWT API ignores the cookie: it must not be advertised
        else:
            cookie_scheme = APIKeyCookie(
                name=f"{cookie_prefix}.session_token", auto_error=False, scheme_name=f"{self.scheme_name}-cookie",
                description="The better-auth session cookie (also read under its __Secure- name).",
            )

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
            found = await self._resolve(request, required=True)
            assert found is not None  # required=True raises instead of returning None
            return found

        async def current_user(
            request: Request,
            _bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
            _cookie: str | None = Depends(cookie_scheme),
        ) -> User:
            found = await self._resolve(request, required=True)
            assert found is not None
            return found.user

        async def optional_user(found: Identity | None = Depends(optional_identity)) -> User | None:
            return found.user if found else None

        async def current_session(found: Identity = Depends(identity)) -> Session:
            # Unreachable in jwt mode: the `current_session` property refuses to hand this out.
            assert found.session is not None
            return found.session

        async def verified_user(user: User = Depends(current_user)) -> User:
            if not user.email_verified:
                raise email_not_verified()
            return user

        self.identity = identity
        self.optional_identity = optional_identity
        self.current_user = current_user
        self.optional_user = optional_user
        self._current_session = current_session
        self.verified_user = verified_user

    @property
    def current_session(self) -> Callable[..., Any]:
        """The ``Session`` dependency (database and remote modes). In jwt mode there is no session
        to give, so asking for it raises ``ConfigurationError`` where the route is defined."""
        if self.mode == "jwt":
            raise ConfigurationError(
                "auth.current_session needs mode='database' or mode='remote': a JWT carries no session. "
                "In jwt mode use auth.current_user, or auth.identity for the user and the JWT's claims."
            )
        return self._current_session

    @property
    def scheme_name(self) -> str:
        """The OpenAPI security scheme of the bearer credential: ``authkeep-jwt`` in jwt mode,
        ``authkeep-session`` in database and remote modes (whose cookie is ``authkeep-session-cookie``)."""
        return "authkeep-jwt" if self.mode == "jwt" else "authkeep-session"

    def _client(self) -> httpx.AsyncClient:
        return self._clients.get()

    def _scheme_description(self) -> str:
        return {
            "jwt": f"A JWT from the auth server's {self.base_path}/token endpoint or set-auth-jwt header.",
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
            if bearer is not None and creds.looks_like_jwt(bearer):
                return await self._from_jwt(bearer)
            raise NotAuthenticated(self._why_no_jwt(request, bearer))
        # A JWT is not a session credential: never forwarded or looked up, but named in the 401.
        jwt_sent = bearer is not None and creds.looks_like_jwt(bearer)
        session_bearer = None if jwt_sent else bearer
        try:
            if self.mode == "remote":
                return await self._from_remote(request, session_bearer)
            return await self._from_database(request, session_bearer)
        except NotAuthenticated as e:
            if not jwt_sent:
                raise
            cookie = creds.read_cookie(request, self.cookie_prefix)
            also = f" (the session cookie sent with it: {e.reason})" if cookie is not None else ""
            raise NotAuthenticated(self._expects_session("a JWT was sent") + also) from e

    def _why_no_jwt(self, request: Request, bearer: str | None) -> str:
        if bearer is not None and creds.looks_like_session_token(bearer):
            return self._expects_jwt("a session token was sent")
        if bearer is None and creds.read_cookie(request, self.cookie_prefix) is not None:
            return self._expects_jwt("a session cookie was sent")
        return "no JWT" if bearer is None else "the bearer token is not a JWT"

    def _expects_jwt(self, sent: str) -> str:
        return (
            f"this API expects a JWT (Authorization: Bearer <JWT>, from GET {self.base_path}/token "
            f"or the set-auth-jwt header of get-session); {sent}"
        )

    def _expects_session(self, sent: str) -> str:
        return (
            f"this API expects a session token (the {self.cookie_prefix}.session_token cookie, or "
            f"Authorization: Bearer <session token> from the set-auth-token header); {sent}"
        )

    async def _from_jwt(self, token: str) -> Identity:
        # A JWT never changes, so a verified one is remembered until its own expiry; `exp` is
        # checked again on every use. Keys are the whole token: nothing else can match.
        now = time.time()
        hit = self._verified.get(token)
        if hit is not None and hit.claims["exp"] > now:
            return hit
        claims = await verify(token, self.jwks, **self.jwt_options)
        # The claims hold the user's fields beside the JWT's own (iss, exp...): only the
        # additional fields the schema declares are taken as the user's.
        fields = {k: claims.get(k) for k in USER_FIELDS} | {"id": claims["sub"]}
        user = User.model_validate(fields | self._additional(claims, only_declared=True))
        found = Identity(user=user, claims=claims)
        if len(self._verified) >= 10_000:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = found
        return found

    async def _from_remote(self, request: Request, bearer: str | None) -> Identity:
        headers = {}
        if bearer is not None:
            credential = bearer
            headers["authorization"] = f"Bearer {bearer}"
        else:
            # Forwarded as received (still percent-encoded): the auth server decodes it itself,
            # and a decoded value could hold bytes that are not valid in a header.
            cookie = creds.read_cookie(request, self.cookie_prefix, decode=False)
            if cookie is None:
                raise NotAuthenticated("no session cookie or bearer token")
            credential = cookie
            # Only the session cookie is forwarded (under both of its names), never the
            # caller's other cookies.
            headers["cookie"] = "; ".join(f"{n}={cookie}" for n in creds.cookie_names(self.cookie_prefix))
        if not (credential.isascii() and credential.isprintable()):
            raise NotAuthenticated("malformed session token")  # no session token looks like this
        body = await self.remote.find(headers)
        if body is None:
            raise NotAuthenticated("no such session")
        user = body["user"]
        return Identity(user=User.model_validate(user | self._additional(user)), session=Session.model_validate(body["session"]))

    async def _from_database(self, request: Request, bearer: str | None) -> Identity:
        assert self.sessions is not None
        cookie = creds.read_cookie(request, self.cookie_prefix)
        if bearer is None and cookie is None:
            raise NotAuthenticated(NO_CREDENTIAL)
        # The bearer first, then the cookie; when neither gives a token, the first one's problem
        # is the reason.
        token: str | None = None
        problem: str | None = None
        if bearer is not None:
            if "." in bearer:
                token, problem = self._unsign(bearer, "bearer token")
            elif self.require_signed_bearer:
                problem = (
                    "an unsigned bearer session token was sent; this API accepts only the signed form "
                    "<token>.<signature> (the set-auth-token header)"
                )
            else:
                token = bearer
        if token is None and cookie is not None:
            token, cookie_problem = self._unsign(cookie, "session cookie")
            problem = problem or cookie_problem
        if token is None:
            raise NotAuthenticated(problem or NO_CREDENTIAL)
        found = await self.sessions.find(token)
        if found is None:
            raise NotAuthenticated("session expired or revoked")
        user, session = found
        return Identity(user=User.model_validate(user), session=Session.model_validate(session))

    def _unsign(self, signed: str, what: str) -> tuple[str | None, str | None]:
        """``(token, None)`` when ``signed`` verifies with this API's secret, else ``(None, why)``."""
        assert self.secret is not None
        if creds.parse_signed(signed) is None:
            return None, f"malformed {what}: expected <token>.<signature> as the auth server signs it"
        token = creds.verify_signed(self.secret, signed)
        if token is None:
            # Well formed but signed with another key: a tampered credential, or (when every
            # request fails so) a secret that differs from the auth server's. Logged, throttled,
            # without the credential.
            self._secret_mismatches.warning(
                "database mode: a %s's signature does not match this API's secret; if every session fails this way, "
                "the secret passed to AuthKeep differs from the auth server's BETTER_AUTH_SECRET",
                what,
            )
            return None, SECRET_MISMATCH
        return token, None

    def _additional(self, values: dict[str, Any], *, only_declared: bool = False) -> dict[str, Any]:
        """The user's additional fields in ``values`` (get-session's user, or JWT claims), typed
        as the schema declares them. Undeclared extras are kept as they came unless ``only_declared``."""
        out = {} if only_declared else {k: v for k, v in values.items() if k not in USER_FIELDS}
        for name, spec in self.schema.returned_user_fields.items():
            if name in values:
                out[name] = coerce(spec.type, values[name])
        return out

    async def aclose(self) -> None:
        """Closes the running event loop's HTTP client and database connections (call it from your
        app's lifespan, or use ``FastAPI(lifespan=auth.lifespan)``). Using the object again
        afterwards opens new ones, so one ``AuthKeep`` can serve successive lifespans."""
        client = self._clients.pop()
        if client is not None:
            await client.aclose()
        if self.sessions is not None:
            await self.sessions.close()

    @asynccontextmanager
    async def lifespan(self, _app: object = None) -> AsyncIterator[None]:
        """``FastAPI(lifespan=auth.lifespan)``: closes what ``aclose`` closes when the app stops."""
        try:
            yield
        finally:
            await self.aclose()

    async def __aenter__(self) -> AuthKeep:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()


async def _no_cookie() -> None:
    """Stands in for the cookie scheme in jwt mode: a dependency that declares nothing."""
    return None
