"""Whether a transaction-mode connection pooler (PgBouncer, Supavisor, Neon's pooler) stands
between database mode and PostgreSQL, decided as the auth server decides it
(``[database] pooler`` in ``authkeep.toml``).

Behind such a pooler each transaction may run on a different server connection, and the
connections are shared by every client of the pooler. A statement prepared on one of them is
missing from the next client's ("prepared statement ... does not exist") or already there
("... already exists"), and a ``SET`` outside a transaction would leak to whoever gets the
connection next. So, in pooler mode, database mode prepares nothing and sets nothing: its one
query is sent with the extended protocol's unnamed statement, in one round trip and one
implicit transaction.

``auto`` recognises a pooler from ``?pgbouncer=true`` in the URL (Prisma's flag, which the
auth server reads too) or from the hosts the providers use only for their transaction-mode
poolers: ``*.pooler.supabase.com`` on port 6543 (Supavisor; port 5432 is its session mode) and
``*-pooler.<region>.neon.tech``. The ``pgbouncer`` parameter is removed from the URL before
connecting in every mode, since libpq refuses parameters it does not know.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import unquote

Pooler = Literal["auto", "transaction", "none"]
POOLER_SETTINGS: tuple[Pooler, ...] = ("auto", "transaction", "none")
FLAG = "pgbouncer"


def _is_url(database_url: str) -> bool:
    return database_url.startswith(("postgresql://", "postgres://"))


def _query_items(database_url: str) -> tuple[str, list[str]]:
    """``(everything before '?', the query's ``key=value`` items as written)``."""
    base, sep, query = database_url.partition("?")
    return base, [item for item in query.split("&") if item] if sep else []


def _key_value(item: str) -> tuple[str, str]:
    key, _, value = item.partition("=")
    return unquote(key), unquote(value)


def has_flag(database_url: str) -> bool:
    """``?pgbouncer=true`` (any case of ``true``) is in the URL."""
    if not _is_url(database_url):
        return False
    _, items = _query_items(database_url)
    return any(k == FLAG and v.strip().lower() == "true" for k, v in map(_key_value, items))


def without_flag(database_url: str) -> str:
    """``database_url`` without the ``pgbouncer`` parameter, which PostgreSQL does not know;
    the other parameters are kept exactly as written."""
    if not _is_url(database_url):
        return database_url
    base, items = _query_items(database_url)
    kept = [item for item in items if _key_value(item)[0] != FLAG]
    if len(kept) == len(items):
        return database_url
    return base + ("?" + "&".join(kept) if kept else "")


def _endpoints(database_url: str) -> list[tuple[str, str]]:
    """The ``(host, port)`` pairs libpq would try, read with libpq's own parser (URLs, multi-host
    URLs and ``key=value`` strings alike); none when it cannot be parsed or psycopg is absent."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(without_flag(database_url))
    except Exception:  # a malformed URL fails where it is used, with libpq's message
        return []
    hosts = str(params.get("host") or "").split(",")
    ports = str(params.get("port") or "").split(",")
    if len(ports) == 1:
        ports *= len(hosts)
    return [(h.strip().lower().rstrip("."), p.strip()) for h, p in zip(hosts, ports)]


def detect(database_url: str) -> str | None:
    """Why ``database_url`` goes through a transaction-mode pooler, or ``None`` when nothing
    says it does."""
    if has_flag(database_url):
        return "?pgbouncer=true in database_url"
    for host, port in _endpoints(database_url):
        if host.endswith(".pooler.supabase.com") and port == "6543":
            return "Supabase's transaction-mode pooler (port 6543) in database_url"
        if host.endswith(".neon.tech") and host.split(".")[0].endswith("-pooler"):
            return "Neon's pooled host (-pooler) in database_url"
    return None


def resolve(setting: Pooler, database_url: str) -> str | None:
    """Why pooler mode is on for ``setting`` and ``database_url``, or ``None`` when it is off."""
    if setting not in POOLER_SETTINGS:
        raise ValueError(f"pooler must be 'auto', 'transaction' or 'none', not {setting!r}")
    if setting == "transaction":
        return "pooler='transaction'"
    if setting == "none":
        return None
    return detect(database_url)
