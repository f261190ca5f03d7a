"""One error style for every command, printed once.

Every failure ends in `report`: one line `aos: ...` on stderr (for a usage error, followed by the
command's usage and where its help is), and with `--json` one JSON object on stdout, the usage
errors included: the command's own result when it printed one (an outcome, a run), else
`{"ok": false, "error": {"code", "category", "message", "retryable", "details", "exit_code"}}`.

Codes are the failure catalog's (`aos failures`) when a skill call or a run failed; failures of
the command line itself have the codes in `CLI_ERRORS` (documented in docs/cli.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

import click

__all__ = [
    "CLI_ERRORS",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "Failure",
    "error_object",
    "guarded",
    "mark_emitted",
    "wants_json",
]

EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention
EXIT_TERMINATED = 143  # 128 + SIGTERM

# code -> (category, exit code, meaning): failures of the command line, not of a skill call.
CLI_ERRORS: dict[str, tuple[str, int, str]] = {
    "USAGE_ERROR": ("USAGE", 2, "a bad command, option or argument; the usage is shown"),
    "RUN_NOT_FOUND": ("USAGE", 2, "no run with that id (or id prefix) in the store"),
    "RUN_NOT_FINISHED": ("USAGE", 2, "the run never ended: resume it before replaying it"),
    "TRACE_INVALID": ("USAGE", 2, "the file is not an AOS trace; the message names the line"),
    "STORE_ERROR": ("USAGE", 2, "the run store cannot be opened, read or written"),
    "RUN_BUSY": ("TRANSIENT", 6, "another live process holds the run; try again when it stops"),
    "PLUGIN_FAILED": ("VALIDATION", 3, "a plugin did not load; `aos plugins` says why"),
    "INSTALL_FAILED": ("INTERNAL", 1, "pip or uv failed; their output is above"),
    "INTERRUPTED": ("INTERRUPTED", EXIT_INTERRUPTED, "stopped by Ctrl-C (SIGINT); a run can be resumed"),
    "TERMINATED": ("INTERRUPTED", EXIT_TERMINATED, "stopped by SIGTERM; a run can be resumed"),
    "INTERNAL": ("INTERNAL", 1, "a defect of AOS or of a plugin command: please report it"),
}
_CATEGORY_EXIT = {"VALIDATION": 3, "PERMISSION": 4, "RESOURCE": 5, "TRANSIENT": 6, "PERMANENT": 7}
_EXCEPTION_CODES = {
    "RunNotFound": "RUN_NOT_FOUND",
    "RunNotFinished": "RUN_NOT_FINISHED",
    "TraceError": "TRACE_INVALID",
    "StoreError": "STORE_ERROR",
    "LeaseLost": "STORE_ERROR",
    "RunBusy": "RUN_BUSY",
}


class Failure(click.ClickException):
    """A command's failure: its message, code, category and exit code, and the JSON to print
    with `--json` (`data`; a generic error object when None)."""

    def __init__(
        self,
        message: str,
        exit_code: int,
        *,
        code: str | None = None,
        category: str | None = None,
        details: dict[str, Any] | None = None,
        data: Any = None,
    ) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class; each failure has its own
        self.code = code or _code_for_exit(exit_code)
        self.category = category or _category_for_exit(exit_code)
        self.details = details or {}
        self.data = data


class _Output:
    """Whether this invocation already wrote its JSON document to stdout (reset per invocation)."""

    emitted = False


def mark_emitted() -> None:
    _Output.emitted = True


def wants_json(argv: Sequence[str]) -> bool:
    """Whether `--json` was asked for (before a `--` that ends the options)."""
    head = list(argv)
    if "--" in head:
        head = head[: head.index("--")]
    return "--json" in head


def error_object(
    code: str, category: str, message: str, exit_code: int, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON printed for a failure that has no result of its own."""
    return {
        "ok": False,
        "error": {
            "code": code,
            "category": category,
            "message": message,
            "retryable": category == "TRANSIENT",
            "details": details or {},
            "exit_code": exit_code,
        },
    }


def guarded(call: Callable[[], Any], argv: Sequence[str]) -> int:
    """Run the command line; every failure is reported once, in one style. Returns the exit code."""
    _Output.emitted = False
    as_json = wants_json(argv)
    try:
        result = call()
    except click.UsageError as exc:
        return _usage(exc, as_json)
    except Failure as exc:
        return _report(exc.format_message(), exc.code, exc.category, exc.exit_code, exc.details, exc.data, as_json)
    except click.ClickException as exc:  # a plugin command's own, or click's FileError
        code = exc.exit_code or 1
        return _report(exc.format_message(), _code_for_exit(code), _category_for_exit(code), code, None, None, as_json)
    except click.Abort as exc:
        from aos_core.cli.interrupts import signal_exit

        if isinstance(exc.__cause__, EOFError):
            return _report("aborted: end of input", "USAGE_ERROR", "USAGE", 2, None, None, as_json)
        code = signal_exit()
        name = "TERMINATED" if code == EXIT_TERMINATED else "INTERRUPTED"
        return _report("interrupted", name, "INTERRUPTED", code, None, None, as_json)
    except Exception as exc:
        from aos_core.contracts.exceptions import AOSError

        if isinstance(exc, AOSError):
            name = next((c for t in type(exc).__mro__ if (c := _EXCEPTION_CODES.get(t.__name__))), "USAGE_ERROR")
            category, exit_code, _ = CLI_ERRORS[name]
            return _report(_one_line(str(exc)), name, category, exit_code, None, None, as_json)
        if os.environ.get("AOS_DEBUG"):
            raise
        text = _one_line(str(exc))[:300] or "(no message)"
        message = f"internal error: {type(exc).__name__}: {text}; please report it (AOS_DEBUG=1 shows the traceback)"
        return _report(message, "INTERNAL", "INTERNAL", 1, {"exception_type": type(exc).__name__}, None, as_json)
    return result if isinstance(result, int) else 0


def _usage(exc: click.UsageError, as_json: bool) -> int:
    message = _one_line(exc.format_message())
    ctx = exc.ctx
    usage = ctx.get_usage().replace("Usage: ", "", 1) if ctx is not None else ""
    where = ctx.command_path if ctx is not None else "aos"
    details = {"usage": usage, "help": f"{where} --help"} if usage else {}
    if as_json and not _Output.emitted:
        _emit(error_object("USAGE_ERROR", "USAGE", message, 2, details))
    click.echo(f"aos: {message}", err=True)
    if usage and not as_json:  # with --json the usage is in the object's details: stderr stays one line
        click.echo(f"usage: {usage}\nsee '{where} --help'", err=True)
    return 2


def _report(
    message: str,
    code: str,
    category: str,
    exit_code: int,
    details: dict[str, Any] | None,
    data: Any,
    as_json: bool,
) -> int:
    if as_json and not _Output.emitted:
        _emit(data if data is not None else error_object(code, category, message, exit_code, details))
    click.echo(f"aos: {message}", err=True)
    return exit_code


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str))
    _Output.emitted = True


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _code_for_exit(exit_code: int) -> str:
    own = {1: "INTERNAL", 2: "USAGE_ERROR", EXIT_INTERRUPTED: "INTERRUPTED", EXIT_TERMINATED: "TERMINATED"}
    if exit_code in own:
        return own[exit_code]
    category = _category_for_exit(exit_code)
    return {"VALIDATION": "INVALID_INPUT", "PERMISSION": "PERMISSION_DENIED", "RESOURCE": "BUDGET_EXCEEDED"}.get(
        category, "INTERNAL"
    )


def _category_for_exit(exit_code: int) -> str:
    for category, number in _CATEGORY_EXIT.items():
        if number == exit_code:
            return category
    return {2: "USAGE", EXIT_INTERRUPTED: "INTERRUPTED", EXIT_TERMINATED: "INTERRUPTED"}.get(exit_code, "INTERNAL")
