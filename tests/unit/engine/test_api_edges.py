"""AWS and API edges: EC2's eventual consistency after launch, and a throttling 429 told from a budget's 429."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError
from kubernetes import client as k8s_client

from bluegreen.engine.api import GroupSpec
from bluegreen.engine.errors import ReadinessTimeout
from bluegreen.engine.groups import Instance, instance_amis
from bluegreen.engine.kube import KubeApi, http_retries
from bluegreen.engine.progress import CollectingReporter, GatePassed
from bluegreen.engine.readiness import judge_readiness, wait_nodes_ready
from bluegreen.engine.settings import RolloutSettings
from tests.unit.engine.test_decisions import node_json
from tests.unit.engine.test_preflight_and_progress import StepClock

AMI = "ami-0bbbbbbbbbbbbbbbb"


def not_found(ids: list[str] | None) -> ClientError:
    text = ("The instance ID " + ", ".join(f"'{i}'" for i in ids) + " does not exist") if ids else "unknown ids"
    return ClientError({"Error": {"Code": "InvalidInstanceID.NotFound", "Message": text}}, "DescribeInstances")


class FakeEc2:
    """DescribeInstances that does not know ``hidden`` ids for their first ``polls`` calls (or forever: None)."""

    def __init__(self, ids: list[str], hidden: dict[str, int | None], *, name_them: bool = True):
        self.ids, self.hidden, self.name_them, self.calls = ids, dict(hidden), name_them, 0

    def describe_instances(self, InstanceIds):  # noqa: N803 (boto3's spelling)
        self.calls += 1
        unknown = [i for i in InstanceIds if i in self.hidden and (self.hidden[i] is None or self.hidden[i] > 0)]
        if unknown:
            raise not_found(unknown if self.name_them else None)
        return {"Reservations": [{"Instances": [{"InstanceId": i, "ImageId": AMI} for i in InstanceIds]}]}

    def poll_done(self):
        self.hidden = {i: (n - 1 if n is not None else None) for i, n in self.hidden.items()}


def test_unknown_instances_are_set_aside_and_the_others_described():
    ec2 = FakeEc2(["i-0000000a", "i-0000000b", "i-0000000c"], {"i-0000000b": None})
    amis, unknown = instance_amis(ec2, ["i-0000000a", "i-0000000b", "i-0000000c"])
    assert amis == {"i-0000000a": AMI, "i-0000000c": AMI} and unknown == {"i-0000000b"}
    assert ec2.calls == 2
    # A message that does not name the ids: each id is asked alone.
    vague = FakeEc2(["i-0000000a", "i-0000000b"], {"i-0000000a": None}, name_them=False)
    assert instance_amis(vague, ["i-0000000a", "i-0000000b"]) == ({"i-0000000b": AMI}, {"i-0000000a"})


def test_other_ec2_errors_still_fail():
    class Broken:
        def describe_instances(self, InstanceIds):  # noqa: N803
            raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "DescribeInstances")

    with pytest.raises(ClientError, match="UnauthorizedOperation"):
        instance_amis(Broken(), ["i-0000000a"])


def test_an_instance_unknown_to_ec2_is_a_named_readiness_gap():
    instance = Instance("i-0000000a", "InService", "Healthy", "eu-west-1a", None, unknown_to_ec2=True)
    verdict = judge_readiness([instance], [], [], expected_ami=AMI, desired=1)
    assert not verdict.passed
    assert "instance i-0000000a: not yet known to EC2 (DescribeInstances: InvalidInstanceID.NotFound" in \
        verdict.gaps[0]


class FakeAutoscaling:
    def __init__(self, ids):
        self.ids = ids

    def describe_auto_scaling_groups(self, AutoScalingGroupNames):  # noqa: N803
        return {"AutoScalingGroups": [{
            "AutoScalingGroupName": AutoScalingGroupNames[0], "DesiredCapacity": len(self.ids), "MinSize": 0,
            "MaxSize": 9, "Instances": [{"InstanceId": i, "LifecycleState": "InService", "HealthStatus": "Healthy",
                                         "AvailabilityZone": "eu-west-1a"} for i in self.ids]}]}


class FakeKube:
    def __init__(self, ids):
        self.nodes = [node_json(f"n{k}", i) for k, i in enumerate(ids)]

    def nodes_of_color(self, color, pool=None):
        return self.nodes

    def list_nodes(self):
        return self.nodes

    def list_pods(self, **_):
        return []


class Conn:
    def __init__(self, ids, hidden):
        self.autoscaling, self.ec2, self.kube = FakeAutoscaling(ids), FakeEc2(ids, hidden), FakeKube(ids)


class PollingClock(StepClock):
    def __init__(self, conn):
        super().__init__()
        self.conn = conn

    def sleep(self, s):
        super().sleep(s)
        self.conn.ec2.poll_done()


def test_the_readiness_gate_waits_out_eventual_consistency_after_launch():
    ids = ["i-0000000a", "i-0000000b"]
    conn = Conn(ids, {"i-0000000b": 3})
    reporter = CollectingReporter()
    report = wait_nodes_ready(conn, GroupSpec("c", "green", AMI, 2), RolloutSettings(poll_interval_s=5),
                              reporter, PollingClock(conn))
    assert report.instances == tuple(ids) and report.waited_s == 15
    assert len(reporter.of(GatePassed)) == 1


def test_an_instance_ec2_never_learns_of_is_named_when_the_gate_times_out():
    conn = Conn(["i-0000000a", "i-0000000b"], {"i-0000000b": None})
    with pytest.raises(ReadinessTimeout) as caught:
        wait_nodes_ready(conn, GroupSpec("c", "green", AMI, 2),
                         RolloutSettings(poll_interval_s=5, node_ready_timeout_s=30), CollectingReporter(),
                         PollingClock(conn))
    assert "instance i-0000000b: not yet known to EC2 (DescribeInstances: InvalidInstanceID.NotFound" in \
        str(caught.value)
    assert "i-0000000a" not in str(caught.value)


# -- 429s: API Priority and Fairness against a disruption budget --------------------------------------------------


class Scripted(BaseHTTPRequestHandler):
    """Answers from a script of (status, body, headers); a str body is sent as text/plain like APF's."""

    script: list[tuple[int, dict | str, dict]] = []
    seen: list[str] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        type(self).seen.append(f"{self.command} {self.path}")
        status, payload, headers = type(self).script.pop(0) if type(self).script else (200, {"items": []}, {})
        text = isinstance(payload, str)
        data = (payload if text else json.dumps(payload)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8" if text else "application/json")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Scripted.script, Scripted.seen = [], []
    configuration = k8s_client.Configuration()
    configuration.host = f"http://127.0.0.1:{server.server_port}"
    configuration.api_key = {"authorization": "Bearer t"}
    configuration.retries = http_retries()  # as connect() sets it
    slept: list[float] = []
    kube = KubeApi(k8s_client.ApiClient(configuration), sleep=slept.append)
    kube.slept = slept
    yield kube
    server.shutdown()
    server.server_close()


THROTTLED = (429, "Too many requests, please try again later.\n", {"Retry-After": "3"})
BUDGET = (429, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "TooManyRequests", "code": 429,
                "message": "Cannot evict pod as it would violate the pod's disruption budget.",
                "details": {"causes": [{"reason": "DisruptionBudget",
                                        "message": "The disruption budget web-pdb needs 2 healthy pods and has 2 "
                                                   "currently"}]}}, {"Retry-After": "10"})


def test_a_throttling_429_on_an_eviction_is_retried_after_retry_after(api):
    Scripted.script = [THROTTLED, THROTTLED, (201, {"kind": "Status", "status": "Success"}, {})]
    answer = api.evict_pod("default", "web-1")
    assert answer.outcome == "evicted"
    assert len(Scripted.seen) == 3 and api.slept == [3.0, 3.0]


def test_a_budget_429_is_returned_at_once_as_a_refusal(api):
    Scripted.script = [BUDGET]
    answer = api.evict_pod("default", "web-1")
    assert (answer.outcome, answer.status, answer.pdb) == ("refused", 429, "web-pdb")
    assert len(Scripted.seen) == 1 and api.slept == []
    # "still being processed" is a budget's 429 as well (it carries the DisruptionBudget cause)
    processing = (429, {**BUDGET[1], "details": {"causes": [{"reason": "DisruptionBudget", "message":
                  "The disruption budget web-pdb is still being processed by the server."}]}}, {})
    Scripted.script = [processing]
    assert api.evict_pod("default", "web-1").outcome == "refused"


def test_throttling_that_never_ends_fails_naming_api_priority_and_fairness(api):
    Scripted.script = [THROTTLED] * 8
    answer = api.evict_pod("default", "web-1")
    assert (answer.outcome, answer.status) == ("failed", 429)
    assert "Too many requests" in answer.message and "API Priority and Fairness" in answer.message
    assert len(Scripted.seen) == 8


def test_other_calls_honour_retry_after_too_within_a_bound(api):
    Scripted.script = [(429, "Too many requests, please try again later.\n", {"Retry-After": "120"}),
                       (200, {"items": [{"metadata": {"name": "n1"}}]}, {})]
    assert api.list_nodes() == [{"metadata": {"name": "n1"}}]
    assert api.slept == [30.0]  # capped: asked again sooner than a very long Retry-After


# -- both gates together ----------------------------------------------------------------------------------------


def _gates(ready_gaps, lb_gaps):
    from bluegreen.engine.gates import GatesVerdict
    from bluegreen.engine.load_balancers import LoadBalancerSpec, LoadBalancerVerdict
    from bluegreen.engine.readiness import ReadinessVerdict

    ready = () if ready_gaps else (("i-0000000a", "n0"),)
    return GatesVerdict(ReadinessVerdict(ready, tuple(ready_gaps)),
                        LoadBalancerVerdict(("i-0000000a",), LoadBalancerSpec(("tg",)), tuple(lb_gaps)))


@pytest.mark.parametrize(("ready_gaps", "lb_gaps", "error"), [
    (["instance i-0000000a: node n0 NotReady"], ["instance i-0000000a: unhealthy in target group tg"], "GatesTimeout"),
    (["instance i-0000000a: node n0 NotReady"], [], "ReadinessTimeout"),
    ([], ["instance i-0000000a: unhealthy in target group tg"], "LoadBalancerTimeout"),
])
def test_wait_gates_names_every_failing_gate(monkeypatch, ready_gaps, lb_gaps, error):
    from bluegreen.engine import gates

    monkeypatch.setattr(gates, "observe_gates", lambda conn, group, want: _gates(ready_gaps, lb_gaps))
    monkeypatch.setattr(gates, "reclaim_color", lambda kube, color, reporter, pool=None: ())
    settings = RolloutSettings(poll_interval_s=5, node_ready_timeout_s=30, lb_healthy_timeout_s=20)
    with pytest.raises(Exception) as caught:
        gates.wait_gates(SimpleNamespace(kube=None), GroupSpec("c", "green", AMI, 1), settings, CollectingReporter(),
                         StepClock(),
                         expected=gates.LoadBalancerSpec(("tg",)))
    assert type(caught.value).__name__ == error
    text = str(caught.value)
    assert all(g in text for g in ready_gaps + lb_gaps)


def test_wait_gates_passes_when_both_pass(monkeypatch):
    from bluegreen.engine import gates

    looks = iter([_gates(["instance i-0000000a: node n0 NotReady"], ["instance i-0000000a: initial"]),
                  _gates([], ["instance i-0000000a: initial"]), _gates([], [])])
    monkeypatch.setattr(gates, "observe_gates", lambda conn, group, want: next(looks))
    monkeypatch.setattr(gates, "reclaim_color", lambda kube, color, reporter, pool=None: ())
    reporter = CollectingReporter()
    nodes, lbs = gates.wait_gates(SimpleNamespace(kube=None), GroupSpec("c", "green", AMI, 1),
                                  RolloutSettings(poll_interval_s=5), reporter, StepClock(),
                                  expected=gates.LoadBalancerSpec(("tg",)))
    assert nodes.nodes == ("n0",) and nodes.waited_s == 10 and lbs.waited_s == 5
    assert [e.gate for e in reporter.of(GatePassed)] == ["nodes-ready", "load-balancers"]


def test_moto_answers_an_unknown_instance_id_as_ec2_does_and_it_is_set_aside():
    import boto3
    from moto import mock_aws

    with mock_aws():
        ec2 = boto3.client("ec2", region_name="eu-west-1")
        image = ec2.describe_images()["Images"][0]["ImageId"]
        known = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        fresh = ["i-0123456789abcdef0", "i-0fedcba9876543210"]  # "just launched": EC2 does not list them yet
        with pytest.raises(ClientError) as caught:
            ec2.describe_instances(InstanceIds=[known, *fresh])
        assert caught.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
        assert instance_amis(ec2, [known, *fresh]) == ({known: image}, set(fresh))
