"""The discovery cache: a hit answers exactly like real discovery, without importing pydantic;
anything discovery depends on changing makes a miss."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from aos_core.cli.discovery_cache import (
    CACHE_FORMAT,
    _package_files,
    discovery_key,
    listed_commands,
    quick_stamp,
    read_cached,
    write_cached,
)


def test_a_cache_hit_answers_like_real_discovery(aos_cli: Any) -> None:
    cold = aos_cli("skills", "--json")
    warm = aos_cli("skills", "--json")
    uncached = aos_cli("skills", "--json", env={"AOS_NO_CACHE": "1"})
    assert cold.returncode == warm.returncode == uncached.returncode == 0
    assert cold.stdout == warm.stdout == uncached.stdout
    assert aos_cli("plugins", "--json").stdout == aos_cli("plugins", "--json", env={"AOS_NO_CACHE": "1"}).stdout


def test_a_cache_hit_imports_neither_pydantic_nor_plugins(aos_cli: Any) -> None:
    assert aos_cli("skills", "--json").returncode == 0  # fills the cache
    probe = (
        "import sys\nfrom aos_core.cli import cli\n"
        "try:\n    cli.main(args=['skills', '--json'], prog_name='aos')\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in ('pydantic', 'aos_skill_http', 'pluggy') if m in sys.modules))\n"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ, check=True)
    assert out.stdout.strip().splitlines()[-1] == "LOADED []"


def test_switching_a_plugin_off_is_seen_at_once(aos_cli: Any) -> None:
    assert "json_transform" in aos_cli("skills", "--json").stdout
    off = aos_cli("skills", "--json", env={"AOS_DISABLE_PLUGINS": "json"})
    assert "json_transform" not in json.dumps([s["name"] for s in json.loads(off.stdout)["skills"]])


def test_the_key_changes_with_configuration_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    first = discovery_key(config)
    config.write_text('disabled_plugins = ["llm"]\n')
    second = discovery_key(config)
    monkeypatch.setenv("AOS_DISABLE_PLUGINS", "http")
    third = discovery_key(config)
    assert len({first, second, third}) == 3
    assert discovery_key(config) == third  # stable when nothing changes


def test_the_key_changes_with_what_plugins_keep_under_aos_home(tmp_path: Path) -> None:
    """A plugin's own state (aos-skill-mcp's tool lists, under $AOS_HOME/plugins) is part of the key."""
    config, state = tmp_path / "config.toml", tmp_path / "plugins"
    empty = discovery_key(config, state)
    (state / "mcp").mkdir(parents=True)
    (state / "mcp" / "tools.json").write_text("{}")
    written = discovery_key(config, state)
    (state / "mcp" / "tools.json").write_text('{"servers": {}}')
    assert len({empty, written, discovery_key(config, state)}) == 3
    assert discovery_key(config) == discovery_key(config, tmp_path / "absent")


def test_editing_a_plugin_file_changes_its_fingerprint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "aos_cache_probe"
    package.mkdir()
    module = package / "__init__.py"
    module.write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = _package_files("aos_cache_probe")
    module.write_text("X = 22\n")
    os.utime(module, ns=(1, 1))
    assert _package_files("aos_cache_probe") != before


def test_a_damaged_or_foreign_cache_file_is_a_miss(tmp_path: Path) -> None:
    assert write_cached(tmp_path, "k1", {"skills": [], "plugins": []})
    assert read_cached(tmp_path, "k1") == {"skills": [], "plugins": []}
    assert read_cached(tmp_path, "k2") is None
    (tmp_path / "cache" / f"discovery-v{CACHE_FORMAT}.json").write_text("{not json")
    assert read_cached(tmp_path, "k1") is None


def test_an_unwritable_home_only_skips_the_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert write_cached(blocker, "k", {"skills": []}) is False


def test_help_lists_commands_on_the_stamp_until_an_install_touches_a_site_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [str(site)])
    config = tmp_path / "config.toml"
    commands = [{"name": "serve", "help": "Serve.", "plugin": "server"}]
    assert write_cached(tmp_path, "key", {"commands": commands}, quick_stamp(config))
    assert listed_commands(tmp_path, config) == commands
    (site / "aos_server-0.2.0.dist-info").mkdir()  # what pip does on install, upgrade or uninstall
    os.utime(site, ns=(2, 2))
    assert listed_commands(tmp_path, config) is None
    assert write_cached(tmp_path, "key", {"commands": commands}, quick_stamp(config))
    config.write_text('disabled_plugins = ["server"]\n')
    assert listed_commands(tmp_path, config) is None
    assert write_cached(tmp_path, "key", {"commands": commands}, quick_stamp(config))
    monkeypatch.setenv("AOS_NO_CACHE", "1")
    assert listed_commands(tmp_path, config) is None


def test_discovery_leaves_garbage_collection_as_it_found_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from aos_core.cli.discovered import discovered

    monkeypatch.setenv("AOS_HOME", str(tmp_path))
    monkeypatch.setenv("AOS_NO_CACHE", "1")
    assert gc.get_freeze_count() == 0
    assert discovered()["skills"]
    assert gc.get_freeze_count() == 0  # what it froze while plugins loaded is back in the collections
    assert gc.isenabled()  # and the collector it stopped runs again
    gc.disable()
    try:
        discovered()
        assert not gc.isenabled()  # a collector someone else turned off stays off
    finally:
        gc.enable()
    gc.freeze()
    try:
        discovered()
        assert gc.get_freeze_count() > 0  # a freeze made by someone else is left alone
    finally:
        gc.unfreeze()
