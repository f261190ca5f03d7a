"""What the API does, apart from HTTP: the routes parse and render, this decides and acts.

The API process holds one `Runtime` on the run store (budgets held in the store) and never runs
a plan itself: a submitted run is recorded `queued` (`Runtime.submit`) and put in the queue,
and a worker executes it by resuming it. Direct calls (`POST /v1/skills/{name}/execute`),
planning, simulation and replay happen here, in the API process.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from aos_core import (
    AgentProfile,
    Cost,
    ErrorCode,
    Plan,
    ReplayResult,
    ResourceContract,
    RunNotFound,
    Runtime,
    StoreError,
    StructuredOutcome,
)
from aos_server.auth import Authenticator, Principal
from aos_server.db import ServerDatabase, is_postgres, open_database
from aos_server.errors import ApiError
from aos_server.keys import KeyStore
from aos_server.models import (
    ApprovalView,
    BudgetView,
    CancelView,
    GoalSubmission,
    PlanSubmission,
    ResumeRequest,
    RunAccepted,
    RunView,
    StepView,
    SubmitRequest,
)
from aos_server.policy import check_run_contract, check_secrets, run_policy
from aos_server.queue import open_queue
from aos_server.records import ContractClash, IdempotencyClash, RunRecords
from aos_server.settings import ServerSettings

__all__ = ["Service", "new_run_id"]

# Shared contracts whose budgets `/metrics` reports (see `Service.watch_budgets`).
METRIC_BUDGETS = 100

ENDED = ("completed", "failed")


def new_run_id() -> str:
    """Sortable and unique: UTC time and 48 random bits (a burst of submits never collides)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + os.urandom(6).hex()


def _sha256(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Service:
    """The server's operations over one `Runtime`, its keys, run records and queue."""

    def __init__(self, runtime: Runtime, settings: ServerSettings, db: ServerDatabase | None = None) -> None:
        self.runtime = runtime
        self.settings = settings
        location = runtime.store.location  # opening the store creates the core's schema before the server's
        self.db = db or open_database(settings.store if is_postgres(settings.store) else location)
        self.keys = KeyStore(self.db)
        self.records = RunRecords(self.db)
        self.queue = open_queue(self.db, settings.store, settings.queue)
        self.authenticate = Authenticator(self.keys)
        self.draining = False  # no new work: submits, resumes, approvals and calls answer 503
        self.closing = False  # the HTTP server is stopping: event streams end
        self.wake: Callable[[], None] = lambda: None  # tells idle workers there is work
        self.workers: Callable[[], tuple[int, int]] = lambda: (0, 0)  # (expected, ready)

    # -- guards --------------------------------------------------------------------------------
    def accepting(self) -> None:
        if self.draining:
            raise ApiError(
                503, ErrorCode.UNAVAILABLE, "the server is shutting down; try again shortly", retry_after_s=5
            )

    def stored(self, run_id: str) -> Any:
        """The stored run with exactly this id (the API takes no prefixes); 404 otherwise."""
        try:
            stored = self.runtime.store.load_run(run_id)
        except RunNotFound:
            stored = None
        if stored is None or stored.run_id != run_id:
            raise ApiError(
                404,
                ErrorCode.NOT_FOUND,
                f"no run {run_id!r}",
                details={"parameter": "run_id"},
                recovery="Give the full run id; GET /v1/runs lists them.",
            )
        return stored

    def _owned(self, principal: Principal, run_id: str) -> Any:
        principal.need("run")
        stored = self.stored(run_id)
        principal.may_act_on(self.records.owner(run_id).key_name)
        return stored

    # -- runs ----------------------------------------------------------------------------------
    def submit(
        self,
        principal: Principal,
        body: SubmitRequest,
        idempotency_key: str | None,
        traceparent: str | None = None,
    ) -> tuple[RunAccepted, bool]:
        """Queue a run: (what was accepted, whether it is new). An `Idempotency-Key` used before
        with the same body gives the same run; with another body, 409. `traceparent`: the
        request's W3C trace context, kept with the run (an invalid one is ignored)."""
        self.accepting()
        principal.need("run")
        profile = body.profile
        policy = run_policy(
            self.runtime.profile.policy, profile.policy if profile else None, body.approve, principal.admin
        )
        contract: ResourceContract = body.contract or (profile.contract if profile else None) or self.runtime.contract
        check_run_contract(contract, principal.name, principal.admin)
        # the key's own budget named as the run's contract is one budget, counted once
        budgets = tuple(b for b in principal.budgets if b.id != contract.id)
        try:
            self.records.check_contracts([contract, *budgets])
        except ContractClash as exc:
            raise ApiError(409, ErrorCode.INVALID_INPUT, str(exc)) from None
        run_id, claimed = new_run_id(), None
        if idempotency_key is not None:
            try:
                run_id, new = self.records.claim_idempotency(
                    principal.name, idempotency_key, _sha256(body.model_dump(mode="json")), run_id
                )
            except IdempotencyClash as exc:
                raise ApiError(
                    409,
                    ErrorCode.INVALID_INPUT,
                    "this Idempotency-Key was used with another request body; use a new key for a new run",
                    details={"run_id": exc.run_id},
                    recovery="Send a new Idempotency-Key with this body, or the first body again to get its run.",
                ) from None
            if not new and self._exists(run_id):
                return RunAccepted(run_id=run_id, status=self.stored(run_id).status), False
            claimed = idempotency_key if new else None
        try:
            plan = body.plan if isinstance(body, PlanSubmission) else self._plan(principal, body, profile)
            # a step at a time: the whole plan dumped at once was every step's model made together
            check_secrets((step.params for step in plan.steps), self.settings.key_secrets, principal.admin)
            result = self.runtime.submit(
                plan,
                contract=contract,
                policy=policy,
                approvals="wait",
                budgets=budgets,
                run_id=run_id,
                traceparent=traceparent,
            )
            if result.error is not None:
                raise ApiError.of(422, result.error)
        except StoreError:
            if idempotency_key is not None and self._exists(run_id):  # the same request, a moment earlier
                return RunAccepted(run_id=run_id, status=self.stored(run_id).status), False
            raise
        except ApiError:
            if claimed is not None:  # refused: the key stays free for a corrected request
                self.records.forget_idempotency(principal.name, claimed)
            raise
        self.records.record(run_id, principal.name, [contract, *budgets])
        self.queue.put(run_id)
        self.wake()
        return RunAccepted(run_id=run_id, status="queued"), True

    def _exists(self, run_id: str) -> bool:
        try:
            return bool(self.runtime.store.resolve_id(run_id) == run_id)
        except RunNotFound:
            return False

    def _plan(self, principal: Principal, body: GoalSubmission, profile: AgentProfile | None) -> Plan:
        planner = body.planner or (profile.planner if profile else None)
        result = self.runtime.plan(body.goal, planner, budgets=principal.budgets)
        if result.plan is not None and result.ok:
            return result.plan
        error = result.error
        if error is None:
            raise ApiError(422, ErrorCode.INVALID_INPUT, "the planner returned no plan")
        if error.code == ErrorCode.SKILL_NOT_FOUND and result.plan is None and not result.problems:
            raise ApiError.of(404, error)  # no such planner
        raise ApiError.of(422, error)

    def view(self, run_id: str) -> RunView:
        stored = self.stored(run_id)
        trace = stored.trace
        approvals = [_approval(a) for a in self.runtime.store.approvals(run_id)]
        waiting = {a.step_id for a in approvals if a.decision is None}
        in_flight = set(stored.in_flight)
        spent = Cost(currency=trace.header.get("contract", {}).get("currency", "USD"))
        failed = None
        steps = []
        for step in trace.header["plan"]["steps"]:
            record = trace.steps.get(step["id"])
            if record is not None:
                outcome = StructuredOutcome.model_validate({**record["outcome"], "trace_id": run_id})
                spent = spent + outcome.cost
                for lost in record.get("lost") or []:
                    spent = spent + Cost.model_validate(lost["cost"])
                failed = failed or (None if outcome.ok else step["id"])
                steps.append(
                    StepView(id=step["id"], skill=step["skill"], state="committed", ok=outcome.ok, outcome=outcome)
                )
            else:
                state: Literal["pending", "in_flight", "waiting_approval"] = "pending"
                if step["id"] in waiting:
                    state = "waiting_approval"
                elif step["id"] in in_flight:
                    state = "in_flight"
                steps.append(StepView(id=step["id"], skill=step["skill"], state=state))
        if trace.end is not None:
            spent = Cost.model_validate(trace.end["spent"])
            failed = trace.end.get("failed_step")
        return RunView(
            run_id=run_id,
            status=stored.status,
            goal=trace.header["plan"].get("goal", ""),
            submitted_by=self.records.owner(run_id).key_name,
            steps=steps,
            spent=spent,
            failed_step=failed,
            in_flight=sorted(in_flight),
            approvals=approvals,
        )

    def cancel(self, principal: Principal, run_id: str) -> CancelView:
        self._owned(principal, run_id)
        self.records.ask_cancel(run_id)
        self.queue.discard(run_id)
        return CancelView.model_validate({"run_id": run_id, "status": self.runtime.cancel(run_id)})

    def resume(self, principal: Principal, run_id: str, body: ResumeRequest) -> RunAccepted:
        self.accepting()
        stored = self._owned(principal, run_id)
        status = stored.status
        if status in ENDED:
            raise ApiError(
                409, ErrorCode.INVALID_INPUT, f"run {run_id} has ended ({status}); there is nothing to resume"
            )
        if status == "running":
            raise ApiError(409, ErrorCode.UNAVAILABLE, f"run {run_id} is running", retry_after_s=5)
        self.records.clear_cancel(run_id)
        options = {"repeat": list(body.repeat_in_flight), "abandon": list(body.abandon_in_flight), "explicit": True}
        self.queue.put(run_id, options)
        self.wake()
        return RunAccepted(run_id=run_id, status="queued" if status == "queued" else status)

    def decide(self, principal: Principal, run_id: str, step_id: str, approve: bool) -> ApprovalView:
        self.accepting()
        stored = self._owned(principal, run_id)
        if step_id not in {s["id"] for s in stored.trace.header["plan"]["steps"]}:
            raise ApiError(404, ErrorCode.NOT_FOUND, f"run {run_id} has no step {step_id!r}")
        if not self.runtime.decide_approval(run_id, step_id, approve, by=principal.name):
            raise ApiError(409, ErrorCode.INVALID_INPUT, f"step {step_id} of run {run_id} waits for no approval")
        self.queue.put(run_id)
        self.wake()
        decided = [a for a in self.runtime.store.approvals(run_id) if a["step_id"] == step_id]
        return _approval(decided[0])

    def replay(self, principal: Principal, run_id: str) -> ReplayResult:
        principal.need("run")
        self.stored(run_id)
        return self.runtime.replay(run_id)

    # -- direct work ---------------------------------------------------------------------------
    def execute(
        self, principal: Principal, skill: str, params: dict[str, Any], traceparent: str | None = None
    ) -> StructuredOutcome:
        self.accepting()
        principal.need("run")
        if skill not in self.runtime.skills:
            raise ApiError(404, ErrorCode.SKILL_NOT_FOUND, f"no skill named {skill!r}; GET /v1/skills lists them")
        check_secrets((params,), self.settings.key_secrets, principal.admin)
        return self.runtime.execute(skill, params, budgets=principal.budgets, traceparent=traceparent)

    def budget(self, contract_id: str) -> BudgetView:
        contract = self.records.contract(contract_id)
        if contract is None and self.runtime.contract.id == contract_id:
            contract = self.runtime.contract
        if contract is None:
            raise ApiError(404, ErrorCode.NOT_FOUND, f"no shared contract {contract_id!r} is known to this server")
        try:
            account = self.runtime.account_for(contract)
        except ValueError as exc:
            raise ApiError(409, ErrorCode.INVALID_INPUT, str(exc)) from None
        return BudgetView.model_validate(account.ledger.snapshot(self.runtime.clock.monotonic()))

    def watch_budgets(self) -> None:
        """Hold an account for the shared contracts named here, so `/metrics` reports their limit,
        held and remaining amounts (read from the store when scraped: the workers spend them).
        At most `METRIC_BUDGETS` of them, the first by id: contract ids come from callers, and a
        scrape must stay a bounded set of series and store reads (`GET /v1/budgets/{id}` answers
        for any)."""
        for contract in self.records.contracts(METRIC_BUDGETS):
            try:
                self.runtime.account_for(contract)
            except ValueError:
                continue  # an id clashing with the server's own contract: GET /v1/budgets says so

    # -- start and health ----------------------------------------------------------------------
    def recover(self) -> list[str]:
        """At start: hand back claims of workers gone with the last server, and queue every run
        submitted here that is queued or was interrupted (resumed under the usual rules), or
        that waits for an approval already decided."""
        self.queue.release_all()
        queued = []
        for run_id in self.records.open_runs():
            try:
                stored = self.runtime.store.load_run(run_id)
            except RunNotFound:
                continue
            status = stored.status
            if status in ENDED:
                self.records.mark_done(run_id)
                continue
            decided = status == "waiting_approval" and any(
                a["decision"] is not None and a["step_id"] not in stored.trace.steps
                for a in self.runtime.store.approvals(run_id)
            )
            if status in ("queued", "interrupted") or decided:
                self.queue.put(run_id)
                queued.append(run_id)
        return queued

    def readiness(self) -> dict[str, Any]:
        expected, ready = self.workers()
        try:
            queued = self.queue.waiting()
            store = True
        except StoreError:
            queued, store = 0, False
        ok = store and not self.draining and ready >= expected
        return {
            "ready": ok,
            "draining": self.draining,
            "store": store,
            "workers": expected,
            "workers_ready": ready,
            "queued": queued,
        }


def _approval(row: dict[str, Any]) -> ApprovalView:
    request = row.get("request") or {}
    return ApprovalView(
        step_id=row["step_id"],
        skill=request.get("skill"),
        side_effects=request.get("side_effects"),
        params=request.get("params"),
        decision=row.get("decision"),
        decided_by=row.get("decided_by"),
        decided_at=row.get("decided_at"),
    )
