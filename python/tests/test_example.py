"""The example app in examples/fastapi-app works as its README says."""

from __future__ import annotations

import importlib.util
import sys

import httpx
from fastapi.testclient import TestClient

from conftest import ROOT


def load_example(monkeypatch, server):
    monkeypatch.setenv("AUTH_URL", server.origin)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    spec = importlib.util.spec_from_file_location("example_main", ROOT / "examples" / "fastapi-app" / "main.py")
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
