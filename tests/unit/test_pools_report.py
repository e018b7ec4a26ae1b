"""The rehearsal's text summary names each pool's serving color when the scenario has pools."""

from __future__ import annotations

from bluegreen.rehearsal import Attempt, RehearsalReport, RunResult, summary_text


def report(final_pools: dict) -> RehearsalReport:
    return RehearsalReport(
        scenario="two-pools", result=RunResult.OK, error=None, duration_s=1.0, wall_s=1.0, nodes_drained=0,
        pods_evicted=0, pod_moves_per_evicted_pod=None, lowest_availability={}, budget_violations=[], pods_lost=[],
        api_requests={}, old_color_capacity={}, new_color_capacity={},
        attempts=(Attempt(1, RunResult.OK, None, (), 0, 1.0, pool_colors=(("workers", "green"), ("gpu", "green")),
                          pool_drained=(("workers", ("n1",)), ("gpu", ("n2",)))),),
        final_pools=final_pools,
    )


def test_each_pool_and_why_one_serves_no_single_color() -> None:
    text = summary_text(report({"workers": {"serving_color": "green", "serving_detail": "all on green"},
                                "gpu": {"serving_color": None, "serving_detail": "application pods run on both"}}))
    assert "pools: workers serving green; gpu serving no single color (application pods run on both)\n" in text


def test_no_pools_line_without_pools_and_each_run_lists_its_pools() -> None:
    plain = report({})
    assert "pools:" not in summary_text(plain)
    run = plain.to_dict()["runs"][0]
    assert run["pools"] == {"workers": "green", "gpu": "green"}
    assert run["pool_nodes_drained"] == {"workers": ["n1"], "gpu": ["n2"]}
