"""The example app in examples/fastapi-app works as its README says, followed from the
repository root: the install line's path, the servers' command lines, the curl calls with the
README's own account, and database mode after creating a database."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from conftest import PG_ADMIN, ROOT, free_port, start_server

EXAMPLE = ROOT / "examples" / "fastapi-app"
README = (EXAMPLE / "README.md").read_text()
BLOCKS = re.findall(r"```sh\n(.*?)```", README, re.S)
BIN = os.environ.get("AUTHKEEP_BIN", str(ROOT / "target" / "debug" / "authkeep"))


def block(containing: str) -> str:
    """The README's first shell block that contains `containing`."""
    found = [b for b in BLOCKS if containing in b]
    assert found, f"no shell block in the README contains {containing!r}"
    return found[0]


def line(containing: str) -> str:
    return next(line for line in block(containing).splitlines() if containing in line)


def load_example(monkeypatch, server):
    monkeypatch.setenv("AUTH_URL", server.origin)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    spec = importlib.util.spec_from_file_location("example_main", EXAMPLE / "main.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["example_main"] = module
    spec.loader.exec_module(module)
    return module.app


def test_the_walkthrough(monkeypatch, server, account):
    with TestClient(load_example(monkeypatch, server)) as client:
        assert client.get("/public").status_code == 200
        r = client.get("/me")
        assert r.status_code == 401 and "www-authenticate" in r.headers
        assert client.get("/me", headers={"cookie": account.cookie}).json()["email"] == account.email
        assert client.get("/me", headers={"authorization": f"Bearer {account.signed}"}).json()["via"] == "remote"
        jwt = httpx.get(f"{server.api}/token", headers={"cookie": account.cookie}).json()["token"]
        assert client.get("/me/jwt", headers={"authorization": f"Bearer {jwt}"}).json()["via"] == "jwt"
        assert client.get("/hello").json() == {"message": "hello, stranger"}
        assert client.get("/hello", headers={"cookie": account.cookie}).json() == {"message": "hello, Py User"}


# --- the README itself, from the repository root ---------------------------------------------------


def test_the_install_line_resolves_from_the_repository_root():
    install = line("pip install")
    requirements = ROOT / re.search(r"pip install -r (\S+)", install).group(1)
    assert requirements.is_file(), f"{requirements} does not exist from the root"
    local = []
    for entry in requirements.read_text().splitlines():
        entry = entry.split("#", 1)[0].strip()
        if entry.startswith((".", "/")):
            # pip reads a path in a requirements file relative to the directory it runs in.
            path, _, extras = entry.partition("[")
            project = (ROOT / path).resolve()
            assert (project / "pyproject.toml").is_file(), f"{entry!r} is {project} from the repository root: no package there"
            pyproject = (project / "pyproject.toml").read_text()
            assert re.search(r'^name = "authkeep-fastapi"', pyproject, re.M), project
            for extra in filter(None, extras.rstrip("]").split(",")):
                assert re.search(rf"^{extra.strip()} = \[", pyproject, re.M), f"no extra {extra!r} in {project}"
            local.append((project, extras))
    assert local == [((ROOT / "python").resolve(), "database]")], "the example installs ./python with the database extra"


def test_the_walkthrough_uses_its_own_account():
    main_readme = (ROOT / "README.md").read_text()
    emails = set(re.findall(r'"email":"([^"]+)"', block("/sign-up/email") + block("/sign-in/email")))
    assert len(emails) == 1, emails
    assert emails.isdisjoint(re.findall(r'"email":"([^"]+)"', main_readme)), "reuses the main README's account"
    assert "cargo run -p" not in README and "cargo run -q -p" not in README, "a debug build; use --release"


def test_a_status_the_readme_promises_is_printed():
    # `curl -s` alone prints the body only: a line that says it answers 401 must show it.
    promised = [line for b in BLOCKS for line in b.splitlines() if re.search(r"^curl .*#.*\b[45]\d\d\b", line)]
    assert promised, "the README shows no refusal"
    for line in promised:
        assert " -i " in line or "%{http_code}" in line, line


@pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("git") is None, reason="not a git checkout")
def test_the_files_the_readme_writes_are_ignored_by_git():
    written = {m for b in BLOCKS for m in re.findall(r"(?:-c|-D) (\S+\.txt)", b)}
    assert written >= {"jar.txt", "headers.txt"}, written
    for name in written:
        assert subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT).returncode == 0, f"{name} is not in .gitignore"


@dataclass
class Reply:
    """One curl call's output: the JSON body, and the status and headers when run with -i."""

    body: Any
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


def replies(stdout: str) -> list[Reply]:
    """Each curl call's output (one per call: bodies are one line of JSON, `-i` puts the status
    line and headers, then a blank line, before its body)."""
    lines = stdout.splitlines()
    out: list[Reply] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line:
            continue
        if not line.startswith("HTTP/"):
            out.append(Reply(json.loads(line)))
            continue
        status = int(line.split()[1])
        headers = {}
        while lines[i].strip():
            name, _, value = lines[i].partition(":")
            headers[name.strip().lower()] = value.strip()
            i += 1
        out.append(Reply(json.loads(lines[i + 1]), status, headers))
        i += 2
    return out


class Walkthrough:
    """The README's commands with its addresses swapped for this test's servers."""

    def __init__(self, tmp: Path, auth_origin: str, database: str = "authkeep_example") -> None:
        self.tmp = tmp
        self.api_port = free_port()
        admin = urlparse(PG_ADMIN)
        self.replacements = {
            "http://127.0.0.1:3000": auth_origin,
            "http://127.0.0.1:8000": f"http://127.0.0.1:{self.api_port}",
            "--port 8000": f"--port {self.api_port}",
            ".venv/bin/": f"{Path(sys.executable).parent}/",
            "cargo run --release -q -p authkeep --": BIN,
            "target/example-secret": str(tmp / "example-secret"),
            "createdb -h 127.0.0.1 -U postgres": f"createdb -h {admin.hostname} -p {admin.port or 5432} -U {admin.username}",
            "dropdb -h 127.0.0.1 -U postgres": f"dropdb -h {admin.hostname} -p {admin.port or 5432} -U {admin.username}",
            "postgresql://postgres@127.0.0.1:5432": PG_ADMIN.rsplit("/", 1)[0],
            "authkeep_example": database,
        }

    def sub(self, text: str) -> str:
        for old, new in self.replacements.items():
            text = text.replace(old, new)
        return text

    def shell(self, script: str, *, cwd: Path | None = None) -> list[Reply]:
        """Runs README commands in bash; each curl's output, parsed (one per call)."""
        # Ends each curl's output with a newline, so that every answer is one line.
        prelude = 'curl() { command curl "$@"; echo; }\n'
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", prelude + self.sub(script)],
            cwd=cwd or self.tmp, capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return replies(done.stdout)

    @contextmanager
    def api(self, env: dict[str, str]) -> Iterator[str]:
        """The API, started with the README's command line from the repository root."""
        command = self.sub(line("uvicorn --app-dir"))
        base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BETTER_AUTH_SECRET")}
        proc = subprocess.Popen(
            ["bash", "-c", command], cwd=ROOT, env={**base_env, **env},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        origin = f"http://127.0.0.1:{self.api_port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{origin}/public", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None, f"the API exited: {proc.stderr.read().decode()}"
                assert time.monotonic() < deadline, "the API did not start"
                time.sleep(0.05)
            yield origin
        finally:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # bash and uvicorn: their own process group
            proc.wait(10)

    def calls(self, via: str, email: str) -> None:
        """Step 4; checks each answer."""
        public, anonymous, cookie, bearer, jwt, wrong_kind = self.shell(block("TOKEN=$(awk"))
        assert public.body == {"message": "anyone can read this"}
        assert anonymous.status == 401 and anonymous.headers["www-authenticate"].startswith("Bearer"), anonymous
        assert anonymous.body["detail"]["code"] == "UNAUTHORIZED"
        for answer in (cookie, bearer):
            assert answer.body["email"] == email and answer.body["via"] == via, answer
        assert jwt.body["email"] == email and jwt.body["via"] == "jwt"
        assert "a JWT was sent" in wrong_kind.body["detail"]["reason"]


def test_the_readme_from_the_repository_root(server, tmp_path):
    walk = Walkthrough(tmp_path, server.origin)
    email = re.search(r'"email":"([^"]+)"', block("/sign-up/email")).group(1)
    with walk.api({}):
        (signed_up,) = walk.shell(block("/sign-up/email"))
        assert signed_up.body["user"]["email"] == email
        walk.calls("remote", email)
        # Following the README a second time: sign-up refuses the existing account, sign-in works.
        (again,) = walk.shell(block("/sign-up/email"))
        assert again.body["code"] == "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"
        (signed_in,) = walk.shell(block("/sign-in/email"))
        assert signed_in.body["user"]["email"] == email
        walk.calls("remote", email)


@pytest.mark.skipif(shutil.which("createdb") is None, reason="the README's createdb (PostgreSQL's client tools) is not installed")
def test_the_readme_database_mode(tmp_path):
    database = f"authkeep_example_{secrets.token_hex(4)}"
    walk = Walkthrough(tmp_path, "", database)
    walk.shell(block("createdb"))  # creates the database and writes the secret
    try:
        exports = block("export DATABASE_URL")
        env_out = subprocess.run(
            ["bash", "-euc", walk.sub(exports) + '\nprintf "%s\\n%s" "$DATABASE_URL" "$BETTER_AUTH_SECRET"'],
            capture_output=True, text=True, check=True,
        ).stdout.splitlines()
        database_url, secret = env_out
        assert database_url.endswith(f"/{database}") and len(secret) >= 32
        auth = start_server(database_url, BETTER_AUTH_SECRET=secret)
        try:
            walk.replacements["http://127.0.0.1:3000"] = auth.origin
            email = re.search(r'"email":"([^"]+)"', block("/sign-up/email")).group(1)
            with walk.api({"DATABASE_URL": database_url, "BETTER_AUTH_SECRET": secret}):
                (signed_up,) = walk.shell(block("/sign-up/email"))
                assert signed_up.body["user"]["email"] == email
                walk.calls("database", email)
                signed_out, refused = walk.shell(block("/sign-out"))
                assert signed_out.body == {"success": True}
                assert refused.status == 401, "refused at once after sign-out"
                assert refused.body["detail"]["code"] == "UNAUTHORIZED"
        finally:
            auth.proc.terminate()
            auth.proc.wait(10)
        # The way back: the variables are gone, so the servers start as in steps 1 and 2.
        back = subprocess.run(
            ["bash", "-euc", walk.sub(exports) + "\n" + block("unset DATABASE_URL") + '\nprintf "[%s][%s]" "${DATABASE_URL-}" "${BETTER_AUTH_SECRET-}"'],
            capture_output=True, text=True, check=True,
        ).stdout
        assert back == "[][]", back
        walk.shell(block("dropdb"))
        with psycopg.connect(PG_ADMIN) as c:
            assert c.execute("select 1 from pg_database where datname = %s", (database,)).fetchone() is None, "dropdb removed it"
        assert not (tmp_path / "example-secret").exists()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f"drop database if exists {database} with (force)")
