"""`aos demo`: simulate, run and replay a plan that uses all three first-party skills, offline.

It starts a small inventory service on 127.0.0.1 and, unless ANTHROPIC_API_KEY is set, a local
endpoint that answers like the Anthropic Messages API; the run is recorded in the store like any
other, so `aos show RUN` and `aos replay RUN` work on it afterwards.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click

from aos_core.cli.io import emit, exit_code_for, fail, render_outcome
from aos_core.cli.options import json_option

INVENTORY = {
    "warehouse": "north",
    "items": [
        {"sku": "A-100", "name": "copper wire", "stock": 3},
        {"sku": "B-220", "name": "steel bolts", "stock": 140},
        {"sku": "C-310", "name": "solder paste", "stock": 1},
        {"sku": "D-400", "name": "heat shrink", "stock": 57},
    ],
}
NEEDED = ("http_call", "json_transform", "llm_invoke")


class _Inventory(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(INVENTORY).encode() if self.path == "/inventory" else b'{"error": "not found"}'
        self.send_response(200 if self.path == "/inventory" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def _inventory_service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Inventory)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="aos-demo-inventory", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def demo_plan(base_url: str) -> dict[str, Any]:
    """The demo's plan: fetch the inventory, select low stock, ask Claude for a note."""
    return {
        "version": 1,
        "goal": "Tell the store manager which items are running low",
        "steps": [
            {"id": "fetch", "skill": "http_call", "params": {"method": "GET", "url": f"{base_url}/inventory"}},
            {
                "id": "low_stock",
                "skill": "json_transform",
                "params": {"expression": "body.items[?stock < `10`].name", "data": "${steps.fetch.output}"},
            },
            {
                "id": "note",
                "skill": "llm_invoke",
                "params": {
                    "prompt": "In one sentence, tell the store manager these items are low on stock: "
                    "${steps.low_stock.output.result}",
                    "max_tokens": 200,
                },
            },
        ],
    }


@click.command()
@click.option("--store", type=click.Path(path_type=Path), default=None, help="Run store (default: $AOS_HOME).")
@json_option
def demo(store: Path | None, as_json: bool) -> None:
    """Run the offline demo: simulate, run and replay a three-skill plan.

    Starts a local inventory service and, unless ANTHROPIC_API_KEY is set, a local Messages-API
    endpoint: nothing leaves the machine. The run is recorded, so `aos show`, `aos replay` and
    `aos query` work on it afterwards.

    \b
    Examples:
      aos demo
      aos demo --json | python -m json.tool
    """
    from aos_core.contracts.profile import AgentProfile, NetworkPolicy, Policy
    from aos_core.contracts.resources import ResourceContract
    from aos_core.runtime import Runtime

    say = (lambda text: None) if as_json else click.echo
    with ExitStack() as stack:
        inventory = stack.enter_context(_inventory_service())
        port = inventory.rsplit(":", 1)[1]
        skills_config: dict[str, Any] = {}
        if os.environ.get("ANTHROPIC_API_KEY"):
            where = "Anthropic (ANTHROPIC_API_KEY is set)"
        else:
            from aos_core.testing.messages_api import MessagesAPIServer

            fake = stack.enter_context(MessagesAPIServer())
            skills_config["llm_invoke"] = {"base_url": fake.url, "api_key": "demo-local-key"}
            where = f"a local Messages-API endpoint at {fake.url}"
        profile = AgentProfile(
            name="demo",
            policy=Policy(network=NetworkPolicy(allow=(f"127.0.0.1:{port}",))),
            contract=ResourceContract(
                id="demo", max_money=Decimal("0.05"), max_calls=10, max_output_tokens=1_000, max_wall_time_ms=120_000
            ),
        )
        if store is not None and (store.is_dir() or not store.suffix):
            store = store / "runs.sqlite3"
        runtime = stack.enter_context(Runtime(profile=profile, config={"skills": skills_config}, store=store))
        missing = [name for name in NEEDED if name not in runtime.skills]
        if missing:
            fail(
                f"the demo needs {', '.join(missing)}; pip install aos-skill-http aos-skill-json aos-skill-llm",
                exit_code_for("PERMANENT"),
                as_json=False,
            )
        plan = demo_plan(inventory)
        say(f"AOS demo: inventory service at {inventory}, language model via {where}\n")
        report = runtime.simulate(plan).model_dump(mode="json")
        worst = report["cost"]["worst"]
        say(
            f"1. simulate: feasible={report['feasible']}, worst case {worst['money']} {worst['currency']} "
            f"({worst['calls']} calls, {worst['output_tokens']} output tokens) against max_money 0.05"
        )
        result = runtime.run(plan).model_dump(mode="json")
        say(f"\n2. run {result['run_id']}: {result['status']}")
        for outcome in result["outcomes"].values():
            say("   " + render_outcome(outcome).replace("\n", "\n   "))
        spent = result["spent"]
        say(
            f"   spent {spent['money']} {spent['currency']}, {spent['calls']} calls, tokens {spent['input_tokens']}/"
            f"{spent['output_tokens']}"
        )
        replayed = runtime.replay(result["run_id"]).model_dump(mode="json") if result["run_id"] else None
        if replayed is not None:
            verdict = "matched byte for byte" if replayed["matched"] else f"DIVERGED: {replayed['error']['message']}"
            say(
                f"\n3. replay {result['run_id']}: {verdict}; re-executed {', '.join(replayed['reexecuted']) or 'none'}"
                f"; canonical trace sha256 {replayed['trace_sha256']}"
            )
            say(f"\nNext: aos show {result['run_id']} --trace   |   aos replay {result['run_id']}")
    if as_json:
        emit({"simulation": report, "run": result, "replay": replayed})
    if not result["ok"]:
        error = result["error"] or result["outcomes"][result["failed_step"]]["error"]
        fail(
            f"the demo run failed: {error['code']}: {error['message']}", exit_code_for(error["category"]), as_json=False
        )
    if replayed is None or not replayed["matched"]:
        fail("the demo replay did not match", exit_code_for("PERMANENT"), as_json=False)
