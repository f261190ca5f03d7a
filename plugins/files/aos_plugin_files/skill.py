"""`read_file`: read a text file under the one directory the configuration allows."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from aos_core import ErrorCode, SideEffect, SkillContext, SkillError, SkillMetadata

__all__ = ["ReadFile", "ReadFileInput", "ReadFileOutput"]


class ReadFileInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        min_length=1, pattern=r"^[^\x00]+$", description="Path relative to the allowed directory (no NUL bytes)."
    )
    max_bytes: int = Field(default=1_000_000, gt=0, le=50_000_000, description="Refuse larger files.")
    encoding: str = Field(default="utf-8", description="Text encoding of the file.")


class ReadFileOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="The path read, relative to the allowed directory.")
    size: int
    sha256: str
    text: str


class ReadFile:
    """Reads files under `skills.read_file.root` (configuration) or `$AOS_FILES_ROOT`, nowhere else."""

    metadata = SkillMetadata(
        name="read_file",
        version="0.1.0",
        description="Read a text file under the allowed directory (skills.read_file.root or AOS_FILES_ROOT).",
        side_effects=SideEffect.READ,
        idempotent=True,
        deterministic=False,
        blocking=True,
        timeout_ms=5_000,
        failure_codes=(
            ErrorCode.INVALID_INPUT,
            ErrorCode.PERMISSION_DENIED,
            ErrorCode.POLICY_VIOLATION,
            ErrorCode.OUTPUT_VALIDATION_FAILED,
        ),
        permissions=("fs:read",),
        expected_latency_ms=1.0,
    )
    Input = ReadFileInput
    Output = ReadFileOutput

    def execute(self, params: ReadFileInput, ctx: SkillContext) -> ReadFileOutput:
        root_setting = ctx.config.get("root") or os.environ.get("AOS_FILES_ROOT")
        if not root_setting:
            raise SkillError(
                ErrorCode.PERMISSION_DENIED,
                "read_file has no allowed directory; set skills.read_file.root or AOS_FILES_ROOT",
            )
        root = Path(root_setting).resolve()
        target = (root / params.path).resolve()
        if not target.is_relative_to(root):
            raise SkillError(
                ErrorCode.POLICY_VIOLATION,
                f"{params.path!r} resolves outside the allowed directory",
                details={"rule": "read_file.root", "path": params.path},
            )
        size = target.stat().st_size  # FileNotFoundError etc. go to the classifier
        if size > params.max_bytes:
            raise SkillError(
                ErrorCode.OUTPUT_VALIDATION_FAILED,
                f"{params.path} is {size} bytes, over max_bytes={params.max_bytes}",
                details={"size": size, "max_bytes": params.max_bytes},
            )
        data = target.read_bytes()
        return ReadFileOutput(
            path=target.relative_to(root).as_posix(),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            text=data.decode(params.encoding),
        )
