"""monitoring/: the alert rules pass `promtool check rules` and their unit tests, each alert's test
fails once its rule is broken, and the rules and the Grafana dashboard name only metrics AOS
exports. promtool comes from Debian's `prometheus` package (scripts/check installs it in CI)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aos_core.observability.catalog import METRICS

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "monitoring" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "monitoring" / "prometheus" / "alerts.test.yml"
DASHBOARD = ROOT / "monitoring" / "grafana" / "aos-dashboard.json"
ALERTMANAGER = ROOT / "monitoring" / "alertmanager" / "alertmanager.yml"
PROMTOOL = shutil.which("promtool")

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None and os.environ.get("CI") != "true",
    reason="promtool is not installed (apt-get install prometheus); CI installs it and runs these",
)


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None, "promtool is missing in CI: scripts/check must install Debian's prometheus package"
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def alert_names(text: str) -> list[str]:
    return re.findall(r"^\s*- alert: (\w+)", text, re.M)


def exported_series() -> set[str]:
    """Every series name AOS exports: each metric, and a histogram's _bucket, _sum and _count."""
    names = set()
    for spec in METRICS:
        names.add(spec.name)
        if spec.kind == "histogram":
            names |= {f"{spec.name}_bucket", f"{spec.name}_sum", f"{spec.name}_count"}
    return names


def named_metrics(expr: str) -> set[str]:
    return set(re.findall(r"\baos_[a-z0-9_]+", expr))


@needs_promtool
def test_the_rules_are_valid() -> None:
    checked = promtool("check", "rules", RULES.name, cwd=RULES.parent)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{len(alert_names(RULES.read_text()))} rules found" in checked.stdout


@needs_promtool
def test_the_rules_pass_their_unit_tests() -> None:
    tested = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_unit_test_and_a_meaning_in_the_docs() -> None:
    alerts = alert_names(RULES.read_text())
    assert alerts == [
        "AOSBudgetNearlyUsedUp",
        "AOSSkillErrorRateHigh",
        "AOSRunStuck",
        "AOSApprovalWaitingTooLong",
        "AOSReplayDiverged",
        "AOSPluginLoadFailed",
        "AOSNoWorkerAlive",
    ]
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    operations = (ROOT / "docs" / "operations.md").read_text()
    for alert in alerts:
        assert alert in tested, f"{alert} has no test in {RULE_TESTS.name}"
        assert f"### {alert}" in operations, f"docs/operations.md does not explain {alert}"


def _break(rules: str, alert: str) -> str:
    """The rules with `alert`'s expression replaced by one that never fires."""
    start = rules.index(f"- alert: {alert}\n")
    expr = rules.index("expr:", start)
    end = (
        rules.index("\n        for:", expr) if "\n        for:" in rules[expr : rules.index("labels:", expr)] else None
    )
    end = end if end is not None else rules.index("\n        labels:", expr)
    return rules[:expr] + "expr: vector(1) > 2" + rules[end:]


@needs_promtool
@pytest.mark.parametrize("alert", alert_names(RULES.read_text()))
def test_a_broken_rule_fails_its_unit_test(alert: str, tmp_path: Path) -> None:
    """Each alert's unit test can fail: with its expression broken, `promtool test rules` fails
    naming that alert, so CI would catch a rule that stopped firing."""
    (tmp_path / RULES.name).write_text(_break(RULES.read_text(), alert))
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    assert promtool("check", "rules", RULES.name, cwd=tmp_path).returncode == 0  # still valid, just wrong
    tested = promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert tested.returncode != 0
    assert f"alertname: {alert}" in tested.stdout + tested.stderr


def test_rules_name_only_exported_metrics() -> None:
    exprs = re.findall(r"expr: \|?\n?((?:.*\n)*?)\s*(?:for:|labels:)", RULES.read_text())
    assert len(exprs) == len(alert_names(RULES.read_text()))
    unknown = {name for expr in exprs for name in named_metrics(expr)} - exported_series()
    assert not unknown, f"the alert rules name metrics AOS does not export: {sorted(unknown)}"


def test_every_dashboard_query_names_an_exported_metric() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(exprs) >= 20
    known = exported_series()
    for expr in exprs:
        names = named_metrics(expr)
        assert names, f"a dashboard query names no AOS metric: {expr}"
        assert names <= known, f"{expr} names {sorted(names - known)}, which AOS does not export"
    shown = {name for expr in exprs for name in named_metrics(expr)}
    not_shown = {spec.name for spec in METRICS} - {re.sub(r"_(bucket|sum|count)$", "", n) for n in shown}
    assert not not_shown, f"metrics with no panel: {sorted(not_shown)}"


@pytest.mark.skipif(
    shutil.which("amtool") is None, reason="amtool is not installed (apt-get install prometheus-alertmanager)"
)
def test_the_alertmanager_example_is_valid() -> None:
    checked = subprocess.run(
        ["amtool", "check-config", str(ALERTMANAGER)], capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
