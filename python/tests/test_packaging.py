"""What an installed authkeep-fastapi carries and needs: a py.typed marker, and psycopg only
for database mode (the ``database`` extra)."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

# Makes `import psycopg` fail in a fresh interpreter, as on an install without the extra: a
# None entry in sys.modules is Python's own way of marking a module as not importable.
WITHOUT_PSYCOPG = "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg_pool'] = None\n"


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_the_package_is_marked_as_typed():
    assert importlib.resources.files("authkeep_fastapi").joinpath("py.typed").is_file()


def test_psycopg_is_only_in_the_database_extra():
    # The installed package's own metadata: requirements without a marker are always installed.
    requires = importlib.metadata.requires("authkeep-fastapi") or []
    psycopg = [r for r in requires if r.lower().startswith("psycopg")]
    assert psycopg and all('extra == "database"' in r for r in psycopg), requires


def test_jwt_and_remote_modes_work_without_psycopg():
    done = run_python(
        WITHOUT_PSYCOPG
        + "from authkeep_fastapi import AuthKeep\n"
        + "AuthKeep(base_url='http://127.0.0.1:3000')\n"
        + "AuthKeep(base_url='http://127.0.0.1:3000', mode='remote')\n"
        + "print('ok')\n"
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_database_mode_without_psycopg_says_which_extra_to_install():
    done = run_python(
        WITHOUT_PSYCOPG
        + "from authkeep_fastapi import AuthKeep\n"
        + "try:\n"
        + "    AuthKeep(base_url='http://127.0.0.1:3000', mode='database', database_url='postgresql://x/y', secret='s' * 32)\n"
        + "except ImportError as e:\n"
        + "    print(e)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "needs psycopg" in done.stdout and '"./python[database]"' in done.stdout, done.stdout


def test_the_docs_use_annotated_dependencies():
    # `x: User = Depends(...)` still works in FastAPI, but the docs teach the Annotated form.
    for path in (
        ROOT / "python" / "README.md",
        ROOT / "docs" / "api-servers.md",
        ROOT / "examples" / "fastapi-app" / "main.py",
        ROOT / "python" / "src" / "authkeep_fastapi" / "__init__.py",
    ):
        text = Path(path).read_text()
        assert "Annotated[User, Depends(" in text, path
        assert not re.search(r"\w+: [\w |]+ = Depends\(", text), f"{path} still uses a default-value dependency"
