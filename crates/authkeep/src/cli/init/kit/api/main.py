"""Your API, served under /api by nginx. Start here; auth.py does the checking."""

from fastapi import FastAPI

from auth import CurrentUser, OptionalUser, auth

app = FastAPI(title="API", lifespan=auth.lifespan)


@app.get("/api/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/me")
async def me(user: CurrentUser) -> dict[str, str]:
    return {"id": user.id, "email": user.email, "name": user.name}


@app.get("/api/hello")
async def hello(user: OptionalUser) -> dict[str, str]:
    return {"message": f"hello, {user.name}" if user else "hello, stranger"}
