"""CLI plumbing: JSON arguments, exit codes, and rendering outcomes and errors."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Any, NoReturn

import click

from aos_core.contracts.text import MAX_JSON_DEPTH, deeper_than

__all__ = [
    "EXIT_CODES",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "emit",
    "exit_code_for",
    "fail",
    "fail_with",
    "read_json_arg",
    "render_outcome",
    "show_money",
    "table",
]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_CODES = {"VALIDATION": 3, "PERMISSION": 4, "RESOURCE": 5, "TRANSIENT": 6, "PERMANENT": 7}

# Limits on a JSON argument (--params, --contract, --profile, a plan), checked before anything uses it.
MAX_JSON_BYTES = 64 * 1024 * 1024  # a file or stdin


def exit_code_for(category: str) -> int:
    """The exit code of an error category (1 for anything unknown)."""
    return EXIT_CODES.get(str(category), EXIT_INTERNAL)


def read_json_arg(value: str | None, option: str) -> Any:
    """Parse inline JSON, `@FILE` or `-` (stdin); a usage error (exit 2) says where it broke.

    Refused with a short message: text that is not JSON, a file or stdin that is not UTF-8 or is
    over `MAX_JSON_BYTES`, nesting deeper than `MAX_JSON_DEPTH`, an integer longer than Python
    reads (4300 digits by default), a string that is not Unicode text (a lone surrogate).
    """
    if value is None:
        return None
    text, source = _json_text(value, option)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.UsageError(
            f"{option} ({source}) is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})"
        ) from None
    except RecursionError:
        raise click.UsageError(_too_deep(option, source)) from None
    except ValueError as exc:  # int() refuses a number past sys.get_int_max_str_digits()
        if "digits" not in str(exc):
            raise click.UsageError(f"{option} ({source}) is not valid JSON: {exc}") from None
        raise click.UsageError(
            f"{option} ({source}) has an integer longer than {sys.get_int_max_str_digits()} digits; "
            "send such a number as a string"
        ) from None
    if deeper_than(data, MAX_JSON_DEPTH):
        raise click.UsageError(_too_deep(option, source))
    if (not text.isascii() or "\\u" in text) and re.search(_MAYBE_SURROGATE, text):  # the walk only where one may be
        from aos_core.contracts.text import non_unicode

        where = non_unicode(data)
        if where is not None:
            raise click.UsageError(
                f"{option} ({source}) is not Unicode text: the string at {where or '(the value)'} holds a lone "
                "surrogate (a code point in U+D800-U+DFFF, such as the escape \\ud800 alone)"
            )
    return data


# a surrogate code point in the text itself (an argument that was not UTF-8), or its JSON escape;
# compiled on first use (`re` keeps it), not when the CLI starts (0.5 ms)
_MAYBE_SURROGATE = "[\ud800-\udfff]|\\\\u[dD][89a-fA-F]"


def _json_text(value: str, option: str) -> tuple[str, str]:
    """The text of a JSON argument and where it came from ("inline", the file, "stdin")."""
    if value == "-":
        stream = getattr(sys.stdin, "buffer", None)
        raw = stream.read(MAX_JSON_BYTES + 1) if stream is not None else sys.stdin.read().encode("utf-8")
        source = "stdin"
    elif value.startswith("@"):
        path = Path(value[1:])
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_JSON_BYTES + 1)
        except OSError as exc:
            raise click.UsageError(f"{option}: cannot read {path}: {exc.strerror or exc}") from None
        source = str(path)
    else:
        return value, "inline"
    if len(raw) > MAX_JSON_BYTES:
        raise click.UsageError(f"{option} ({source}) is larger than {MAX_JSON_BYTES // 2**20} MiB")
    try:
        return raw.decode("utf-8-sig"), source
    except UnicodeDecodeError as exc:
        raise click.UsageError(
            f"{option} ({source}) is not UTF-8 text: byte {exc.start} (0x{raw[exc.start]:02x}) cannot be decoded"
        ) from None


def _too_deep(option: str, source: str) -> str:
    return f"{option} ({source}) is nested more than {MAX_JSON_DEPTH} levels deep; flatten it"


def emit(data: Any) -> None:
    """Write one JSON document to stdout (a failure after it prints no second one)."""
    emit_text(json.dumps(data, ensure_ascii=False, default=str))


def emit_text(document: str | Iterable[str]) -> None:
    """Write one JSON document already serialised (a model's `model_dump_json`) to stdout, or its
    pieces in order, written 1,024 at a time as they come. A failure before anything is written
    leaves the error to be printed as the document; after, it prints no second document: the
    output is cut short and the exit code says why."""
    from aos_core.cli.errors import mark_emitted

    pieces = iter([document] if isinstance(document, str) else document)
    while batch := "".join(islice(pieces, 1024)):
        click.echo(batch, nl=False)
        mark_emitted()
    click.echo()


def fail(
    message: str,
    code: int,
    *,
    as_json: bool = False,
    data: Any = None,
    error_code: str | None = None,
    category: str | None = None,
    details: dict[str, Any] | None = None,
) -> NoReturn:
    """End the command with exit `code`: one line `aos: MESSAGE` on stderr and, with --json,
    `data` (or an error object) on stdout, unless the command already printed its JSON.

    `as_json` is accepted for the callers that know it; the error handler reads `--json` itself.
    """
    from aos_core.cli.errors import Failure

    raise Failure(message, code, code=error_code, category=category, details=details, data=data)


def fail_with(error: dict[str, Any], message: str | None = None, data: Any = None) -> NoReturn:
    """End the command with an `ErrorInfo` (as JSON): its category's exit code, `CODE: message`."""
    fail(
        message or f"{error['code']}: {error['message']}",
        exit_code_for(error["category"]),
        data=data,
        error_code=error["code"],
        category=error["category"],
        details=error.get("details") or {},
    )


def show_money(value: Any) -> str:
    """Money as a person reads it, everywhere alike: every digit it has, no trailing zeros past
    the cents (`0.00550` -> `0.0055`, `0.005496` stays, `1` -> `1.00`)."""
    from decimal import Decimal, InvalidOperation

    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = format(amount.normalize(), "f")
    whole, _, cents = text.partition(".")
    return f"{whole}.{cents.ljust(2, '0')}"


def render_outcome(outcome: dict[str, Any]) -> str:
    """A person's view of an outcome."""
    cost = outcome.get("cost") or {}
    money = f"{show_money(cost.get('money', '0'))} {cost.get('currency', '')}".strip()
    tail = (
        f"{outcome.get('duration_ms', 0)} ms, {outcome.get('attempts', 0)} attempt(s), "
        f"cost {money}, {cost.get('calls', 0)} call(s), tokens {cost.get('input_tokens', 0)}/"
        f"{cost.get('output_tokens', 0)}"
    )
    head = f"{outcome.get('skill')} {outcome.get('skill_version') or ''}".strip()
    if outcome.get("ok"):
        body = json.dumps(outcome.get("output"), indent=2, ensure_ascii=False)
        return f"ok  {head}  ({tail})\n{body}"
    error = outcome.get("error") or {}
    lines = [
        f"FAILED  {head}  {error.get('code')} [{error.get('category')}]  ({tail})",
        f"  {error.get('message')}",
    ]
    if error.get("recovery"):
        lines.append(f"  what to do: {error['recovery']}")
    return "\n".join(lines)


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain aligned text table."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    widths[-1] = 0
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)
