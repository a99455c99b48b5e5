"""remote mode: ask the auth server's ``get-session`` with the caller's credential.

Every request asks by default, so a signed-out or revoked session is refused at once. With
``ttl`` > 0 a positive answer is reused for that many seconds (at most 60): fewer calls to the
auth server, but a session that ends keeps working here until its cached answer expires.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx

from ._log import Throttled
from ._log import logger as _root_logger
from .errors import AuthUnavailable

logger = _root_logger.getChild("remote")

# The longest a positive answer may be reused: every second of it is a second in which a
# signed-out or revoked session still works on the API.
MAX_CACHE_TTL = 60.0


class RemoteSessions:
    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient | Callable[[], httpx.AsyncClient],
        *,
        ttl: float = 0.0,
        max_entries: int = 10_000,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/get-session"
        # A callable gives the client of the running event loop (see AuthKeep).
        self._client: Callable[[], httpx.AsyncClient] = client if callable(client) else (lambda: client)
        if not 0 <= ttl <= MAX_CACHE_TTL:
            raise ValueError(f"the cache's ttl must be between 0 and {MAX_CACHE_TTL:g} seconds, not {ttl:g}")
        self.ttl = ttl
        self.max_entries = max_entries
        self._cache: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._failures = Throttled(logger)

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client()

    async def find(self, headers: dict[str, str]) -> dict[str, Any] | None:
        key = hashlib.sha256(repr(sorted(headers.items())).encode()).hexdigest() if self.ttl > 0 else ""
        if key:
            hit = self._cache.get(key)
            if hit and hit[0] > time.monotonic():
                return hit[1]
            self._cache.pop(key, None)
        try:
            # Reading must not extend the session: that is the frontend's job, and the cookie
            # better-auth would send back could not reach the browser from here.
            response = await self._client().get(self.url, headers=headers, params={"disableRefresh": "true"})
        except httpx.HTTPError as e:
            self._failures.warning("get-session at %s failed: %s %s", self.url, type(e).__name__, e)
            raise AuthUnavailable(f"auth server unavailable: {type(e).__name__}") from e
        if response.status_code >= 500:
            self._failures.warning("get-session at %s answered %d", self.url, response.status_code)
            raise AuthUnavailable(f"auth server answered {response.status_code}")
        if response.status_code != 200:
            return None
        try:
            document: Any = response.json()
        except ValueError as e:
            self._failures.warning("get-session at %s sent invalid JSON", self.url)
            raise AuthUnavailable("auth server sent invalid JSON") from e
        if not isinstance(document, dict) or not document.get("session"):
            return None  # better-auth answers `null` when there is no session
        body: dict[str, Any] = document
        if key:
            self._cache[key] = (time.monotonic() + self.ttl, body)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return body

    def forget(self) -> None:
        self._cache.clear()
