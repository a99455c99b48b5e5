"""The signed-in user and session, as typed Pydantic models (snake_case, built from better-auth's camelCase)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class User(BaseModel):
    """The user behind a request.

    The user's additional fields (better-auth's ``additionalFields``, authkeep's
    ``[user.additional_fields]``) that the auth server returns are attributes too, under their
    logical names (``user.status``), and all of them are in ``user.extra`` (typed for mypy).
    With a ``Schema`` that declares them, they have Python types: dates are datetimes.
    """

    # extra="allow": additional fields are not known to this class, only to the Schema.
    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="allow")

    id: str
    email: str
    name: str
    email_verified: bool = Field(alias="emailVerified")
    image: str | None = None
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")

    @property
    def extra(self) -> dict[str, Any]:
        """The additional fields, by logical name (``user.extra["status"]``)."""
        return dict(self.model_extra or {})


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
