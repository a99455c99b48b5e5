"""A real authkeep binary over a fresh PostgreSQL database, shared by the tests of one run."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

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
