"""The benchmark's printed output: a Markdown table of scenario x tool x figure, availability, and targets."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bench.figures import OURS, OURS_PACED, Figures, TargetCheck, paced_vs_serial


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def worst_availability(f: Figures) -> str:
    """The workload that dipped furthest, as "ready/desired key"."""
    if not f.lowest_availability:
        return "n/a"

    key, value = min(sorted(f.lowest_availability.items()), key=lambda item: _fraction(item[1]))
    return f"{value} {key}"


HEADER = (
    "| scenario | tool | result | wall (sim s) | lower bound (sim s) | overhead | overhead, speed-adjusted (est.) "
    "| moves / evicted pod "
    "| lowest availability (worst workload) | budget violations | k8s req / pod | k8s KB / pod | AWS req / pod "
    "| peak memory (MB) | CPU (s) |"
)


def results_table(rows: Sequence[Figures]) -> str:
    lines = [HEADER, "|" + "---|" * HEADER.count(" | ") + "---|"]
    for f in rows:
        lines.append(
            f"| {f.scenario} | {f.tool} | {f.result} | {f.wall_s:.0f} | {f.lower_bound_s:.0f} | {_num(f.overhead)} "
            f"| {_num(f.adjusted_overhead)} "
            f"| {_num(f.moves_per_evicted)} | {worst_availability(f)} | {len(f.budget_violations)} "
            f"| {_num(f.k8s_per_pod, 1)} | {_num(f.k8s_kb_per_pod, 1)} "
            f"| {_num(f.aws_per_pod, 2)} | {f.peak_rss_mb:.0f} | {f.cpu_s:.1f} |"
        )
    return "\n".join(lines)


_NUMBERED = re.compile(r"-\d+$")


def _fraction(value: str) -> float:
    ready, desired = value.split("/")
    return int(ready) / int(desired) if int(desired) else 1.0


def family(key: str) -> str:
    """``tools/admin-07`` -> ``tools/admin-*``: numbered look-alike workloads share one row."""
    return _NUMBERED.sub("-*", key)


def availability_table(rows: Sequence[Figures]) -> str:
    """Lowest Ready/desired of every workload (numbered look-alikes folded into their worst one), one row per
    scenario and workload, one column per tool."""
    tools = sorted({f.tool for f in rows})
    lines = ["| scenario | workload | " + " | ".join(tools) + " |", "|---|---|" + "---|" * len(tools)]
    by = {(f.scenario, f.tool): f for f in rows}
    for scenario in dict.fromkeys(f.scenario for f in rows):
        folded: dict[tuple[str, str], list[str]] = {}
        for tool in tools:
            for key, value in (by[(scenario, tool)].lowest_availability if (scenario, tool) in by else {}).items():
                folded.setdefault((family(key), tool), []).append(value)
        for name in sorted({name for name, _ in folded}):
            cells = []
            for tool in tools:
                values = folded.get((name, tool))
                if not values:
                    cells.append("n/a")
                    continue
                worst = min(values, key=_fraction)
                cells.append(worst if len(values) == 1 else f"{worst} (worst of {len(values)})")
            lines.append(f"| {scenario} | {name} | " + " | ".join(cells) + " |")
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


def paced_table(rows: Sequence[Figures]) -> str:
    """Per scenario with both of our rows: the serial and paced wall times, their ratio, and each row's overhead
    against its own lower bound."""
    by = {(f.scenario, f.tool): f for f in rows}
    lines = ["| scenario | serial wall (sim s) | serial overhead | paced wall (sim s) | paced lower bound (sim s) "
             "| paced overhead | paced / serial |", "|---|---|---|---|---|---|---|"]
    for scenario in dict.fromkeys(f.scenario for f in rows):
        serial, paced = by.get((scenario, OURS)), by.get((scenario, OURS_PACED))
        if serial is None or paced is None:
            continue
        ratio = paced_vs_serial(paced, serial)
        lines.append(f"| {scenario} | {serial.wall_s:.0f} | {_num(serial.overhead)} | {paced.wall_s:.0f} "
                     f"| {paced.lower_bound_s:.0f} | {_num(paced.overhead)} | {_num(ratio)} |")
    return "\n".join(lines) if len(lines) > 2 else "- needs both bluegreen and bluegreen-paced rows"
