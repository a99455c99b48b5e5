"""A real authkeep binary over a fresh PostgreSQL database, shared by the tests of one run."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

ROOT = Path(__file__).resolve().parents[2]
SECRET = "python-secret-0123456789abcdef0123456789abcdef"
PG_ADMIN = os.environ.get("AUTHKEEP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    origin: str
    database_url: str
    proc: subprocess.Popen

    @property
    def api(self) -> str:
        return f"{self.origin}/api/auth"


def start_server(database_url: str, **env: str) -> Server:
    binary = os.environ.get("AUTHKEEP_BIN", str(ROOT / "target" / "debug" / "authkeep"))
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", "--base-url", origin],
        env={"PATH": os.environ.get("PATH", ""), "DATABASE_URL": database_url, "BETTER_AUTH_SECRET": SECRET, "RUST_LOG": "warn", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(400):
        try:
            if httpx.get(f"{origin}/ready", timeout=1).status_code == 200:
                return Server(origin, database_url, proc)
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("authkeep exited during start-up")
        time.sleep(0.025)
    proc.kill()
    raise RuntimeError("authkeep did not become ready")


@contextmanager
def new_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database's URL, dropped afterwards."""
    name = f"authkeep_py_{secrets.token_hex(5)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f"create database {name}")
    try:
        yield re.sub(r"/[^/]*$", f"/{name}", PG_ADMIN)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f"drop database if exists {name} with (force)")


@pytest.fixture(scope="session")
def database_url():
    with new_database() as url:
        yield url


@pytest.fixture(scope="session")
def server(database_url):
    s = start_server(database_url)
    yield s
    s.proc.terminate()
    s.proc.wait(10)


@dataclass
class Account:
    email: str
    token: str  # the raw session token
    signed: str  # token.signature, as in the cookie and set-auth-token
    cookie: str  # "better-auth.session_token=<percent-encoded signed token>"
    jwt: str


def sign_up(server: Server, email: str | None = None, **fields: object) -> Account:
    """A new account, signed in; ``fields`` are sent with sign-up (additional user fields)."""
    email = email or f"user-{secrets.token_hex(4)}@example.com"
    body = {"name": "Py User", "email": email, "password": "password1234", **fields}
    r = httpx.post(f"{server.api}/sign-up/email", json=body)
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"].split(";")[0]
    jwt = httpx.get(f"{server.api}/token", headers={"cookie": cookie}).json()["token"]
    return Account(email, r.json()["token"], r.headers["set-auth-token"], cookie, jwt)


@pytest.fixture
def account(server) -> Account:
    return sign_up(server)


def closed_port_url(scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{free_port()}"


# --- PgBouncer in transaction mode, as hosted PostgreSQL's pooled URLs are ------------------------

PGBOUNCER_CANDIDATES = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")


def services_required() -> bool:
    return bool(os.environ.get("AUTHKEEP_TEST_REQUIRE_SERVICES"))


def pgbouncer_program() -> str:
    """PgBouncer's path; the test is skipped when it is not installed, or fails when
    AUTHKEEP_TEST_REQUIRE_SERVICES is set (as in CI, where a skip would hide the test)."""
    found = next((p for p in PGBOUNCER_CANDIDATES if os.path.exists(p)), None) or shutil.which("pgbouncer")
    if found is None:
        message = "pgbouncer is not installed (apt-get install pgbouncer)"
        if services_required():
            pytest.fail(f"{message}, and AUTHKEEP_TEST_REQUIRE_SERVICES is set", pytrace=False)
        pytest.skip(f"{message}; set AUTHKEEP_TEST_REQUIRE_SERVICES=1 to make this a failure")
    return found


@dataclass
class PgBouncer:
    port: int
    proc: subprocess.Popen
    log: Path

    def url_for(self, direct: str) -> str:
        """``direct`` (a database on the test PostgreSQL) through this pooler."""
        u = urlsplit(direct)
        userinfo = u.netloc.rpartition("@")[0]
        return urlunsplit(u._replace(netloc=(userinfo + "@" if userinfo else "") + f"127.0.0.1:{self.port}"))

    def show(self, what: str) -> list[dict]:
        """A ``SHOW`` of PgBouncer's admin console (``CLIENTS``, ``SERVERS``...), as dicts. The
        console speaks only the simple query protocol: a ``ClientCursor`` uses it."""
        user = conninfo_to_dict(PG_ADMIN).get("user") or "postgres"
        with psycopg.connect(f"postgresql://{user}@127.0.0.1:{self.port}/pgbouncer", autocommit=True) as c:
            cur = psycopg.ClientCursor(c).execute(f"SHOW {what}")
            names = [d.name for d in cur.description or ()]
            return [dict(zip(names, row)) for row in cur.fetchall()]


@contextmanager
def run_pgbouncer(*, pool_size: int = 4) -> Iterator[PgBouncer]:
    """PgBouncer 1.x in transaction mode in front of the test PostgreSQL, with a small server
    pool (``pool_size`` connections per database and user) so that the transactions of different
    clients share server connections, as on a hosted pooler. PgBouncer refuses to run as root:
    under root it runs as the ``postgres`` user, in a directory of its own."""
    program = pgbouncer_program()
    upstream = conninfo_to_dict(PG_ADMIN)
    user = str(upstream.get("user") or "postgres")
    root = os.geteuid() == 0
    directory = Path(tempfile.mkdtemp(prefix="authkeep-pgbouncer-"))
    port = free_port()
    (directory / "users.txt").write_text(f'"{user}" ""\n')
    ini = directory / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        f"* = host={upstream.get('host') or '127.0.0.1'} port={upstream.get('port') or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'users.txt'}\nadmin_users = {user}\n"
        f"pool_mode = transaction\nmax_client_conn = 500\ndefault_pool_size = {pool_size}\n"
        f"pidfile = {directory / 'pgbouncer.pid'}\n"
    )
    log = directory / "pgbouncer.log"
    if root:
        for path in (directory, *directory.iterdir()):
            shutil.chown(path, "postgres")
    command = ["runuser", "-u", "postgres", "--", program, str(ini)] if root else [program, str(ini)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=directory, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"pgbouncer did not start listening on {port}: {log.read_text()[-2000:]}") from None
                time.sleep(0.05)
        yield PgBouncer(port, proc, log)
    finally:
        proc.terminate()  # runuser passes the signal on to pgbouncer
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            # Stopped by its own pid (runuser's is proc.pid), then runuser.
            with contextlib.suppress(OSError, ValueError):
                os.kill(int((directory / "pgbouncer.pid").read_text()), signal.SIGKILL)
            proc.kill()
            proc.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def pgbouncer() -> Iterator[PgBouncer]:
    with run_pgbouncer(pool_size=4) as bouncer:
        yield bouncer
