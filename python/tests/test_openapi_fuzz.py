"""better-auth's openAPI plugin, checked from outside against the real binary: the document is
valid OpenAPI 3.1 (openapi-spec-validator), and schemathesis, fuzzing the server from that
document, finds no 500 and no answer the document does not describe (status, content type,
body schema, headers).

Each run is bounded: a fixed seed, at most ten examples per operation and a wall-clock budget
(``AUTHKEEP_FUZZ_SECONDS`` overrides it, ``AUTHKEEP_FUZZ_SEED`` the seed, for longer runs by
hand). Whatever schemathesis reports is printed whole, with the ``curl`` that reproduces it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

from conftest import Server, new_database, sign_up, start_server

# Every plugin with routes on, so that every route is in the document and fuzzed.
PLUGINS = {
    "AUTHKEEP_OPEN_API__ENABLED": "true",
    "AUTHKEEP_MAGIC_LINK__ENABLED": "true",
    "AUTHKEEP_EMAIL_OTP__ENABLED": "true",
    "AUTHKEEP_TWO_FACTOR__ENABLED": "true",
    "AUTHKEEP_ADMIN__ENABLED": "true",
}
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)
SECONDS = int(os.environ.get("AUTHKEEP_FUZZ_SECONDS", "20"))
SEED = os.environ.get("AUTHKEEP_FUZZ_SEED", "20261127")
# These end the session the signed-in run fuzzes with; the anonymous run covers them.
SESSION_ENDING = "^(signOut|revokeSessions|revokeOtherSessions)$"


@pytest.fixture(params=["sqlite", "postgres"])
def fuzzed(request, tmp_path) -> Iterator[Server]:
    if request.param == "sqlite":
        server = start_server(f"sqlite://{tmp_path / 'fuzz.sqlite'}", **PLUGINS)
        try:
            yield server
        finally:
            server.proc.terminate()
            server.proc.wait(10)
        return
    with new_database() as url:
        server = start_server(url, **PLUGINS)
        try:
            yield server
        finally:
            server.proc.terminate()
            server.proc.wait(10)


def schemathesis(server: Server, seconds: int, *extra: str) -> subprocess.CompletedProcess[str]:
    program = Path(sys.executable).with_name("schemathesis")
    command = [
        str(program), "run", f"{server.api}/open-api/generate-schema",
        "--url", server.api,
        "--checks", CHECKS,
        "--max-examples", "10",
        "--max-time", str(seconds),
        "--seed", SEED,
        # One worker: hypothesis' lambda descriptions are not thread-safe (a runtime error in
        # the fuzzer, not a finding about the server).
        "--workers", "1",
        "--generation-database", "none",
        "--max-redirects", "0",
        "--request-timeout", "10",
        "--no-color",
        *extra,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=seconds + 90)


def test_the_document_is_valid_openapi_3_1(fuzzed: Server) -> None:
    doc = httpx.get(f"{fuzzed.api}/open-api/generate-schema").json()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": fuzzed.api}]
    assert "/sign-in/email-otp" in doc["paths"] and "/magic-link/verify" in doc["paths"]
    page = httpx.get(f"{fuzzed.api}/reference")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(fuzzed: Server) -> None:
    account = sign_up(fuzzed)
    signed_in = schemathesis(
        fuzzed,
        SECONDS,
        "--header", f"Authorization: Bearer {account.signed}",
        # A browser's Origin: requests that carry a session pass the CSRF check and reach the flows.
        "--header", f"Origin: {fuzzed.origin}",
        "--exclude-operation-id-regex", SESSION_ENDING,
    )  # fmt: skip
    assert signed_in.returncode == 0, signed_in.stdout + signed_in.stderr
    anonymous = schemathesis(fuzzed, max(SECONDS // 2, 5))
    assert anonymous.returncode == 0, anonymous.stdout + anonymous.stderr
    # The server is still well after the run.
    assert httpx.get(f"{fuzzed.origin}/ready").status_code == 200
