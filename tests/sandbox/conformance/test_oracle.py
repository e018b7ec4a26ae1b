"""The sandbox's availability meter is an oracle independent of the engine: it shares no code with the engine's
budget decisions and judges violations from the objects, so a wrong engine rule shows up as a violation."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import bluegreen.engine
from bluegreen.rehearsal import rehearse
from bluegreen.sandbox.kube import measurements
from bluegreen.sandbox.scenario import load_scenario

SCENARIO = """
name: oracle-three-packed
description: Three replicas without a PDB, packed on one old node; the implicit budget allows one down at a time.
speed: 40
nodes_per_color: 2
node: {cpu: "4", memory: 16Gi, pods: 110}
join_seconds: 10
ami: {from: ami-0aaaaaaaaaaaaaaaa, to: ami-0bbbbbbbbbbbbbbbb}
load_balancers: {target_groups: 1, classic_elbs: 0, healthy_after_seconds: 5}
placement: packed
workloads:
  - {kind: Deployment, name: checkout, replicas: 3, cpu: 250m, memory: 256Mi, ready_seconds: 15, grace_seconds: 5}
"""


def test_the_meter_imports_nothing_from_the_engine_or_the_fake_disruption_controller():
    tree = ast.parse(Path(measurements.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not any(name.startswith(("bluegreen.engine", "bluegreen.sandbox.kube.disruption")) for name in imported
                   if name), imported


def test_the_meter_judges_budgets_from_the_objects():
    # Deployment defaults (maxUnavailable 25%) of 8 -> 2 may be down; a PDB overrides it, the strictest wins.
    assert measurements.required_ready("Deployment", {}, 8, []) == 7
    strategy = {"strategy": {"rollingUpdate": {"maxUnavailable": "25%"}}}
    assert measurements.required_ready("Deployment", strategy, 8, []) == 6
    assert measurements.required_ready("Deployment", strategy, 8, [{"minAvailable": "50%"}]) == 4
    assert measurements.required_ready("StatefulSet", {}, 3, [{"maxUnavailable": 1}, {"minAvailable": 3}]) == 3
    assert measurements.required_ready("DaemonSet", {}, 5, []) == 4


def _engine_modules_with(name: str) -> list:
    found = []
    for info in pkgutil.walk_packages(bluegreen.engine.__path__, "bluegreen.engine."):
        module = importlib.import_module(info.name)
        if hasattr(module, name):
            found.append(module)
    return found


def _rehearse(tmp_path: Path):
    path = tmp_path / "oracle.yaml"
    path.write_text(SCENARIO)
    return rehearse(load_scenario(path))


def test_a_correct_drain_keeps_the_implicit_budget(tmp_path):
    report = _rehearse(tmp_path)
    assert report.ok, report.error
    assert report.budget_violations == []
    assert report.lowest_availability["default/checkout"]["lowest_ready"] == 2


def test_a_wrong_engine_rule_is_caught_as_a_violation(tmp_path, monkeypatch: pytest.MonkeyPatch):
    # Deliberately break the engine: let a workload without a PDB lose two ready replicas at once.
    patched = _engine_modules_with("implicit_allowance")
    assert patched, "the engine no longer has an implicit_allowance rule to break; update this test"
    for module in patched:
        monkeypatch.setattr(module, "implicit_allowance", lambda *args, **kwargs: 2)
    report = _rehearse(tmp_path)
    violations = [v for v in report.budget_violations if v["workload"] == "default/checkout"]
    assert violations and violations[0]["budget"] == 2 and violations[0]["ready"] < 2
    assert report.lowest_availability["default/checkout"]["lowest_ready"] < 2
