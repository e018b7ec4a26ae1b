"""Figures of one benchmark run, and the targets they are printed against (never asserted).

A ``RunRecord`` is what one tool did on one scenario, as the sandbox and the
operating system observed it; ``figures`` turns it into the numbers of the
table; ``target_checks`` compares them with the targets of issue 6.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from bench.lower_bound import allowed_disruptions
from bench.shape import ScenarioShape

OURS = "bluegreen"  # our cutover, rollout.strategy serial (the default)
OURS_PACED = "bluegreen-paced"  # our cutover, rollout.strategy paced; measured against its own lower bound
PEER = "kubectl-drain"

# Targets (issues 6 and 14): printed next to each result, not asserted.
#: Overhead (wall / the tool's own lower bound) per tool and scenario; a serial tool (ours, kubectl) is held to the
#: serial target at medium, the paced strategy to its own at medium and large.
TARGET_OVERHEADS: dict[str, dict[str, float]] = {
    OURS: {"medium": 1.05},
    PEER: {"medium": 1.05},
    OURS_PACED: {"medium": 1.15, "large": 1.15},
}
TARGET_PACED_VS_SERIAL = 0.25  # paced wall time / serial wall time, at large
TARGET_MOVES_PER_EVICTED = 1.00
TARGET_VIOLATIONS = 0
TARGET_REQUESTS_GROWTH = 1.10  # large / medium requests per pod moved: "flat" means within 10 %
TARGET_PEAK_MB = 300.0  # for the large scenario


@dataclass(frozen=True)
class RunRecord:
    """What one tool did on one scenario."""

    scenario: str
    tool: str
    speed: float  # simulated seconds per real second
    result: str  # "ok" | "failed"
    error: str | None
    wall_s: float  # simulated seconds from scaling the new group up to the old group at zero
    real_s: float  # real seconds of the same span
    pods_to_move: int  # pods of Deployments/StatefulSets on the old nodes when the cutover started
    evictions: int  # times any such pod (or a replacement) was evicted or deleted off a node during the run
    pods_lost: int  # evicted pods never replaced by a Ready pod
    lowest_ready: Mapping[str, int]  # workload key -> fewest Ready pods seen during the run
    k8s_requests: int
    aws_requests: int
    peak_rss_mb: float  # of the orchestrating process(es): our driver, or the largest kubectl process
    cpu_s: float  # user + system CPU of the orchestrating process(es)
    speed_inflation_s: float = 0.0  # simulated seconds only real-time waits cost at this speed (kubectl; estimate)
    notes: tuple[str, ...] = field(default_factory=tuple)
    k8s_bytes: int = 0  # bytes of the Kubernetes API's response bodies during the run (0 in records made before)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Figures:
    scenario: str
    tool: str
    result: str
    wall_s: float
    lower_bound_s: float
    overhead: float | None
    adjusted_overhead: float | None  # overhead without the speed inflation of real-time waits (estimate)
    moves_per_evicted: float | None
    lowest_availability: dict[str, str]  # workload key -> "ready/desired"
    budget_violations: tuple[str, ...]  # workload keys that went below their budget
    k8s_per_pod: float | None
    aws_per_pod: float | None
    peak_rss_mb: float
    cpu_s: float
    k8s_kb_per_pod: float | None = None  # KiB of Kubernetes API responses per pod moved


def budget_floor(shape: ScenarioShape) -> dict[str, int]:
    """Fewest Ready pods each movable workload may have during a correct drain (its PDB or the implicit budget)."""
    return {w.key: w.replicas - allowed_disruptions(w) for w in shape.movable}


def violations(lowest_ready: Mapping[str, int], floor: Mapping[str, int]) -> tuple[str, ...]:
    """Workloads whose fewest Ready pods went below their floor, with by how much."""
    return tuple(
        f"{key} ({lowest_ready[key]} < {floor[key]})"
        for key in sorted(floor)
        if key in lowest_ready and lowest_ready[key] < floor[key]
    )


def _per(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def figures(record: RunRecord, shape: ScenarioShape, lower_bound_s: float) -> Figures:
    """The table's numbers for ``record``."""
    desired = {w.key: w.replicas for w in shape.movable}
    return Figures(
        scenario=record.scenario,
        tool=record.tool,
        result=record.result,
        wall_s=record.wall_s,
        lower_bound_s=lower_bound_s,
        overhead=_per(record.wall_s, lower_bound_s) if record.result == "ok" else None,
        adjusted_overhead=(_per(record.wall_s - record.speed_inflation_s, lower_bound_s)
                           if record.result == "ok" else None),
        moves_per_evicted=_per(record.evictions, record.pods_to_move),
        lowest_availability={
            key: f"{record.lowest_ready[key]}/{desired[key]}" for key in sorted(desired) if key in record.lowest_ready
        },
        budget_violations=violations(record.lowest_ready, budget_floor(shape)),
        k8s_per_pod=_per(record.k8s_requests, record.pods_to_move),
        aws_per_pod=_per(record.aws_requests, record.pods_to_move),
        peak_rss_mb=record.peak_rss_mb,
        cpu_s=record.cpu_s,
        k8s_kb_per_pod=_per(record.k8s_bytes / 1024, record.pods_to_move) if record.k8s_bytes else None,
    )


@dataclass(frozen=True)
class TargetCheck:
    tool: str
    target: str
    value: str
    met: bool | None  # None: not measurable (e.g. the run failed or a scenario was not run)


def target_checks(rows: Sequence[Figures]) -> list[TargetCheck]:
    """Each target of issue 6, per tool, against the rows of one benchmark run."""
    checks: list[TargetCheck] = []
    by = {(f.scenario, f.tool): f for f in rows}
    for tool in sorted({f.tool for f in rows}):
        medium = by.get(("medium", tool))
        large = by.get(("large", tool))
        for scenario, target in TARGET_OVERHEADS.get(tool, TARGET_OVERHEADS[OURS]).items():
            row = by.get((scenario, tool))
            if row is None:
                continue
            shown = "failed" if row.overhead is None else f"{row.overhead:.2f}"
            checks.append(TargetCheck(tool, f"overhead <= {target:.2f} ({scenario})", shown,
                                      None if row.overhead is None else row.overhead <= target))
        serial = by.get(("large", OURS))
        if tool == OURS_PACED and large is not None and serial is not None:
            ratio = paced_vs_serial(large, serial)
            checks.append(TargetCheck(
                tool, f"wall time <= {TARGET_PACED_VS_SERIAL:.2f} x serial's (large)",
                "n/a" if ratio is None else f"{ratio:.2f}x ({large.wall_s:.0f} / {serial.wall_s:.0f} s)",
                None if ratio is None else ratio <= TARGET_PACED_VS_SERIAL,
            ))
        for f in rows:
            if f.tool != tool:
                continue
            mpe = f.moves_per_evicted
            checks.append(TargetCheck(
                tool, f"pod moves per evicted pod = {TARGET_MOVES_PER_EVICTED:.2f} ({f.scenario})",
                "n/a" if mpe is None else f"{mpe:.2f}", None if mpe is None else round(mpe, 2) == 1.0,
            ))
            checks.append(TargetCheck(
                tool, f"budget violations = 0 ({f.scenario})",
                str(len(f.budget_violations)), len(f.budget_violations) == TARGET_VIOLATIONS,
            ))
        if medium is not None and large is not None:
            growth = requests_growth(medium, large)
            checks.append(TargetCheck(
                tool, f"requests per pod moved flat medium->large (growth <= {TARGET_REQUESTS_GROWTH:.2f}x)",
                "n/a" if growth is None else f"{growth:.2f}x",
                None if growth is None else growth <= TARGET_REQUESTS_GROWTH,
            ))
        if medium is not None and large is not None:
            for what, before, after in (("k8s requests", medium.k8s_per_pod, large.k8s_per_pod),
                                        ("k8s KB", medium.k8s_kb_per_pod, large.k8s_kb_per_pod)):
                shown = "n/a" if before is None or after is None or before <= 0 else f"{after / before:.2f}x"
                checks.append(TargetCheck(
                    tool, f"{what} per pod moved flat or falling medium->large (growth <= "
                          f"{TARGET_REQUESTS_GROWTH:.2f}x)", shown,
                    None if shown == "n/a" else (after or 0) / (before or 1) <= TARGET_REQUESTS_GROWTH))
        if tool != PEER:
            for f in rows:
                peer = by.get((f.scenario, PEER))
                if f.tool != tool or peer is None:
                    continue
                for what, ours, theirs in (("k8s requests", f.k8s_per_pod, peer.k8s_per_pod),
                                           ("k8s KB", f.k8s_kb_per_pod, peer.k8s_kb_per_pod)):
                    measurable = ours is not None and theirs is not None
                    checks.append(TargetCheck(
                        tool, f"{what} per pod moved below the kubectl loop's ({f.scenario})",
                        f"{ours:.1f} vs {theirs:.1f}" if measurable else "n/a",
                        (ours or 0) < (theirs or 0) if measurable else None))
        if large is not None:
            checks.append(TargetCheck(
                tool, f"peak memory < {TARGET_PEAK_MB:.0f} MB (large)", f"{large.peak_rss_mb:.0f} MB",
                large.peak_rss_mb < TARGET_PEAK_MB,
            ))
    return checks


def requests_growth(medium: Figures, large: Figures) -> float | None:
    """(K8s + AWS requests per pod moved at large) / (the same at medium)."""
    if None in (medium.k8s_per_pod, medium.aws_per_pod, large.k8s_per_pod, large.aws_per_pod):
        return None
    before = (medium.k8s_per_pod or 0) + (medium.aws_per_pod or 0)
    after = (large.k8s_per_pod or 0) + (large.aws_per_pod or 0)
    return after / before if before > 0 else None


def paced_vs_serial(paced: Figures, serial: Figures) -> float | None:
    """The paced row's wall time over the serial row's, on the same scenario (None unless both succeeded)."""
    if paced.result != "ok" or serial.result != "ok" or serial.wall_s <= 0:
        return None
    return paced.wall_s / serial.wall_s
