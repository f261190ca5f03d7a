"""A run that used MCP tools replays byte for byte with every server gone: the recorded results are
served, nothing is started."""

from __future__ import annotations

from pathlib import Path

from mcp_peers import Peers, refresh_table


def test_a_run_replays_identically_with_the_servers_gone(tmp_path: Path) -> None:
    peers = Peers(tmp_path)
    peers.table["servers"]["time"]["command"] = str(_wrapped_time(tmp_path))
    assert all(r["ok"] for r in refresh_table(peers.table))
    plan = {
        "version": 1,
        "goal": "status, count, the time, and a field of it",
        "steps": [
            {"id": "status", "skill": "git__git_status", "params": {"repo_path": str(peers.repo)}},
            {"id": "count", "skill": "peer__count", "params": {"label": "recorded"}},
            {"id": "now", "skill": "time__get_current_time", "params": {"timezone": "Europe/Paris"}},
            {
                "id": "zone",
                "skill": "json_transform",
                "params": {"expression": "timezone", "data": "${steps.now.output}"},
            },
        ],
    }
    store = tmp_path / "runs.sqlite3"
    with peers.runtime(store=store, approve=lambda request: True) as runtime:
        result = runtime.run(plan)
        assert result.ok, result.outcomes
    assert result.outcomes["zone"].output == {"result": "Europe/Paris"}
    starts, calls = len(peers.log_lines("start")), len(peers.log_lines("call"))
    for wrapper in (tmp_path / "bin").iterdir():
        wrapper.unlink()  # every server is gone: git, time and the peer
    with peers.runtime(store=store) as runtime:
        replayed = runtime.replay(result.run_id)
        assert runtime.execute("peer__count", {}).error.code.value == "CONNECTION_FAILED"  # gone indeed
    assert replayed.matched, replayed.divergence  # every rebuilt trace line equals the recorded one, byte for byte
    assert replayed.outcomes == result.outcomes
    assert replayed.reexecuted == ("zone",)  # only the deterministic step ran again
    assert (len(peers.log_lines("start")), len(peers.log_lines("call"))) == (starts, calls)


def _wrapped_time(root: Path) -> Path:
    from mcp_peers import BIN, wrapper

    return wrapper(root / "bin", "time-server", [str(BIN / "mcp-server-time")])
