"""The table and column names of the auth database, when a team gave better-auth's models names
of its own (better-auth's ``modelName``, ``fields`` and ``additionalFields``; in authkeep's
``authkeep.toml``: ``[user] model_name``, ``[user.fields]``, ``[user.additional_fields.*]``,
``[database] casing`` and the same for the other models).

The names resolve exactly as the auth server resolves them, so that database mode reads the
tables the server writes:

- a table is named by its model's ``model_name`` only (default ``user``, ``session``,
  ``account``, ``verification``); ``casing`` never renames tables;
- a field's column is its entry in the model's ``fields``, else (with ``casing="snake_case"``)
  the snake_case of its logical name (``emailVerified`` -> ``email_verified``), else the
  logical name itself; ``id`` is always ``id``;
- an additional user field's column is its ``field_name``, else the same casing rule.

Every name must be a plain SQL identifier (``[A-Za-z_][A-Za-z0-9_]*``, at most 63 bytes):
anything else is refused with ``ValueError`` when the ``Schema`` is made. Database mode builds
its SQL from these checked names only, each in double quotes, so no configured string can
change a statement.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, get_args

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, published as tomli (a dependency there only)
    import tomli as tomllib

FieldType = Literal["string", "number", "boolean", "date", "string[]", "number[]"]
Casing = Literal["camelCase", "snake_case"]
ModelName = Literal["user", "session", "account", "verification"]

# better-auth's own fields of each model (after `id`), as the auth server knows them. `jwks`
# cannot be renamed, but its table name is taken: no other model may be called "jwks".
CORE_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "user": ("name", "email", "emailVerified", "image", "createdAt", "updatedAt"),
        "session": ("expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId"),
        "account": (
            "accountId", "providerId", "userId", "accessToken", "refreshToken", "idToken",
            "accessTokenExpiresAt", "refreshTokenExpiresAt", "scope", "password", "createdAt", "updatedAt",
        ),
        "verification": ("identifier", "value", "expiresAt", "createdAt", "updatedAt"),
    }
)
_JWKS_TABLE = "jwks"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELD_TYPES: tuple[str, ...] = get_args(FieldType)
_CASINGS: tuple[str, ...] = get_args(Casing)
# The snake_case attributes of `User` (models.py) that are not also logical names: an
# additional field called so would be read as the core field, not beside it.
_USER_ATTRIBUTES = ("email_verified", "created_at", "updated_at")


def identifier(what: str, name: object) -> str:
    """``name`` when it is a plain SQL identifier, else ``ValueError`` naming ``what`` it is."""
    if not (isinstance(name, str) and _IDENTIFIER.fullmatch(name) and len(name.encode()) <= 63):
        raise ValueError(
            f"{what} {name!r} is not a plain SQL identifier: use letters, digits and _ "
            "(not a digit first), at most 63 bytes"
        )
    return name


def quoted(name: str) -> str:
    """The identifier as it goes into SQL. Checked again here, the one place names meet SQL."""
    return '"' + identifier("identifier", name) + '"'


def snake_case(name: str) -> str:
    """``emailVerified`` -> ``email_verified``, as the auth server derives it: each ASCII capital
    becomes ``_`` and its lower case (no ``_`` before a leading capital)."""
    out = []
    for i, c in enumerate(name):
        if "A" <= c <= "Z":
            out.append(("_" if i else "") + c.lower())
        else:
            out.append(c)
    return "".join(out)


@dataclass(frozen=True)
class Model:
    """One better-auth model's names: its table (``model_name``, ``None`` for better-auth's)
    and the columns of the fields you renamed (``fields``: logical field name -> column)."""

    model_name: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A read-only copy: a Schema is checked once, and must stay as it was checked.
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))


@dataclass(frozen=True)
class AdditionalField:
    """A field added to the user model (better-auth's ``user.additionalFields.<name>``).

    Only ``type``, ``returned`` and ``field_name`` matter to this package (what to read, from
    which column, and as what); the others are accepted so that one description serves both."""

    type: FieldType
    required: bool = True
    default_value: Any = None
    input: bool = True
    returned: bool = True
    field_name: str | None = None


@dataclass(frozen=True)
class Schema:
    """The auth database's names, checked when made (``ValueError`` otherwise).

    ``Schema()`` is better-auth's defaults. ``Schema.from_toml("authkeep.toml")`` reads the file
    the auth server reads; or give the names yourself::

        Schema(
            user=Model("users", {"emailVerified": "email_verified"}),
            session=Model("user_sessions", {"userId": "user_id", "expiresAt": "expires_at"}),
            casing="snake_case",
            additional_user_fields={"status": AdditionalField("string", required=False)},
        )
    """

    user: Model = field(default_factory=Model)
    session: Model = field(default_factory=Model)
    account: Model = field(default_factory=Model)
    verification: Model = field(default_factory=Model)
    casing: Casing = "camelCase"
    additional_user_fields: Mapping[str, AdditionalField] = field(default_factory=dict)
    # Resolved by __post_init__ (checked identifiers, unquoted).
    _tables: Mapping[str, str] = field(init=False, repr=False, compare=False)
    _columns: Mapping[str, Mapping[str, str]] = field(init=False, repr=False, compare=False)
    _additional: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "additional_user_fields", MappingProxyType(dict(self.additional_user_fields)))
        if self.casing not in _CASINGS:
            raise ValueError(f"casing must be 'camelCase' or 'snake_case', not {self.casing!r}")
        tables: dict[str, str] = {}
        columns: dict[str, dict[str, str]] = {}
        taken = {_JWKS_TABLE: "jwks"}
        for model in CORE_FIELDS:
            names: Model = getattr(self, model)
            if not isinstance(names, Model):
                raise ValueError(f"{model} must be a Model, not {type(names).__name__}")
            table = identifier(f"{model}.model_name", model if names.model_name is None else names.model_name)
            if table in taken:
                raise ValueError(f"{model}.model_name {table!r} is already the table of {taken[table]}")
            taken[table] = model
            for key in names.fields:
                if key == "id":
                    raise ValueError(f"{model}.fields.id: the id column cannot be renamed (better-auth ignores it too)")
                if key not in CORE_FIELDS[model]:
                    raise ValueError(
                        f"{model}.fields names {key!r}, which is not a field of {model} "
                        f"(fields: {', '.join(CORE_FIELDS[model])})"
                    )
            resolved = {"id": "id"}
            for logical in CORE_FIELDS[model]:
                resolved[logical] = identifier(f"{model}.fields.{logical}", names.fields.get(logical, self._derived(logical)))
            tables[model] = table
            columns[model] = resolved
        additional: dict[str, str] = {}
        for name, spec in self.additional_user_fields.items():
            what = f"user.additional_fields.{name}"
            if name == "id" or name in CORE_FIELDS["user"]:
                raise ValueError(f"{what}: that name is one of better-auth's own user fields")
            # The name is a JSON key and an attribute of User: an identifier too, as a
            # property name in better-auth's auth.ts is.
            identifier(what, name)
            if name in _USER_ATTRIBUTES:
                raise ValueError(f"{what}: authkeep_fastapi's User already has an attribute {name!r}; rename the field")
            if not isinstance(spec, AdditionalField):
                raise ValueError(f"{what} must be an AdditionalField, not {type(spec).__name__}")
            if spec.type not in _FIELD_TYPES:
                raise ValueError(f"{what}.type must be one of {', '.join(_FIELD_TYPES)}, not {spec.type!r}")
            if spec.default_value is not None and not _accepts(spec.type, spec.default_value):
                raise ValueError(f"{what}: default_value {spec.default_value!r} is not a {spec.type}")
            additional[name] = identifier(what, spec.field_name if spec.field_name is not None else self._derived(name))
        # Two names for one column would read each other's data.
        for model, resolved in columns.items():
            every = list(resolved.items()) + (list(additional.items()) if model == "user" else [])
            seen: dict[str, str] = {}
            for logical, column in every:
                if column in seen:
                    raise ValueError(f"{model}: fields {seen[column]!r} and {logical!r} both map to column {column!r}")
                seen[column] = logical
        object.__setattr__(self, "_tables", MappingProxyType(tables))
        object.__setattr__(self, "_columns", MappingProxyType({m: MappingProxyType(c) for m, c in columns.items()}))
        object.__setattr__(self, "_additional", MappingProxyType(additional))

    def _derived(self, logical: str) -> str:
        return snake_case(logical) if self.casing == "snake_case" else logical

    def table(self, model: ModelName) -> str:
        """The table of ``model`` (unquoted; checked)."""
        return self._tables[model]

    def column(self, model: ModelName, logical: str) -> str:
        """The column of one of better-auth's fields (``id`` included), or of an additional user field."""
        if model == "user" and logical in self._additional:
            return self._additional[logical]
        return self._columns[model][logical]

    @property
    def additional_columns(self) -> Mapping[str, str]:
        """Each additional user field's column, by logical name, in declaration order."""
        return self._additional

    @property
    def returned_user_fields(self) -> Mapping[str, AdditionalField]:
        """The additional user fields the auth server returns (get-session, JWT claims), in order."""
        return MappingProxyType({n: f for n, f in self.additional_user_fields.items() if f.returned})

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Schema:
        """The names in an ``authkeep.toml``: the same file the auth server reads, so the two
        cannot disagree. Environment overrides (``AUTHKEEP_USER__MODEL_NAME``...) are not read."""
        with open(path, "rb") as f:
            try:
                config = tomllib.load(f)
            except tomllib.TOMLDecodeError as e:
                raise ValueError(f"{os.fspath(path)}: not valid TOML: {e}") from e
        return cls.from_config(config)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Schema:
        """The names in an already parsed ``authkeep.toml`` document; other keys are ignored."""

        def section(name: str) -> Mapping[str, Any]:
            value = config.get(name, {})
            if not isinstance(value, Mapping):
                raise ValueError(f"[{name}] must be a table")
            return value

        def model(name: str) -> Model:
            s = section(name)
            fields = s.get("fields", {})
            if not isinstance(fields, Mapping) or not all(isinstance(v, str) for v in fields.values()):
                raise ValueError(f"[{name}.fields] must map field names to column names (strings)")
            model_name = s.get("model_name")
            if model_name is not None and not isinstance(model_name, str):
                raise ValueError(f"{name}.model_name must be a string")
            return Model(model_name, dict(fields))

        additional: dict[str, AdditionalField] = {}
        specs = section("user").get("additional_fields", {})
        if not isinstance(specs, Mapping):
            raise ValueError("[user.additional_fields] must be a table of fields")
        for name, spec in specs.items():
            additional[name] = _additional_from_config(name, spec)
        return cls(
            user=model("user"),
            session=model("session"),
            account=model("account"),
            verification=model("verification"),
            casing=section("database").get("casing", "camelCase"),
            additional_user_fields=additional,
        )


_SPEC_KEYS = {"type", "required", "default_value", "input", "returned", "field_name"}


def _additional_from_config(name: str, spec: object) -> AdditionalField:
    what = f"user.additional_fields.{name}"
    if not isinstance(spec, Mapping):
        raise ValueError(f"[{what}] must be a table")
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:  # the auth server refuses them too: a typo must not pass silently here
        raise ValueError(f"[{what}] has unknown keys {', '.join(unknown)} (known: {', '.join(sorted(_SPEC_KEYS))})")
    if "type" not in spec:
        raise ValueError(f"[{what}] needs a type ({', '.join(_FIELD_TYPES)})")
    for flag in ("required", "input", "returned"):
        if not isinstance(spec.get(flag, True), bool):
            raise ValueError(f"{what}.{flag} must be true or false")
    field_name = spec.get("field_name")
    if field_name is not None and not isinstance(field_name, str):
        raise ValueError(f"{what}.field_name must be a string")
    return AdditionalField(
        type=spec["type"],
        required=spec.get("required", True),
        default_value=spec.get("default_value"),
        input=spec.get("input", True),
        returned=spec.get("returned", True),
        field_name=field_name,
    )


def _accepts(ty: FieldType, value: object) -> bool:
    """Whether a default value is of the field's type, as the auth server checks it."""
    if ty == "string":
        return isinstance(value, str)
    if ty == "boolean":
        return isinstance(value, bool)
    if ty == "number":
        return isinstance(value, int) and not isinstance(value, bool)
    if ty == "date":
        return isinstance(value, (date, datetime)) or (isinstance(value, str) and _parse_date(value) is not None)
    if ty == "string[]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)


def _parse_date(text: str) -> datetime | None:
    # JavaScript's toISOString() ends in "Z", which fromisoformat reads only from Python 3.11.
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def coerce(ty: FieldType, value: Any) -> Any:
    """An additional field's value as better-auth returns it, in Python's types: the same value
    whether it came from a PostgreSQL column (native types, or text JSON for arrays), from
    get-session's JSON or from a JWT claim. Dates become aware datetimes (UTC when the stored
    value has no zone), arrays lists. A value that does not read as its type is returned as it
    is, as better-auth returns whatever its database holds."""
    if value is None:
        return None
    if ty == "date":
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
        if isinstance(value, str):
            parsed = _parse_date(value)
            return value if parsed is None else parsed
        return value
    if ty in ("string[]", "number[]"):
        if isinstance(value, (bytes, bytearray)):
            value = value.decode()
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return None  # as the auth server answers for an array it cannot read
        return list(value) if isinstance(value, tuple) else value
    if ty == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int):  # SQLite-style 0/1 columns
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "t", "1", "false", "f", "0"):
            return value.lower() in ("true", "t", "1")
        return value
    if ty == "number":
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, str):
            for parse in (int, float):
                try:
                    return parse(value)
                except ValueError:
                    pass
        return value
    return value
