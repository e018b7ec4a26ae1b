"""The shape of a scenario file as the lower bound sees it: node size, timings, workloads, budgets.

Read from the YAML mapping alone (the field names of the sandbox's scenario schema),
so the lower bound never depends on anything a run observed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DECIMAL = {"m": Decimal("0.001"), "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12)}


class ShapeError(ValueError):
    """A scenario file the benchmark cannot reason about; the message names the field."""


@dataclass(frozen=True)
class NodeSize:
    cpu_millis: int
    memory_bytes: int
    pods: int


@dataclass(frozen=True)
class Budget:
    """A PodDisruptionBudget as written: exactly one of the two, an int or a percentage string."""

    min_available: int | str | None = None
    max_unavailable: int | str | None = None


@dataclass(frozen=True)
class Workload:
    kind: str  # Deployment | StatefulSet | DaemonSet | Pod
    name: str
    namespace: str
    replicas: int
    cpu_millis: int
    memory_bytes: int
    ready_seconds: float
    grace_seconds: float
    pdb: Budget | None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ScenarioShape:
    name: str
    nodes_per_color: int
    node: NodeSize
    join_seconds: float
    healthy_after_seconds: float
    has_load_balancers: bool
    placement: str  # packed | spread
    workloads: tuple[Workload, ...]
    canary_pause_seconds: float = 0.0  # rollout.canaryPauseSeconds: the pause after the first drained node
    # timing.schedule_seconds + timing.container_start_seconds (the sandbox's defaults 0 and 1): what every new pod
    # takes from its creation until its container runs, before its readiness delay starts
    start_seconds: float = 1.0

    @property
    def daemonsets(self) -> tuple[Workload, ...]:
        return tuple(w for w in self.workloads if w.kind == "DaemonSet")

    @property
    def movable(self) -> tuple[Workload, ...]:
        """Workloads whose pods a drain moves (controller-managed, not per-node)."""
        return tuple(w for w in self.workloads if w.kind in ("Deployment", "StatefulSet"))


def quantity(value: object, field: str) -> Decimal:
    """A Kubernetes quantity ("250m", "2", "512Mi") in base units."""
    if isinstance(value, int | float):
        return Decimal(str(value))
    text = str(value).strip()
    try:
        for suffix, factor in _BINARY.items():
            if text.endswith(suffix):
                return Decimal(text[: -len(suffix)]) * factor
        if text and text[-1] in _DECIMAL:
            return Decimal(text[:-1]) * _DECIMAL[text[-1]]
        return Decimal(text)
    except ArithmeticError:
        raise ShapeError(f"{field}: {value!r} is not a Kubernetes quantity (e.g. '250m', '2', '512Mi')") from None


def scaled(value: int | str, total: int) -> int:
    """An int-or-percent of ``total``, rounded up as the disruption controller does."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


#: The sandbox's ``timing`` defaults (bluegreen/sandbox/kube/store.py, ClusterTiming) for a scenario without them.
SANDBOX_SCHEDULE_SECONDS = 0.0
SANDBOX_CONTAINER_START_SECONDS = 1.0


def shape_from_mapping(data: Mapping[str, Any], name: str = "scenario") -> ScenarioShape:
    """The shape of a loaded scenario YAML mapping; missing fields take the sandbox's defaults
    (bluegreen/sandbox/scenario.py), so the bound describes the scenario the sandbox actually runs."""
    try:
        node = data["node"]
        lbs = data.get("load_balancers") or {}
        workloads = tuple(_workload(w, i) for i, w in enumerate(data.get("workloads") or []))
        return ScenarioShape(
            name=str(data.get("name") or name),
            nodes_per_color=int(data["nodes_per_color"]),
            node=NodeSize(
                cpu_millis=int(quantity(node["cpu"], "node.cpu") * 1000),
                memory_bytes=int(quantity(node["memory"], "node.memory")),
                pods=int(node["pods"]),
            ),
            join_seconds=float(data.get("join_seconds", 30.0)),
            healthy_after_seconds=float(lbs.get("healthy_after_seconds", 10.0)),
            has_load_balancers=bool(lbs.get("target_groups", 1) or lbs.get("classic_elbs", 0)),
            placement=str(data.get("placement", "spread")),
            workloads=workloads,
            canary_pause_seconds=float((data.get("rollout") or {}).get("canaryPauseSeconds", 0.0)),
            start_seconds=float((data.get("timing") or {}).get("schedule_seconds", SANDBOX_SCHEDULE_SECONDS))
            + float((data.get("timing") or {}).get("container_start_seconds", SANDBOX_CONTAINER_START_SECONDS)),
        )
    except KeyError as missing:
        raise ShapeError(f"scenario {name}: required field {missing} is missing") from None


def _workload(w: Mapping[str, Any], index: int) -> Workload:
    where = f"workloads[{index}]"
    pdb = w.get("pdb")
    budget = None
    if pdb:
        if ("minAvailable" in pdb) == ("maxUnavailable" in pdb):
            raise ShapeError(f"{where}.pdb: set exactly one of minAvailable, maxUnavailable")
        budget = Budget(min_available=pdb.get("minAvailable"), max_unavailable=pdb.get("maxUnavailable"))
    kind = str(w.get("kind", "Deployment"))
    return Workload(
        kind=kind,
        name=str(w["name"]),
        namespace=str(w.get("namespace", "default")),
        replicas=int(w.get("replicas", 1)) if kind != "DaemonSet" else 0,
        cpu_millis=int(quantity(w.get("cpu", "100m"), f"{where}.cpu") * 1000),
        memory_bytes=int(quantity(w.get("memory", "128Mi"), f"{where}.memory")),
        ready_seconds=float(w.get("ready_seconds", 5.0)),
        grace_seconds=float(w.get("grace_seconds", 5.0)),
        pdb=budget,
    )
