"""database mode: look the session up in the shared PostgreSQL, so a revoked or expired session
is rejected at once. One indexed query (``session.token`` is unique) joins ``session`` and ``user``.

Needs psycopg (the ``database`` extra: ``pip install "./python[database]"``); this module is imported only when
database mode is chosen, so the other modes do not.

Connections are kept in a small pool with no background task: a request that finds no idle
connection opens one itself (bounded by ``timeout``) and leaves it for the next. A pool whose
maintenance runs in tasks of its own (psycopg_pool's) leaves those tasks behind when an app's
event loop ends without closing it, and they survive the loop's cancellation, so the end of the
loop (a ``TestClient`` exiting, a server shutting down) waited on them indefinitely.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

try:
    import psycopg
    from psycopg.pq import TransactionStatus
    from psycopg.rows import dict_row
except ImportError as e:  # the "database" extra is not installed (or libpq is missing)
    raise ImportError(
        "authkeep_fastapi's database mode needs psycopg: install the package with its 'database' extra "
        "(pip install \"./python[database]\" from the authkeep repository) or pip install \"psycopg[binary]\"; "
        f"importing it failed: {e}"
    ) from e

from ._log import Throttled
from ._log import logger as _root_logger
from ._loops import PerLoop
from .errors import AuthUnavailable

logger = _root_logger.getChild("database")

Row = dict[str, Any]
Connection = psycopg.AsyncConnection[Row]

_QUERY = """
select s."id", s."userId", s."expiresAt", s."createdAt", s."updatedAt", s."ipAddress", s."userAgent",
       u."id" as "u_id", u."email" as "u_email", u."name" as "u_name", u."emailVerified" as "u_emailVerified",
       u."image" as "u_image", u."createdAt" as "u_createdAt", u."updatedAt" as "u_updatedAt"
from "session" s join "user" u on u."id" = s."userId"
where s."token" = %s and s."expiresAt" > now()
"""


@dataclass
class _Kept:
    conn: Connection
    opened_at: float
    idle_since: float


class _LoopPool:
    """The connections of one event loop: at most ``max_size`` in use, idle ones kept for reuse."""

    def __init__(self, max_size: int) -> None:
        self.slots = asyncio.Semaphore(max_size)
        self.idle: list[_Kept] = []
        self.closed = False


class SessionStore:
    def __init__(
        self,
        database_url: str,
        *,
        min_size: int = 0,  # accepted for compatibility; connections are opened on demand
        max_size: int = 10,
        timeout: float = 3.0,
        max_idle: float = 300.0,
        max_lifetime: float = 1800.0,
    ) -> None:
        del min_size
        self.database_url = database_url
        self.max_size = max_size
        self.timeout = timeout
        self.max_idle = max_idle
        self.max_lifetime = max_lifetime
        self._pools: PerLoop[_LoopPool] = PerLoop(lambda: _LoopPool(max_size))
        self._failures = Throttled(logger)

    async def find(self, token: str) -> Row | None:
        """The session and user columns for ``token`` when the session exists and has not expired."""
        pool = self._pools.get()
        try:
            await asyncio.wait_for(pool.slots.acquire(), self.timeout)
        except asyncio.TimeoutError as e:
            self._failures.warning("database: all %d connections busy for %.1f s", self.max_size, self.timeout)
            raise AuthUnavailable("database unavailable: all connections busy") from e
        try:
            return await self._find(pool, token)
        finally:
            pool.slots.release()

    async def _find(self, pool: _LoopPool, token: str) -> Row | None:
        kept = self._take_idle(pool)
        if kept is not None:
            try:
                row = await self._query(kept.conn, token)
            except psycopg.OperationalError:
                # It broke while idle (server restart, dropped by a proxy): the query only reads,
                # so ask once more on a new connection.
                _close_now(kept.conn)
            except BaseException:
                _close_now(kept.conn)  # in an unknown state (e.g. cancelled mid-query)
                raise
            else:
                self._keep(pool, kept)
                return row
        conn = await self._connect()
        now = time.monotonic()
        try:
            row = await self._query(conn, token)
        except psycopg.OperationalError as e:
            _close_now(conn)
            self._failures.warning("database: the session query failed: %s %s", type(e).__name__, e)
            raise AuthUnavailable(f"database unavailable: {type(e).__name__}") from e
        except BaseException:
            _close_now(conn)
            raise
        self._keep(pool, _Kept(conn, now, now))
        return row

    async def _connect(self) -> Connection:
        try:
            return await asyncio.wait_for(
                psycopg.AsyncConnection.connect(
                    self.database_url,
                    autocommit=True,
                    row_factory=dict_row,
                    connect_timeout=max(2, round(self.timeout)),  # libpq's own floor is 2 s
                ),
                self.timeout,
            )
        except (psycopg.Error, OSError, asyncio.TimeoutError) as e:
            self._failures.warning("database: cannot connect: %s %s", type(e).__name__, e)
            raise AuthUnavailable(f"database unavailable: {type(e).__name__}") from e

    async def _query(self, conn: Connection, token: str) -> Row | None:
        try:
            cursor = await asyncio.wait_for(conn.execute(_QUERY, (token,), prepare=True), self.timeout)
            return await cursor.fetchone()
        except psycopg.OperationalError:
            raise  # the connection itself failed: the caller may retry on a new one
        except asyncio.TimeoutError as e:
            self._failures.warning("database: the session query took more than %.1f s", self.timeout)
            raise AuthUnavailable("database unavailable: query timeout") from e
        except psycopg.Error as e:
            # Not an outage of the network but of the setup (e.g. no "session" table: the database
            # was never migrated by authkeep): still 503, never 401, and logged so it is found.
            self._failures.warning("database: the session query failed: %s %s", type(e).__name__, e)
            raise AuthUnavailable(f"database unavailable: {type(e).__name__}") from e

    def _take_idle(self, pool: _LoopPool) -> _Kept | None:
        now = time.monotonic()
        while pool.idle:
            kept = pool.idle.pop()  # the most recently used: likeliest to be alive
            too_old = now - kept.opened_at > self.max_lifetime or now - kept.idle_since > self.max_idle
            if kept.conn.closed or kept.conn.broken or too_old:
                _close_now(kept.conn)
                continue
            return kept
        return None

    def _keep(self, pool: _LoopPool, kept: _Kept) -> None:
        conn = kept.conn
        if pool.closed or conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
            _close_now(conn)
            return
        kept.idle_since = time.monotonic()
        pool.idle.append(kept)

    async def close(self) -> None:
        """Closes this event loop's idle connections; connections in use close when returned.
        The store can be used again afterwards (a new lifespan opens new connections)."""
        pool = self._pools.pop()
        if pool is None:
            return
        pool.closed = True
        while pool.idle:
            _close_now(pool.idle.pop().conn)


def _close_now(conn: Connection) -> None:
    # What AsyncConnection.close() does, without the await: libpq's PQfinish does not wait for the
    # server, and a plain call also works from a task that is being cancelled.
    if not conn.closed:
        conn.pgconn.finish()
