"""`aos run --json` and `aos replay --json` write the result's JSON in pieces, outcomes one at a
time: the text is the model's own `model_dump_json()`, byte for byte."""

from __future__ import annotations

from typing import Any

from aos_core import ErrorCode, SkillError
from aos_core.cli.results import run_json_text
from aos_core.testing import FakePlugin, fake_skill

from .conftest import chain_plan


def test_the_pieces_are_the_models_json(runtime_factory: Any) -> None:
    runtime = runtime_factory()
    ran = runtime.run(chain_plan())
    assert ran.ok and len(ran.outcomes) == 4
    assert "".join(run_json_text(ran)) == ran.model_dump_json()
    replayed = runtime.replay(ran.run_id)
    assert "".join(run_json_text(replayed)) == replayed.model_dump_json()


def test_a_failed_run_and_a_refused_plan_too(runtime_factory: Any) -> None:
    broken = fake_skill("broken", raises=SkillError(ErrorCode.INVALID_INPUT, "no"))
    runtime = runtime_factory(plugins=[FakePlugin(skills=[fake_skill("fine", returns={"ok": 1}), broken])])
    steps = [{"id": f"s{i}", "skill": "fine", "params": {}} for i in range(3)]
    failed = runtime.run({"steps": [*steps, {"id": "bad", "skill": "broken", "params": {}}]})
    assert not failed.ok and failed.failed_step == "bad" and len(failed.outcomes) == 4
    assert "".join(run_json_text(failed)) == failed.model_dump_json()
    refused = runtime.run({"steps": [{"id": "a", "skill": "no_such_skill"}]})
    assert not refused.ok and not refused.outcomes
    assert "".join(run_json_text(refused)) == refused.model_dump_json()


def test_a_failure_before_the_first_piece_leaves_the_error_to_be_the_document(capsys: Any) -> None:
    from collections.abc import Iterator

    import pytest

    from aos_core.cli.errors import _Output
    from aos_core.cli.io import emit_text

    def pieces(fail_after: int) -> Iterator[str]:
        for i in range(fail_after):
            yield f'"{i}"'
        raise OSError("the store went away")

    _Output.emitted = False
    with pytest.raises(OSError):
        emit_text(pieces(0))
    assert not _Output.emitted and capsys.readouterr().out == ""  # the error is printed as the document
    with pytest.raises(OSError):
        emit_text(pieces(2000))  # the first 1,024 pieces are out: no second document after them
    assert _Output.emitted and capsys.readouterr().out.startswith('"0""1"')
    _Output.emitted = False
