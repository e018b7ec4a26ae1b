"""The benchmark's scenarios (bench/scenarios/*.yaml), loaded through the sandbox's own scenario parser."""

from __future__ import annotations

from pathlib import Path

import yaml

from bench.shape import ScenarioShape, shape_from_mapping
from bluegreen.sandbox.scenario import Scenario, parse_scenario

SCENARIO_DIR = Path(__file__).with_name("scenarios")
NAMES = ("small", "medium", "large")


def scenario_path(name_or_path: str) -> Path:
    """``small`` -> bench/scenarios/small.yaml; anything else is taken as a path."""
    if name_or_path in NAMES:
        return SCENARIO_DIR / f"{name_or_path}.yaml"
    return Path(name_or_path)


def load_document(name_or_path: str) -> dict:
    return yaml.safe_load(scenario_path(name_or_path).read_text(encoding="utf-8"))


def load_shape(name_or_path: str) -> ScenarioShape:
    """What the lower bound reads: the scenario file alone."""
    path = scenario_path(name_or_path)
    return shape_from_mapping(load_document(name_or_path), path.stem)


def load_bench_scenario(name_or_path: str) -> Scenario:
    """The sandbox's Scenario for a benchmark file, validated by the sandbox's own rules."""
    path = scenario_path(name_or_path)
    return parse_scenario(load_document(name_or_path), source=str(path), default_name=path.stem)
