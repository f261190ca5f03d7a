"""`aos mcp serve`: the installed skills as MCP tools, each call an AOS run.

Every skill the policy allows is offered as a tool with its input and output schemas and
annotations derived from its metadata (read-only for side effects none/read, destructive,
idempotent, open-world for network). A call becomes a one-step run under the server's contract
(one account for every call, so its budget covers the whole server), its policy and approvals,
recorded in the run store. A failed outcome is a tool error (`isError`) whose text and structured
content carry the code, category, message and recovery; the run id is in `_meta`.

With `--plans`, two more tools take a whole plan: `aos.simulate` (feasibility, cost and latency,
nothing run) and `aos.run` (a recorded run; its `RunResult`). Their names hold a dot, which no
skill name can, so they never shadow a skill.

Arguments that name `${secrets.NAME}` (and, outside a plan, `${steps...}`) are refused: an MCP
client must not make the runtime read its secrets into a call it chooses. Imported only by
`aos mcp serve`.
"""

from __future__ import annotations

import json
import socket
import sys
from dataclasses import dataclass
from typing import Any

import click

from aos_core import AgentProfile, ResourceContract, Runtime, SkillMetadata, StructuredOutcome, failure_catalog

__all__ = [
    "DEFAULT_CONTRACT_ID",
    "RUN",
    "SIMULATE",
    "ServeOptions",
    "build_runtime",
    "build_server",
    "plan_tools",
    "serve_forever",
    "tool_of",
]

DEFAULT_CONTRACT_ID = "mcp-serve"
SIMULATE, RUN = "aos.simulate", "aos.run"
_REFUSED_REFS = ("${secrets.", "${steps.")


@dataclass(frozen=True)
class ServeOptions:
    """What `aos mcp serve` was asked for."""

    http: bool = False
    host: str = "127.0.0.1"
    port: int = 8765
    contract: Any = None  # ResourceContract JSON
    profile: Any = None  # AgentProfile JSON
    approve: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    store: str | None = None
    config: Any = None  # RuntimeConfig
    plans: bool = False  # offer aos.simulate and aos.run


def build_runtime(options: ServeOptions) -> Runtime:
    """The runtime every call runs on; a usage error for a bad contract, profile or skill name."""
    from pydantic import ValidationError

    try:
        profile = AgentProfile.model_validate(options.profile or {})
        contract = ResourceContract.model_validate(options.contract or profile.contract.model_dump())
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise click.UsageError(f"--contract/--profile: {where}: {first['msg']}") from None
    if contract.id is None:
        contract = contract.model_copy(update={"id": DEFAULT_CONTRACT_ID})
    if options.approve:
        policy = profile.policy.model_copy(update={"approved": (*profile.policy.approved, *options.approve)})
        profile = profile.model_copy(update={"policy": policy})
    runtime = Runtime(profile=profile, contract=contract, config=options.config, store=options.store)
    unknown = sorted(set(options.skills) - set(runtime.skills))
    if unknown:
        runtime.close()
        raise click.UsageError(f"--skill: no skill named {', '.join(unknown)}; `aos skills` lists them")
    return runtime


def offered(runtime: Runtime, only: tuple[str, ...] = ()) -> dict[str, SkillMetadata]:
    """The skills served: those the policy allows (and, with `only`, named there)."""
    policy = runtime.profile.policy
    return {
        name: meta
        for name, meta in runtime.skills.items()
        if name not in policy.deny_skills
        and (policy.allow_skills is None or name in policy.allow_skills)
        and (not only or name in only)
    }


def tool_of(meta: SkillMetadata) -> Any:
    """The MCP tool that offers skill `meta`."""
    import mcp_types as types

    changes_nothing = meta.side_effects.value in ("none", "read")
    annotations = types.ToolAnnotations(
        title=meta.name,
        read_only_hint=changes_nothing,
        destructive_hint=meta.side_effects.value == "destructive",
        idempotent_hint=meta.idempotent or changes_nothing,
        open_world_hint=meta.network,
    )
    output = meta.output_schema if (meta.output_schema or {}).get("type") == "object" else None
    return types.Tool(
        name=meta.name,
        description=meta.description,
        input_schema=meta.input_schema or {"type": "object"},
        output_schema=output,
        annotations=annotations,
    )


def plan_tools() -> dict[str, Any]:
    """`aos.simulate` and `aos.run`: a whole plan per call."""
    import mcp_types as types

    from aos_core import Plan

    schema = {"type": "object", "properties": {"plan": Plan.model_json_schema()}, "required": ["plan"]}
    return {
        SIMULATE: types.Tool(
            name=SIMULATE,
            description="Check a plan and estimate its cost and latency under this server's contract; runs nothing.",
            input_schema=schema,
            annotations=types.ToolAnnotations(title=SIMULATE, read_only_hint=True, open_world_hint=False),
        ),
        RUN: types.Tool(
            name=RUN,
            description="Run a plan under this server's contract and policy, recorded and replayable.",
            input_schema=schema,
            annotations=types.ToolAnnotations(title=RUN, read_only_hint=False, destructive_hint=True),
        ),
    }


def build_server(runtime: Runtime, only: tuple[str, ...] = (), *, plans: bool = False) -> Any:
    """An MCP server (the SDK's low-level `Server`) over `runtime`."""
    import mcp_types as types
    from mcp.server.lowlevel import Server
    from mcp.shared.exceptions import MCPError

    from aos_core import __version__

    tools = {name: tool_of(meta) for name, meta in offered(runtime, only).items()}
    if plans:
        tools.update(plan_tools())

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=list(tools.values()))

    async def call_tool(ctx: Any, params: Any) -> Any:
        if params.name not in tools:
            raise MCPError(
                types.INVALID_PARAMS, f"Unknown tool: {params.name}; tools/list names the {len(tools)} offered"
            )
        arguments = dict(params.arguments or {})
        try:
            if params.name in (SIMULATE, RUN):
                return await run_plan(runtime, params.name, arguments.get("plan"))
            return await run_call(runtime, params.name, arguments)
        except Exception as exc:  # noqa: BLE001 - a failure of AOS itself is still a tool error, never a traceback
            return _error_result(_internal(exc), None)

    return Server(
        "aos",
        version=__version__,
        instructions="AOS skills: every call runs under a budget and a policy, and is recorded as a replayable run.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def run_call(runtime: Runtime, skill: str, arguments: dict[str, Any]) -> Any:
    """One tool call as a one-step run; its `CallToolResult`."""
    import mcp_types as types

    text = json.dumps(arguments)
    if any(ref in text for ref in _REFUSED_REFS):
        return _refused("arguments may not contain ${secrets...} or ${steps...} references over MCP")
    plan = {
        "version": 1,
        "goal": f"MCP call of {skill}",
        "steps": [{"id": "call", "skill": skill, "params": arguments}],
    }
    result = await runtime.arun(plan)
    outcome = result.outcomes.get("call")
    meta: dict[str, Any] = {"aos/run_id": result.run_id}
    if outcome is not None and outcome.ok:
        payload = outcome.output
        meta["aos/cost"] = outcome.cost.model_dump(mode="json")
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(payload, sort_keys=True))],
            structured_content=payload if isinstance(payload, dict) else None,
            is_error=False,
            _meta=meta,
        )
    error = outcome.error if outcome is not None else result.error
    return _error_result(_error_payload(error, outcome), result.run_id or None)


async def run_plan(runtime: Runtime, tool: str, plan: Any) -> Any:
    """`aos.simulate` or `aos.run` of `plan`: the report or the run's result as structured content."""
    import mcp_types as types

    if "${secrets." in json.dumps(plan):
        return _refused("plans may not contain ${secrets...} references over MCP")
    if tool == SIMULATE:
        report = runtime.simulate(plan if isinstance(plan, dict) else {})
        payload, failed, run_id = report.model_dump(mode="json"), not report.feasible, None
    else:
        result = await runtime.arun(plan if isinstance(plan, dict) else {})
        payload, failed, run_id = result.model_dump(mode="json"), not result.ok, result.run_id or None
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(payload, sort_keys=True))],
        structured_content=payload,
        is_error=failed,
        _meta={"aos/run_id": run_id},
    )


def _refused(message: str) -> Any:
    payload = {
        "code": "INVALID_INPUT",
        "category": "VALIDATION",
        "message": message,
        "recovery": "Pass literal values.",
    }
    return _error_result(payload, None)


def _internal(exc: Exception) -> dict[str, Any]:
    text = " ".join(str(exc).split())[:300]
    return {
        "code": "SKILL_CRASHED",
        "category": "PERMANENT",
        "message": f"AOS failed internally while serving the call: {type(exc).__name__}: {text}",
        "recovery": "Report it with the message; `aos runs` shows what was recorded.",
    }


def _error_payload(error: Any, outcome: StructuredOutcome | None) -> dict[str, Any]:
    if error is None:  # a run that stopped without a step outcome and without a reason: should not happen
        return {
            "code": "SKILL_CRASHED",
            "category": "PERMANENT",
            "message": "the run ended without an outcome",
            "recovery": "",
        }
    payload: dict[str, Any] = error.model_dump(mode="json")
    if not payload.get("recovery"):
        entry = next(e for e in failure_catalog() if e.code == error.code)
        payload["recovery"] = entry.recovery
    if outcome is not None:
        payload["cost"] = outcome.cost.model_dump(mode="json")
    return payload


def _error_result(payload: dict[str, Any], run_id: str | None) -> Any:
    import mcp_types as types

    line = f"{payload['code']} ({payload['category']}): {payload['message']}"
    if payload.get("recovery"):
        line += f"\nrecovery: {payload['recovery']}"
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=line)],
        structured_content={"ok": False, "error": payload, "run_id": run_id},
        is_error=True,
        _meta={"aos/run_id": run_id},
    )


def serve_forever(options: ServeOptions) -> None:
    """Serve until the client goes away (stdio) or the process is stopped (--http)."""
    import anyio

    runtime = build_runtime(options)
    server = build_server(runtime, options.skills, plans=options.plans)
    try:
        if options.http:
            anyio.run(_serve_http, server, options, len(offered(runtime, options.skills)))
        else:
            anyio.run(_serve_stdio, server)
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()


async def _serve_stdio(server: Any) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def _serve_http(server: Any, options: ServeOptions, count: int) -> None:
    import uvicorn

    listener = socket.socket(socket.AF_INET6 if ":" in options.host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((options.host, options.port))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}") from None
    port = listener.getsockname()[1]
    app = server.streamable_http_app(host=options.host)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    url = f"http://{options.host}:{port}/mcp"
    click.echo(json.dumps({"url": url, "tools": count}))
    click.echo(f"aos: serving {count} skill(s) over MCP at {url} (Ctrl-C stops)", err=True)
    sys.stdout.flush()
    await uvicorn.Server(config).serve(sockets=[listener])
