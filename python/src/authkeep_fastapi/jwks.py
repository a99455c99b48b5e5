"""jwt mode: verify authkeep's (or better-auth's) JWTs against the published JWKS.

Keys come only from the configured JWKS URL, never from the token (``jwk``, ``jku`` and
``x5u`` headers are ignored); the token's ``alg`` must be on the allow-list and match the key's
own ``alg``, so ``none`` and HS256-with-a-public-key are refused before any signature check.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from ._log import logger as _root_logger
from .errors import AuthUnavailable, NotAuthenticated

logger = _root_logger.getChild("jwks")

class JwksCache:
    """The JWKS, fetched on first use, kept for ``ttl`` seconds, and refetched early when a
    token names an unknown ``kid`` (at most once per ``min_refetch_interval`` seconds).

    One fetch at a time: every request that needs the JWKS while a fetch is under way awaits that
    same fetch (no lock is held around the I/O, so an unreachable JWKS costs all of them one
    timeout together, not one each in turn). After a failed fetch nothing is fetched again for
    ``backoff`` seconds (doubling with each further failure, up to ``max_backoff``): in between,
    requests whose key is cached are verified with it and the others fail at once with
    ``AuthUnavailable``. Keys fetched before keep verifying while refreshes fail.
    """

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient | Callable[[], httpx.AsyncClient],
        ttl: float = 300.0,
        min_refetch_interval: float = 10.0,
        backoff: float = 2.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.url = url
        # A callable gives the client of the running event loop (see AuthKeep); a client object is
        # used as it is.
        self._client: Callable[[], httpx.AsyncClient] = client if callable(client) else (lambda: client)
        self.ttl = ttl
        self.min_refetch_interval = min_refetch_interval
        self.backoff = max(backoff, 0.0)
        self.max_backoff = max(max_backoff, self.backoff)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0  # monotonic time of the last successful fetch; 0: never
        self._attempted_at = float("-inf")  # start of the last fetch, successful or not
        self._retry_at = 0.0  # no fetch before this monotonic time (set by a failure)
        self._failures = 0  # consecutive failed fetches
        self._last_error = ""
        self._flight: asyncio.Task[bool] | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client()

    async def get(self, kid: str) -> jwt.PyJWK | None:
        """The key named ``kid``; ``None`` when the JWKS has no such key; ``AuthUnavailable`` when
        the JWKS cannot be fetched and no cached key can stand in."""
        now = time.monotonic()
        fresh = self._fetched_at > 0 and now - self._fetched_at < self.ttl
        key = self._keys.get(kid)
        if key is not None and fresh:
            return key
        flight = self._flight_in_this_loop()  # joined first: it may bring this very kid
        if flight is None:
            if fresh and now - self._attempted_at < self.min_refetch_interval:
                # An unknown kid, and the JWKS was asked moments ago. If that attempt failed we
                # cannot tell a newly rotated key from a bogus one, so it is an outage, not a 401.
                if self._failures:
                    raise self._unavailable()
                return None
            if now < self._retry_at:
                if key is not None:
                    return key  # stale, but the best there is while the JWKS is down
                raise self._unavailable()
            flight = self._start_flight()
        # asyncio.wait, unlike awaiting the task, does not cancel the shared fetch when this
        # request is cancelled (a client that went away), and does not re-raise one exception
        # object into every waiter.
        await asyncio.wait((flight,))
        fetched = not flight.cancelled() and flight.result()
        if fetched:
            return self._keys.get(kid)
        key = self._keys.get(kid)
        if key is not None:
            return key  # keep verifying with what we have
        raise self._unavailable()

    def _flight_in_this_loop(self) -> asyncio.Task[bool] | None:
        flight = self._flight
        if flight is None or flight.done() or flight.get_loop() is not asyncio.get_running_loop():
            return None  # a fetch started in another, finished loop can never complete here
        return flight

    def _start_flight(self) -> asyncio.Task[bool]:
        self._attempted_at = time.monotonic()
        self._flight = asyncio.get_running_loop().create_task(self._fetch(), name=f"authkeep JWKS fetch {self.url}")
        return self._flight

    async def _fetch(self) -> bool:
        """One fetch; records the outcome and returns whether it worked. Never raises (but for
        cancellation): its waiters decide what a failure means for their own kid."""
        try:
            response = await self._client().get(self.url)
            response.raise_for_status()
            keys = _parse(response.json())
        except Exception as e:  # any failure to obtain a usable JWKS is an outage to the caller
            self._failures += 1
            # The exponent is capped so that a days-long outage cannot overflow the float.
            delay = min(self.backoff * 2 ** min(self._failures - 1, 20), self.max_backoff)
            self._retry_at = time.monotonic() + delay
            self._last_error = type(e).__name__
            detail = str(e)
            # The URL and the error only: nothing here comes from a request or a token.
            logger.warning(
                "JWKS fetch from %s failed (%s%s); %s; next attempt in %.1f s",
                self.url,
                type(e).__name__,
                f": {detail}" if detail else "",
                f"verifying with the {len(self._keys)} key(s) fetched before" if self._keys else "JWTs cannot be verified until then (503)",
                delay,
            )
            return False
        if self._failures:
            logger.info("JWKS fetched from %s again after %d failed attempt(s)", self.url, self._failures)
        self._keys = keys
        self._fetched_at = time.monotonic()
        self._failures = 0
        self._retry_at = 0.0
        return True

    def _unavailable(self) -> AuthUnavailable:
        return AuthUnavailable(f"JWKS unavailable: {self._last_error or 'not fetched'}")


def _parse(document: Any) -> dict[str, jwt.PyJWK]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document["keys"]:
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue  # an algorithm this verifier does not support
        if key.key_id:
            keys[key.key_id] = key
    return keys


def decode(
    token: str,
    key: jwt.PyJWK,
    *,
    algorithms: tuple[str, ...],
    issuer: str | None,
    audience: str | None,
    leeway: float = 0,
    verify_exp: bool = True,
) -> dict[str, Any]:
    """Verifies signature, ``alg``, ``iss``, ``aud``, ``exp`` and ``nbf``; returns the claims."""
    header = jwt.get_unverified_header(token)
    alg = header.get("alg")
    if alg not in algorithms or (key.algorithm_name and alg != key.algorithm_name):
        raise NotAuthenticated("algorithm not allowed")
    try:
        return jwt.decode(
            token,
            key=key.key,
            algorithms=[alg],
            issuer=issuer,
            audience=audience,
            leeway=leeway,
            options={"require": ["exp", "iat", "sub"], "verify_exp": verify_exp, "verify_aud": audience is not None},
        )
    except jwt.ExpiredSignatureError as e:
        raise NotAuthenticated("token expired") from e
    except jwt.InvalidIssuerError as e:
        raise NotAuthenticated(_mismatch(token, "iss", "issuer", issuer)) from e
    except jwt.InvalidAudienceError as e:
        raise NotAuthenticated(_mismatch(token, "aud", "audience", audience)) from e
    except jwt.MissingRequiredClaimError as e:
        if e.claim in ("iss", "aud"):
            expected = issuer if e.claim == "iss" else audience
            raise NotAuthenticated(_mismatch(token, e.claim, "issuer" if e.claim == "iss" else "audience", expected)) from e
        raise NotAuthenticated(f"invalid token: {type(e).__name__}") from e
    except jwt.PyJWTError as e:
        raise NotAuthenticated(f"invalid token: {type(e).__name__}") from e


def _mismatch(token: str, claim: str, argument: str, expected: str | None) -> str:
    """Why ``iss`` or ``aud`` was refused, naming both values and the two ways to agree.

    PyJWT checks these claims only after the signature, so the token's own value (read here
    without a second check) comes from the auth server, not from whoever sent the token."""
    try:
        got = jwt.decode(token, options={"verify_signature": False}).get(claim)
    except jwt.PyJWTError:
        got = None
    received = f"the token's {claim} is {got!r}" if got is not None else f"the token has no {claim}"
    suggestion = f"pass {argument}={got!r} to AuthKeep, or " if isinstance(got, str) else ""
    return (
        f"{received} but this API expects {expected!r}: {suggestion}give AuthKeep the auth server's own base URL "
        "as base_url (its BETTER_AUTH_URL: localhost and 127.0.0.1 are different origins)"
    )


async def verify(token: str, cache: JwksCache, **options: Any) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise NotAuthenticated("malformed token") from e
    if header.get("alg") not in options["algorithms"]:
        raise NotAuthenticated("algorithm not allowed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise NotAuthenticated("token has no kid")
    key = await cache.get(kid)
    if key is None:
        raise NotAuthenticated("unknown signing key")
    return decode(token, key, **options)
