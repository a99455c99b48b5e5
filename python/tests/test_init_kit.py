"""`authkeep init`: the deployment kit it writes is valid and works.

No Docker engine runs here, so the Compose file is parsed and cross-checked, nginx's
configuration is tested by nginx itself (`nginx -t`), the systemd unit by `systemd-analyze
verify`, and the API's auth module is run against a real authkeep, in both of its modes.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from conftest import ROOT, SECRET, services_required

BIN = os.environ.get("AUTHKEEP_BIN", str(ROOT / "target" / "debug" / "authkeep"))
DOMAIN = "auth.example.com"


def init(directory: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, "init", str(directory), *args], capture_output=True, text=True, env={"PATH": os.environ["PATH"]})


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    done = init(tmp_path / "stack", "--domain", DOMAIN)
    assert done.returncode == 0, done.stderr
    return tmp_path / "stack"


def dotenv(kit: Path) -> dict[str, str]:
    lines = (kit / ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def require(program: str) -> str:
    found = shutil.which(program) or next((p for p in (f"/usr/sbin/{program}", f"/usr/bin/{program}") if os.path.exists(p)), None)
    if found is None:
        if services_required():
            pytest.fail(f"{program} is not installed (CI installs it)")
        pytest.skip(f"{program} is not installed")
    return found


def test_secrets_live_in_a_private_env_file_only(kit: Path):
    env = dotenv(kit)
    assert stat.S_IMODE((kit / ".env").stat().st_mode) == 0o600
    assert len(env["BETTER_AUTH_SECRET"]) >= 32
    for name in ("authkeep.toml", "docker-compose.yml", "nginx.conf", "authkeep.service"):
        text = (kit / name).read_text()
        assert env["BETTER_AUTH_SECRET"] not in text and env["POSTGRES_PASSWORD"] not in text, name
    assert ".env" in (kit / ".gitignore").read_text().split()
    # Two kits never share a secret.
    other = kit.parent / "other"
    assert init(other).returncode == 0
    assert dotenv(other)["BETTER_AUTH_SECRET"] != env["BETTER_AUTH_SECRET"]


def test_existing_files_are_kept_unless_forced(kit: Path):
    before = (kit / ".env").read_text()
    again = init(kit, "--domain", DOMAIN)
    assert again.returncode == 1 and "--force" in again.stderr
    assert (kit / ".env").read_text() == before
    assert init(kit, "--force").returncode == 0
    assert (kit / ".env").read_text() != before
    assert init(kit / "x", "--domain", "evil.com; return 200").returncode == 1


def test_the_configuration_is_healthy_for_its_one_origin(kit: Path, tmp_path: Path):
    config = tomllib.loads((kit / "authkeep.toml").read_text())
    assert config["base_url"] == f"https://{DOMAIN}"
    env = {"PATH": os.environ["PATH"], "BETTER_AUTH_SECRET": dotenv(kit)["BETTER_AUTH_SECRET"]}
    args = [BIN, "doctor", "--config", str(kit / "authkeep.toml"), "--database-url", f"sqlite://{tmp_path}/a.db", "--format", "json", "--skip-smtp"]

    def errors(**more: str) -> list[dict]:
        report = json.loads(subprocess.run(args, capture_output=True, text=True, env=env | more).stdout)
        return [f for f in report["findings"] if f["level"] == "error"], report

    # Until .env names a mail server, password reset cannot work, and doctor says so.
    found, _ = errors()
    assert [f["check"] for f in found] == ["email"], found
    found, report = errors(AUTHKEEP_EMAIL__SMTP_URL="smtp://127.0.0.1:2525")
    assert found == [], found
    cookies = [f for f in report["findings"] if f["check"] == "cookies"]
    assert cookies and all(f["level"] == "ok" and "same site" in f["message"] for f in cookies), cookies
    assert any(f["check"] == "secret" and f["level"] == "ok" for f in report["findings"])


def test_the_compose_file_is_consistent(kit: Path):
    compose = yaml.safe_load((kit / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "authkeep", "api", "nginx"}
    # Every variable the file requires is in .env.
    required = set(re.findall(r"\$\{(\w+):\?", (kit / "docker-compose.yml").read_text()))
    assert required and required <= set(dotenv(kit)), required - set(dotenv(kit))
    # authkeep reads the kit's configuration, waits for a healthy database, and is what the
    # API waits for (its image's HEALTHCHECK).
    assert "./authkeep.toml:/etc/authkeep/authkeep.toml:ro" in services["authkeep"]["volumes"]
    assert services["authkeep"]["command"][-1] == "/etc/authkeep/authkeep.toml"
    assert services["authkeep"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["api"]["depends_on"]["authkeep"]["condition"] == "service_healthy"
    assert "443:443" in services["nginx"]["ports"]
    # The database URL points at the Compose service, with the password from .env.
    env = dotenv(kit)
    assert env["DATABASE_URL"] == f"postgres://authkeep:{env['POSTGRES_PASSWORD']}@postgres:5432/authkeep"
    # authkeep believes X-Forwarded-For only from nginx's fixed address, inside the network.
    subnet = ipaddress.ip_network(compose["networks"]["edge"]["ipam"]["config"][0]["subnet"])
    nginx_address = services["nginx"]["networks"]["edge"]["ipv4_address"]
    assert ipaddress.ip_address(nginx_address) in subnet
    config = tomllib.loads((kit / "authkeep.toml").read_text())
    assert config["advanced"]["ip_address"]["trusted_proxies"] == [f"{nginx_address}/32"]
    # The image's health check is a command the binary has, and it works.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '"healthcheck"' in dockerfile


def test_the_healthcheck_command(server):
    ok = subprocess.run([BIN, "healthcheck", "--url", f"{server.origin}/ready"], capture_output=True)
    assert ok.returncode == 0, ok.stderr
    down = subprocess.run([BIN, "healthcheck", "--url", "http://127.0.0.1:9/ready"], capture_output=True, text=True)
    assert down.returncode == 1 and "unhealthy" in down.stderr


def test_nginx_accepts_the_configuration(kit: Path):
    nginx = require("nginx")
    certs = kit / "certs"
    certs.mkdir()
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={DOMAIN}",
         "-keyout", str(certs / "privkey.pem"), "-out", str(certs / "fullchain.pem")],
        capture_output=True,
    )
    assert made.returncode == 0
    # The official image has mime.types beside nginx.conf; so does Debian's nginx.
    shutil.copy("/etc/nginx/mime.types", kit / "mime.types")
    checked = subprocess.run(
        [nginx, "-t", "-p", str(kit), "-c", str(kit / "nginx.conf"), "-g", f"pid {kit}/nginx.pid; error_log stderr;"],
        capture_output=True, text=True,
    )
    assert checked.returncode == 0, checked.stderr
    conf = (kit / "nginx.conf").read_text()
    assert f"server_name {DOMAIN};" in conf
    assert f"return 301 https://{DOMAIN}$request_uri;" in conf and "ssl_reject_handshake on;" in conf
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf


def test_systemd_accepts_the_unit(tmp_path: Path):
    analyze = require("systemd-analyze")
    # The unit names the binary; verify checks it exists, so point it at the real one.
    assert init(tmp_path / "unit", "--binary", BIN).returncode == 0
    checked = subprocess.run([analyze, "verify", str(tmp_path / "unit" / "authkeep.service")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    unit = (tmp_path / "unit" / "authkeep.service").read_text()
    assert f"ExecStart={BIN} serve" in unit
    # Outside containers: loopback only, and the local nginx as the one trusted proxy.
    assert "Environment=AUTHKEEP_LISTEN=127.0.0.1:3000" in unit
    assert "Environment=AUTHKEEP_ADVANCED__IP_ADDRESS__TRUSTED_PROXIES=127.0.0.1,::1" in unit


def load_api(kit: Path, monkeypatch, **env: str):
    for name in ("AUTH_URL", "DATABASE_URL", "BETTER_AUTH_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(kit / "api"))
    for name in ("auth", "main"):
        sys.modules.pop(name, None)
    spec = importlib.util.spec_from_file_location("main", kit / "api" / "main.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["main"] = module
    spec.loader.exec_module(module)
    return module.app


@pytest.mark.parametrize("mode", ["remote", "database"])
def test_the_api_checks_sessions(kit: Path, monkeypatch, server, account, mode):
    env = {"AUTH_URL": server.origin}
    if mode == "database":
        env |= {"DATABASE_URL": server.database_url, "BETTER_AUTH_SECRET": SECRET}
    with TestClient(load_api(kit, monkeypatch, **env)) as client:
        assert sys.modules["auth"].auth.mode == mode
        assert client.get("/api/health").json() == {"status": "ok"}
        assert client.get("/api/me").status_code == 401
        me = client.get("/api/me", headers={"cookie": account.cookie})
        assert me.status_code == 200 and me.json()["email"] == account.email
        assert client.get("/api/hello", headers={"cookie": account.cookie}).json() == {"message": "hello, Py User"}
        # Signed out: refused at once.
        httpx.post(f"{server.api}/sign-out", headers={"cookie": account.cookie, "origin": server.origin}, json={})
        assert client.get("/api/me", headers={"cookie": account.cookie}).status_code == 401
