"""`aos mcp serve` driven by the MCP SDK's own client, over stdio and over streamable HTTP: tools
with annotations from the skills' metadata, calls recorded as runs, a budget refusal, and a
failure's error payload (code, category, recovery)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp_peers import free_port

from aos_core import Runtime

CONTRACT = json.dumps({"max_calls": 2})


def _serve_args(*extra: str) -> list[str]:
    return ["-m", "aos_core", "mcp", "serve", "--contract", CONTRACT, *extra]


async def _session(client: Client) -> dict[str, Any]:
    """List, call twice (one failing) and once more over the budget."""
    listed = await client.list_tools()
    ok = await client.call_tool("json_transform", {"expression": "items[0].name", "data": {"items": [{"name": "a"}]}})
    bad = await client.call_tool("json_transform", {"expression": "items[?", "data": {}})
    over = await client.call_tool("json_transform", {"expression": "a", "data": {"a": 1}})
    refs = await client.call_tool("json_transform", {"expression": "a", "data": {"a": "${secrets.HOME}"}})
    return {"tools": {t.name: t for t in listed.tools}, "ok": ok, "bad": bad, "over": over, "refs": refs}


def _check(seen: dict[str, Any], home: Path) -> None:
    tools = seen["tools"]
    transform, http = tools["json_transform"], tools["http_call"]
    assert transform.annotations.read_only_hint is True and transform.annotations.open_world_hint is False
    assert http.annotations.read_only_hint is False and http.annotations.open_world_hint is True
    assert http.annotations.destructive_hint is False and http.annotations.idempotent_hint is False
    assert transform.input_schema["required"] == ["expression", "data"]
    ok, bad, over = seen["ok"], seen["bad"], seen["over"]
    assert not ok.is_error and ok.structured_content == {"result": "a"}
    assert bad.is_error
    error = bad.structured_content["error"]
    assert (error["code"], error["category"]) == ("INVALID_INPUT", "VALIDATION") and error["recovery"]
    assert bad.content[0].text.startswith("INVALID_INPUT (VALIDATION): ") and "recovery: " in bad.content[0].text
    assert over.is_error and over.structured_content["error"]["code"] == "BUDGET_EXCEEDED"
    assert over.structured_content["error"]["details"]["limit"] == "max_calls"
    assert seen["refs"].structured_content["error"]["code"] == "INVALID_INPUT"  # no secret read for a client
    with Runtime(store=home / "runs.sqlite3", entry_points=False) as runtime:
        runs = {r.run_id: r for r in runtime.runs()}
    for result in (ok, bad, over):
        assert result.meta["aos/run_id"] in runs  # every call is a recorded run
    assert runs[ok.meta["aos/run_id"]].status == "completed"


def test_serve_over_stdio(tmp_path: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=_serve_args(), env={"AOS_HOME": str(tmp_path)})

    async def session() -> dict[str, Any]:
        async with Client(params) as client:
            return await _session(client)

    _check(asyncio.run(asyncio.wait_for(session(), 60)), tmp_path)


def test_serve_over_streamable_http(tmp_path: Path) -> None:
    env = {**os.environ, "AOS_HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, *_serve_args("--http", "--port", "0")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        announced = json.loads(process.stdout.readline())
        assert announced["url"].startswith("http://127.0.0.1:") and announced["tools"] >= 3

        async def session() -> dict[str, Any]:
            async with Client(announced["url"]) as client:
                return await _session(client)

        _check(asyncio.run(asyncio.wait_for(session(), 60)), tmp_path)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_refuses_a_port_in_use(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "aos_core", "mcp", "serve", "--http", "--port", str(port)],
            capture_output=True, text=True, timeout=60, env={**os.environ, "AOS_HOME": str(tmp_path)}, check=False,
        )  # fmt: skip
    assert done.returncode != 0 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_offers_plans_as_tools(tmp_path: Path) -> None:
    """With --plans: aos.simulate estimates a plan without running it, aos.run runs and records it."""
    args = ["-m", "aos_core", "mcp", "serve", "--plans", "--skill", "json_transform"]
    params = StdioServerParameters(command=sys.executable, args=args, env={"AOS_HOME": str(tmp_path)})
    plan = {
        "version": 1,
        "goal": "pick then reshape",
        "steps": [
            {"id": "pick", "skill": "json_transform", "params": {"expression": "a", "data": {"a": {"b": 2}}}},
            {
                "id": "b",
                "skill": "json_transform",
                "params": {"expression": "b", "data": "${steps.pick.output.result}"},
            },
        ],
    }

    async def session() -> tuple[Any, ...]:
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            simulated = await client.call_tool("aos.simulate", {"plan": plan})
            ran = await client.call_tool("aos.run", {"plan": plan})
            leaky = await client.call_tool("aos.run", {"plan": {**plan, "goal": "${secrets.HOME}"}})
            return names, simulated, ran, leaky

    names, simulated, ran, leaky = asyncio.run(asyncio.wait_for(session(), 60))
    assert names == {"json_transform", "aos.simulate", "aos.run"}
    assert not simulated.is_error and simulated.structured_content["feasible"] is True
    assert simulated.structured_content["order"] == ["pick", "b"]
    assert not ran.is_error and ran.structured_content["outcomes"]["b"]["output"] == {"result": 2}
    with Runtime(store=tmp_path / "runs.sqlite3", entry_points=False) as runtime:
        assert ran.meta["aos/run_id"] in {r.run_id for r in runtime.runs()}
    assert leaky.is_error and leaky.structured_content["error"]["code"] == "INVALID_INPUT"
