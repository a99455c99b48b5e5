"""`authkeep schema --format sqlalchemy`: the models it writes, loaded in Python, create what
`authkeep migrate` creates (so `migrate --status` finds nothing to do and nothing to warn
about), and Alembic's autogenerate finds no difference between them and a database
`authkeep migrate` made. Once with better-auth's names, once with renamed tables and columns,
every kind of additional user field and the rateLimit table."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from conftest import ROOT, new_database

BINARY = os.environ.get("AUTHKEEP_BIN", str(ROOT / "target" / "debug" / "authkeep"))

CUSTOM_TOML = """
[database]
casing = "snake_case"

[rate_limit]
storage = "database"

[user]
model_name = "users"

[user.fields]
emailVerified = "is_verified"

[session]
model_name = "user_sessions"

[session.fields]
userId = "owner_id"

[account]
model_name = "accounts"

[user.additional_fields.favoriteColor]
type = "string"
required = false
default_value = "blue"

[user.additional_fields.loginCount]
type = "number"
required = false

[user.additional_fields.isAdmin]
type = "boolean"
required = false
default_value = false
input = false

[user.additional_fields.birthDate]
type = "date"
required = false

[user.additional_fields.tags]
type = "string[]"
required = false

[user.additional_fields.luckyNumbers]
type = "number[]"
required = false

[user.additional_fields.class]
type = "string"
required = false
"""


def authkeep(config: Path | None, *args: str) -> str:
    env = {"PATH": os.environ.get("PATH", ""), "RUST_LOG": "warn"}
    if config is not None:
        env["AUTHKEEP_CONFIG"] = str(config)
    out = subprocess.run([BINARY, *args], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture(params=["default", "custom"])
def config(request, tmp_path) -> Path | None:
    if request.param == "default":
        return None
    path = tmp_path / "authkeep.toml"
    path.write_text(CUSTOM_TOML)
    return path


def load_models(config: Path | None, tmp_path: Path):
    """The generated file, imported as a module (as an Alembic env.py would import it)."""
    source = authkeep(config, "schema", "--format", "sqlalchemy")
    path = tmp_path / "auth_models.py"
    path.write_text(source)
    name = f"auth_models_{abs(hash(str(tmp_path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def engine_url(database_url: str) -> str:
    return database_url.replace("postgresql://", "postgresql+psycopg://", 1)


def assert_up_to_date(config: Path | None, database_url: str) -> None:
    status = authkeep(config, "migrate", "--status", "--database-url", database_url)
    assert "up to date" in status, status
    assert "pending" not in status and "warning" not in status and "problem" not in status, status


def test_create_all_makes_what_migrate_would(config, tmp_path):
    models = load_models(config, tmp_path)
    assert models.Base.metadata is models.metadata
    with new_database() as url:
        engine = create_engine(engine_url(url))
        try:
            models.metadata.create_all(engine)
        finally:
            engine.dispose()
        assert_up_to_date(config, url)


def test_alembic_finds_no_difference_with_a_migrated_database(config, tmp_path):
    models = load_models(config, tmp_path)
    with new_database() as url:
        authkeep(config, "migrate", "--database-url", url)
        engine = create_engine(engine_url(url))
        try:
            with engine.connect() as conn:
                context = MigrationContext.configure(
                    conn, opts={"compare_type": True, "compare_server_default": True}
                )
                diff = compare_metadata(context, models.metadata)
        finally:
            engine.dispose()
        assert diff == []


def test_custom_names_reach_the_models(tmp_path):
    path = tmp_path / "authkeep.toml"
    path.write_text(CUSTOM_TOML)
    models = load_models(path, tmp_path)
    tables = models.metadata.tables
    assert set(tables) == {"users", "user_sessions", "accounts", "verification", "jwks", "rateLimit"}
    assert "is_verified" in tables["users"].c
    assert "favorite_color" in tables["users"].c
    owner = tables["user_sessions"].c["owner_id"]
    (fk,) = owner.foreign_keys
    assert fk.target_fullname == "users.id" and fk.ondelete == "CASCADE"
    assert {i.name for i in tables["user_sessions"].indexes} == {"user_sessions_owner_id_idx"}
    # A field named after a Python keyword gets an attribute of its own, on the right column.
    assert models.User.class_.property.columns[0].name == "class"
