"""A small API that trusts authkeep for identity.

    AUTH_URL=http://127.0.0.1:3000 uvicorn main:app --port 8000

- ``/public``: anyone.
- ``/me``: the session cookie or a bearer session token (remote mode, or database mode when
  DATABASE_URL and BETTER_AUTH_SECRET are set: immediate revocation, no call to authkeep).
- ``/me/jwt``: a JWT from authkeep's ``/api/auth/token`` (jwt mode: no call to anyone per request).
- ``/hello``: personalised when signed in, generic otherwise.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from authkeep_fastapi import AuthKeep, User

AUTH_URL = os.environ.get("AUTH_URL", "http://127.0.0.1:3000")
DATABASE_URL = os.environ.get("DATABASE_URL", "")

if DATABASE_URL.startswith(("postgres://", "postgresql://")) and os.environ.get("BETTER_AUTH_SECRET"):
    sessions = AuthKeep(base_url=AUTH_URL, mode="database", database_url=DATABASE_URL, secret=os.environ["BETTER_AUTH_SECRET"])
else:
    sessions = AuthKeep(base_url=AUTH_URL, mode="remote")
tokens = AuthKeep(base_url=AUTH_URL)  # jwt mode


@asynccontextmanager
async def lifespan(_: FastAPI):
    yield
    await sessions.aclose()
    await tokens.aclose()


app = FastAPI(title="Example API behind authkeep", lifespan=lifespan)


@app.get("/public")
async def public():
    return {"message": "anyone can read this"}


@app.get("/me")
async def me(user: User = Depends(sessions.current_user)):
    return {"id": user.id, "email": user.email, "name": user.name, "via": sessions.mode}


@app.get("/me/jwt")
async def me_jwt(user: User = Depends(tokens.current_user)):
    return {"id": user.id, "email": user.email, "name": user.name, "via": "jwt"}


@app.get("/hello")
async def hello(user: User | None = Depends(sessions.optional_user)):
    return {"message": f"hello, {user.name}" if user else "hello, stranger"}
