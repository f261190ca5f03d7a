"""Outcomes and plan steps share their set of fields given (compact.py), and behave as before."""

from __future__ import annotations

from aos_core import Plan, StructuredOutcome
from aos_core.contracts.cost import Cost


def _outcome(**extra: object) -> StructuredOutcome:
    return StructuredOutcome(ok=True, skill="s", output={"a": 1}, **extra)  # type: ignore[arg-type]


def test_outcomes_given_the_same_fields_share_one_set_and_copies_do_not_change_it() -> None:
    first, second = _outcome(), _outcome()
    assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__
    copied = first.model_copy(update={"attempts": 3})
    assert copied.model_fields_set == {"ok", "skill", "output", "attempts"}
    assert first.model_fields_set == second.model_fields_set == {"ok", "skill", "output"}
    assert first.model_dump(exclude_unset=True) == {"ok": True, "skill": "s", "output": {"a": 1}}
    other = _outcome(cost=Cost(calls=1))
    assert other.model_fields_set == {"ok", "skill", "output", "cost"}
    assert other.__pydantic_fields_set__ is not first.__pydantic_fields_set__


def test_plan_steps_share_their_sets_and_dump_as_written() -> None:
    plan = Plan.model_validate(
        {"steps": [{"id": "a", "skill": "s"}, {"id": "b", "skill": "s", "depends_on": ["a"]}, {"id": "c", "skill": "t"}]}
    )
    a, b, c = plan.steps
    assert a.__pydantic_fields_set__ is c.__pydantic_fields_set__
    assert b.model_fields_set == {"id", "skill", "depends_on"}
    assert [s.model_dump(exclude_unset=True) for s in plan.steps] == [
        {"id": "a", "skill": "s"},
        {"id": "b", "skill": "s", "depends_on": ("a",)},
        {"id": "c", "skill": "t"},
    ]
