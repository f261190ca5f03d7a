"""API keys: made once, shown once, stored as a hash, checked in constant time.

A key reads `aos_<id>_<secret>`: `id` (12 hex characters) finds the key's row and is not
secret; `secret` is 32 random bytes. Only the SHA-256 of the whole key is stored: the secret
has 256 bits of entropy, so a fast hash is as safe as a slow one and keeps every request cheap.
A key has a scope (`read` < `run` < `admin`), may carry its own `ResourceContract` (id
`key:NAME`, one budget for everything the key does, across processes) and a request rate.
Names are never reused, even after a revocation, so a key's budget is never inherited.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aos_core import ResourceContract
from aos_server.db import ServerDatabase

__all__ = ["SCOPES", "ApiKey", "KeyProblem", "KeyStore", "Scope", "UnknownKey", "contract_id"]

Scope = Literal["read", "run", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "run", "admin")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_KEY = re.compile(r"^aos_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
# Compared against when no key has the presented id, so a wrong id costs what a wrong secret does.
_NOBODY = hashlib.sha256(b"no such key").hexdigest()


class KeyProblem(ValueError):
    """A key operation that cannot be done (a name in use, a bad scope); the message says why."""


class UnknownKey(KeyProblem):
    """No key has that name."""


class ApiKey(BaseModel):
    """What is known of a key: everything but its secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    key_id: str
    scope: Scope
    contract: ResourceContract | None = Field(default=None, description="The key's own budget (id key:NAME).")
    rate_limit: float | None = Field(default=None, description="Requests per second; None: unlimited.")
    created_at: str
    revoked_at: str | None = None

    def allows(self, scope: Scope) -> bool:
        return SCOPES.index(self.scope) >= SCOPES.index(scope)


def contract_id(name: str) -> str:
    """The id of a key's own contract."""
    return f"key:{name}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_COLUMNS = "name, key_id, scope, contract, rate_limit, created_at, revoked_at"


def _key(row: tuple[object, ...]) -> ApiKey:
    name, key_id, scope, contract, rate, created, revoked = row
    return ApiKey(
        name=str(name),
        key_id=str(key_id),
        scope=scope,  # type: ignore[arg-type]
        contract=None if contract is None else ResourceContract.model_validate_json(str(contract)),
        rate_limit=None if rate is None else float(rate),  # type: ignore[arg-type]
        created_at=str(created),
        revoked_at=None if revoked is None else str(revoked),
    )


class KeyStore:
    """Keys in the server's tables."""

    def __init__(self, db: ServerDatabase) -> None:
        self.db = db

    def create(
        self, name: str, scope: Scope, contract: ResourceContract | None = None, rate_limit: float | None = None
    ) -> tuple[ApiKey, str]:
        """A new key and its secret (shown once: it is not kept). `KeyProblem` if the name was ever used."""
        if not re.match(NAME_PATTERN, name):
            raise KeyProblem(
                f"key name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        if scope not in SCOPES:
            raise KeyProblem(f"scope {scope!r}: use one of {', '.join(SCOPES)}")
        if contract is not None:
            if contract.id not in (None, contract_id(name)):
                raise KeyProblem(f"a key's contract is named {contract_id(name)!r}; remove its id {contract.id!r}")
            contract = contract.model_copy(update={"id": contract_id(name)})
        if rate_limit is not None and rate_limit <= 0:
            rate_limit = None
        key_id = secrets.token_hex(6)
        secret = f"aos_{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(
            name=name, key_id=key_id, scope=scope, contract=contract, rate_limit=rate_limit, created_at=_now()
        )
        with self.db.writing("create a key") as db:
            if db.execute("SELECT 1 FROM server_keys WHERE name=?", (name,)).fetchone():
                raise KeyProblem(f"a key named {name!r} exists or existed; names are never reused, choose another")
            db.execute(
                "INSERT INTO server_keys VALUES (?,?,?,?,?,?,?,NULL)",
                (
                    name,
                    key_id,
                    _digest(secret),
                    scope,
                    None if contract is None else contract.model_dump_json(),
                    rate_limit,
                    record.created_at,
                ),
            )
            if contract is not None:
                db.execute(
                    "INSERT INTO server_contracts VALUES (?,?)"
                    " ON CONFLICT (id) DO UPDATE SET contract = excluded.contract",
                    (contract.id, json.dumps(contract.model_dump(mode="json"), sort_keys=True)),
                )
        return record, secret

    def all(self) -> list[ApiKey]:
        with self.db.reading("list keys") as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM server_keys ORDER BY created_at, name").fetchall()
        return [_key(r) for r in rows]

    def get(self, name: str) -> ApiKey | None:
        with self.db.reading("read a key") as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM server_keys WHERE name=?", (name,)).fetchone()
        return None if row is None else _key(row)

    def revoke(self, name: str) -> ApiKey:
        """Revoke a key at once (its next request is refused); `KeyProblem` if there is no such key."""
        with self.db.writing("revoke a key") as db:
            changed = db.execute(
                "UPDATE server_keys SET revoked_at=? WHERE name=? AND revoked_at IS NULL", (_now(), name)
            ).rowcount
            row = db.execute(f"SELECT {_COLUMNS} FROM server_keys WHERE name=?", (name,)).fetchone()
        if row is None:
            raise UnknownKey(f"no key named {name!r}; 'aos keys list' shows them")
        if not changed:
            raise KeyProblem(f"key {name!r} was already revoked")
        return _key(row)

    def live(self, key_id: str) -> bool:
        """Whether the key `key_id` still exists unrevoked (an open event stream asks again)."""
        with self.db.reading("check a key") as db:
            row = db.execute("SELECT revoked_at FROM server_keys WHERE key_id=?", (key_id,)).fetchone()
        return row is not None and row[0] is None

    def verify(self, presented: str | None) -> ApiKey | None:
        """The key `presented` is, when it is a live key; None when it is missing, malformed,
        unknown, wrong or revoked (the caller cannot tell which)."""
        if not presented:
            return None
        match = _KEY.match(presented)
        row = None
        if match is not None:
            with self.db.reading("check a key") as db:
                row = db.execute(
                    f"SELECT {_COLUMNS}, digest FROM server_keys WHERE key_id=?", (match.group(1),)
                ).fetchone()
        expected = str(row[-1]) if row is not None else _NOBODY
        same = hmac.compare_digest(_digest(presented), expected)
        if row is None or not same or row[6] is not None:
            return None
        return _key(row[:-1])
