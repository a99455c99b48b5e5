"""The example's API: FastAPI trusting authkeep for who the user is.

    AUTH_URL=http://127.0.0.1:3000 uvicorn --app-dir examples/fullstack/api main:app --port 8000

Two ways in, one per deployment shape (see the README):

- ``/api/me``: the frontend is on this API's site, so the browser sends authkeep's session cookie.
  The cookie is checked with authkeep on every request (remote mode): sign-out and revocation
  take effect at once.
- ``/api/me/jwt``: the frontend is on another site and sends ``Authorization: Bearer <JWT>``
  from authkeep's ``/api/auth/token``. Verified with authkeep's public keys, no call per request;
  a JWT stays valid until it expires (15 minutes by default).

Settings (environment): AUTH_URL, where this API reaches authkeep; AUTH_PUBLIC_URL, authkeep's
public URL (BETTER_AUTH_URL: the JWTs' issuer and audience), default AUTH_URL; FRONTEND_ORIGINS,
comma-separated origins of frontends on other sites, allowed by CORS.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from authkeep_fastapi import AuthKeep, User

AUTH_URL = os.environ.get("AUTH_URL", "http://127.0.0.1:3000")
_public = urlsplit(os.environ.get("AUTH_PUBLIC_URL") or AUTH_URL)
AUTH_ORIGIN = f"{_public.scheme}://{_public.netloc}"
FRONTEND_ORIGINS = [o.strip() for o in os.environ.get("FRONTEND_ORIGINS", "").split(",") if o.strip()]

sessions = AuthKeep(base_url=AUTH_URL, mode="remote")
tokens = AuthKeep(base_url=AUTH_URL, issuer=AUTH_ORIGIN, audience=AUTH_ORIGIN)  # jwt mode

SessionUser = Annotated[User, Depends(sessions.current_user)]
JwtUser = Annotated[User, Depends(tokens.current_user)]


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
    await sessions.aclose()
    await tokens.aclose()


app = FastAPI(title="authkeep full-stack example API", lifespan=lifespan)

if FRONTEND_ORIGINS:
    # Only the JWT route is meant for other sites: it needs the Authorization header, no cookies.
    app.add_middleware(CORSMiddleware, allow_origins=FRONTEND_ORIGINS, allow_methods=["GET"], allow_headers=["authorization"])


@app.get("/api/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/me")
async def me(user: SessionUser) -> dict[str, str]:
    return {"id": user.id, "email": user.email, "name": user.name, "via": "session cookie"}


@app.get("/api/me/jwt")
async def me_jwt(user: JwtUser) -> dict[str, str]:
    return {"id": user.id, "email": user.email, "name": user.name, "via": "JWT"}
