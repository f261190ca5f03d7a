"""What the server remembers about the runs submitted through it: which key submitted each one
(so a `run` key acts on its own runs only), the `Idempotency-Key`s it was given, and the shared
contracts those runs named (so `GET /v1/budgets/{id}` knows their limits, and one id never
stands for two different sets of limits)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from aos_core import ResourceContract
from aos_server.db import ServerDatabase

__all__ = ["ContractClash", "IdempotencyClash", "Owner", "RunRecords"]


class IdempotencyClash(ValueError):
    """The `Idempotency-Key` was used before with another request body."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


class ContractClash(ValueError):
    """A contract id already stands for other limits."""


@dataclass(frozen=True)
class Owner:
    """Who submitted a run: a key's name, or None (a run started with `aos run`)."""

    key_name: str | None
    cancel_asked: bool = False


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _canonical(contract: ResourceContract) -> str:
    return json.dumps(contract.model_dump(mode="json"), sort_keys=True)


class RunRecords:
    """Run ownership, idempotency keys and named contracts, in the server's tables."""

    def __init__(self, db: ServerDatabase) -> None:
        self.db = db

    def claim_idempotency(self, key_name: str, idempotency_key: str, body_sha256: str, run_id: str) -> tuple[str, bool]:
        """(the run id this key stands for, whether it was new). `IdempotencyClash` when it was
        first used with another body."""
        with self.db.writing("record an idempotency key") as db:
            # Insert first: of two requests racing with one key (on any process), one inserts and
            # the other, waiting on the row, then reads it.
            inserted = db.execute(
                "INSERT INTO server_idempotency VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                (key_name, idempotency_key, body_sha256, run_id, _now()),
            ).rowcount
            if inserted == 1:
                return run_id, True
            row = db.execute(
                "SELECT body_sha256, run_id FROM server_idempotency WHERE key_name=? AND idempotency_key=?",
                (key_name, idempotency_key),
            ).fetchone()
        if row[0] != body_sha256:
            raise IdempotencyClash(str(row[1]))
        return str(row[1]), False

    def forget_idempotency(self, key_name: str, idempotency_key: str) -> None:
        """Free a key whose request was refused (nothing was created)."""
        with self.db.writing("forget an idempotency key") as db:
            db.execute(
                "DELETE FROM server_idempotency WHERE key_name=? AND idempotency_key=?", (key_name, idempotency_key)
            )

    def check_contracts(self, contracts: list[ResourceContract]) -> None:
        """`ContractClash` if one of these ids already stands for other limits."""
        named = [c for c in contracts if c.id is not None]
        if not named:
            return
        with self.db.reading("read contracts") as db:
            for contract in named:
                row = db.execute("SELECT contract FROM server_contracts WHERE id=?", (contract.id,)).fetchone()
                if row is not None and row[0] != _canonical(contract):
                    raise ContractClash(
                        f"contract {contract.id!r} is already in force with other limits; give it another id"
                    )

    def record(self, run_id: str, key_name: str | None, contracts: list[ResourceContract]) -> None:
        """Note a submitted run, its key and the named contracts it uses."""
        with self.db.writing("record a submitted run") as db:
            db.execute(
                "INSERT INTO server_runs (run_id, key_name, submitted_at) VALUES (?,?,?) ON CONFLICT DO NOTHING",
                (run_id, key_name, _now()),
            )
            for contract in contracts:
                if contract.id is not None:
                    db.execute(
                        "INSERT INTO server_contracts VALUES (?,?) ON CONFLICT DO NOTHING",
                        (contract.id, _canonical(contract)),
                    )

    def owner(self, run_id: str) -> Owner:
        with self.db.reading("read a run's owner") as db:
            row = db.execute("SELECT key_name, cancel_asked FROM server_runs WHERE run_id=?", (run_id,)).fetchone()
        return Owner(None) if row is None else Owner(row[0], bool(row[1]))

    def ask_cancel(self, run_id: str) -> None:
        with self.db.writing("note a cancel") as db:
            db.execute("UPDATE server_runs SET cancel_asked=1 WHERE run_id=?", (run_id,))

    def clear_cancel(self, run_id: str) -> None:
        with self.db.writing("note a resume") as db:
            db.execute("UPDATE server_runs SET cancel_asked=0 WHERE run_id=?", (run_id,))

    def mark_done(self, run_id: str) -> None:
        """The run ended (completed or failed): nothing will resume it again."""
        with self.db.writing("mark a run done") as db:
            db.execute("UPDATE server_runs SET done=1 WHERE run_id=?", (run_id,))

    def open_runs(self) -> list[str]:
        """Runs submitted here that have not ended, oldest first."""
        with self.db.reading("list open runs") as db:
            rows = db.execute("SELECT run_id FROM server_runs WHERE done=0 ORDER BY submitted_at, run_id").fetchall()
        return [str(r[0]) for r in rows]

    def contract(self, contract_id: str) -> ResourceContract | None:
        with self.db.reading("read a contract") as db:
            row = db.execute("SELECT contract FROM server_contracts WHERE id=?", (contract_id,)).fetchone()
        return None if row is None else ResourceContract.model_validate_json(row[0])

    def contracts(self, limit: int) -> list[ResourceContract]:
        """Shared contracts the runs submitted here named, the first `limit` by id."""
        with self.db.reading("list contracts") as db:
            rows = db.execute("SELECT contract FROM server_contracts ORDER BY id LIMIT ?", (limit,)).fetchall()
        return [ResourceContract.model_validate_json(row[0]) for row in rows]
