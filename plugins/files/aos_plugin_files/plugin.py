"""Entry point of aos-plugin-files: registers the skill and its classifier."""

from __future__ import annotations

from aos_core import hookimpl
from aos_core.hookspecs import Register
from aos_plugin_files.classifier import FilesClassifier
from aos_plugin_files.skill import ReadFile


@hookimpl
def aos_register_skills(register: Register) -> None:
    register(ReadFile())


@hookimpl
def aos_register_classifiers(register: Register) -> None:
    register(FilesClassifier(), priority=10)
