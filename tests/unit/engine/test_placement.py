"""The placement check as plain data: first-fit-decreasing packing, every scheduler filter, FitError wording."""

from __future__ import annotations

from dataclasses import replace

from bluegreen.engine.placement import (
    NodeRoom,
    PodConstraints,
    PodToPlace,
    Requirement,
    Taint,
    Term,
    Toleration,
    constraints_from_json,
    fit_error,
    place,
    requests_from_json,
    terms_from_json,
    volume_topology_from_json,
    with_daemons,
)
from bluegreen.engine.preflight import plan_drain
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.view import bound_volumes
from tests.unit.engine.test_decisions import pod_json
from tests.unit.engine.test_preflight_and_progress import view

ZONE = "topology.kubernetes.io/zone"
GI = 2**30


def node(name, cpu=1000, mem=4 * GI, pods=110, *, labels=None, taints=(), unschedulable=False, used=(0, 0, 0)):
    return NodeRoom(name, labels or {}, tuple(taints), unschedulable, cpu, mem, pods, *used)


def pod(name, cpu=100, mem=0, *, workload="Deployment default/web", volumes=(), **constraints):
    return PodToPlace(f"default/{name}", workload, cpu, mem, PodConstraints(**constraints), tuple(volumes))


# -- packing ----------------------------------------------------------------------------------------------------


def test_first_fit_decreasing_places_what_first_fit_in_order_would_not():
    # In the given order 300, 300 go to n0, a 700 to n1, and the second 700 fits nowhere; biggest first fits all.
    pods = [pod("a", 300), pod("b", 300), pod("c", 700), pod("d", 700)]
    result = place(pods, [node("n0"), node("n1")])
    assert result.ok
    assert dict(result.assigned) == {"default/c": "n0", "default/d": "n1", "default/a": "n0", "default/b": "n1"}


def test_what_already_runs_on_a_node_counts_against_its_room():
    result = place([pod("a", 600)], [node("n0", used=(500, 0, 1)), node("n1", used=(300, 0, 1))])
    assert dict(result.assigned) == {"default/a": "n1"}


def test_fragmented_room_is_a_blocker_although_the_sum_would_do():
    # 2400m to move, 3000m free in total, but only one 600m pod fits on each node.
    pods = [pod(f"p{i}", 600) for i in range(4)]
    result = place(pods, [node("n0"), node("n1"), node("n2")])
    assert len(result.misfits) == 1
    misfit = result.misfits[0]
    assert misfit.pod == "default/p3" and misfit.workload == "Deployment default/web"
    assert misfit.message == "0/3 nodes are available: 3 Insufficient cpu."
    assert misfit.blocker() == (
        "pod default/p3 (Deployment default/web) would fit on no new node: 0/3 nodes are available: "
        "3 Insufficient cpu. Next: raise workers.desiredCapacity or use a larger instance type")


def test_every_pod_that_fits_nowhere_is_reported():
    pods = [pod("a", 900), pod("b", 900), pod("c", 900, mem=5 * GI)]
    result = place(pods, [node("n0")])
    assert [m.pod for m in result.misfits] == ["default/c", "default/b"]
    assert result.misfits[0].message == "0/1 nodes are available: 1 Insufficient memory."
    assert result.misfits[1].message == "0/1 nodes are available: 1 Insufficient cpu."


def test_zero_free_pod_slots_is_too_many_pods():
    result = place([pod("a", 0)], [node("n0", pods=3, used=(0, 0, 3))])
    assert result.misfits[0].message == "0/1 nodes are available: 1 Too many pods."
    assert place([pod("a", 0)], [node("n0", pods=3, used=(0, 0, 2))]).ok


def test_no_node_at_all():
    assert place([pod("a")], []).misfits[0].message == "no nodes available to schedule pods"


# -- FitError wording -------------------------------------------------------------------------------------------


def test_fit_error_counts_each_reason_and_sorts_the_strings_like_upstream():
    per_node = [["Insufficient cpu", "Insufficient memory"]] + [["node(s) were unschedulable"]] * 10 + [
        ["node(s) didn't match Pod's node affinity/selector"]] * 2
    assert fit_error(13, per_node) == (
        "0/13 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 10 node(s) were unschedulable, "
        "2 node(s) didn't match Pod's node affinity/selector.")


def test_each_node_reports_only_its_first_failing_filter():
    nodes = [node("cordoned", cpu=10, unschedulable=True), node("tainted", cpu=10, taints=[Taint("dedicated", "new",
             "NoSchedule")]), node("small", cpu=10, mem=1)]
    misfit = place([pod("a", 500, mem=GI)], nodes).misfits[0]
    assert misfit.message == ("0/3 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, "
                              "1 node(s) had untolerated taint {dedicated: new}, 1 node(s) were unschedulable.")
    assert "uncordon the new nodes" in misfit.blocker() and "workers.taints" in misfit.blocker()


# -- selectors and affinity -------------------------------------------------------------------------------------


def test_node_selector_mismatch():
    result = place([pod("a", node_selector=(("disktype", "ssd"),))],
                   [node("n0", labels={"disktype": "hdd"}), node("n1")])
    assert result.misfits[0].message == "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."
    assert "workers.labels" in result.misfits[0].blocker()
    assert place([pod("a", node_selector=(("disktype", "ssd"),))], [node("n0", labels={"disktype": "ssd"})]).ok


def test_required_affinity_operators():
    labels = {"pool": "general", "gen": "6"}

    def fits(*requirements, fields=()):
        terms = (Term(tuple(requirements), tuple(fields)),)
        return place([pod("a", required_terms=terms)], [node("n0", labels=labels)]).ok

    assert fits(Requirement("pool", "In", ("general", "batch")))
    assert not fits(Requirement("pool", "In", ("batch",)))
    assert fits(Requirement("pool", "NotIn", ("batch",))) and fits(Requirement("missing", "NotIn", ("x",)))
    assert not fits(Requirement("pool", "NotIn", ("general",)))
    assert fits(Requirement("gen", "Exists")) and not fits(Requirement("missing", "Exists"))
    assert fits(Requirement("missing", "DoesNotExist")) and not fits(Requirement("gen", "DoesNotExist"))
    assert fits(Requirement("gen", "Gt", ("5",))) and not fits(Requirement("gen", "Gt", ("6",)))
    assert fits(Requirement("gen", "Lt", ("7",))) and not fits(Requirement("gen", "Lt", ("6",)))
    assert not fits(Requirement("pool", "Gt", ("1",)))  # not an integer
    assert not fits(Requirement("missing", "Gt", ("1",)))
    assert fits(fields=(Requirement("metadata.name", "In", ("n0",)),))
    assert not fits(fields=(Requirement("metadata.name", "NotIn", ("n0",)),))
    assert not fits()  # an empty term matches no node
    # terms are ORed: one matching term is enough
    either = (Term((Requirement("pool", "In", ("batch",)),)), Term((Requirement("gen", "Exists"),)))
    assert place([pod("a", required_terms=either)], [node("n0", labels=labels)]).ok
    assert not place([pod("a", required_terms=())], [node("n0", labels=labels)]).ok  # no terms: no node


def test_affinity_read_from_a_pod_spec():
    spec = {"nodeSelector": {"disktype": "ssd"},
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["general"]}]}]}}},
            "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}, {"name": "tmp",
                                                                                               "emptyDir": {}}]}
    constraints = constraints_from_json(spec)
    assert constraints.node_selector == (("disktype", "ssd"),)
    assert constraints.required_terms == (Term((Requirement("pool", "In", ("general",)),)),)
    assert constraints.tolerations == (Toleration("dedicated", "Exists", "", "NoSchedule"),)
    assert constraints.claims == ("data-db-0",)
    assert constraints_from_json({}).required_terms is None


# -- taints and tolerations -------------------------------------------------------------------------------------


def test_no_schedule_and_no_execute_taints_must_be_tolerated():
    taint = Taint("dedicated", "new", "NoSchedule")
    tainted = [node("n0", taints=[taint])]
    misfit = place([pod("a")], tainted).misfits[0]
    assert misfit.message == "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: new}."
    assert place([pod("a", tolerations=(Toleration("dedicated", "Equal", "new"),))], tainted).ok
    assert place([pod("a", tolerations=(Toleration("dedicated", "Exists", "", "NoSchedule"),))], tainted).ok
    assert place([pod("a", tolerations=(Toleration("", "Exists"),))], tainted).ok  # tolerates everything
    assert not place([pod("a", tolerations=(Toleration("dedicated", "Equal", "old"),))], tainted).ok
    assert not place([pod("a", tolerations=(Toleration("dedicated", "Exists", "", "NoExecute"),))], tainted).ok
    evicting = [node("n0", taints=[Taint("gpu", "", "NoExecute")])]
    assert place([pod("a")], evicting).misfits[0].message == (
        "0/1 nodes are available: 1 node(s) had untolerated taint {gpu: }.")
    assert place([pod("a")], [node("n0", taints=[Taint("soft", "x", "PreferNoSchedule")])]).ok


def test_a_cordoned_node_is_no_room_unless_the_pod_tolerates_it():
    cordoned = [node("n0", unschedulable=True)]
    assert place([pod("a")], cordoned).misfits[0].message == "0/1 nodes are available: 1 node(s) were unschedulable."
    tolerant = (Toleration("node.kubernetes.io/unschedulable", "Exists", "", "NoSchedule"),)
    assert place([pod("a", tolerations=tolerant)], cordoned).ok


# -- volumes ----------------------------------------------------------------------------------------------------


def zonal_pv(name, zone, *, label=False):
    pv = {"metadata": {"name": name}, "spec": {}}
    if label:
        pv["metadata"]["labels"] = {ZONE: zone}
    else:
        pv["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": ZONE, "operator": "In", "values": [zone]}]}]}}
    return pv


def test_a_volume_bound_to_a_zone_fits_only_nodes_of_that_zone():
    volume = volume_topology_from_json("data-db-0", zonal_pv("pv-1", "eu-west-1a"))
    nodes = [node("n0", labels={ZONE: "eu-west-1b"}), node("n1", labels={ZONE: "eu-west-1b"})]
    misfit = place([pod("db-0", volumes=[volume], workload="StatefulSet default/db")], nodes).misfits[0]
    assert misfit.message == "0/2 nodes are available: 2 node(s) had volume node affinity conflict."
    assert misfit.blocker() == (
        "pod default/db-0 (StatefulSet default/db) would fit on no new node: 0/2 nodes are available: 2 node(s) had "
        "volume node affinity conflict. (volume pv-1 of claim data-db-0 is in zone eu-west-1a) Next: its volume is "
        "bound to a zone where no new node has room: run new nodes in that zone (the group's subnets)")
    assert dict(place([pod("db-0", volumes=[volume])], nodes + [node("n2", labels={ZONE: "eu-west-1a"})]).assigned) \
        == {"default/db-0": "n2"}


def test_a_volume_zone_label_is_the_volume_zone_filter():
    volume = volume_topology_from_json("data", zonal_pv("pv-1", "eu-west-1a__eu-west-1c", label=True))
    assert volume.zones == ("eu-west-1a", "eu-west-1c")
    assert place([pod("a", volumes=[volume])], [node("n0", labels={ZONE: "eu-west-1b"})]).misfits[0].message == (
        "0/1 nodes are available: 1 node(s) had no available volume zone.")
    assert place([pod("a", volumes=[volume])], [node("n0", labels={ZONE: "eu-west-1c"})]).ok
    assert place([pod("a", volumes=[volume])], [node("n0")]).ok  # a node without topology labels passes


def test_claims_resolve_to_their_bound_volumes_only():
    claims = [{"metadata": {"name": "data-db-0", "namespace": "default"}, "spec": {"volumeName": "pv-1"}},
              {"metadata": {"name": "pending", "namespace": "default"}, "spec": {}}]
    found = bound_volumes(claims, [zonal_pv("pv-1", "eu-west-1a")])
    assert list(found) == [("default", "data-db-0")]
    assert found[("default", "data-db-0")].required_terms == terms_from_json(
        {"nodeSelectorTerms": [{"matchExpressions": [{"key": ZONE, "operator": "In", "values": ["eu-west-1a"]}]}]})


# -- requests and DaemonSets ------------------------------------------------------------------------------------


def test_requests_follow_the_scheduler_with_init_containers_and_overhead():
    spec = {"containers": [{"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                           {"resources": {"requests": {"cpu": "200m"}}}],
            "initContainers": [{"resources": {"requests": {"cpu": "500m", "memory": "32Mi"}}},
                               {"restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}}],
            "overhead": {"cpu": "10m"}}
    assert requests_from_json(spec) == (500 + 10, 64 * 2**20)
    assert requests_from_json({"containers": [{}]}) == (0, 0)


def test_daemon_pods_still_to_come_are_reserved_where_they_would_run():
    daemons = {"kube-system/agent": (100, GI, PodConstraints()),
               "kube-system/gpu": (100, 0, PodConstraints(node_selector=(("gpu", "yes"),))),
               "kube-system/tainted": (100, 0, PodConstraints())}
    room = with_daemons(node("n0", taints=[Taint("node.kubernetes.io/not-ready", "", "NoSchedule")]), daemons,
                        present={"kube-system/tainted"})
    assert (room.used_cpu_m, room.used_memory_b, room.used_pods) == (100, GI, 1)
    strict = with_daemons(node("n1", taints=[Taint("dedicated", "new", "NoSchedule")]), daemons, present=())
    assert strict.used_pods == 0


# -- through the preflight --------------------------------------------------------------------------------------


def test_preflight_lists_selector_and_taint_blockers_with_the_workload():
    fussy = pod_json("web-abc-1", node="old0")
    fussy["spec"]["nodeSelector"] = {"disktype": "ssd"}
    report = plan_drain(view([fussy, pod_json("web-abc-2", node="old1")]), RolloutSettings(), new_desired=2)
    assert report.blockers == (
        "pod default/web-abc-1 (Deployment default/web) would fit on no new node: 0/2 nodes are available: "
        "2 node(s) didn't match Pod's node affinity/selector. Next: give the new nodes the labels the pod selects "
        "(workers.labels) or change its nodeSelector/affinity",)


def test_preflight_counts_pods_already_on_the_new_nodes_and_the_pod_slots():
    # node_json nodes have 2 cpu; 1500m already runs on each new node, so a 600m pod fits nowhere.
    pods = [pod_json("web-abc-1", node="old0", cpu="600m"), pod_json("x-1", node="new0", cpu="1500m"),
            pod_json("x-2", node="new1", cpu="1500m")]
    report = plan_drain(view(pods), RolloutSettings(), new_desired=2)
    assert report.cpu_free_m == 1000 and report.cpu_needed_m == 600
    assert "0/2 nodes are available: 2 Insufficient cpu." in report.blockers[0]


def test_preflight_applies_the_pod_slot_check_at_zero_free_slots():
    # The old room sum skipped the slot check when the new nodes had exactly zero free slots.
    from bluegreen.engine.nodes import node_from_json
    from tests.unit.engine.test_decisions import node_json

    full = node_json("new0", "i-n0")
    full["status"]["allocatable"]["pods"] = "1"
    base = view([pod_json("web-abc-1", node="old0"), pod_json("x-1", node="new0")], new_nodes=0)
    report = plan_drain(replace(base, new_nodes=(node_from_json(full),)), RolloutSettings(), new_desired=1)
    assert report.blockers == (
        "pod default/web-abc-1 (Deployment default/web) would fit on no new node: 0/1 nodes are available: "
        "1 Too many pods. Next: raise workers.desiredCapacity or use a larger instance type",)


def test_volumes_are_read_only_when_a_pod_to_move_uses_a_claim():
    from bluegreen.engine.view import read_volumes

    class Kube:
        calls: list[str] = []

        def list_namespaced(self, group, resource, namespace):
            self.calls.append(f"{resource}/{namespace}")
            return [{"metadata": {"name": "data-db-0", "namespace": namespace}, "spec": {"volumeName": "pv-1"}}]

        def list_all(self, group, resource):
            self.calls.append(resource)
            return [zonal_pv("pv-1", "eu-west-1a")]

    kube = Kube()
    assert read_volumes(kube, set()) == {} and kube.calls == []
    found = read_volumes(kube, {("data", "data-db-0")})
    assert kube.calls == ["persistentvolumeclaims/data", "persistentvolumes"]
    assert found[("data", "data-db-0")].volume == "pv-1"
