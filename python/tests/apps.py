"""A FastAPI app wired to authkeep the way users wire theirs."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from authkeep_fastapi import AuthKeep, Session, User


def make_app(auth: AuthKeep) -> FastAPI:
    app = FastAPI()

    @app.get("/public")
    async def public():
        return {"ok": True}

    @app.get("/me")
    async def me(user: User = Depends(auth.current_user)):
        return {"id": user.id, "email": user.email, "name": user.name, "email_verified": user.email_verified, "created_at": user.created_at.isoformat()}

    @app.get("/maybe")
    async def maybe(user: User | None = Depends(auth.optional_user)):
        return {"email": user.email if user else None}

    @app.get("/session")
    async def session(s: Session = Depends(auth.current_session)):
        return {"id": s.id, "user_id": s.user_id}

    @app.get("/verified")
    async def verified(user: User = Depends(auth.verified_user)):
        return {"email": user.email}

    return app
