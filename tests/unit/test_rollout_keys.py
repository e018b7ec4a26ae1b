"""One name per setting: a scenario's ``rollout:`` takes exactly the stack's ``eks-bluegreen:rollout`` keys.

Both read the engine's one table (settings.ROLLOUT_CONFIG_KEYS); the sandbox must not import the infra layer. This
test (which may import both) checks they still read the same table, key for key, field for field, rule for rule.
"""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

from bluegreen.engine.settings import RolloutSettings
from bluegreen.infra.config import ROLLOUT_KEYS as STACK_KEYS
from bluegreen.sandbox.scenario import ROLLOUT_KEYS as SCENARIO_KEYS

ROOT = Path(__file__).resolve().parents[2]


def test_scenario_and_stack_take_the_same_rollout_keys() -> None:
    assert set(SCENARIO_KEYS) == set(STACK_KEYS)


def test_each_key_maps_to_the_same_setting_with_the_same_rule() -> None:
    assert SCENARIO_KEYS == STACK_KEYS


def test_every_rollout_setting_has_a_key() -> None:
    assert {attr for attr, _ in SCENARIO_KEYS.values()} == {f.name for f in fields(RolloutSettings)}


def test_the_sandbox_and_the_rehearsal_never_import_the_infra_layer() -> None:
    sources = [*sorted((ROOT / "bluegreen" / "sandbox").rglob("*.py")), ROOT / "bluegreen" / "rehearsal.py"]
    offenders = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith("bluegreen.infra")]
    assert offenders == []
