"""database mode: look the session up in the shared PostgreSQL, so a revoked or expired session
is rejected at once. One indexed query (``session.token`` is unique) joins ``session`` and ``user``."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from .errors import AuthUnavailable

_QUERY = """
select s."id", s."userId", s."expiresAt", s."createdAt", s."updatedAt", s."ipAddress", s."userAgent",
       u."id" as "u_id", u."email" as "u_email", u."name" as "u_name", u."emailVerified" as "u_emailVerified",
       u."image" as "u_image", u."createdAt" as "u_createdAt", u."updatedAt" as "u_updatedAt"
from "session" s join "user" u on u."id" = s."userId"
where s."token" = %s and s."expiresAt" > now()
"""


class SessionStore:
    def __init__(self, database_url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 3.0) -> None:
        self.pool = AsyncConnectionPool(
            database_url, min_size=min_size, max_size=max_size, timeout=timeout, open=False,
            kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": max(1, int(timeout))},
        )
        self._opened = False

    async def find(self, token: str) -> dict[str, Any] | None:
        if not self._opened:
            await self.pool.open(wait=False)
            self._opened = True
        try:
            async with self.pool.connection() as conn:
                cur = await conn.execute(_QUERY, (token,), prepare=True)
                return await cur.fetchone()
        except (psycopg.OperationalError, psycopg.errors.ConnectionTimeout) as e:
            raise AuthUnavailable(f"database unavailable: {type(e).__name__}") from e
        except psycopg.pool.PoolTimeout as e:
            raise AuthUnavailable("database unavailable: pool timeout") from e

    async def close(self) -> None:
        if self._opened:
            await self.pool.close()
            self._opened = False
