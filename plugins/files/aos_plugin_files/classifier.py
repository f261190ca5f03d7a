"""A failure classifier for file errors, so they arrive as precise codes, not SKILL_CRASHED."""

from __future__ import annotations

from aos_core import Classification, ErrorCode, SkillMetadata

__all__ = ["FilesClassifier"]


class FilesClassifier:
    name = "files"

    def classify(self, exc: BaseException, skill: SkillMetadata) -> Classification | None:
        if skill.name != "read_file":
            return None
        if isinstance(exc, FileNotFoundError):
            return Classification(ErrorCode.INVALID_INPUT, f"no such file: {exc.filename}")
        if isinstance(exc, IsADirectoryError | NotADirectoryError):
            return Classification(ErrorCode.INVALID_INPUT, f"not a regular file: {exc.filename}")
        if isinstance(exc, PermissionError):
            return Classification(ErrorCode.PERMISSION_DENIED, f"the OS refused to read {exc.filename}")
        if isinstance(exc, UnicodeDecodeError):
            return Classification(
                ErrorCode.INVALID_INPUT, f"the file is not valid {exc.encoding} text (byte {exc.start})"
            )
        if isinstance(exc, LookupError):
            return Classification(ErrorCode.INVALID_INPUT, f"unknown encoding: {exc}")
        return None
