"""database mode: look the session up in the shared PostgreSQL, so a revoked or expired session
is rejected at once. One indexed query (the session's ``token`` is unique) joins the session and
user tables, under the names the ``Schema`` gives them (better-auth's by default).

Needs psycopg (the ``database`` extra: ``pip install "./python[database]"``); this module is imported only when
database mode is chosen, so the other modes do not.

Connections are kept in a small pool with no background task: a request that finds no idle
connection opens one itself (bounded by ``timeout``) and leaves it for the next. A pool whose
maintenance runs in tasks of its own (psycopg_pool's) leaves those tasks behind when an app's
event loop ends without closing it, and they survive the loop's cancellation, so the end of the
loop (a ``TestClient`` exiting, a server shutting down) waited on them indefinitely.

Behind a transaction-mode pooler (``pooler``; see ``pooler.py``) the query is never prepared:
each execution sends the unnamed statement with its parameters in one round trip, and no
setting is changed on the connection, so nothing depends on which server connection the pooler
lends for each transaction.
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
from .pooler import Pooler, resolve, without_flag
from .schema import Schema, coerce, quoted

logger = _root_logger.getChild("database")

Row = dict[str, Any]
Connection = psycopg.AsyncConnection[Row]

SESSION_FIELDS = ("id", "userId", "expiresAt", "createdAt", "updatedAt", "ipAddress", "userAgent")
USER_FIELDS = ("id", "email", "name", "emailVerified", "image", "createdAt", "updatedAt")


def session_query(schema: Schema) -> str:
    """The one statement database mode runs, for ``schema``'s names.

    Every name comes from the checked schema and is double-quoted by ``quoted``; each column is
    aliased to ``session.<field>`` or ``user.<field>`` (its logical name), so rows read the
    same whatever the columns are called. Only the additional fields the auth server returns
    are read: the others (``returned = false``) are not the API's to see either.
    """

    def s(field: str) -> str:
        return "s." + quoted(schema.column("session", field))

    def u(field: str) -> str:
        return "u." + quoted(schema.column("user", field))

    columns = [f'{s(f)} as "session.{f}"' for f in SESSION_FIELDS]
    columns += [f'{u(f)} as "user.{f}"' for f in (*USER_FIELDS, *schema.returned_user_fields)]
    return (
        f"select {', '.join(columns)}"
        f" from {quoted(schema.table('session'))} s join {quoted(schema.table('user'))} u on {u('id')} = {s('userId')}"
        f" where {s('token')} = %s and {s('expiresAt')} > now()"
    )


def split_row(row: Row, schema: Schema) -> tuple[dict[str, Any], dict[str, Any]]:
    """The query's row as (user fields, session fields) by logical name, additional fields in
    Python's types (``coerce``)."""
    user: dict[str, Any] = {}
    session: dict[str, Any] = {}
    for alias, value in row.items():
        model, _, name = alias.partition(".")
        (user if model == "user" else session)[name] = value
    for name, spec in schema.returned_user_fields.items():
        user[name] = coerce(spec.type, user.get(name))
    return user, session


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
        schema: Schema | None = None,
        min_size: int = 0,  # accepted for compatibility; connections are opened on demand
        max_size: int = 10,
        timeout: float = 3.0,
        max_idle: float = 300.0,
        max_lifetime: float = 1800.0,
        pooler: Pooler = "auto",
    ) -> None:
        del min_size
        # Why pooler mode is on (``None``: off). The URL loses its ``pgbouncer`` flag in
        # either case: libpq refuses parameters it does not know.
        self.pooler_reason = resolve(pooler, database_url)
        self.pooled = self.pooler_reason is not None
        self.database_url = without_flag(database_url)
        if self.pooled:
            logger.info("database: through a transaction-mode pooler (%s): statements are not prepared", self.pooler_reason)
        self.schema = schema or Schema()
        self.query = session_query(self.schema)
        self.max_size = max_size
        self.timeout = timeout
        self.max_idle = max_idle
        self.max_lifetime = max_lifetime
        self._pools: PerLoop[_LoopPool] = PerLoop(lambda: _LoopPool(max_size))
        self._failures = Throttled(logger)

    async def find(self, token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """``(user, session)`` fields by logical name for ``token`` when the session exists and
        has not expired, else ``None``."""
        row = await self._find_row(token)
        return None if row is None else split_row(row, self.schema)

    async def _find_row(self, token: str) -> Row | None:
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
                    autocommit=True,  # one statement, one implicit transaction: nothing left open
                    # Behind a pooler, not even psycopg's automatic preparation of a statement
                    # run often (after 5 executions by default).
                    prepare_threshold=None if self.pooled else 5,
                    row_factory=dict_row,
                    connect_timeout=max(2, round(self.timeout)),  # libpq's own floor is 2 s
                ),
                self.timeout,
            )
        except (psycopg.Error, OSError, asyncio.TimeoutError) as e:
            hint = ""
            if "unsupported startup parameter" in str(e):
                hint = (
                    " (a connection pooler refuses a parameter of database_url, such as options=: remove it, "
                    "or list it in the pooler's ignore_startup_parameters)"
                )
            self._failures.warning("database: cannot connect: %s %s%s", type(e).__name__, e, hint)
            raise AuthUnavailable(f"database unavailable: {type(e).__name__}") from e

    async def _query(self, conn: Connection, token: str) -> Row | None:
        try:
            # Prepared once per connection when the connection is PostgreSQL's own; behind a
            # pooler, a statement prepared on one server connection is not on the next one.
            cursor = await asyncio.wait_for(conn.execute(self.query, (token,), prepare=not self.pooled), self.timeout)
            return await cursor.fetchone()
        except psycopg.OperationalError:
            raise  # the connection itself failed: the caller may retry on a new one
        except asyncio.TimeoutError as e:
            self._failures.warning("database: the session query took more than %.1f s", self.timeout)
            raise AuthUnavailable("database unavailable: query timeout") from e
        except psycopg.Error as e:
            # Not an outage of the network but of the setup (e.g. no "session" table: the database
            # was never migrated by authkeep, or its names differ from this API's Schema): still
            # 503, never 401, and logged so it is found.
            hint = ""
            if isinstance(e, (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn)):
                hint = (
                    " (is the database migrated by the auth server, and does this API's Schema name its tables and "
                    "columns as the server's authkeep.toml does? Schema.from_toml reads that file)"
                )
            elif isinstance(e, (psycopg.errors.DuplicatePreparedStatement, psycopg.errors.InvalidSqlStatementName)):
                hint = (
                    " (is a transaction-mode pooler such as PgBouncer or Supavisor between this API and PostgreSQL? "
                    "pass pooler='transaction' to AuthKeep, or add ?pgbouncer=true to database_url)"
                )
            self._failures.warning("database: the session query failed: %s %s%s", type(e).__name__, e, hint)
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
