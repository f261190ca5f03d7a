"""The llm and json plugins load cheaply and contribute what they promise."""

from __future__ import annotations

import subprocess
import sys

import aos_skill_json.plugin
import aos_skill_llm.plugin
from aos_core import Runtime

HEAVY = ("anthropic", "jmespath", "genai_prices", "httpx2", "jsonschema")


def test_loading_the_plugins_imports_no_sdk() -> None:
    """Importing both plugins and loading them into a Runtime imports none of the heavy libraries."""
    code = (
        "import sys, aos_skill_llm.plugin, aos_skill_json.plugin\n"
        "from aos_core import Runtime\n"
        "Runtime(entry_points=False, plugins=[aos_skill_llm.plugin, aos_skill_json.plugin]).close()\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_plugins_contribute_skills_planner_and_estimator() -> None:
    """llm: llm_invoke, the claude planner, the anthropic estimator; json: json_transform."""
    with Runtime(entry_points=False, plugins=[aos_skill_llm.plugin, aos_skill_json.plugin]) as runtime:
        reports = {r.module: r for r in runtime.plugins}
        llm, json_ = reports["aos_skill_llm.plugin"], reports["aos_skill_json.plugin"]
        assert llm.status == json_.status == "loaded"
        assert llm.skills == ("llm_invoke",) and llm.planners == ("claude",) and llm.estimators == ("anthropic",)
        assert json_.skills == ("json_transform",)
        assert {"llm_invoke", "json_transform"} <= set(runtime.skills)
