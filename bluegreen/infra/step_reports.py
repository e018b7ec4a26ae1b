"""What a cutover step keeps of the engine's report in the stack state: counts, node names, a few pod names.

The state (and the ``cutoverSteps`` output built from it) is written on every cutover and kept
until the next one of the same name, so it must not grow with the cluster: a drain of 3,000
pods would otherwise store every pod's name several times (evicted, per workload, staying).
``compact_report`` keeps every number, every node and instance name and load balancer (a few
per group), and of every other list the first ``PODS_KEPT`` entries next to its full length.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Entries kept of a list of pods (or workloads, or per-workload moves).
PODS_KEPT = 5
#: Lists kept whole: one entry per node, instance or load balancer of the groups, never per pod.
KEPT_WHOLE = frozenset(
    {
        "nodes",
        "instances",
        "nodes_drained",
        "nodes_already_drained",
        "old_nodes",
        "new_nodes",
        "cordoned_nodes",
        "target_group_arns",
        "classic_elb_names",
    }
)


def compact_report(report: Mapping[str, Any], keep: int = PODS_KEPT) -> dict[str, Any]:
    """A copy of ``report`` whose lists other than node/instance/load-balancer names hold at most ``keep`` entries;
    each shortened list ``key`` gets ``key_count`` with its full length beside it (pure)."""
    out: dict[str, Any] = {}
    for key, value in report.items():
        if isinstance(value, Mapping):
            out[key] = compact_report(value, keep)
        elif isinstance(value, list | tuple) and key not in KEPT_WHOLE:
            items = [compact_report(v, keep) if isinstance(v, Mapping) else v for v in list(value)[:keep]]
            out[key] = items
            if len(value) > keep:
                out[f"{key}_count"] = len(value)
        elif isinstance(value, list | tuple):
            out[key] = list(value)
        else:
            out[key] = value
    return out
