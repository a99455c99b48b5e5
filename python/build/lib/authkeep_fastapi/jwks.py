"""jwt mode: verify authkeep's (or better-auth's) JWTs against the published JWKS.

Keys come only from the configured JWKS URL, never from the token (``jwk``, ``jku`` and
``x5u`` headers are ignored); the token's ``alg`` must be on the allow-list and match the key's
own ``alg``, so ``none`` and HS256-with-a-public-key are refused before any signature check.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt

from .errors import AuthUnavailable, NotAuthenticated


class JwksCache:
    """The JWKS, fetched on first use, kept for ``ttl`` seconds, and refetched early when a
    token names an unknown ``kid`` (at most once per ``min_refetch_interval`` seconds)."""

    def __init__(self, url: str, client: httpx.AsyncClient, ttl: float = 300.0, min_refetch_interval: float = 10.0) -> None:
        self.url = url
        self.client = client
        self.ttl = ttl
        self.min_refetch_interval = min_refetch_interval
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        try:
            response = await self.client.get(self.url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as e:
            raise AuthUnavailable(f"JWKS unavailable: {type(e).__name__}") from e
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []):
            try:
                key = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # an algorithm this verifier does not support
            if key.key_id:
                keys[key.key_id] = key
        self._keys = keys
        self._fetched_at = time.monotonic()

    async def get(self, kid: str) -> jwt.PyJWK | None:
        age = time.monotonic() - self._fetched_at
        if kid in self._keys and age < self.ttl:
            return self._keys[kid]
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            stale = age >= self.ttl
            unknown = kid not in self._keys and age >= self.min_refetch_interval
            if stale or unknown or not self._fetched_at:
                try:
                    await self._refresh()
                except AuthUnavailable:
                    if kid in self._keys:
                        return self._keys[kid]  # keep verifying with what we have
                    raise
            return self._keys.get(kid)


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
    except jwt.PyJWTError as e:
        raise NotAuthenticated(f"invalid token: {type(e).__name__}") from e


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
