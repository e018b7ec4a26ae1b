"""The providers of the three cutover steps: thin adapters from Pulumi's dynamic-provider calls to the engine.

Pulumi pickles a dynamic provider object (with ``dill``) into the stack state and
runs it in a separate provider process, on a small thread pool. So these classes
hold no clients, sockets, credentials or tokens: everything is built inside the
method that needs it, from the step's plain inputs, and thrown away afterwards.
Importing this module has no side effects beyond imports.

The state stores each provider as a reference to its class (``dill`` pickles
importable classes by name, about 110 characters): keep this module's path and
the three class names stable, or leave aliases, since deleting an old step's
record unpickles the provider it was created with.

Each step:

* ``check`` validates the inputs, so a malformed property bag fails the preview;
* ``diff`` says whether the step must run again (``cutover_inputs.decide_run``);
* ``create``/``update`` run the engine call, print progress lines to stderr while
  they wait (the Pulumi engine streams provider output into ``pulumi up``) and
  return outputs that record what was done. A failure raises ``StepFailed``: the
  step is not committed, nothing that depends on it runs, and the next
  ``pulumi up`` runs it again;
* ``delete`` forgets the record and touches nothing in the cluster;
* ``read`` (``pulumi refresh``) keeps the record: it is history, not live state.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ResourceProvider,
    UpdateResult,
)

from bluegreen.engine import api as engine
from bluegreen.engine.clock import Clock, SystemClock
from bluegreen.engine.errors import CutoverError
from bluegreen.engine.naming import DEFAULT_POOL
from bluegreen.engine.progress import Note, PrintReporter, Reporter
from bluegreen.infra.cutover_inputs import (
    ROUTE_KEYS,
    CutoverInputs,
    Step,
    StepInputError,
    decide_run,
    has_unknowns,
)
from bluegreen.infra.step_reports import compact_report

# Properties written by the step itself (outputs); never inputs, never compared.
OUTPUT_KEYS = ("status", "summary", "report", "started_at", "finished_at", "duration_s")
# Pulumi's own key for the pickled provider inside the property bag.
PROVIDER_KEY = "__provider"


class StepFailed(Exception):
    """A cutover step stopped; it is not recorded, so the next ``pulumi up`` runs it again."""

    def __init__(self, step: Step, inputs: CutoverInputs, cause: Exception) -> None:
        self.step = step
        self.cause = cause
        pool = "" if inputs.pool == DEFAULT_POOL else f"pool {inputs.pool}, "
        super().__init__(
            f"{step} ({inputs.new_color} on {inputs.new_ami}, {pool}cluster {inputs.cluster_name}) failed: {cause}\n"
            f"This step was not recorded and nothing after it ran ({_after(step)}); "
            "once the cause is fixed, `pulumi up` runs it again."
        )


def _after(step: Step) -> str:
    return {
        "nodes-ready": "no load-balancer check, no drain, no scale-down",
        "load-balancers-healthy": "no drain, no scale-down",
        "drain": "the old color was not scaled down",
    }[step]


@dataclass(frozen=True)
class StepRecord:
    """What a step did, for the resource's outputs (and so for ``pulumi stack output``)."""

    status: str  # "passed" | "drained" | "nothing-to-drain"
    summary: str  # one line for people
    report: dict[str, Any]  # the engine's report, as plain data (compacted before it is stored)


class _StepProvider(ResourceProvider):
    """Shared plumbing of the three step providers; subclasses name the step and call the engine."""

    step: ClassVar[Step]

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__()
        # None in production: SystemClock, built per call. Tests driving the sandbox pass its ScaledClock,
        # so the engine's timeouts run on the sandbox's simulated time.
        self._clock = clock

    # --- Pulumi's provider interface -------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = {k: v for k, v in news.items() if k != PROVIDER_KEY and k not in OUTPUT_KEYS}
        try:
            # Values not known until apply (none today: every input is plain) are checked when known.
            if not has_unknowns(inputs):
                CutoverInputs.from_props(inputs)
        except StepInputError as err:
            prop = str(err).split(":", 1)[0].split(".", 1)[0]
            return CheckResult(news, [CheckFailure(prop, str(err))])
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        decision = decide_run(self.step, olds, news)
        # Never a replacement: the record of a step is updated in place (its id names cluster, step and
        # color), and a flip of colors is a differently named resource anyway.
        return DiffResult(changes=decision.run, replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = CutoverInputs.from_props(props)
        return CreateResult(self.record_id(inputs), self._run(inputs, props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = CutoverInputs.from_props(news)
        return UpdateResult(self._run(inputs, news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        # Forgetting the record of a past cutover step changes nothing in the cluster.
        return None

    # --- the step ------------------------------------------------------------------------------

    def record_id(self, inputs: CutoverInputs) -> str:
        color = inputs.old_color if self.step == "drain" else inputs.new_color
        pool = "" if inputs.pool == DEFAULT_POOL else f"{inputs.pool}/"
        return f"{inputs.cluster_name}/{pool}{self.step}/{color}"

    def perform(self, inputs: CutoverInputs, reporter: Reporter, clock: Clock) -> StepRecord:
        raise NotImplementedError

    def _run(self, inputs: CutoverInputs, props: Mapping[str, Any]) -> dict[str, Any]:
        clock = self._clock or SystemClock()
        subject = inputs.old_color if self.step == "drain" else inputs.new_color
        if inputs.pool != DEFAULT_POOL:
            subject = f"{inputs.pool}-{subject}"
        # stderr, line-flushed by PrintReporter: the Pulumi engine shows provider output as it arrives.
        reporter = PrintReporter(sys.stderr, clock, prefix=f"{self.step} {subject} ")
        started_wall = _utc_now()
        started = clock.now()
        try:
            record = self.perform(inputs, reporter, clock)
        except CutoverError as err:
            # The engine's message is complete (what blocks, what to do); its traceback would only repeat it in
            # the update's error output, so it is kept on ``StepFailed.cause`` instead of being chained.
            raise StepFailed(self.step, inputs, err) from None
        duration = clock.now() - started
        reporter.emit(Note(record.summary))
        outs = {k: v for k, v in props.items() if k != PROVIDER_KEY and k not in OUTPUT_KEYS}
        outs.update(inputs.to_props())
        outs.update(
            {
                "status": record.status,
                "summary": record.summary,
                # Counts, node names and the first few pod names: the state must not grow with the cluster.
                "report": _plain(compact_report(record.report)),
                "started_at": started_wall,
                "finished_at": _utc_now(),
                "duration_s": round(duration, 3),
            }
        )
        return outs


class NodesReadyProvider(_StepProvider):
    """Waits until the new color's desired count of instances joined the cluster as Ready nodes."""

    step = "nodes-ready"

    def perform(self, inputs: CutoverInputs, reporter: Reporter, clock: Clock) -> StepRecord:
        conn = engine.connect(_target(inputs))
        report = engine.wait_nodes_ready(conn, _new_group(inputs), inputs.settings, reporter, clock)
        data = report.to_dict()
        nodes = data.get("nodes") or []
        return StepRecord(
            "passed",
            f"{len(nodes)} {inputs.new_color} node(s) Ready on {inputs.new_ami} "
            f"(waited {data.get('waited_s', 0):.0f}s)",
            data,
        )


class LoadBalancersHealthyProvider(_StepProvider):
    """Waits until every new instance is healthy in every target group and classic ELB of the workers."""

    step = "load-balancers-healthy"

    def perform(self, inputs: CutoverInputs, reporter: Reporter, clock: Clock) -> StepRecord:
        conn = engine.connect(_target(inputs))
        report = engine.wait_load_balancers_healthy(
            conn, _new_group(inputs), inputs.settings, reporter, clock, expected=_load_balancers(inputs)
        )
        data = report.to_dict()
        count = len(data.get("target_group_arns") or []) + len(data.get("classic_elb_names") or [])
        return StepRecord(
            "passed",
            f"{len(data.get('instances') or [])} {inputs.new_color} instance(s) healthy behind {count} load "
            f"balancer(s) (waited {data.get('waited_s', 0):.0f}s)",
            data,
        )


class DrainProvider(_StepProvider):
    """Drains the old color onto the new one; the engine re-checks both gates before touching anything."""

    step = "drain"

    def perform(self, inputs: CutoverInputs, reporter: Reporter, clock: Clock) -> StepRecord:
        if not inputs.old_color_serving:
            # First deploy, or the old color already scaled to zero: no node of it can hold a pod we must move.
            return StepRecord(
                "nothing-to-drain",
                f"nothing to drain: {inputs.old_group} has no capacity (first deploy, or already drained)",
                {"old_group": inputs.old_group, "nodes_drained": 0, "pods_evicted": 0},
            )
        conn = engine.connect(_target(inputs))
        report = engine.drain(
            conn,
            _old_group(inputs),
            _new_group(inputs),
            inputs.settings,
            reporter,
            clock,
            expected=_load_balancers(inputs),
        )
        data = report.to_dict()
        return StepRecord("drained", _drain_summary(inputs, data), data)


PROVIDERS: dict[Step, type[_StepProvider]] = {
    "nodes-ready": NodesReadyProvider,
    "load-balancers-healthy": LoadBalancersHealthyProvider,
    "drain": DrainProvider,
}


# --- engine facade arguments -----------------------------------------------------------------------


def _target(inputs: CutoverInputs) -> engine.ClusterTarget:
    return engine.ClusterTarget(
        cluster_name=inputs.cluster_name,
        region=inputs.region,
        aws_endpoint_url=inputs.aws_endpoint_url,
        kubeconfig_path=inputs.kubeconfig_path,
        kube_context=inputs.kube_context,
    )


def _new_group(inputs: CutoverInputs) -> engine.GroupSpec:
    return engine.GroupSpec(inputs.cluster_name, inputs.new_color, inputs.new_ami, inputs.desired, pool=inputs.pool)


def _old_group(inputs: CutoverInputs) -> engine.GroupSpec:
    # The old group's image is not an input (it would change between a first deploy and the next run, so
    # an unchanged config would re-run the drain) and the drain does not need it: it finds old nodes by
    # color and pool labels. Its target capacity is zero.
    return engine.GroupSpec(inputs.cluster_name, inputs.old_color, "", 0, pool=inputs.pool)


def _load_balancers(inputs: CutoverInputs) -> engine.LoadBalancerSpec:
    return engine.LoadBalancerSpec(
        target_group_arns=inputs.target_group_arns, classic_elb_names=inputs.classic_elb_names
    )


def _drain_summary(inputs: CutoverInputs, data: Mapping[str, Any]) -> str:
    drained = _count(data.get("nodes_drained"))
    earlier = _count(data.get("nodes_already_drained"))
    pods = _count(data.get("pods_evicted"))
    forced = _count(data.get("pods_forced"))
    seconds = float(data.get("duration_s", data.get("seconds")) or 0)
    text = f"drained {drained} {inputs.old_color} node(s) onto {inputs.new_color}, {pods} pod(s) moved"
    surged = _count(data.get("pods_moved_by_surge"))
    if surged:
        text += f", {surged} moved by surge (rolling restart)"
    if earlier:
        text += f", {earlier} node(s) drained by an earlier run"
    if forced:
        text += f", {forced} pod(s) FORCED past their budget"
    return text + f" in {seconds:.0f}s"


def _count(value: Any) -> int:
    """A report's count, whether it gives the number or the list of names."""
    if isinstance(value, int | float):
        return int(value)
    return len(value or [])


# --- small helpers ------------------------------------------------------------------------------


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(value: Any) -> Any:
    """JSON-compatible copy (tuples to lists, odd scalars to strings): Pulumi's serializer wants plain data."""
    return json.loads(json.dumps(value, default=str))


__all__ = [
    "DrainProvider",
    "LoadBalancersHealthyProvider",
    "NodesReadyProvider",
    "PROVIDERS",
    "ROUTE_KEYS",
    "StepFailed",
    "StepRecord",
]
