"""Verify authkeep (and better-auth) sessions and JWTs in FastAPI.

    from typing import Annotated
    from fastapi import Depends, FastAPI
    from authkeep_fastapi import AuthKeep, User

    auth = AuthKeep(base_url="http://127.0.0.1:3000")            # mode="jwt"
    app = FastAPI(lifespan=auth.lifespan)

    @app.get("/me")
    async def me(user: Annotated[User, Depends(auth.current_user)]): ...
"""

from .auth import AuthKeep, Identity
from .credentials import sign as sign_session_token
from .credentials import verify_signed as verify_signed_session_token
from .errors import AuthUnavailable, ConfigurationError, NotAuthenticated
from .jwks import decode as decode_jwt
from .models import Session, User
from .schema import AdditionalField, Model, Schema

__all__ = [
    "AdditionalField",
    "AuthKeep",
    "AuthUnavailable",
    "ConfigurationError",
    "Identity",
    "Model",
    "NotAuthenticated",
    "Schema",
    "Session",
    "User",
    "decode_jwt",
    "sign_session_token",
    "verify_signed_session_token",
]
