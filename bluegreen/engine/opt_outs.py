"""Opt-outs: pods that ask not to be disrupted, and how a drain honours them (``rollout.doNotDisrupt``).

Two annotations say "do not evict me" to the tools that drain nodes on their own:

* ``karpenter.sh/do-not-disrupt: "true"`` (Karpenter: sigs.k8s.io/karpenter pkg/utils/pod/scheduling.go
  ``HasDoNotDisrupt``, an exact match on "true");
* ``cluster-autoscaler.kubernetes.io/safe-to-evict: "false"`` (kubernetes/autoscaler cluster-autoscaler/utils/
  drain/drain.go ``HasNotSafeToEvictAnnotation``, an exact match on "false"; any other value is as if absent).

A cutover honours both: by default such a pod is a preflight blocker, named (``block``); ``wait`` waits on each node
being drained, up to ``rollout.doNotDisruptTimeoutSeconds``, for its opted-out pods to finish, go, or lose the
annotation, then stops (the stop invariant applies: ``stop.py``); ``ignore`` evicts them like any other pod.

The decisions are pure functions of a pod's annotations; ``wait_for_opt_outs`` is the one small I/O unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bluegreen.engine.errors import DoNotDisruptTimeout
from bluegreen.engine.progress import Event

if TYPE_CHECKING:  # pods.py reads its opt-out through ``opt_out`` here: no import at run time either way round
    from bluegreen.engine.pods import Pod

DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"
#: The setting's stack key, as the messages name it.
POLICY_KEY = "rollout.doNotDisrupt"
TIMEOUT_KEY = "rollout.doNotDisruptTimeoutSeconds"


def opt_out(annotations: Mapping[str, str] | None) -> str | None:
    """The annotation (``key=value``) by which a pod opts out of voluntary disruption, or None."""
    found = annotations or {}
    if found.get(DO_NOT_DISRUPT) == "true":
        return f'{DO_NOT_DISRUPT}="true"'
    if found.get(SAFE_TO_EVICT) == "false":
        return f'{SAFE_TO_EVICT}="false"'
    return None


def blocker(pod: str, annotation: str) -> str:
    """The preflight blocker of an opted-out pod (rollout.doNotDisrupt=block)."""
    namespace, _, name = pod.partition("/")
    return (f"pod {pod} opts out of disruption ({annotation}). Next: let it finish or remove the annotation "
            f"(kubectl annotate pod -n {namespace} {name} {annotation.split('=')[0]}-), then re-run; or set "
            f"{POLICY_KEY}=wait to wait for that on its node (up to {TIMEOUT_KEY}), or {POLICY_KEY}=ignore to evict "
            "it anyway")


def warning(pod: str, annotation: str, policy: str, timeout_s: float) -> str:
    """What the plan says about an opted-out pod the drain does not refuse (wait or ignore)."""
    if policy == "wait":
        return (f"pod {pod} opts out of disruption ({annotation}): its node's drain waits up to {timeout_s:.0f}s "
                f"({TIMEOUT_KEY}) for it to finish or lose the annotation, then stops")
    return f"pod {pod} opts out of disruption ({annotation}) and is evicted anyway ({POLICY_KEY}=ignore)"


def still_held(pods: Sequence[Pod]) -> list[Pod]:
    """The pods that still hold their node: opted out, and a pod the drain would move (not finished, not on its way
    out, not a DaemonSet or mirror pod, which a drain leaves where they are anyway)."""
    return [p for p in pods if p.opt_out is not None
            and not (p.finished or p.terminating or p.mirror or p.owner_kind == "DaemonSet")]


# -- progress and failure ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptOutsWaiting(Event):
    nodes: tuple[str, ...]
    pods: tuple[str, ...]
    timeout_s: float

    def line(self) -> str:
        return (f"waiting up to {self.timeout_s:.0f}s ({TIMEOUT_KEY}) for {len(self.pods)} pod(s) that opt out of "
                f"disruption on {', '.join(self.nodes)}: {', '.join(self.pods[:5])}"
                + (" ..." if len(self.pods) > 5 else ""))


@dataclass(frozen=True)
class OptOutsReleased(Event):
    pods: tuple[str, ...]
    waited_s: float

    def line(self) -> str:
        return (f"{len(self.pods)} pod(s) no longer opt out of disruption (finished, gone or annotation removed) "
                f"after {self.waited_s:.0f}s")


# -- the one I/O unit -------------------------------------------------------------------------------------------


def wait_for_opt_outs(kube, nodes: list[str], settings, clock, reporter) -> None:
    """rollout.doNotDisrupt=wait: before a batch of nodes is drained, wait until no pod on them opts out of
    disruption, polling every poll interval, up to rollout.doNotDisruptTimeoutSeconds; then raise
    ``DoNotDisruptTimeout`` naming them. Other policies return at once (block refused them at preflight; ignore
    evicts them)."""
    if settings.do_not_disrupt != "wait":
        return
    from bluegreen.engine.pods import pod_from_json

    start = clock.now()
    first: list[Pod] | None = None
    while True:
        held = still_held([pod_from_json(p) for name in nodes for p in kube.list_pods(node=name)])
        waited = clock.now() - start
        if not held:
            if first:
                reporter.emit(OptOutsReleased(tuple(p.key for p in first), waited))
            return
        if first is None:
            first = held
            reporter.emit(OptOutsWaiting(tuple(sorted({p.node or "" for p in held})), tuple(p.key for p in held),
                                         settings.do_not_disrupt_timeout_s))
        if waited >= settings.do_not_disrupt_timeout_s:
            raise DoNotDisruptTimeout(", ".join(sorted({p.node or "" for p in held})), waited,
                                      [f"{p.key} ({p.opt_out})" for p in held])
        clock.sleep(settings.poll_interval_s)
