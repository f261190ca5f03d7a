"""Case 1: the cost of one call of a trivial sync skill, AOS against plain Python and peers.

Every variant dispatches to the same function, `echo_body(x: int, s: str) -> dict`, with the
same arguments `{"x": 1, "s": "a"}`:

- plain call: `echo_body(**params)`.
- model_validate + call: `EchoInput.model_validate(params)`, then the call.
- AOS `Runtime.execute`: the full pipeline (policy, input validation, budget reservation and
  settlement against a contract with limits, the inline call, output validation and the
  serialised-size check, the outcome, history kept in memory), sync API, `blocking=False`.
- AOS `Runtime.aexecute`: the same, awaited inside a running event loop.
- langchain-core: a `@tool` function, `.invoke(params)` (validation through its args schema).
- pydantic-ai: `ToolManager.handle_call(ToolCallPart(...))` over a `FunctionToolset`, the
  call the agent graph makes for each tool call the model returns (argument validation,
  capability hooks, the call, retry bookkeeping), without any model round trip. A sync tool
  runs in a worker thread there by default; the `disable_threads()` row shows it inline.

Rounds interleave the variants, so every ratio compares figures taken under the same conditions.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from benchlib import calibrate, echo_body, echo_runtime, emit, per_call_us, row

PARAMS = {"x": 1, "s": "a"}


def variants() -> tuple[dict[str, Any], list[str], Any]:
    """name -> fn(n) running n calls; notes; a closer."""
    from aos_core import ResourceContract

    out: dict[str, Any] = {}
    notes: list[str] = []

    def plain(n: int) -> None:
        params = PARAMS
        for _ in range(n):
            echo_body(**params)

    out["plain call"] = plain

    runtime = echo_runtime(contract=ResourceContract(max_calls=10**12, max_money="1000000"))
    skill_input = runtime.registry.skills["echo"].input_model

    def validate_call(n: int) -> None:
        params, validate = PARAMS, skill_input.model_validate
        for _ in range(n):
            model = validate(params)
            echo_body(model.x, model.s)

    out["model_validate + call"] = validate_call

    first = runtime.execute("echo", PARAMS)
    assert first.ok and first.output == PARAMS, first

    def aos_execute(n: int) -> None:
        execute, params = runtime.execute, PARAMS
        for _ in range(n):
            execute("echo", params)

    out["AOS Runtime.execute"] = aos_execute

    loop = asyncio.new_event_loop()

    async def aos_aexecute_n(n: int) -> None:
        aexecute, params = runtime.aexecute, PARAMS
        for _ in range(n):
            await aexecute("echo", params)

    out["AOS Runtime.aexecute (in a running loop)"] = lambda n: loop.run_until_complete(aos_aexecute_n(n))

    try:
        from langchain_core.tools import tool

        @tool
        def echo(x: int, s: str) -> dict[str, Any]:
            """Return the parameters."""
            return echo_body(x, s)

        assert echo.invoke(PARAMS) == PARAMS

        def langchain(n: int) -> None:
            invoke, params = echo.invoke, PARAMS
            for _ in range(n):
                invoke(params)

        out["langchain-core @tool .invoke"] = langchain
    except ImportError as exc:
        notes.append(f"langchain-core not available: {exc}")

    try:
        manager, call, no_threads = _pydantic_ai(loop)

        async def handle_n(n: int) -> None:
            handle = manager.handle_call
            for _ in range(n):
                await handle(call())

        async def handle_inline_n(n: int) -> None:
            handle = manager.handle_call
            with no_threads():
                for _ in range(n):
                    await handle(call())

        out["pydantic-ai ToolManager.handle_call (sync tool, default: thread)"] = lambda n: loop.run_until_complete(
            handle_n(n)
        )
        out["pydantic-ai ToolManager.handle_call (disable_threads: inline)"] = lambda n: loop.run_until_complete(
            handle_inline_n(n)
        )
    except ImportError as exc:
        notes.append(f"pydantic-ai not available: {exc}")

    def close() -> None:
        runtime.close()
        loop.close()

    return out, notes, close


def _pydantic_ai(loop: asyncio.AbstractEventLoop) -> tuple[Any, Any, Any]:
    from pydantic_ai import RunContext
    from pydantic_ai._utils import disable_threads
    from pydantic_ai.messages import ToolCallPart
    from pydantic_ai.models.test import TestModel
    from pydantic_ai.tool_manager import ToolManager
    from pydantic_ai.toolsets import FunctionToolset
    from pydantic_ai.usage import RunUsage

    def echo(x: int, s: str) -> dict[str, Any]:
        """Return the parameters."""
        return echo_body(x, s)

    async def prepare() -> Any:
        ctx = RunContext(deps=None, model=TestModel(), usage=RunUsage())
        return await ToolManager(FunctionToolset([echo])).for_run_step(ctx)

    manager = loop.run_until_complete(prepare())

    def call() -> Any:
        return ToolCallPart(tool_name="echo", args=dict(PARAMS), tool_call_id="call-1")

    result = loop.run_until_complete(manager.handle_call(call()))
    assert result == PARAMS, result
    return manager, call, disable_threads


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch-seconds", type=float, default=0.05)
    args = parser.parse_args()
    funcs, notes, close = variants()
    sizes = {name: calibrate(fn, args.batch_seconds) for name, fn in funcs.items()}
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(args.rounds):
        for name, fn in funcs.items():
            samples[name].append(per_call_us(fn, sizes[name]))
    close()
    rows = [row(name, "µs/call", values, calls_per_sample=sizes[name]) for name, values in samples.items()]
    emit("execute", rows, notes)


if __name__ == "__main__":
    main()
