"""Who is calling: authkeep's sessions and JWTs, checked by authkeep_fastapi.

    from auth import CurrentUser, OptionalUser, auth

    app = FastAPI(lifespan=auth.lifespan)

    @app.get("/api/me")
    async def me(user: CurrentUser): ...

With DATABASE_URL and BETTER_AUTH_SECRET set (docker-compose.yml sets both), sessions are
looked up in authkeep's database directly: a sign-out or revocation takes effect on the next
request and no call goes to authkeep. Without them, each check asks authkeep (AUTH_URL).
Bearer JWTs from /api/auth/token (a frontend on another site) are verified against AUTH_URL's
/api/auth/jwks.
"""

import os
from typing import Annotated

from fastapi import Depends

from authkeep_fastapi import AuthKeep, User

AUTH_URL = os.environ.get("AUTH_URL", "http://127.0.0.1:3000")
DATABASE_URL = os.environ.get("DATABASE_URL", "")
SECRET = os.environ.get("BETTER_AUTH_SECRET", "")

if DATABASE_URL.startswith(("postgres://", "postgresql://")) and SECRET:
    auth = AuthKeep(base_url=AUTH_URL, mode="database", database_url=DATABASE_URL, secret=SECRET)
else:
    auth = AuthKeep(base_url=AUTH_URL, mode="remote")

# A route that takes `user: CurrentUser` answers 401 to anyone not signed in.
CurrentUser = Annotated[User, Depends(auth.current_user)]
# `user: OptionalUser` is None for anonymous callers.
OptionalUser = Annotated[User | None, Depends(auth.optional_user)]
