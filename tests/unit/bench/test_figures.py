"""Figures of a run, targets and the printed tables, from plain records."""

from __future__ import annotations

import pytest

from bench.figures import (
    OURS,
    OURS_PACED,
    PEER,
    RunRecord,
    budget_floor,
    figures,
    requests_growth,
    target_checks,
    violations,
)
from bench.shape import shape_from_mapping
from bench.table import availability_table, paced_table, results_table, targets_table, worst_availability

SHAPE = shape_from_mapping({
    "name": "t",
    "nodes_per_color": 2,
    "node": {"cpu": "4", "memory": "16Gi", "pods": 20},
    "workloads": [
        {"kind": "Deployment", "name": "web", "namespace": "shop", "replicas": 10, "pdb": {"maxUnavailable": 2}},
        {"kind": "Deployment", "name": "tool", "namespace": "tools", "replicas": 2},
        {"kind": "DaemonSet", "name": "agent", "namespace": "kube-system"},
    ],
})


def record(tool=OURS, scenario="medium", **overrides) -> RunRecord:
    base = dict(
        scenario=scenario, tool=tool, speed=10.0, result="ok", error=None, wall_s=110.0, real_s=11.0,
        pods_to_move=12, evictions=12, pods_lost=0, lowest_ready={"shop/web": 8, "tools/tool": 1},
        k8s_requests=120, aws_requests=24, peak_rss_mb=90.0, cpu_s=3.0,
    )
    base.update(overrides)
    return RunRecord(**base)


def test_budget_floor_is_the_pdb_or_the_implicit_budget():
    assert budget_floor(SHAPE) == {"shop/web": 8, "tools/tool": 1}


def test_violations_name_the_workload_and_the_shortfall():
    assert violations({"shop/web": 7, "tools/tool": 1}, {"shop/web": 8, "tools/tool": 1}) == ("shop/web (7 < 8)",)
    assert violations({"shop/web": 8}, {"shop/web": 8, "tools/tool": 1}) == ()


def test_figures_divide_by_the_lower_bound_and_the_pods_to_move():
    f = figures(record(evictions=15, speed_inflation_s=10.0), SHAPE, lower_bound_s=100.0)
    assert f.overhead == pytest.approx(1.10)
    assert f.adjusted_overhead == pytest.approx(1.00)
    assert f.moves_per_evicted == pytest.approx(15 / 12)
    assert (f.k8s_per_pod, f.aws_per_pod) == (10.0, 2.0)
    assert f.lowest_availability == {"shop/web": "8/10", "tools/tool": "1/2"}
    assert f.budget_violations == ()


def test_a_failed_run_has_no_overhead():
    f = figures(record(result="failed", error="boom"), SHAPE, lower_bound_s=100.0)
    assert f.overhead is None and f.adjusted_overhead is None


def test_targets_report_met_and_missed_per_tool():
    rows = [
        figures(record(OURS, "medium"), SHAPE, 100.0),
        figures(record(OURS, "large", k8s_requests=144, peak_rss_mb=310.0), SHAPE, 100.0),
        figures(record(PEER, "medium", wall_s=200.0, evictions=13, lowest_ready={"shop/web": 8, "tools/tool": 0}),
                SHAPE, 100.0),
    ]
    checks = {(c.tool, c.target): c for c in target_checks(rows)}
    assert checks[(OURS, "overhead <= 1.05 (medium)")].met is False  # 1.10
    assert checks[(PEER, "overhead <= 1.05 (medium)")].met is False
    assert checks[(PEER, "pod moves per evicted pod = 1.00 (medium)")].value == "1.08"
    assert checks[(PEER, "budget violations = 0 (medium)")].met is False
    growth = checks[(OURS, "requests per pod moved flat medium->large (growth <= 1.10x)")]
    assert (growth.value, growth.met) == ("1.17x", False)  # (144 + 24) / (120 + 24)
    assert checks[(OURS, "peak memory < 300 MB (large)")].met is False


def test_requests_growth_needs_both_scenarios_measured():
    medium = figures(record(pods_to_move=0), SHAPE, 100.0)
    assert requests_growth(medium, figures(record(), SHAPE, 100.0)) is None


def test_tables_show_every_row_and_the_worst_workload():
    rows = [figures(record(OURS), SHAPE, 100.0),
            figures(record(PEER, lowest_ready={"shop/web": 9, "tools/tool": 0}), SHAPE, 100.0)]
    table = results_table(rows)
    assert table.count("\n") == 3  # header, rule, two rows
    assert "| medium | kubectl-drain | ok | 110 | 100 | 1.10 |" in table
    assert worst_availability(rows[1]) == "0/2 tools/tool"
    assert "| medium | tools/tool | 1/2 | 0/2 |" in availability_table(rows)
    assert "| NO |" in targets_table(target_checks(rows))


def test_numbered_look_alike_workloads_fold_into_their_worst():
    many = {f"tools/admin-{i:02d}": "1/2" for i in range(5)} | {"tools/admin-03": "0/2", "shop/web": "9/10"}
    row = figures(record(lowest_ready={}), SHAPE, 100.0)
    row = type(row)(**{**row.__dict__, "lowest_availability": many})
    table = availability_table([row])
    assert "| medium | tools/admin-* | 0/2 (worst of 5) |" in table
    assert "| medium | shop/web | 9/10 |" in table


def test_the_paced_row_has_its_own_overhead_targets_and_its_wall_time_against_serial_at_large():
    rows = [
        figures(record(OURS, "medium", wall_s=104.0), SHAPE, 100.0),
        figures(record(OURS, "large", wall_s=2000.0), SHAPE, 1000.0),
        figures(record(OURS_PACED, "medium", wall_s=60.0), SHAPE, 50.0),
        figures(record(OURS_PACED, "large", wall_s=400.0), SHAPE, 380.0),
    ]
    checks = {(c.tool, c.target): c for c in target_checks(rows)}
    assert checks[(OURS, "overhead <= 1.05 (medium)")].met is True
    assert (OURS, "overhead <= 1.15 (large)") not in checks
    assert checks[(OURS_PACED, "overhead <= 1.15 (medium)")].met is False  # 1.20
    assert checks[(OURS_PACED, "overhead <= 1.15 (large)")].met is True  # 1.05
    vs = checks[(OURS_PACED, "wall time <= 0.25 x serial's (large)")]
    assert (vs.value, vs.met) == ("0.20x (400 / 2000 s)", True)
    table = paced_table(rows)
    assert "| large | 2000 | 2.00 | 400 | 380 | 1.05 | 0.20 |" in table
    assert "| medium | 104 | 1.04 | 60 | 50 | 1.20 | 0.58 |" in table


def test_no_paced_comparison_without_a_successful_serial_row():
    rows = [figures(record(OURS, "large", result="failed", error="x"), SHAPE, 1000.0),
            figures(record(OURS_PACED, "large"), SHAPE, 100.0)]
    checks = {(c.tool, c.target): c for c in target_checks(rows)}
    assert checks[(OURS_PACED, "wall time <= 0.25 x serial's (large)")].met is None


def test_kilobytes_per_pod_and_the_api_load_targets():
    rows = [
        figures(record(OURS, "medium", k8s_bytes=12 * 30 * 1024), SHAPE, 100.0),
        figures(record(OURS, "large", k8s_requests=96, k8s_bytes=12 * 32 * 1024), SHAPE, 100.0),
        figures(record(PEER, "medium", k8s_requests=144, k8s_bytes=12 * 20 * 1024), SHAPE, 100.0),
    ]
    assert rows[0].k8s_kb_per_pod == pytest.approx(30.0)
    assert figures(record(), SHAPE, 100.0).k8s_kb_per_pod is None  # a record made before bytes were counted
    checks = {(c.tool, c.target): c for c in target_checks(rows)}
    flat_kb = checks[(OURS, "k8s KB per pod moved flat or falling medium->large (growth <= 1.10x)")]
    assert (flat_kb.value, flat_kb.met) == ("1.07x", True)
    flat_requests = checks[(OURS, "k8s requests per pod moved flat or falling medium->large (growth <= 1.10x)")]
    assert (flat_requests.value, flat_requests.met) == ("0.80x", True)
    below_requests = checks[(OURS, "k8s requests per pod moved below the kubectl loop's (medium)")]
    assert (below_requests.value, below_requests.met) == ("10.0 vs 12.0", True)
    below_kb = checks[(OURS, "k8s KB per pod moved below the kubectl loop's (medium)")]
    assert (below_kb.value, below_kb.met) == ("30.0 vs 20.0", False)
    assert (OURS, "k8s KB per pod moved below the kubectl loop's (large)") not in checks  # no kubectl row there
    assert "| 30.0 |" in results_table(rows)
