"""A FastAPI app wired to authkeep the way users wire theirs."""

# No `from __future__ import annotations`: the Annotated dependencies below name `auth`, a
# parameter of make_app, which FastAPI could not find if the annotations were strings.

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI

from authkeep_fastapi import AuthKeep, Session, User


def make_app(auth: AuthKeep, *, close_on_shutdown: bool = True) -> FastAPI:
    """The app; ``close_on_shutdown=False`` leaves out the lifespan that calls ``auth.aclose()``,
    as an app whose author forgot it would."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await auth.aclose()

    app = FastAPI(lifespan=lifespan if close_on_shutdown else None)

    @app.get("/public")
    async def public() -> dict:
        return {"ok": True}

    @app.get("/me")
    async def me(user: Annotated[User, Depends(auth.current_user)]) -> dict:
        return {"id": user.id, "email": user.email, "name": user.name, "email_verified": user.email_verified, "created_at": user.created_at.isoformat()}

    @app.get("/maybe")
    async def maybe(user: Annotated[User | None, Depends(auth.optional_user)]) -> dict:
        return {"email": user.email if user else None}

    if auth.mode != "jwt":  # a JWT carries no session: current_session refuses jwt mode

        @app.get("/session")
        async def session(s: Annotated[Session, Depends(auth.current_session)]) -> dict:
            return {"id": s.id, "user_id": s.user_id}

    @app.get("/verified")
    async def verified(user: Annotated[User, Depends(auth.verified_user)]) -> dict:
        return {"email": user.email}

    return app
