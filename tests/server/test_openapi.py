"""The published OpenAPI document (docs/openapi.json) is the one the app generates."""

from __future__ import annotations

import json
from pathlib import Path

from aos_server.openapi import DEFAULT_PATH, document, main

ROOT = Path(__file__).resolve().parents[2]


def test_the_published_openapi_document_is_current() -> None:
    assert DEFAULT_PATH == ROOT / "docs" / "openapi.json"
    assert DEFAULT_PATH.read_text("utf-8") == document(), "stale: run `python -m aos_server.openapi`"


def test_the_check_fails_on_a_stale_copy_and_passes_once_written(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text(document().replace('"title": "AOS"', '"title": "Old"'), "utf-8")
    assert main([str(stale), "--check"]) == 1
    assert main([str(stale)]) == 0 and main([str(stale), "--check"]) == 0


def test_every_operation_documents_its_errors_as_error_info() -> None:
    paths = json.loads(document())["paths"]
    for path, methods in paths.items():
        for method, operation in methods.items():
            if not path.startswith("/v1"):
                continue
            for status in ("401", "403", "422", "429", "503"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorInfo"}, (method, path, status)
