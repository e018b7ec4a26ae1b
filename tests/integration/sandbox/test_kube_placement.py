"""The fake scheduler's placement filters (required node affinity, zonal volumes) and its agreement with the
engine's placement check: both follow kube-scheduler v1.32's filters, so for any pod and node they must give the
same reasons, and for any set of nodes the same FitError."""

from __future__ import annotations

import random

from bluegreen.engine.naming import COLOR_LABEL, provider_id
from bluegreen.engine.placement import NodeRoom, PodToPlace, Taint, constraints_from_json, filter_reasons, fit_error
from bluegreen.engine.placement import volume_topology_from_json as engine_volume
from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.objects import workload_objects
from bluegreen.sandbox.kube.scheduler import NodeView, choose_node, misfit_reasons, pod_requests

ZONE = "topology.kubernetes.io/zone"


def zonal_cluster() -> tuple[FakeCluster, list[str]]:
    cluster = FakeCluster(placement="spread")
    names = []
    for index, zone in enumerate(["eu-west-1a", "eu-west-1b"]):
        name = f"ip-10-0-{index}-10.ec2.internal"
        cluster.add_node(name, provider_id=provider_id(zone, f"i-{index:017x}"),
                         labels={COLOR_LABEL: "blue", ZONE: zone}, cpu="2", memory="8Gi", pods=20)
        names.append(name)
    return cluster, names


def test_zonal_statefulset_pods_get_claims_bound_to_the_zone_they_first_ran_in():
    cluster, names = zonal_cluster()
    for obj in workload_objects("StatefulSet", "db", replicas=2, zonal_volume=True, ready_seconds=1):
        cluster.apply(obj)
    cluster.settle(20)
    pods = {p["metadata"]["name"]: p for p in cluster.list("pods")}
    claims = {c["metadata"]["name"]: c for c in cluster.list("persistentvolumeclaims")}
    volumes = {v["metadata"]["name"]: v for v in cluster.list("persistentvolumes")}
    assert sorted(claims) == ["data-db-0", "data-db-1"]
    for ordinal in (0, 1):
        pod, claim = pods[f"db-{ordinal}"], claims[f"data-db-{ordinal}"]
        assert {"name": "data", "persistentVolumeClaim": {"claimName": f"data-db-{ordinal}"}} in pod["spec"]["volumes"]
        assert claim["status"]["phase"] == "Bound" and "ownerReferences" not in claim["metadata"]
        volume = volumes[claim["spec"]["volumeName"]]
        node = cluster.get("nodes", None, pod["spec"]["nodeName"])
        zone = node["metadata"]["labels"][ZONE]
        assert volume["status"]["phase"] == "Bound" and volume["metadata"]["labels"] == {ZONE: zone}
        assert volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"] == [
            {"matchExpressions": [{"key": ZONE, "operator": "In", "values": [zone]}]}]
        assert volume["spec"]["claimRef"]["name"] == claim["metadata"]["name"]
    # The zone outlives the pod: cordon db-0's node (the only one of its zone); its replacement stays Pending.
    first = pods["db-0"]["spec"]["nodeName"]
    cluster.patch("nodes", None, first, {"spec": {"unschedulable": True}}, "application/merge-patch+json")
    cluster.delete("pods", "default", "db-0", grace_seconds=0)
    cluster.settle(40)
    again = cluster.get("pods", "default", "db-0")
    assert "nodeName" not in again["spec"]
    condition = next(c for c in again["status"]["conditions"] if c["type"] == "PodScheduled")
    assert (condition["status"], condition["reason"]) == ("False", "Unschedulable")
    assert condition["message"] == ("0/2 nodes are available: 1 node(s) had volume node affinity conflict, "
                                    "1 node(s) were unschedulable.")
    cluster.patch("nodes", None, first, {"spec": {"unschedulable": False}}, "application/merge-patch+json")
    cluster.settle(60)
    assert cluster.get("pods", "default", "db-0")["spec"]["nodeName"] == first  # back in its zone


def test_required_node_affinity_is_honoured():
    cluster, names = zonal_cluster()
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": ZONE, "operator": "In", "values": ["eu-west-1b"]}]}]}}}
    for obj in workload_objects("Deployment", "pinned", replicas=3, affinity=affinity, cpu="100m"):
        cluster.apply(obj)
    nowhere = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": ZONE, "operator": "NotIn", "values": ["eu-west-1a", "eu-west-1b"]}]}]}}}
    for obj in workload_objects("Deployment", "lost", replicas=1, affinity=nowhere):
        cluster.apply(obj)
    cluster.settle(10)
    pods = cluster.list("pods")
    pinned = [p for p in pods if p["metadata"]["labels"]["app.kubernetes.io/name"] == "pinned"]
    assert {p["spec"]["nodeName"] for p in pinned} == {names[1]}
    lost = next(p for p in pods if p["metadata"]["labels"]["app.kubernetes.io/name"] == "lost")
    assert lost["status"]["conditions"][0]["message"] == (
        "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.")


def test_a_claim_that_does_not_exist_keeps_the_pod_pending():
    cluster, _ = zonal_cluster()
    pod = workload_objects("Pod", "orphan")[0]
    pod["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "missing"}}]
    cluster.apply(pod)
    cluster.settle(5)
    stored = cluster.get("pods", "default", "orphan")
    assert stored["status"]["conditions"][0]["message"] == (
        '0/2 nodes are available: persistentvolumeclaim "missing" not found.')


# -- the fake scheduler and the engine's placement check agree ----------------------------------------------------


def _random_case(rng: random.Random) -> tuple[dict, list[dict], list[dict]]:
    keys = ["disktype", "pool", "gen"]
    values = ["ssd", "hdd", "1", "5", "9"]

    def requirement():
        op = rng.choice(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"])
        vals = [] if op in ("Exists", "DoesNotExist") else (
            [rng.choice(["2", "6"])] if op in ("Gt", "Lt") else rng.sample(values, 2))
        return {"key": rng.choice(keys), "operator": op, "values": vals}

    def terms():
        return {"nodeSelectorTerms": [{"matchExpressions": [requirement() for _ in range(rng.randint(0, 2))]}
                                      for _ in range(rng.randint(1, 2))]}

    spec: dict = {"containers": [{"resources": {"requests": {"cpu": f"{rng.choice([100, 900, 1500])}m",
                                                             "memory": rng.choice(["1Gi", "6Gi"])}}}]}
    if rng.random() < 0.4:
        spec["nodeSelector"] = {rng.choice(keys): rng.choice(values)}
    if rng.random() < 0.5:
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": terms()}}
    if rng.random() < 0.5:
        spec["tolerations"] = [{"key": "dedicated", "operator": rng.choice(["Exists", "Equal"]),
                                "value": rng.choice(["new", "old"]), **({"effect": "NoSchedule"} if rng.random()
                                                                       < 0.5 else {})}]
    volumes = [{"metadata": {"name": "pv"}, "spec": {"nodeAffinity": {"required": terms()}}}] \
        if rng.random() < 0.4 else []
    nodes = []
    for index in range(rng.randint(1, 4)):
        nodes.append({
            "name": f"n{index}", "labels": {k: rng.choice(values) for k in keys if rng.random() < 0.6},
            "taints": [{"key": "dedicated", "value": rng.choice(["new", "old"]),
                        "effect": rng.choice(["NoSchedule", "NoExecute", "PreferNoSchedule"])}]
            if rng.random() < 0.3 else [],
            "unschedulable": rng.random() < 0.2, "used": rng.choice([0, 500, 1900]), "used_pods": rng.choice([0, 9]),
        })
    return spec, volumes, nodes


def test_the_fake_scheduler_and_the_engine_agree_on_every_reason():
    rng = random.Random(7)
    for _ in range(400):
        spec, volumes, nodes = _random_case(rng)
        cpu, memory = pod_requests(spec)
        pod = PodToPlace("default/p", "Deployment default/p", cpu, memory, constraints_from_json(spec),
                         tuple(engine_volume("data", v) for v in volumes))
        views = [NodeView(n["name"], i, n["labels"], n["taints"], n["unschedulable"], 2000, 8 * 2**30, 10,
                          n["used"], 0, n["used_pods"]) for i, n in enumerate(nodes)]
        rooms = [NodeRoom(n["name"], n["labels"], tuple(Taint(t["key"], t["value"], t["effect"]) for t in n["taints"]),
                          n["unschedulable"], 2000, 8 * 2**30, 10, n["used"], 0, n["used_pods"]) for n in nodes]
        affinities = [v["spec"]["nodeAffinity"]["required"] for v in volumes]
        fake = [tuple(misfit_reasons(spec, view, affinities)) for view in views]
        engine = [filter_reasons(pod, room) for room in rooms]
        assert fake == engine, (spec, volumes, nodes)
        node, message = choose_node(spec, views, "packed", affinities)
        if node is None:
            assert message == fit_error(len(rooms), engine)


def test_a_daemonset_runs_only_where_its_required_node_affinity_matches():
    cluster, names = zonal_cluster()
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": ZONE, "operator": "In", "values": ["eu-west-1a"]}]}]}}}
    for obj in workload_objects("DaemonSet", "zonal-agent", affinity=affinity):
        cluster.apply(obj)
    cluster.settle(5)
    assert [p["spec"]["nodeName"] for p in cluster.list("pods")] == [names[0]]
