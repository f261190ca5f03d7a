"""The published OpenAPI document of the server, docs/openapi.json, generated from the app.

    python -m aos_server.openapi            # write docs/openapi.json
    python -m aos_server.openapi --check    # exit 1 when it is not current

A test runs the check, as for the other generated docs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from aos_server.app import create_app

__all__ = ["DEFAULT_PATH", "document", "main"]

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def document() -> str:
    """The OpenAPI document as the app generates it: keys sorted, two-space indents."""
    return json.dumps(create_app(None).openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aos_server.openapi", description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not current; write nothing")
    args = parser.parse_args(argv)
    text = document()
    if args.check:
        current = args.path.exists() and args.path.read_text("utf-8") == text
        if not current:
            print(f"{args.path} is stale: run python -m aos_server.openapi", file=sys.stderr)
        return 0 if current else 1
    args.path.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
