"""`aos serve`, `aos worker` and `aos keys`: parse, call, render. Nothing heavy is imported until a command
runs (FastAPI and uvicorn only in `serve`), so `aos --help` stays as fast as before."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

__all__ = ["keys", "serve", "worker"]


def _fail(message: str, code: int = 2) -> NoReturn:
    """Stop the command: `aos`'s error handler prints `aos: MESSAGE` and, with `--json`, the
    error object (exit 2: `USAGE_ERROR`)."""
    failure = click.ClickException(message)
    failure.exit_code = code  # type: ignore[misc]  # click declares it on the class; each failure has its own
    raise failure


def _store(store: str | None) -> str:
    from aos_server.settings import store_url

    try:
        return store_url(store)
    except ValueError as exc:
        _fail(str(exc))


store_option = click.option(
    "--store",
    envvar="AOS_STORE",
    default=None,
    metavar="PATH|URL",
    help="Run store: an SQLite file or directory, sqlite:///PATH, postgresql://... (default: $AOS_HOME/runs.sqlite3).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine output: JSON on stdout only.")


def runtime_options(command: Any) -> Any:
    """`--config`, `--profile` and `--plugin`: how the server and every worker build their runtimes
    (give them all the same)."""
    command = click.option(
        "--plugin", "plugins", multiple=True, metavar="MODULE:ATTR", help="Also load this plugin object (repeatable)."
    )(command)
    command = click.option(
        "--profile",
        "profile_path",
        type=click.Path(dir_okay=False, exists=True),
        default=None,
        help="Base agent profile JSON of every run.",
    )(command)
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, exists=True),
        default=None,
        help="Runtime configuration TOML.",
    )(command)


def _profile(path: str | None) -> Any:
    """The base profile: the JSON file at `path`, or the default one."""
    from aos_core import AgentProfile

    return AgentProfile.model_validate_json(Path(path).read_text("utf-8")) if path else AgentProfile()


@click.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to bind; 0.0.0.0 opens it to the network."
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(0, 64), help="Worker processes.")
@click.option(
    "--concurrency", default=8, show_default=True, type=click.IntRange(1, 1024), help="Runs per worker at once."
)
@click.option(
    "--drain-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0),
    help="On SIGTERM: seconds in-flight steps may take before they are interrupted.",
)
@click.option(
    "--shutdown-timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Then: seconds open connections (event streams) get before they are closed.",
)
@store_option
@runtime_options
@click.option(
    "--lease",
    "lease_s",
    default=15.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds a run's lease lasts unrenewed.",
)
@click.option(
    "--queue",
    default="aos_runs",
    show_default=True,
    help="postgresql:// store: the DBOS queue submitted runs go to; workers take them with the same --queue.",
)
@click.option(
    "--access-log/--no-access-log", default=True, show_default=True, help="Log each request (method, path, status)."
)
@click.option(
    "--metrics/--no-metrics",
    default=True,
    show_default=True,
    help="Prometheus metrics on GET /metrics (every worker's, summed).",
)
@click.option(
    "--key-secret",
    "key_secrets",
    multiple=True,
    metavar="NAME",
    help="A secret keys without admin scope may name as ${secrets.NAME} (repeatable); by default none.",
)
def serve(**options: Any) -> None:
    """Serve the runtime over HTTP, with a pool of workers running submitted runs."""
    from pydantic import ValidationError

    from aos_server.db import is_postgres
    from aos_server.settings import ServerSettings

    try:
        profile = _profile(options["profile_path"])
        settings = ServerSettings(
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            concurrency=options["concurrency"],
            drain_timeout_s=options["drain_timeout"],
            shutdown_timeout_s=options["shutdown_timeout"],
            store=_store(options["store"]),
            config=options["config_path"],
            profile=profile,
            plugins=tuple(options["plugins"]),
            lease_s=options["lease_s"],
            access_log=options["access_log"],
            metrics=options["metrics"],
            queue=options["queue"],
            key_secrets=tuple(options["key_secrets"]),
        )
    except (ValidationError, OSError, ValueError) as exc:
        _fail(f"cannot serve: {' '.join(str(exc).split())[:300]}")
    postgres = is_postgres(settings.store)
    if settings.queue != "aos_runs" and not postgres:
        _fail("--queue names a postgresql:// store's DBOS queue; an SQLite store's server runs its own workers")
    if settings.workers and postgres:
        _fail(
            "with a postgresql:// store, aos serve only accepts and answers: give --workers 0 and start "
            "'aos worker --store URL' processes (on this machine or others) to execute runs"
        )
    from aos_server.serve import run_server

    sys.exit(run_server(settings))


@click.command()
@click.option(
    "--store",
    envvar="AOS_STORE",
    required=True,
    metavar="URL",
    help="The run store every worker and the server share: postgresql://USER@HOST[:PORT]/DB[?schema=NAME].",
)
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 1024), help="Runs at once.")
@click.option("--queue", default="aos_runs", show_default=True, help="The DBOS queue to take runs from.")
@click.option(
    "--drain-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0),
    help="On SIGTERM: seconds in-flight steps may take before their runs are interrupted and handed back.",
)
@click.option(
    "--poll",
    "poll_s",
    default=0.1,
    show_default=True,
    type=click.FloatRange(0.01),
    help="Seconds between two looks at the queue while this worker has room for more runs.",
)
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None, help="Serve /metrics on this port.")
@runtime_options
@click.option(
    "--lease",
    "lease_s",
    default=15.0,
    show_default=True,
    type=click.FloatRange(0.5),
    help="Seconds a run's lease and a worker's heartbeat last unrenewed; then another worker takes over.",
)
def worker(**options: Any) -> None:
    """Execute queued runs from a PostgreSQL store until SIGTERM (then drain)."""
    from pydantic import ValidationError

    from aos_server.settings import ServerSettings

    store = options["store"]
    if not store.startswith(("postgresql://", "postgres://")):
        _fail("aos worker needs a shared postgresql:// store (--store or AOS_STORE); with SQLite use aos serve")
    try:
        profile = _profile(options["profile_path"])
        settings = ServerSettings(
            workers=0,
            concurrency=options["concurrency"],
            drain_timeout_s=options["drain_timeout"],
            store=store,
            config=options["config_path"],
            profile=profile,
            plugins=tuple(options["plugins"]),
            lease_s=options["lease_s"],
            poll_s=options["poll_s"],
            metrics=options["metrics_port"] is not None,
        )
    except (ValidationError, OSError, ValueError) as exc:
        _fail(f"cannot start a worker: {' '.join(str(exc).split())[:300]}")
    from aos_server.dbos_worker import run_worker

    sys.exit(run_worker(settings, options["queue"], options["metrics_port"]))


@click.group()
def keys() -> None:
    """Create, list and revoke the API keys of aos serve."""


def _key_store(store: str | None) -> Any:
    from aos_core import Runtime
    from aos_server.db import open_database
    from aos_server.keys import KeyStore

    path = _store(store)  # a StoreError goes on to aos's error handler: STORE_ERROR, with --json too
    with Runtime(entry_points=False, store=path) as runtime:
        runtime.store  # noqa: B018 - opening it creates the core's schema before the server's tables
    return KeyStore(open_database(path))


def _shown(key: Any) -> dict[str, Any]:
    return key.model_dump(mode="json", exclude={"key_id"})


@keys.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(["read", "run", "admin"]), default="run", show_default=True)
@click.option(
    "--contract",
    "contract_path",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="The key's own budget: a ResourceContract JSON file.",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(0),
    default=100.0,
    show_default=True,
    help="Requests per second (0: unlimited).",
)
@store_option
@json_option
def create(
    name: str, scope: str, contract_path: str | None, rate_limit: float, store: str | None, as_json: bool
) -> None:
    """Create key NAME and print it, once: only its hash is kept."""
    from pydantic import ValidationError

    from aos_core import ResourceContract
    from aos_server.keys import KeyProblem

    contract = None
    if contract_path:
        try:
            contract = ResourceContract.model_validate_json(Path(contract_path).read_text("utf-8"))
        except (ValidationError, OSError, ValueError) as exc:
            _fail(f"--contract {contract_path}: {' '.join(str(exc).split())[:300]}")
    try:
        key, secret = _key_store(store).create(name, scope, contract, rate_limit or None)
    except KeyProblem as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps({**_shown(key), "secret": secret}, sort_keys=True))
        return
    click.echo(f"key {key.name} (scope {key.scope}) created; it is shown this once, only its hash is kept:")
    click.echo(f"  {secret}")
    click.echo("send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'")


@keys.command("list")
@store_option
@json_option
def list_(store: str | None, as_json: bool) -> None:
    """List keys (never their secrets)."""
    found = _key_store(store).all()
    if as_json:
        click.echo(json.dumps({"keys": [_shown(k) for k in found]}, sort_keys=True))
        return
    if not found:
        click.echo("no keys; create one with: aos keys create NAME --scope admin")
    for key in found:
        state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
        budget = f" budget {key.contract.id}" if key.contract else ""
        rate = f" {key.rate_limit:g}/s" if key.rate_limit else " unlimited"
        click.echo(f"{key.name:<24} {key.scope:<6} {state:<10} created {key.created_at}{rate}{budget}")


@keys.command("revoke")
@click.argument("name")
@store_option
@json_option
def revoke(name: str, store: str | None, as_json: bool) -> None:
    """Revoke key NAME: its next request is refused."""
    from aos_server.keys import KeyProblem

    try:
        key = _key_store(store).revoke(name)
    except KeyProblem as exc:
        _fail(str(exc))
    click.echo(json.dumps(_shown(key), sort_keys=True) if as_json else f"key {name} revoked")
