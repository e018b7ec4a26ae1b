"""The GitHub Actions workflow (.github/workflows/pulumi.yml): valid YAML with the promised structure.

No network and no actionlint: the file is parsed with PyYAML and its triggers, jobs,
permissions and steps are checked against what docs/operations.md tells operators.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = ROOT / ".github" / "workflows" / "pulumi.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    # YAML 1.1 reads the bare key `on` as the boolean True; GitHub reads it as "on".
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return workflow["jobs"][job]["steps"]


def index_of(job_steps: list[dict[str, Any]], predicate) -> int:
    found = [i for i, s in enumerate(job_steps) if predicate(s)]
    assert found, "step not found"
    return found[0]


def uses(prefix: str):
    return lambda s: str(s.get("uses", "")).startswith(prefix)


def runs(fragment: str):
    return lambda s: fragment in str(s.get("run", ""))


def test_triggers_are_pull_requests_and_pushes_to_main(workflow) -> None:
    on = workflow["on"]
    assert on["pull_request"]["branches"] == ["main"]
    assert on["push"]["branches"] == ["main"]


def test_oidc_permissions_and_no_cancelled_cutovers(workflow) -> None:
    assert workflow["permissions"]["id-token"] == "write"
    assert workflow["permissions"]["contents"] == "read"
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_every_step_is_well_formed_and_actions_are_pinned(workflow) -> None:
    assert set(workflow["jobs"]) == {"test", "preview", "up"}
    for name, job in workflow["jobs"].items():
        assert job["runs-on"] == "ubuntu-latest", name
        for needed in [job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", []):
            assert needed in workflow["jobs"], (name, needed)
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), (name, step)
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]
    text = WORKFLOW.read_text()
    assert text.count("${{") == text.count("}}")


@pytest.mark.parametrize("job,command", [("preview", "preview"), ("up", "up")])
def test_job_installs_requirements_then_runs_pulumi(workflow, job: str, command: str) -> None:
    job_steps = steps(workflow, job)
    checkout = index_of(job_steps, uses("actions/checkout@"))
    python = index_of(job_steps, uses("actions/setup-python@"))
    venv = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["runtime"]["options"]["virtualenv"]
    # Into the virtualenv Pulumi.yaml names: that is the interpreter `pulumi` runs the program with.
    install = index_of(job_steps, runs(f"{venv}/bin/python -m pip install -r requirements.txt"))
    aws = index_of(job_steps, uses("aws-actions/configure-aws-credentials@"))
    pulumi = index_of(job_steps, uses("pulumi/actions@"))
    assert checkout < python < install < pulumi and aws < pulumi
    pulumi_step = job_steps[pulumi]
    assert pulumi_step["with"]["command"] == command
    assert pulumi_step["with"]["stack-name"].endswith("/${{ env.PULUMI_STACK }}")
    assert "role-to-assume" in job_steps[aws]["with"]


def test_preview_runs_on_pull_requests_and_up_only_on_main(workflow) -> None:
    preview, up = workflow["jobs"]["preview"], workflow["jobs"]["up"]
    assert preview["if"] == "github.event_name == 'pull_request'"
    assert "github.ref == 'refs/heads/main'" in up["if"] and "'push'" in up["if"]
    assert "pull_request" not in up["if"]
    assert (
        steps(workflow, "preview")[index_of(steps(workflow, "preview"), uses("pulumi/actions@"))]["with"][
            "comment-on-pr"
        ]
        is True
    )
    # The deployer role is only used by `up`; previews get the read-only role.
    assert "AWS_DEPLOY_ROLE_ARN" in str(up) and "AWS_DEPLOY_ROLE_ARN" not in str(preview)
    assert up["timeout-minutes"] >= 120


def test_the_stack_it_deploys_is_the_committed_stack_file(workflow) -> None:
    stack = workflow["env"]["PULUMI_STACK"]
    assert stack == "prod"
    assert (ROOT / f"Pulumi.{stack}.yaml").is_file(), "the workflow deploys the committed stack file"
    assert (ROOT / "requirements.txt").is_file() and (ROOT / "requirements-dev.txt").is_file()


def test_the_whole_suite_gates_both_jobs(workflow) -> None:
    assert workflow["jobs"]["preview"]["needs"] == "test" and workflow["jobs"]["up"]["needs"] == "test"
    job_steps = steps(workflow, "test")
    test = job_steps[index_of(job_steps, runs("pytest"))]
    # The README's test command, with no path: unit, integration and end-to-end tests alike.
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"python -m pytest[^\n`]*", readme).group(0)
    assert test["run"].strip() == command.strip() == "python -m pytest -q"
    install = index_of(job_steps, runs("pip install -r requirements-dev.txt"))
    assert install < job_steps.index(test)


def test_the_aws_session_lasts_a_repository_variable_with_a_one_hour_default(workflow) -> None:
    up = steps(workflow, "up")
    credentials = up[index_of(up, uses("aws-actions/configure-aws-credentials@"))]
    assert credentials["with"]["role-duration-seconds"] == "${{ vars.AWS_SESSION_DURATION_SECONDS || 3600 }}"
    assert "AWS_SESSION_DURATION_SECONDS" in WORKFLOW.read_text().split("\nname:")[0]  # listed in the header
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "AWS_SESSION_DURATION_SECONDS" in operations and "max-session-duration" in operations
