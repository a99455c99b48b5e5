"""A small API that trusts authkeep for identity.

    AUTH_URL=http://127.0.0.1:3000 uvicorn --app-dir examples/fastapi-app main:app --port 8000

- ``/public``: anyone.
- ``/me``: the session cookie or a bearer session token (remote mode, or database mode when
  DATABASE_URL and BETTER_AUTH_SECRET are set: immediate revocation, no call to authkeep).
- ``/me/jwt``: a JWT from authkeep's ``/api/auth/token`` (jwt mode: no call to anyone per request).
- ``/hello``: personalised when signed in, generic otherwise.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI

from authkeep_fastapi import AuthKeep, User

AUTH_URL = os.environ.get("AUTH_URL", "http://127.0.0.1:3000")
DATABASE_URL = os.environ.get("DATABASE_URL", "")

if DATABASE_URL.startswith(("postgres://", "postgresql://")) and os.environ.get("BETTER_AUTH_SECRET"):
    sessions = AuthKeep(base_url=AUTH_URL, mode="database", database_url=DATABASE_URL, secret=os.environ["BETTER_AUTH_SECRET"])
else:
    sessions = AuthKeep(base_url=AUTH_URL, mode="remote")
tokens = AuthKeep(base_url=AUTH_URL)  # jwt mode

# The dependencies, named once: a route that takes `user: SessionUser` is protected.
SessionUser = Annotated[User, Depends(sessions.current_user)]
JwtUser = Annotated[User, Depends(tokens.current_user)]
MaybeUser = Annotated[User | None, Depends(sessions.optional_user)]


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
    # Two AuthKeeps, so one lifespan closing both (a single one would be FastAPI(lifespan=auth.lifespan)).
    await sessions.aclose()
    await tokens.aclose()


app = FastAPI(title="Example API behind authkeep", lifespan=lifespan)


@app.get("/public")
async def public() -> dict[str, str]:
    return {"message": "anyone can read this"}


@app.get("/me")
async def me(user: SessionUser) -> dict[str, str]:
    return {"id": user.id, "email": user.email, "name": user.name, "via": sessions.mode}


@app.get("/me/jwt")
async def me_jwt(user: JwtUser) -> dict[str, str]:
    return {"id": user.id, "email": user.email, "name": user.name, "via": "jwt"}


@app.get("/hello")
async def hello(user: MaybeUser) -> dict[str, str]:
    return {"message": f"hello, {user.name}" if user else "hello, stranger"}
