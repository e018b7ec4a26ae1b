"""What the e2e rehearsal tests share: run a builtin scenario at test speed, and the safety invariants."""

from __future__ import annotations

from bluegreen.engine.progress import CollectingReporter
from bluegreen.rehearsal import rehearse
from bluegreen.sandbox.scenario import Scenario, load_scenario

SPEED = 40.0  # simulated seconds per real second: keeps each rehearsal a few seconds long


def run(scenario: Scenario | str, **overrides: object):
    """Rehearse ``scenario`` (a builtin's name, or a parsed scenario), its rollout settings with ``overrides``
    (RolloutSettings field names); the report and every progress event."""
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    reporter = CollectingReporter()
    settings = scenario.rollout_settings().with_overrides(**overrides) if overrides else None
    report = rehearse(scenario, speed=SPEED, reporter=reporter, settings=settings)
    return report, reporter


def assert_safe(report) -> None:
    """Nothing lost, no budget violated, no workload ever below its budget."""
    assert report.pods_lost == [], report.pods_lost
    assert report.budget_violations == [], report.budget_violations
    for key, seen in report.lowest_availability.items():
        assert seen["lowest_ready"] >= seen["budget"], (key, seen)
