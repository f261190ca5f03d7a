"""Commands plugins add to `aos` (hook `aos_register_commands`), with a real installed plugin:
listed by `aos --help` from the discovery cache, run by loading only their plugin, configured
from `[plugins.NAME]`, refused when they clash with a core command or their hook fails."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.install


PROBE = """
import json, sys
from aos_core.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="aos")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def imported(venv: Any, *args: str) -> set[str]:
    """The modules `aos ARGS` imported (sys.modules after it ran: `-X importtime` misses modules
    loaded with importlib.import_module, as entry points are); the command must succeed."""
    result = venv.run("-c", PROBE, *args)
    probe = json.loads(result.stderr.strip().splitlines()[-1])
    assert probe["code"] in (0, None), result.stderr[-2000:]
    return set(probe["modules"])


def test_aos_help_lists_a_plugin_command_with_its_plugin(broken_dist: Any) -> None:
    shown = broken_dist.aos("--help")
    assert shown.returncode == 0, shown.stderr
    _, _, added = shown.stdout.partition("Commands added by plugins:")
    assert "broken-hello  Greet NAME from a plugin command. [plugin command-hello]" in added


def test_a_warm_cache_lists_plugin_commands_without_importing_any_plugin(broken_dist: Any) -> None:
    assert broken_dist.aos("plugins", "--json").returncode == 0  # fills the cache
    modules = imported(broken_dist, "--help")
    assert not {m for m in modules if m.startswith(("aos_broken_plugins", "aos_skill_", "pydantic", "pluggy"))}


def test_a_plugin_command_runs_and_loads_only_its_plugin(broken_dist: Any) -> None:
    ran = broken_dist.aos("broken-hello", "Ada")
    assert (ran.returncode, ran.stdout) == (0, "Hello, Ada!\n"), ran.stderr
    modules = imported(broken_dist, "broken-hello", "Ada")
    assert "aos_broken_plugins.command_hello" in modules
    assert not {m for m in modules if m.startswith(("aos_broken_plugins.chatty", "aos_skill_"))}


def test_a_plugin_command_gets_its_plugins_config_table(broken_dist: Any) -> None:
    home = Path(os.environ["AOS_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[plugins.command-hello]\ngreeting = "Howdy"\n')
    ran = broken_dist.aos("broken-hello", "Ada")
    assert (ran.returncode, ran.stdout) == (0, "Howdy, Ada!\n"), ran.stderr


def test_a_command_named_like_a_core_command_is_refused_and_the_core_one_kept(broken_dist: Any) -> None:
    listed = broken_dist.aos("plugins", "--json")
    reports = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    assert reports["command-clash"]["status"] == "failed"
    assert reports["command-clash"]["reason"] == (
        "command 'run' is a core aos command; a plugin may not replace it, choose another name"
    )
    assert "Run a plan, recording a durable, replayable trace." in broken_dist.aos("run", "--help").stdout


def test_a_failing_command_hook_fails_its_plugin_and_the_core_commands_keep_working(broken_dist: Any) -> None:
    listed = broken_dist.aos("plugins", "--json")
    report = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}["command-raises"]
    assert report["status"] == "failed"
    assert report["reason"] == (
        "hook aos_register_commands raised RuntimeError: the server extra is not installed; "
        "fix the hook so it only registers"
    )
    assert broken_dist.aos("--help").returncode == 0
    assert broken_dist.aos("failures", "--json").returncode == 0


def test_aos_plugins_shows_the_commands_a_plugin_adds(broken_dist: Any) -> None:
    listed = broken_dist.aos("plugins", "--json")
    report = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}["command-hello"]
    assert (report["status"], report["commands"]) == ("loaded", ["broken-crash", "broken-hello"])
    assert "aos broken-hello" in broken_dist.aos("plugins").stdout


def test_a_plugin_command_that_raises_ends_with_one_line_naming_it(broken_dist: Any) -> None:
    result = broken_dist.aos("broken-crash")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "aos: `aos broken-crash` (plugin command-hello) failed: RuntimeError: the plugin's own bug"
    )


def test_an_unknown_command_is_still_a_usage_error(broken_dist: Any) -> None:
    result = broken_dist.aos("no-such-command")
    assert result.returncode == 2
    assert "aos: no command 'no-such-command'" in result.stderr
