"""`aos memory`: put, get, search, delete and list items of the memory store."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import click

from aos_core.cli.io import emit, exit_code_for, fail, read_json_arg, table
from aos_core.cli.options import json_option


def _store_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--embedder",
        envvar="AOS_MEMORY_EMBEDDER",
        default=None,
        metavar="NAME",
        help="Rank searches by meaning with this embedder (hashing, all-minilm-l6-v2, or a plugin's).",
    )(func)
    return click.option(
        "--memory",
        "url",
        envvar="AOS_MEMORY",
        default=None,
        metavar="URL",
        help="Memory store: PATH, sqlite://PATH or postgresql://... (default: $AOS_HOME/memory.sqlite3).",
    )(func)


def _namespace(text: str, *, prefix: bool = False) -> list[str]:
    if text.startswith("["):
        value = read_json_arg(text, "PREFIX" if prefix else "NAMESPACE")
        if not isinstance(value, list):
            raise click.UsageError(f"{text!r}: a namespace in JSON is an array of strings")
        return value
    return [label for label in text.split("/") if label] if prefix else text.split("/")


def _shown(namespace: list[str]) -> str:
    """A namespace as the text commands print and take back: its labels joined by `/`, or, when
    that would read back as other labels (a label holding `/` or empty, a leading `[`), its JSON
    array: `["a/b","c"]` and `a/b/c` are two namespaces and print as two."""
    joined = "/".join(namespace)
    if all(label and "/" not in label for label in namespace) and not joined.startswith("["):
        return joined
    return json.dumps(namespace, ensure_ascii=False, separators=(",", ":"))


@contextlib.contextmanager
def _memory(url: str | None, embedder: str | None, as_json: bool) -> Iterator[Any]:
    """An open `Memory`; every memory error exits with its category's code and one line."""
    from aos_core.execution.clock import SystemClock
    from aos_core.memory import MemoryStoreError
    from aos_core.memory.urls import embedder_from_name, memory_from_url

    try:
        chosen = embedder_from_name(embedder) if embedder else None
        with memory_from_url(url, clock=SystemClock(), embedder=chosen) as memory:
            yield memory
    except MemoryStoreError as exc:
        from aos_core.contracts.errors import make_error

        error = make_error(exc.code, exc.message, details=exc.details)
        fail(
            f"{error.code.value}: {error.message}",
            exit_code_for(error.category.value),
            as_json=as_json,
            data={"ok": False, "error": error.model_dump(mode="json")},
        )


@click.group()
def memory() -> None:
    """Put, get, search and delete items of the memory store.

    Items are JSON values under a namespace (a path of labels) and a key. The store is
    AOS_MEMORY or --memory (default: $AOS_HOME/memory.sqlite3). Exit codes as for every
    command: 2 usage, 3 bad input, 6 the store did not answer.
    """


@memory.command()
@click.argument("namespace")
@click.argument("key")
@click.argument("value", metavar="VALUE")
@click.option("--ttl", type=float, default=None, metavar="SECONDS", help="Forget the item after this many seconds.")
@_store_options
@json_option
def put(
    namespace: str, key: str, value: str, ttl: float | None, url: str | None, embedder: str | None, as_json: bool
) -> None:
    """Store VALUE (JSON, @FILE or - for stdin) under NAMESPACE and KEY.

    NAMESPACE is labels joined by '/' (users/u1) or a JSON array ('["users", "u1"]').
    """
    data = read_json_arg(value, "VALUE")
    with _memory(url, embedder, as_json) as store:
        item = store.put(_namespace(namespace), key, data, ttl=ttl).model_dump(mode="json")
    if as_json:
        emit({"ok": True, "item": item})
    else:
        click.echo(f"stored {'/'.join(item['namespace'])} {item['key']}")


@memory.command()
@click.argument("namespace")
@click.argument("key")
@_store_options
@json_option
def get(namespace: str, key: str, url: str | None, embedder: str | None, as_json: bool) -> None:
    """Print the value under NAMESPACE and KEY (nothing, and item null in JSON, when there is none)."""
    with _memory(url, embedder, as_json) as store:
        item = store.get(_namespace(namespace), key)
    if as_json:
        emit({"ok": True, "item": None if item is None else item.model_dump(mode="json")})
    elif item is None:
        click.echo(f"aos: no item {key!r} in {namespace}", err=True)
    else:
        click.echo(json.dumps(item.value, indent=2, ensure_ascii=False))


@memory.command()
@click.argument("prefix", default="")
@click.option("-q", "--query", default=None, help="Words to find (ranked by relevance; by meaning with --embedder).")
@click.option(
    "--filter", "filter_", metavar="JSON|@FILE", default=None, help='Top-level fields to match: {"kind": "note"}.'
)
@click.option("--limit", type=int, default=10, show_default=True)
@click.option("--offset", type=int, default=0, show_default=True)
@_store_options
@json_option
def search(
    prefix: str,
    query: str | None,
    filter_: str | None,
    limit: int,
    offset: int,
    url: str | None,
    embedder: str | None,
    as_json: bool,
) -> None:
    """Find items under PREFIX (all when omitted), best match first."""
    wanted = read_json_arg(filter_, "--filter")
    with _memory(url, embedder, as_json) as store:
        hits = [
            h.model_dump(mode="json")
            for h in store.search(_namespace(prefix, prefix=True), query, wanted, limit, offset)
        ]
    if as_json:
        emit({"ok": True, "hits": hits})
        return
    rows = [
        [
            _shown(h["namespace"]),
            h["key"],
            "" if h["score"] is None else f"{h['score']:.4g}",
            json.dumps(h["value"], ensure_ascii=False)[:80],
        ]
        for h in hits
    ]
    click.echo(table(rows, ["NAMESPACE", "KEY", "SCORE", "VALUE"]))


@memory.command()
@click.argument("namespace")
@click.argument("key")
@_store_options
@json_option
def delete(namespace: str, key: str, url: str | None, embedder: str | None, as_json: bool) -> None:
    """Remove the item under NAMESPACE and KEY (deleted false when there was none)."""
    with _memory(url, embedder, as_json) as store:
        deleted = store.delete(_namespace(namespace), key)
    if as_json:
        emit({"ok": True, "deleted": deleted})
    else:
        click.echo("deleted" if deleted else f"no item {key!r} in {namespace}")


@memory.command(name="ls")
@click.argument("prefix", default="")
@click.option("--max-depth", type=int, default=None, help="Cut namespaces to this many labels.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--offset", type=int, default=0, show_default=True)
@_store_options
@json_option
def ls(
    prefix: str, max_depth: int | None, limit: int, offset: int, url: str | None, embedder: str | None, as_json: bool
) -> None:
    """List the namespaces under PREFIX that hold items."""
    with _memory(url, embedder, as_json) as store:
        found = store.list_namespaces(_namespace(prefix, prefix=True), max_depth, limit, offset)
    if as_json:
        emit({"ok": True, "namespaces": [list(n) for n in found]})
    else:
        for namespace in found:
            click.echo(_shown(list(namespace)))
