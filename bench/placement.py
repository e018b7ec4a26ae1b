"""Where a scenario's pods start: a model of the sandbox's initial placement, from the scenario alone.

The lower bound needs to know how many pods of each workload sit on each old
node, because a node's drain time is set by the longest budget chain on it.
``packed`` fills the first nodes (first fit); pods are placed in the order the
sandbox creates them: DaemonSet pods first (bound directly, one per node), then
every Deployment's pods in file order, then StatefulSets (OrderedReady: each pod
is created only once the previous one is Ready, so they come last);
``spread`` puts each pod on the least allocated node (mean of cpu and memory
shares after placing it, as the sandbox's scheduler scores; lowest index on
ties). DaemonSet pods are placed first, one per node. The benchmark checks
this model against the sandbox's actual placement at the start of every run and
says so when they differ.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bench.shape import ScenarioShape, Workload


class PlacementError(ValueError):
    """The old nodes cannot hold the scenario's pods; the message names the workload."""


@dataclass
class _Room:
    cpu_millis: int
    memory_bytes: int
    pods: int

    def fits(self, cpu: int, memory: int) -> bool:
        return self.pods >= 1 and self.cpu_millis >= cpu and self.memory_bytes >= memory

    def take(self, cpu: int, memory: int) -> None:
        self.cpu_millis -= cpu
        self.memory_bytes -= memory
        self.pods -= 1


#: node index -> workload key -> pods of that workload on the node (movable workloads only)
Placement = list[Counter[str]]


def initial_placement(shape: ScenarioShape) -> Placement:
    """How many pods of each movable workload start on each old node."""
    rooms = [
        _Room(shape.node.cpu_millis, shape.node.memory_bytes, shape.node.pods) for _ in range(shape.nodes_per_color)
    ]
    for ds in shape.daemonsets:
        for room in rooms:
            if room.fits(ds.cpu_millis, ds.memory_bytes):
                room.take(ds.cpu_millis, ds.memory_bytes)
    placement: Placement = [Counter() for _ in rooms]
    in_creation_order = [w for w in shape.movable if w.kind != "StatefulSet"] + [
        w for w in shape.movable if w.kind == "StatefulSet"
    ]
    for workload in in_creation_order:
        for replica in range(workload.replicas):
            candidates = [i for i, room in enumerate(rooms) if room.fits(workload.cpu_millis, workload.memory_bytes)]
            if not candidates:
                raise PlacementError(
                    f"scenario {shape.name}: replica {replica} of {workload.key} fits on no old node "
                    f"({shape.nodes_per_color} nodes); make the nodes bigger or the workloads smaller"
                )
            if shape.placement == "spread":
                chosen = min(candidates, key=lambda i: (_load(shape, rooms[i], workload), i))
            else:
                chosen = candidates[0]
            rooms[chosen].take(workload.cpu_millis, workload.memory_bytes)
            placement[chosen][workload.key] += 1
    return placement


def _load(shape: ScenarioShape, room: _Room, workload: Workload) -> float:
    used_cpu = shape.node.cpu_millis - room.cpu_millis + workload.cpu_millis
    used_memory = shape.node.memory_bytes - room.memory_bytes + workload.memory_bytes
    used_pods = shape.node.pods - room.pods
    return (used_cpu / shape.node.cpu_millis + used_memory / shape.node.memory_bytes) / 2 + used_pods * 1e-6
