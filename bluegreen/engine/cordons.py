"""Cordons: the drain's marks on a node (spec.unschedulable and its progress annotation), set and lifted.

The drain cordons every old node before its first eviction and records its progress in the
``bluegreen.io/drain-state`` annotation. Both are lifted again when:

* a run targets that color (going back: a cutover the other way cordoned it), before its gates run;
* a drain stops while a pod it moved is unschedulable or a workload it touched lost ready pods (``stop.py``).

A node cordoned without the annotation was cordoned by someone else (``kubectl cordon``) and is left alone.
"""

from __future__ import annotations

from bluegreen.engine.naming import DRAIN_STATE_ANNOTATION
from bluegreen.engine.nodes import Node, node_from_json
from bluegreen.engine.progress import NodesUncordoned, Reporter

CORDONED, DRAINING, DRAINED = "cordoned", "draining", "drained"


def ours(node: Node) -> bool:
    """The drain touched this node (its progress annotation is set)."""
    return node.drain_state is not None


def to_reclaim(nodes: list[Node]) -> list[Node]:
    """Nodes of a color about to serve that carry the drain's marks: cordoned by a drain, or annotated."""
    return [n for n in nodes if ours(n)]


def to_release(nodes: list[Node]) -> list[Node]:
    """Old nodes a stopped drain uncordons so that moved pods can land on them again: the ones it cordoned."""
    return [n for n in nodes if n.unschedulable and ours(n)]


def set_state(kube, node: str, state: str, *, cordon: bool = False) -> None:
    patch: dict = {"metadata": {"annotations": {DRAIN_STATE_ANNOTATION: state}}}
    if cordon:
        patch["spec"] = {"unschedulable": True}
    # A node that vanished (its instance terminated) has nothing left to drain: not an error.
    kube.patch_node(node, patch, missing_ok=True)


def uncordon(kube, nodes: list[Node]) -> list[str]:
    """Lift the drain's cordon and clear its progress annotation (a hint only: it must not outlive the cordon)."""
    done = []
    for node in nodes:
        patch = {"metadata": {"annotations": {DRAIN_STATE_ANNOTATION: None}}, "spec": {"unschedulable": None}}
        kube.patch_node(node.name, patch, missing_ok=True)
        done.append(node.name)
    return done


def reclaim_color(kube, color: str, reporter: Reporter) -> list[str]:
    """Before a color's gates run: uncordon its nodes a drain cordoned and clear their progress annotations."""
    nodes = to_reclaim([node_from_json(n) for n in kube.nodes_of_color(color)])
    if not nodes:
        return []
    names = uncordon(kube, nodes)
    reporter.emit(NodesUncordoned(color, tuple(names), "this run makes them serve again (an earlier drain had "
                                                       "cordoned them)"))
    return names
