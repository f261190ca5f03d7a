"""Fakes shipped with the library: a skill built from a function, a scripted planner, a plugin.

They are real implementations of the plugin shapes, loaded and validated like any plugin, so a
test that uses them goes through the same pipeline as production code (no mocks).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from aos_core.contracts.cost import CostModel
from aos_core.contracts.errors import ErrorCode
from aos_core.contracts.plan import Plan
from aos_core.contracts.protocols import PlannerContext, PlanRequest, SkillContext, SkillError
from aos_core.contracts.skill import SideEffect, SkillMetadata
from aos_core.hookspecs import Register, hookimpl

__all__ = ["FakeInput", "FakeOutput", "FakePlugin", "FakeSkill", "ScriptedPlanner", "fake_skill"]


class FakeInput(BaseModel):
    """Default input of a fake skill: any JSON object."""

    model_config = ConfigDict(extra="allow")


class FakeOutput(BaseModel):
    """Default output of a fake skill: any JSON object."""

    model_config = ConfigDict(extra="allow")


class FakeSkill:
    """A skill whose `execute` calls `fn(params, ctx)`; every call's params are kept in `calls`."""

    def __init__(
        self,
        metadata: SkillMetadata,
        fn: Callable[[Any, SkillContext], Any],
        input_model: type[BaseModel] = FakeInput,
        output_model: type[BaseModel] = FakeOutput,
    ) -> None:
        self.metadata = metadata
        self.Input = input_model
        self.Output = output_model
        self.calls: list[Any] = []
        self._fn = fn

    def execute(self, params: Any, ctx: SkillContext) -> Any:
        self.calls.append(params)
        return self._fn(params, ctx)


class _AsyncFakeSkill(FakeSkill):
    async def execute(self, params: Any, ctx: SkillContext) -> Any:
        self.calls.append(params)
        return await self._fn(params, ctx)


def _echo(params: Any, ctx: SkillContext) -> Any:
    return params.model_dump(mode="json")


def fake_skill(
    name: str = "fake",
    fn: Callable[[Any, SkillContext], Any] | None = None,
    *,
    returns: Any = None,
    raises: BaseException | None = None,
    input_model: type[BaseModel] = FakeInput,
    output_model: type[BaseModel] = FakeOutput,
    side_effects: SideEffect | str = SideEffect.NONE,
    idempotent: bool = True,
    deterministic: bool = True,
    blocking: bool = False,
    failure_codes: Iterable[ErrorCode | str] = (),
    cost: CostModel | Mapping[str, Any] | None = None,
    version: str = "0.1.0",
    description: str | None = None,
    **metadata: Any,
) -> FakeSkill:
    """A valid skill for tests: `fn(params, ctx)` (sync or async) does the work.

    Without `fn` it returns `returns` when given, raises `raises` when given, and otherwise
    echoes its parameters. Other keyword arguments are `SkillMetadata` fields (network,
    timeout_ms, permissions...). Register it through `FakePlugin(skills=[...])` or
    `runtime_for(skills=[...])`.
    """
    if fn is None:
        fn = _scripted(returns, raises)
    meta = SkillMetadata(
        name=name,
        version=version,
        description=description or f"Fake skill {name} for tests.",
        side_effects=SideEffect(side_effects),
        idempotent=idempotent,
        deterministic=deterministic,
        blocking=blocking,
        failure_codes=tuple(ErrorCode(code) for code in failure_codes),
        cost=cost if isinstance(cost, CostModel) else CostModel.model_validate(cost or {}),
        **metadata,
    )
    kind = _AsyncFakeSkill if inspect.iscoroutinefunction(fn) else FakeSkill
    return kind(meta, fn, input_model, output_model)


def _scripted(returns: Any, raises: BaseException | None) -> Callable[[Any, SkillContext], Any]:
    if raises is not None:

        def fail(params: Any, ctx: SkillContext) -> Any:
            raise raises

        return fail
    if returns is not None:
        return lambda params, ctx: returns
    return _echo


class ScriptedPlanner:
    """A planner that answers with the given plans, in order; each request is kept in `requests`.

    An item may be a `Plan`, its JSON (a mapping), or an exception to raise (a `SkillError`
    scripts a planner failure). Asked once more than scripted, it fails with `INVALID_INPUT`.
    """

    def __init__(self, *plans: Plan | Mapping[str, Any] | BaseException, name: str = "scripted") -> None:
        self.name = name
        self.description = "Answers with scripted plans (aos_core.testing)."
        self.requests: list[PlanRequest] = []
        self._plans = list(plans)

    def plan(self, request: PlanRequest, ctx: PlannerContext) -> Plan:
        self.requests.append(request)
        index = len(self.requests) - 1
        if index >= len(self._plans):
            raise SkillError(
                ErrorCode.INVALID_INPUT,
                f"ScriptedPlanner {self.name!r} was asked {index + 1} times but has {len(self._plans)} plan(s)",
            )
        item = self._plans[index]
        if isinstance(item, BaseException):
            raise item
        return item if isinstance(item, Plan) else Plan.model_validate(item)


class FakePlugin:
    """A plugin object that registers the given skills, planners, classifiers and estimators.

    `name` is the plugin's name in `Runtime.plugins` reports.
    """

    def __init__(
        self,
        *,
        skills: Iterable[Any] = (),
        planners: Iterable[Any] = (),
        classifiers: Iterable[Any] = (),
        estimators: Iterable[Any] = (),
        priority: int = 0,
        name: str = "fake-plugin",
    ) -> None:
        self.__name__ = name
        self.skills = list(skills)
        self.planners = list(planners)
        self.classifiers = list(classifiers)
        self.estimators = list(estimators)
        self.priority = priority

    @hookimpl
    def aos_register_skills(self, register: Register) -> None:
        for skill in self.skills:
            register(skill)

    @hookimpl
    def aos_register_planners(self, register: Register) -> None:
        for planner in self.planners:
            register(planner, priority=self.priority)

    @hookimpl
    def aos_register_classifiers(self, register: Register) -> None:
        for classifier in self.classifiers:
            register(classifier, priority=self.priority)

    @hookimpl
    def aos_register_estimators(self, register: Register) -> None:
        for estimator in self.estimators:
            register(estimator, priority=self.priority)
