"""remote mode: ask the auth server's ``get-session`` with the caller's credential, and keep a
positive answer for a short, bounded time."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from typing import Any

import httpx

from .errors import AuthUnavailable


class RemoteSessions:
    def __init__(self, base_url: str, client: httpx.AsyncClient, *, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self.url = f"{base_url.rstrip('/')}/get-session"
        self.client = client
        self.ttl = min(max(ttl, 0.0), 60.0)
        self.max_entries = max_entries
        self._cache: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    async def find(self, headers: dict[str, str]) -> dict[str, Any] | None:
        key = hashlib.sha256(repr(sorted(headers.items())).encode()).hexdigest()
        hit = self._cache.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        self._cache.pop(key, None)
        try:
            # Reading must not extend the session: that is the frontend's job, and the cookie
            # better-auth would send back could not reach the browser from here.
            response = await self.client.get(self.url, headers=headers, params={"disableRefresh": "true"})
        except httpx.HTTPError as e:
            raise AuthUnavailable(f"auth server unavailable: {type(e).__name__}") from e
        if response.status_code >= 500:
            raise AuthUnavailable(f"auth server answered {response.status_code}")
        if response.status_code != 200:
            return None
        try:
            body = response.json()
        except ValueError as e:
            raise AuthUnavailable("auth server sent invalid JSON") from e
        if not body or not body.get("session"):
            return None
        if self.ttl > 0:
            self._cache[key] = (time.monotonic() + self.ttl, body)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return body

    def forget(self) -> None:
        self._cache.clear()
