"""docs/operations.md keeps up with the code: every engine failure has a row, every AWS call a permission.

The failure table's first column holds message patterns (``<name>`` for a value, ``N``
for a number, ``...`` for anything); each engine error, built with sample values,
must match one of them. The IAM section must name every AWS action the engine calls.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from bluegreen.engine import errors
from bluegreen.engine.signals import SignalFailure, SignalKind

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "operations.md").read_text()

# Errors whose message is free text given by the raiser (ConnectError) or that are never raised (the base).
FREE_TEXT = {"CutoverError", "ConnectError"}
SAMPLES = {
    "group_name": "prod-workers-green",
    "waited_s": 61.0,
    "gaps": ["instance i-0abc: NotReady (KubeletNotReady)"],
    "blockers": ["PodDisruptionBudget default/ledger allows no disruption"],
    "pod": "default/web-1",
    "pdb": "default/web",
    "status": 403,
    "message": "forbidden",
    "node": "ip-10-0-1-17.eu-west-1.compute.internal",
    "remaining": ["default/web-1"],
    "workload": "Deployment default/web",
    "detail": "2/3 ready",
    "what": "list pods",
    "scheduler_message": "0/6 nodes are available: 3 Insufficient cpu, 3 node(s) were unschedulable.",
    "ready": 2,
    "desired": 3,
    "leftovers": ["default/web-1 on ip-10-0-1-17.eu-west-1.compute.internal"],
    "names": ("prod-5xx-rate",),
    "failures": (SignalFailure(SignalKind.ALARM, "prod-5xx-rate", "Threshold Crossed: 1 datapoint [12.0]"),),
    "when": "after node ip-10-0-1-17.eu-west-1.compute.internal",
    "old_group": "prod-workers-blue",
    "new_group": "prod-workers-green",
    "old_ami": "ami-0123456789abcdef0",
    "cause": RuntimeError("eviction of pod default/web-1 refused"),
    "stuck": ["default/web-1 (stuck Terminating 61s after its eviction, grace period 5s: finalizers example.com/x)"],
    "pods": ["default/report-abcde"],
}


def documented_patterns() -> list[re.Pattern[str]]:
    section = DOC[DOC.index("## 5. Failure messages") : DOC.index("## 6.")]
    patterns = []
    for cell in re.findall(r"^\| `([^`]+)`", section, flags=re.MULTILINE):
        regex = re.escape(cell)
        regex = re.sub(r"<[^>]+>", ".+?", regex).replace(r"\.\.\.", ".+?")
        regex = regex.replace("Ns", r"\d+s").replace(r"\(N\ ", r"\(\d+\ ")
        patterns.append(re.compile(regex))
    return patterns


def engine_errors() -> list[type[errors.CutoverError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.CutoverError) and cls.__name__ not in FREE_TEXT
    ]


def test_the_table_has_patterns() -> None:
    assert len(documented_patterns()) >= 10


@pytest.mark.parametrize("cls", engine_errors(), ids=lambda c: c.__name__)
def test_every_engine_failure_is_documented(cls: type[errors.CutoverError]) -> None:
    # Keyword-only parameters (optional refinements such as advice) keep their defaults.
    params = [name for name, p in list(inspect.signature(cls.__init__).parameters.items())[1:]
              if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    err = cls(*[SAMPLES[p] for p in params])
    message = str(err)
    # Rows that start with a placeholder (config errors: "<key>: <value> is not ...") would match almost anything.
    specific = [p for p in documented_patterns() if not p.pattern.startswith(".+?")]
    assert any(p.match(message) for p in specific), f"no row in docs/operations.md for: {message}"


def test_every_aws_call_of_the_engine_is_in_the_iam_section() -> None:
    iam = DOC[DOC.index("## 7. Permissions") : DOC.index("## 8.")]
    prefix = {"autoscaling": "autoscaling", "ec2": "ec2", "elbv2": "elasticloadbalancing",
              "elb": "elasticloadbalancing", "eks": "eks", "cloudwatch": "cloudwatch"}
    calls = set()
    for path in (ROOT / "bluegreen" / "engine").glob("*.py"):
        calls |= set(re.findall(r"\b(autoscaling|ec2|elbv2|elb|eks|cloudwatch)\.([a-z_]+)\(", path.read_text()))
    assert len(calls) >= 8
    for service, method in sorted(calls):
        action = f"{prefix[service]}:{''.join(w.capitalize() for w in method.split('_'))}"
        assert action in iam, f"{action} (engine calls {service}.{method}) is missing from the IAM section"
    # The EKS token is a presigned GetCallerIdentity.
    assert "sts:GetCallerIdentity" in iam
