"""Case 1: the cost of one call of a trivial sync skill, AOS against plain Python and peers.

Every variant dispatches to the same function, `echo_body(x: int, s: str) -> dict`, with the
same arguments `{"x": 1, "s": "a"}`:

- plain call: `echo_body(**params)`.
- model_validate + call: `EchoInput.model_validate(params)`, then the call.
- AOS `Runtime.execute`: the full pipeline (policy, input validation, budget reservation and
  settlement against a contract with limits (`max_calls`, `max_money`), the inline call, output
  validation and the serialised-size check, the outcome, history kept in memory), sync API,
  `blocking=False`; and the same on a Runtime whose contract sets no limit.
- AOS `Runtime.aexecute`: the same, awaited inside a running event loop.
- langchain-core: a `@tool` function, `.invoke(params)` (validation through its args schema).
- pydantic-ai, two levels of its tool dispatch, over a `FunctionToolset` prepared for a run step
  (no model round trip):
  - `ToolManager.handle_call(ToolCallPart(...))`: the call the agent graph makes for each tool
    call the model returns (argument validation, capability hooks, the call, retry bookkeeping).
    A sync tool runs in a worker thread there by default; `disable_threads()` runs it inline;
    an `async def` tool is awaited;
  - the tool dispatch itself, `args_validator.validate_python(args)` then
    `FunctionToolset.call_tool(name, args, ctx, tool)` (timeout check, the function schema's
    call): what issue 21 calls pydantic-ai's inline tool dispatch (a sync tool under
    `disable_threads()`) and its async tool dispatch (an `async def` tool).

Rounds interleave the variants, so every ratio compares figures taken under the same conditions.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from benchlib import calibrate, echo_body, echo_runtime, emit, per_call_us, row

PARAMS = {"x": 1, "s": "a"}


def variants() -> tuple[dict[str, Any], dict[str, str], list[str], Any]:
    """name -> fn(n) running n calls; name -> key; notes; a closer."""
    from aos_core import ResourceContract

    out: dict[str, Any] = {}
    keys: dict[str, str] = {}
    notes: list[str] = []

    def plain(n: int) -> None:
        params = PARAMS
        for _ in range(n):
            echo_body(**params)

    out["plain call"] = plain
    keys["plain call"] = "plain"

    runtime = echo_runtime(contract=ResourceContract(max_calls=10**12, max_money="1000000"))
    skill_input = runtime.registry.skills["echo"].input_model

    def validate_call(n: int) -> None:
        params, validate = PARAMS, skill_input.model_validate
        for _ in range(n):
            model = validate(params)
            echo_body(model.x, model.s)

    out["model_validate + call"] = validate_call
    keys["model_validate + call"] = "validate"

    first = runtime.execute("echo", PARAMS)
    assert first.ok and first.output == PARAMS, first

    def aos_execute(n: int) -> None:
        execute, params = runtime.execute, PARAMS
        for _ in range(n):
            execute("echo", params)

    out["AOS Runtime.execute (contract: max_calls, max_money)"] = aos_execute
    keys["AOS Runtime.execute (contract: max_calls, max_money)"] = "execute"

    unlimited = echo_runtime()
    assert unlimited.execute("echo", PARAMS).ok

    def aos_execute_unlimited(n: int) -> None:
        execute, params = unlimited.execute, PARAMS
        for _ in range(n):
            execute("echo", params)

    out["AOS Runtime.execute (no contract limits)"] = aos_execute_unlimited
    keys["AOS Runtime.execute (no contract limits)"] = "execute-unlimited"

    loop = asyncio.new_event_loop()

    async def aos_aexecute_n(n: int) -> None:
        aexecute, params = runtime.aexecute, PARAMS
        for _ in range(n):
            await aexecute("echo", params)

    out["AOS Runtime.aexecute (in a running loop)"] = lambda n: loop.run_until_complete(aos_aexecute_n(n))
    keys["AOS Runtime.aexecute (in a running loop)"] = "aexecute"

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
        keys["langchain-core @tool .invoke"] = "langchain"
    except ImportError as exc:
        notes.append(f"langchain-core not available: {exc}")

    try:
        for name, key, fn in _pydantic_ai(loop):
            out[name], keys[name] = fn, key
    except ImportError as exc:
        notes.append(f"pydantic-ai not available: {exc}")

    def close() -> None:
        runtime.close()
        unlimited.close()
        loop.close()

    return out, keys, notes, close


def _pydantic_ai(loop: asyncio.AbstractEventLoop) -> list[tuple[str, str, Any]]:
    """(name, key, fn(n)) of each pydantic-ai variant."""
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

    async def aecho(x: int, s: str) -> dict[str, Any]:
        """Return the parameters."""
        return echo_body(x, s)

    ctx = RunContext(deps=None, model=TestModel(), usage=RunUsage())

    async def prepare() -> tuple[Any, ...]:
        sync_set, async_set = FunctionToolset([echo]), FunctionToolset([aecho])
        sync_manager = await ToolManager(sync_set).for_run_step(ctx)
        async_manager = await ToolManager(async_set).for_run_step(ctx)
        sync_tool = (await sync_set.get_tools(ctx))["echo"]
        async_tool = (await async_set.get_tools(ctx))["aecho"]
        return sync_manager, async_manager, sync_set, async_set, sync_tool, async_tool

    sync_manager, async_manager, sync_set, async_set, sync_tool, async_tool = loop.run_until_complete(prepare())

    def handle(manager: Any, tool: str, inline: bool) -> Any:
        async def calls(n: int) -> None:
            handle_call, params = manager.handle_call, PARAMS
            if inline:
                with disable_threads():
                    for _ in range(n):
                        await handle_call(ToolCallPart(tool_name=tool, args=dict(params), tool_call_id="call-1"))
            else:
                for _ in range(n):
                    await handle_call(ToolCallPart(tool_name=tool, args=dict(params), tool_call_id="call-1"))

        return lambda n: loop.run_until_complete(calls(n))

    def dispatch(toolset: Any, tool: Any, name: str, inline: bool) -> Any:
        async def calls(n: int) -> None:
            validate, call_tool, params = tool.args_validator.validate_python, toolset.call_tool, PARAMS
            if inline:
                with disable_threads():
                    for _ in range(n):
                        await call_tool(name, validate(params), ctx, tool)
            else:
                for _ in range(n):
                    await call_tool(name, validate(params), ctx, tool)

        return lambda n: loop.run_until_complete(calls(n))

    found = [
        (
            "pydantic-ai ToolManager.handle_call (sync tool, default: thread)",
            "pai-handle-thread",
            handle(sync_manager, "echo", False),
        ),
        (
            "pydantic-ai ToolManager.handle_call (sync tool, disable_threads: inline)",
            "pai-handle-inline",
            handle(sync_manager, "echo", True),
        ),
        ("pydantic-ai ToolManager.handle_call (async tool)", "pai-handle-async", handle(async_manager, "aecho", False)),
        (
            "pydantic-ai tool dispatch: validate + FunctionToolset.call_tool (sync tool, inline)",
            "pai-inline",
            dispatch(sync_set, sync_tool, "echo", True),
        ),
        (
            "pydantic-ai tool dispatch: validate + FunctionToolset.call_tool (async tool)",
            "pai-async",
            dispatch(async_set, async_tool, "aecho", False),
        ),
    ]
    for manager, tool in ((sync_manager, "echo"), (async_manager, "aecho")):
        result = loop.run_until_complete(
            manager.handle_call(ToolCallPart(tool_name=tool, args=dict(PARAMS), tool_call_id="call-1"))
        )
        assert result == PARAMS, result
    for toolset, tool, name in ((sync_set, sync_tool, "echo"), (async_set, async_tool, "aecho")):
        with disable_threads():
            result = loop.run_until_complete(
                toolset.call_tool(name, tool.args_validator.validate_python(PARAMS), ctx, tool)
            )
        assert result == PARAMS, result
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch-seconds", type=float, default=0.05)
    args = parser.parse_args()
    funcs, keys, notes, close = variants()
    sizes = {name: calibrate(fn, args.batch_seconds) for name, fn in funcs.items()}
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(args.rounds):
        for name, fn in funcs.items():
            samples[name].append(per_call_us(fn, sizes[name]))
    close()
    rows = [
        row(name, "µs/call", values, key=keys[name], calls_per_sample=sizes[name]) for name, values in samples.items()
    ]
    emit("execute", rows, notes, paired=True)


if __name__ == "__main__":
    main()
