"""The signed-in user and session, as typed Pydantic models (snake_case, built from better-auth's camelCase)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class User(BaseModel):
    """The user behind a request."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    id: str
    email: str
    name: str
    email_verified: bool = Field(alias="emailVerified")
    image: str | None = None
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")


class Session(BaseModel):
    """The session behind a request (database and remote modes; a JWT carries no session)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    id: str
    user_id: str = Field(alias="userId")
    expires_at: datetime = Field(alias="expiresAt")
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")
    ip_address: str | None = Field(default=None, alias="ipAddress")
    user_agent: str | None = Field(default=None, alias="userAgent")
