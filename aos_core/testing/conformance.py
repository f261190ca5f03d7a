"""`check_skill_contract`: does a skill keep the promises its metadata makes?

In order: the plugin loads (refused with the loader's own message otherwise); the metadata
round-trips as JSON; the input and output schemas are stable, JSON, and what the core generated;
then the skill is driven through a real `Runtime` with inputs generated from its input schema.
Valid inputs must give a `StructuredOutcome` (execution never raises) that is ok or fails with a
code the metadata declares or the runtime itself adds; `SKILL_CRASHED` always fails the check (a
conforming skill never crashes: it raises `SkillError` with a declared code), and so does output
that does not fit `Output`, declared or not (the runtime reports it as `OUTPUT_VALIDATION_FAILED`;
a conforming skill's output always fits its model). Inputs generated from the input schema must
not be refused by `Input` (`SCHEMA_VALIDATION_FAILED`): the published schema would promise what
the model refuses. Inputs the schema refuses must be refused with `SCHEMA_VALIDATION_FAILED`
before the skill runs. A skill that declares itself deterministic must give the same outcome twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from aos_core.contracts.errors import ErrorCode
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.skill import SkillMetadata
from aos_core.plugins import PluginReport, SkillEntry
from aos_core.testing.loading import ContractViolation, load_plugin, runtime_for

__all__ = ["RUNTIME_CODES", "ContractReport", "SkillReport", "check_skill_contract"]

RUNTIME_CODES: frozenset[ErrorCode] = frozenset(
    {
        ErrorCode.SCHEMA_VALIDATION_FAILED,
        ErrorCode.BUDGET_EXCEEDED,
        ErrorCode.TIMEOUT,
        ErrorCode.CANCELLED,
        ErrorCode.PERMISSION_DENIED,
        ErrorCode.RATE_LIMITED,
    }
)
"""Codes the runtime itself gives any skill (bad params, budget, timeout, policy, rate limit), so
a skill need not declare them. It also gives `INVALID_INPUT` for a `${secrets.NAME}` that is
not set; every other code comes from the skill and must be in its `failure_codes`."""


@dataclass
class SkillReport:
    """What was checked for one skill; `outcomes` counts "ok" and each failure code seen (or, when
    the skill was not executed, "accepted by Input" / "refused by Input")."""

    skill: str
    executed: bool
    valid_examples: int = 0
    invalid_examples: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class ContractReport:
    """The plugin's load report and one `SkillReport` per skill checked."""

    plugin: PluginReport
    skills: dict[str, SkillReport]


def check_skill_contract(
    target: Any,
    *,
    skill: str | None = None,
    execute: bool | None = None,
    max_examples: int = 50,
    invalid_examples: int | None = None,
    examples: Iterable[Mapping[str, Any]] = (),
    inputs: Any = None,
    seed: int = 0,
    plugins: Iterable[Any] = (),
    approve: Callable[[Any], Any] | None = lambda request: True,
    **runtime_options: Any,
) -> ContractReport:
    """Check a skill (or every skill of a plugin) against its contract; `ContractViolation` if broken.

    `target` is a skill object, a plugin module or object, or a plugin's import path (as in its
    entry point). `execute` defaults to True except for skills that declare `network=True`,
    which are then only checked against their models, never called; pass `execute=True` with a
    `profile`/`config` (network allow-list, a local server) to drive them. `examples` are
    parameters always tried; `inputs` replaces the generated valid inputs with your own
    hypothesis strategy. `max_examples` generated valid inputs and `invalid_examples` (default
    half as many) invalid ones are tried, reproducibly for a given `seed`. `plugins` are loaded
    beside (a classifier, say); other keyword arguments go to `Runtime` (config, profile,
    contract, secrets). Approvals are granted unless `approve` says otherwise.
    """
    plugin = _as_plugin(target)
    registry, report = load_plugin(plugin)
    if report.status != "loaded":
        raise ContractViolation(report.reason or report.status, plugin=report.name)
    entries = _chosen(registry.skills, skill, report.name)
    extra, tried = list(plugins), list(examples)
    reports: dict[str, SkillReport] = {}
    for entry in entries:
        _check_metadata(entry)
        run = execute if execute is not None else not entry.metadata.network
        result = SkillReport(entry.metadata.name, run)
        reports[entry.metadata.name] = result
        checker = _Checker(entry, result)
        count_invalid = max_examples // 2 if invalid_examples is None else invalid_examples
        if not run:
            checker.drive(None, tried, inputs, max_examples, count_invalid, seed)
            continue
        with runtime_for(plugin, *extra, seed=seed, approve=approve, **runtime_options) as runtime:
            checker.drive(runtime, tried, inputs, max_examples, count_invalid, seed)
    return ContractReport(report, reports)


def _as_plugin(target: Any) -> Any:
    """The plugin to load: `target` itself, or a plugin built around a bare skill object."""
    if not isinstance(target, str) and hasattr(target, "metadata") and hasattr(target, "execute"):
        from aos_core.testing.fakes import FakePlugin

        label = getattr(getattr(target, "metadata", None), "name", None) or type(target).__name__
        return FakePlugin(skills=[target], name=f"skill:{label}")
    return target


def _chosen(skills: Mapping[str, SkillEntry], name: str | None, plugin: str) -> list[SkillEntry]:
    if name is not None:
        if name not in skills:
            known = ", ".join(sorted(skills)) or "none"
            raise ContractViolation(f"plugin {plugin!r} registers no skill {name!r}; it registers: {known}")
        return [skills[name]]
    if not skills:
        raise ContractViolation(f"plugin {plugin!r} registers no skill; check_plugin() checks other plugins")
    return [skills[key] for key in sorted(skills)]


def _check_metadata(entry: SkillEntry) -> None:
    meta = entry.metadata
    name = meta.name
    dumped = meta.model_dump(mode="json")
    from_json = SkillMetadata.model_validate_json(meta.model_dump_json())
    if SkillMetadata.model_validate(dumped) != meta or from_json != meta:
        raise ContractViolation(f"skill {name!r}: its metadata does not round-trip through JSON", skill=name)
    for model, declared, attr in (
        (entry.input_model, meta.input_schema, "input_schema"),
        (entry.output_model, meta.output_schema, "output_schema"),
    ):
        again = model.model_json_schema()
        if again != declared or model.model_json_schema() != again:
            raise ContractViolation(
                f"skill {name!r}: {model.__name__}.model_json_schema() is not stable; "
                f"{attr} must be the same every time it is generated",
                skill=name,
            )
        try:
            text = json.dumps(again, allow_nan=False, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise ContractViolation(f"skill {name!r}: {attr} is not JSON ({exc})", skill=name) from None
        if json.loads(text) != again:
            raise ContractViolation(f"skill {name!r}: {attr} changes when written as JSON and read back", skill=name)


class _Checker:
    """Drives one skill with examples and judges every outcome."""

    def __init__(self, entry: SkillEntry, report: SkillReport) -> None:
        self.entry = entry
        self.meta = entry.metadata
        self.report = report
        self.runtime: Any = None
        self.accepted = {*self.meta.failure_codes, *RUNTIME_CODES} - {ErrorCode.SKILL_CRASHED}

    def drive(
        self,
        runtime: Any,
        examples: Iterable[Mapping[str, Any]],
        inputs: Any,
        max_examples: int,
        invalid_examples: int,
        seed: int,
    ) -> None:
        self.runtime = runtime
        for params in examples:
            self.valid(params)
        if max_examples > 0 or invalid_examples > 0:
            try:
                from aos_core.testing import strategies
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ImportError(
                    f"generated examples need hypothesis ({exc}): pip install 'aos-core[testing]', "
                    "or pass max_examples=0, invalid_examples=0 and your own examples"
                ) from None

            schema = self.meta.input_schema or {}
            if max_examples > 0 and inputs is not None:
                _explore(inputs, self.valid, max_examples, seed)
            elif max_examples > 0:
                _explore(strategies.from_schema(schema), self.from_schema, max_examples, seed)
            if invalid_examples > 0:
                _explore(strategies.invalid_params(schema), self.invalid, invalid_examples, seed)

    def from_schema(self, params: Any) -> None:
        """Parameters generated from the input schema: as `valid`, and `Input` must accept them."""
        self.valid(params, schema_accepts=True)

    def valid(self, params: Any, *, schema_accepts: bool = False) -> None:
        """Parameters meant to be valid: any declared outcome, never a crash."""
        self.report.valid_examples += 1
        if self.runtime is None:
            refused = self._model_refuses(params)
            self.report.outcomes["refused by Input" if refused else "accepted by Input"] += 1
            if refused and schema_accepts:
                self._schema_promises_more(self._refusal(params), params)
            return
        outcome = self._execute(params)
        self.report.outcomes["ok" if outcome.ok else outcome.error.code.value] += 1  # type: ignore[union-attr]
        error = outcome.error
        if schema_accepts and error is not None and error.code is ErrorCode.SCHEMA_VALIDATION_FAILED:
            self._schema_promises_more(error.message, params)
        if outcome.ok:
            self._check_output(outcome, params)
        else:
            self._check_code(outcome, params)
        if self.meta.deterministic:
            again = self._execute(params)
            if (again.ok, again.output, again.error and again.error.code) != (
                outcome.ok,
                outcome.output,
                outcome.error and outcome.error.code,
            ):
                self._fail("declares deterministic=True but gave two different outcomes for the same input", params)

    def invalid(self, case: tuple[str, Any]) -> None:
        """Parameters the schema refuses must be refused before the skill runs."""
        what, params = case
        self.report.invalid_examples += 1
        if self.runtime is None:
            refused = self._model_refuses(params)
            self.report.outcomes["refused by Input" if refused else "accepted by Input"] += 1
            if not refused:
                model = self.entry.input_model.__name__
                self._fail(f"its input schema refuses {what}, but {model} accepts them", params)
            return
        outcome = self._execute(params)
        code = outcome.error.code if outcome.error is not None else None
        self.report.outcomes["ok" if code is None else code.value] += 1
        if code is not ErrorCode.SCHEMA_VALIDATION_FAILED:
            got = "ok" if code is None else f"{code.value}: {outcome.error.message}"  # type: ignore[union-attr]
            self._fail(
                f"its input schema refuses {what}, which must fail with SCHEMA_VALIDATION_FAILED, but got {got}; "
                f"make {self.entry.input_model.__name__} and its schema agree",
                params,
            )

    def _execute(self, params: Any) -> StructuredOutcome:
        try:
            outcome = self.runtime.execute(self.meta.name, params)
        except Exception as exc:  # noqa: BLE001 - raising at all is the violation being reported
            self._fail(f"execution raised {type(exc).__name__}: {exc}; execution must return an outcome", params)
        if not isinstance(outcome, StructuredOutcome):
            self._fail(f"execution returned {type(outcome).__name__}, not a StructuredOutcome", params)
        if StructuredOutcome.model_validate_json(outcome.model_dump_json()) != outcome:
            self._fail("its outcome does not round-trip through JSON", params)
        return outcome

    def _check_output(self, outcome: StructuredOutcome, params: Any) -> None:
        try:
            self.entry.output_model.model_validate(outcome.output)
        except ValidationError as exc:
            self._fail(f"its output, as JSON, no longer fits {self.entry.output_model.__name__}: {exc}", params)

    def _schema_promises_more(self, refusal: str, params: Any) -> None:
        model = self.entry.input_model.__name__
        self._fail(
            f"its input schema accepts these params but {model} refuses them ({refusal}); make the schema say "
            f"what {model} checks, or check it in execute and fail with INVALID_INPUT",
            params,
        )

    def _refusal(self, params: Any) -> str:
        try:
            self.entry.input_model.model_validate(params)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            return f"{'.'.join(str(p) for p in first['loc']) or '(params)'}: {first['msg']}"
        return "refused"

    def _check_code(self, outcome: StructuredOutcome, params: Any) -> None:
        error = outcome.error
        assert error is not None
        if error.code is ErrorCode.OUTPUT_VALIDATION_FAILED and error.message.startswith(
            f"{self.meta.name} returned output that "  # the runtime's check against Output, not the skill's own
        ):
            self._fail(
                f"returned output that does not fit {self.entry.output_model.__name__} ({error.message}); "
                "declaring OUTPUT_VALIDATION_FAILED does not cover it: return what Output describes",
                params,
            )
        if error.code is ErrorCode.SKILL_CRASHED:
            self._fail(
                f"crashed ({error.message}); a conforming skill never crashes: raise SkillError with a declared "
                "code, or register a failure classifier for this exception",
                params,
            )
        from_runtime = error.code is ErrorCode.INVALID_INPUT and "secret" in error.details
        if error.code not in self.accepted and not from_runtime:
            declared = ", ".join(code.value for code in self.meta.failure_codes) or "none"
            self._fail(
                f"failed with {error.code.value} ({error.message}), which its metadata does not declare; add it to "
                f"failure_codes or fail with a declared code (declared: {declared})",
                params,
            )

    def _model_refuses(self, params: Any) -> bool:
        try:
            self.entry.input_model.model_validate(params)
        except ValidationError:
            return True
        except Exception as exc:  # noqa: BLE001 - anything else escapes the runtime's validation: report it
            self._fail(
                f"{self.entry.input_model.__name__} raised {type(exc).__name__} instead of a ValidationError: {exc}; "
                "validators must raise ValueError",
                params,
            )
        return False

    def _fail(self, problem: str, params: Any) -> Any:
        shown = json.dumps(params, default=repr, ensure_ascii=False)
        shown = shown if len(shown) <= 300 else shown[:299] + "…"
        raise ContractViolation(
            f"skill {self.meta.name!r}: {problem}; params: {shown}", skill=self.meta.name, example=params
        )


def _explore(strategy: Any, check: Callable[[Any], None], max_examples: int, seed: int) -> None:
    """Run `check` on up to `max_examples` values of `strategy`, reproducibly, shrinking a failure."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed

    @fixed_seed(seed)
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        report_multiple_bugs=False,
    )
    @given(strategy)
    def run(value: Any) -> None:
        check(value)

    run()
