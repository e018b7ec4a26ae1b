"""The scenario schema's placement keys: node labels/taints/zones, new_node, nodeSelector, affinity, zonal_volume;
and what the sandbox builds from them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bluegreen.sandbox.scenario import ScenarioError, load_scenario, parse_scenario
from bluegreen.sandbox.world import Sandbox

BASE: dict[str, Any] = {
    "name": "t",
    "nodes_per_color": 2,
    "node": {"cpu": "2", "memory": "8Gi", "pods": 30, "labels": {"disktype": "ssd"},
             "taints": [{"key": "team", "value": "a", "effect": "NoSchedule"}]},
    "ami": {"from": "ami-0aaaaaaaaaaaaaaaa", "to": "ami-12345678"},
    "workloads": [{"kind": "StatefulSet", "name": "db", "replicas": 2, "zonal_volume": True,
                   "nodeSelector": {"disktype": "ssd"},
                   "tolerations": [{"key": "team", "operator": "Exists"}],
                   "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                       "nodeSelectorTerms": [{"matchExpressions": [{"key": "disktype", "operator": "In",
                                                                    "values": ["ssd"]}]}]}}}}],
}


def test_new_node_overrides_node_field_by_field():
    scenario = parse_scenario({**BASE, "new_node": {"cpu": "1", "labels": {}, "zones": ["b"]}})
    assert scenario.node.labels == {"disktype": "ssd"} and scenario.node.zones == ()
    new = scenario.new_node_shape
    assert (new.cpu, new.memory, new.pods, new.labels, new.zones) == ("1", "8Gi", 30, {}, ("b",))
    assert new.taints == ({"key": "team", "value": "a", "effect": "NoSchedule"},)
    plain = parse_scenario(BASE)
    assert plain.new_node is None and plain.new_node_shape == plain.node
    workload = scenario.workloads[0]
    assert workload.zonal_volume and workload.node_selector == {"disktype": "ssd"}
    assert workload.affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]


@pytest.mark.parametrize(("change", "path", "problem"), [
    (lambda d: d["node"].update(zones=["c"]), "node.zones", "Availability Zone letters"),
    (lambda d: d.update(new_node={"gpu": 1}), "new_node.gpu", "unknown field 'gpu'"),
    (lambda d: d["node"]["taints"][0].update(effect="Sometimes"), "node.taints[0].effect",
     "'Sometimes' is not allowed"),
    (lambda d: d["node"].update(labels={"a": 1}), "node.labels", "mapping of label names to string values"),
    (lambda d: d["workloads"][0].update(kind="Deployment"), "workloads[0].zonal_volume", "needs kind StatefulSet"),
    (lambda d: d["workloads"][0].update(nodeSelector=["ssd"]), "workloads[0].nodeSelector", "mapping"),
    (lambda d: d["workloads"][0]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchExpressions"][0].update(operator="Like"),
     "workloads[0].affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
     ".matchExpressions[0].operator", "'Like' is not allowed"),
    (lambda d: d["workloads"][0]["affinity"].update(podAntiAffinity={}), "workloads[0].affinity.podAntiAffinity",
     "unknown field"),
    (lambda d: d["workloads"][0]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0].update(matchFields=[{"key": "spec.x", "operator": "In", "values": ["a"]}]),
     "workloads[0].affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
     ".matchFields[0].key", "allowed: metadata.name"),
])
def test_bad_placement_fields_are_named(change, path, problem):
    document = copy.deepcopy(BASE)
    change(document)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(document)
    assert caught.value.path == path and problem in caught.value.problem, str(caught.value)


def test_the_new_colors_group_and_nodes_follow_new_node():
    with Sandbox.start(load_scenario("placement-zone"), speed=40.0) as box:
        autoscaling = box.aws_client("autoscaling")
        ec2 = box.aws_client("ec2")
        groups = {g["AutoScalingGroupName"]: g for g in autoscaling.describe_auto_scaling_groups()[
            "AutoScalingGroups"]}
        subnets = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2.describe_subnets()["Subnets"]}
        zones = {name: {subnets[s] for s in g["VPCZoneIdentifier"].split(",")} for name, g in groups.items()}
        assert zones == {box.group_name("blue"): {"eu-west-1a", "eu-west-1b"}, box.group_name("green"): {"eu-west-1b"}}
        with box.cluster.lock:
            old_zones = {n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in box.cluster.list("nodes")}
            claims = box.cluster.list("persistentvolumeclaims")
        assert old_zones == {"eu-west-1a", "eu-west-1b"}
        assert len(claims) == 3 and all(c["status"]["phase"] == "Bound" for c in claims)
    with Sandbox.start(load_scenario("placement-taint"), speed=40.0) as box:
        autoscaling = box.aws_client("autoscaling")
        autoscaling.update_auto_scaling_group(AutoScalingGroupName=box.group_name("green"), MinSize=1, MaxSize=1,
                                              DesiredCapacity=1)
        deadline = box.clock.now() + 300
        while True:
            with box.cluster.lock:
                green = [n for n in box.cluster.list("nodes")
                         if n["metadata"]["labels"].get("bluegreen.io/color") == "green"]
                blue = [n for n in box.cluster.list("nodes")
                        if n["metadata"]["labels"].get("bluegreen.io/color") == "blue"]
            if green or box.clock.now() > deadline:
                break
            box.clock.sleep(2.0)
        assert green, "the green node did not join"
        assert {"key": "dedicated", "value": "new", "effect": "NoSchedule"} in green[0]["spec"]["taints"]
        assert not any(t.get("key") == "dedicated" for n in blue for t in n["spec"].get("taints") or [])
