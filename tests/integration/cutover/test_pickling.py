"""Provider objects survive Pulumi's own serialization into a fresh interpreter.

Pulumi stores each dynamic resource's provider as ``dill.dumps(provider, recurse=True)``
(``pulumi.dynamic.dynamic.serialize_provider``) and the provider process
(``python -m pulumi.dynamic``) unpickles it with ``dill.loads``. This test does the
same across a process boundary: serialize here, load in a new interpreter that has
imported nothing of ours, and run check/diff there (no network: diff and check do no I/O).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from bluegreen.infra.cutover_inputs import CutoverInputs
from bluegreen.infra.cutover_steps import DrainProvider, LoadBalancersHealthyProvider, NodesReadyProvider

ROOT = Path(__file__).resolve().parents[3]

LOADER = r"""
import base64, json, sys
import dill
provider = dill.loads(base64.b64decode(sys.argv[1]))
props = json.loads(sys.argv[2])
olds = dict(props, old_color_serving=False)
news_same = dict(olds)
news_new_ami = dict(olds, new_ami="ami-0fedcba9876543210")
print(json.dumps({
    "class": type(provider).__module__ + "." + type(provider).__qualname__,
    "state": sorted(vars(provider)),
    "check_failures": len(provider.check({}, props).failures),
    "diff_same": provider.diff("id", olds, news_same).changes,
    "diff_new_ami": provider.diff("id", olds, news_new_ami).changes,
    "bad_check": [f.property for f in provider.check({}, dict(props, new_color="purple")).failures],
}))
"""


@pytest.mark.parametrize("provider_cls", [NodesReadyProvider, LoadBalancersHealthyProvider, DrainProvider])
def test_provider_pickles_and_works_in_a_fresh_interpreter(provider_cls) -> None:
    pickled = serialize_provider(provider_cls())
    # By reference, not by value: a few hundred bytes naming the class, no code, no clients, no credentials.
    assert len(pickled) < 400
    props = CutoverInputs(
        cluster_name="prod", region="eu-west-1", new_color="green", new_ami="ami-0123456789abcdef0",
        desired=3, old_color_serving=True,
    ).to_props()
    done = subprocess.run(
        [sys.executable, "-c", LOADER, pickled, json.dumps(props)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen == {
        "class": f"bluegreen.infra.cutover_steps.{provider_cls.__name__}",
        "state": ["_clock"],
        "check_failures": 0,
        "diff_same": False,
        "diff_new_ami": True,
        "bad_check": ["new_color"],
    }


def test_serialization_is_deterministic() -> None:
    # Pulumi compares the serialized provider across runs; a stable string keeps previews quiet.
    assert serialize_provider(DrainProvider()) == serialize_provider(DrainProvider())


def test_the_module_the_provider_process_loads_has_no_import_time_side_effects() -> None:
    probe = (
        "import sys, threading\n"
        "import bluegreen.infra.cutover_steps\n"
        "heavy = sorted(m for m in ('pulumi_aws', 'pulumi_eks', 'pulumi_kubernetes') if m in sys.modules)\n"
        "sys.stderr.write(repr((heavy, threading.active_count())))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    # Nothing printed (stdout carries the provider process's port handshake), no cloud SDK loaded, no threads.
    assert done.stdout == ""
    assert done.stderr == "([], 1)"
