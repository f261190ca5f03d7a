"""A small MCP server for the tests, on the MCP SDK's own `MCPServer`: it writes one line per start
and per tool call to the log file it is given, so a test can prove what reached it.

    python peer_server.py --log FILE [--http PORT]    (stdio by default)
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True)
parser.add_argument("--http", type=int, default=None)
args = parser.parse_args()
log = Path(args.log)


def note(line: str) -> None:
    with log.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


note(f"start {os.getpid()}")
server = MCPServer("peer", version="1.2.3")
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
READS = ToolAnnotations(read_only_hint=True, open_world_hint=False)


@server.tool(name="count", description="Count this call.", annotations=WRITES)
def count(label: str = "x") -> dict[str, object]:
    note(f"call count {label}")
    calls = sum(1 for line in log.read_text("utf-8").splitlines() if line.startswith("call count"))
    return {"calls": calls, "label": label}


@server.tool(name="crash", description="Exit the process in the middle of the call.", annotations=READS)
def crash() -> str:
    note("call crash")
    import sys

    sys.stderr.write("peer: crashing on purpose\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool(name="fail", description="Report a failure (isError).", annotations=READS)
def fail(reason: str) -> str:
    note("call fail")
    raise ToolError(reason)


@server.tool(name="echo_env", description="Return an environment variable of the server.", annotations=READS)
def echo_env(name: str) -> str:
    note("call echo_env")
    return f"{name}={os.environ.get(name, '')}"


@server.tool(name="slow", description="Sleep, then answer.", annotations=READS)
def slow(seconds: float) -> str:
    note("call slow")
    time.sleep(seconds)
    return "done"


if args.http:
    server.run("streamable-http", host="127.0.0.1", port=args.http)
else:
    server.run()
