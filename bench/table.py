"""The benchmark's printed output: a Markdown table of scenario x tool x figure, availability, and targets."""

from __future__ import annotations

from collections.abc import Sequence

from bench.figures import Figures, TargetCheck


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def worst_availability(f: Figures) -> str:
    """The workload that dipped furthest, as "ready/desired key"."""
    if not f.lowest_availability:
        return "n/a"

    def fraction(item: tuple[str, str]) -> float:
        ready, desired = item[1].split("/")
        return int(ready) / int(desired) if int(desired) else 1.0

    key, value = min(sorted(f.lowest_availability.items()), key=fraction)
    return f"{value} {key}"


HEADER = (
    "| scenario | tool | result | wall (sim s) | lower bound (sim s) | overhead | overhead, speed-adjusted (est.) "
    "| moves / evicted pod "
    "| lowest availability (worst workload) | budget violations | k8s req / pod | AWS req / pod "
    "| peak memory (MB) | CPU (s) |"
)


def results_table(rows: Sequence[Figures]) -> str:
    lines = [HEADER, "|" + "---|" * HEADER.count(" | ") + "---|"]
    for f in rows:
        lines.append(
            f"| {f.scenario} | {f.tool} | {f.result} | {f.wall_s:.0f} | {f.lower_bound_s:.0f} | {_num(f.overhead)} "
            f"| {_num(f.adjusted_overhead)} "
            f"| {_num(f.moves_per_evicted)} | {worst_availability(f)} | {len(f.budget_violations)} "
            f"| {_num(f.k8s_per_pod, 1)} | {_num(f.aws_per_pod, 2)} | {f.peak_rss_mb:.0f} | {f.cpu_s:.1f} |"
        )
    return "\n".join(lines)


def availability_table(rows: Sequence[Figures]) -> str:
    """Lowest Ready/desired of every workload, one row per scenario and workload, one column per tool."""
    tools = sorted({f.tool for f in rows})
    lines = ["| scenario | workload | " + " | ".join(tools) + " |", "|---|---|" + "---|" * len(tools)]
    by = {(f.scenario, f.tool): f for f in rows}
    for scenario in dict.fromkeys(f.scenario for f in rows):
        keys = sorted({k for t in tools if (scenario, t) in by for k in by[(scenario, t)].lowest_availability})
        for key in keys:
            cells = [by[(scenario, t)].lowest_availability.get(key, "n/a") if (scenario, t) in by else "n/a"
                     for t in tools]
            lines.append(f"| {scenario} | {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets_table(checks: Sequence[TargetCheck]) -> str:
    lines = ["| tool | target | measured | met |", "|---|---|---|---|"]
    for c in checks:
        met = "n/a" if c.met is None else ("yes" if c.met else "NO")
        lines.append(f"| {c.tool} | {c.target} | {c.value} | {met} |")
    return "\n".join(lines)


def violations_list(rows: Sequence[Figures]) -> str:
    out = [f"- {f.scenario} / {f.tool}: {', '.join(f.budget_violations)}" for f in rows if f.budget_violations]
    return "\n".join(out) if out else "- none"
