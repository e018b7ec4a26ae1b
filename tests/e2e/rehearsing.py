"""What the e2e rehearsal tests share: run a builtin scenario at test speed, and the safety invariants."""

from __future__ import annotations

from bluegreen.engine.progress import CollectingReporter
from bluegreen.rehearsal import rehearse
from bluegreen.sandbox.scenario import load_scenario

SPEED = 40.0  # simulated seconds per real second: keeps each rehearsal a few seconds long


def run(name: str):
    """Rehearse builtin scenario ``name``; the report and every progress event."""
    reporter = CollectingReporter()
    report = rehearse(load_scenario(name), speed=SPEED, reporter=reporter)
    return report, reporter


def assert_safe(report) -> None:
    """Nothing lost, no budget violated, no workload ever below its budget."""
    assert report.pods_lost == [], report.pods_lost
    assert report.budget_violations == [], report.budget_violations
    for key, seen in report.lowest_availability.items():
        assert seen["lowest_ready"] >= seen["budget"], (key, seen)
