"""The official Kubernetes Python client against the fake API server (a client nobody here wrote)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from bluegreen.sandbox.kube.eviction import EVICTION_BLOCKED_MESSAGE, MULTIPLE_PDBS_MESSAGE
from tests.integration.sandbox.kube_fixtures import api_client, node_name  # noqa: F401


def _status(error: ApiException) -> dict:
    return json.loads(error.body)


def _eviction(name: str, namespace: str = "default") -> client.V1Eviction:
    return client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace=namespace))


def test_discovery_and_version(api_client):  # noqa: F811
    _, api = api_client
    assert client.VersionApi(api).get_code().git_version.startswith("v1.32")
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {"apps", "policy"} <= groups
    resources = {r.name: r for r in client.CoreV1Api(api).get_api_resources().resources}
    assert resources["pods/eviction"].group == "policy" and resources["pods/eviction"].version == "v1"
    assert {"nodes", "pods", "namespaces", "events"} <= set(resources)


def test_lists_with_field_and_label_selectors(api_client):  # noqa: F811
    served, api = api_client
    core = client.CoreV1Api(api)
    nodes = core.list_node()
    assert nodes.kind == "NodeList" and nodes.api_version == "v1" and len(nodes.items) == 6
    assert int(nodes.metadata.resource_version) > 0
    blue = core.list_node(label_selector="bluegreen.io/color=blue").items
    assert [n.metadata.name for n in blue] == [node_name(i) for i in range(3)]
    everything = core.list_pod_for_all_namespaces().items
    on_first = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node_name(0)}").items
    assert on_first and all(p.spec.node_name == node_name(0) for p in on_first)
    assert len(on_first) == sum(1 for p in everything if p.spec.node_name == node_name(0))
    not_first = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName!={node_name(0)}").items
    assert len(on_first) + len(not_first) == len(everything)
    running = core.list_pod_for_all_namespaces(field_selector="status.phase=Running,metadata.namespace=data").items
    assert sorted(p.metadata.name for p in running) == ["db-0", "db-1", "db-2"]
    assert [p.metadata.name for p in core.list_namespaced_pod("data", field_selector="metadata.name==db-1").items] \
        == ["db-1"]
    web_api = core.list_namespaced_pod("default", label_selector="app.kubernetes.io/name in (web,api)").items
    assert len(web_api) == 7
    assert len(core.list_namespaced_pod("default", label_selector="app.kubernetes.io/name=web").items) == 3
    others = core.list_namespaced_pod("default", label_selector="app.kubernetes.io/name notin (web,api),"
                                                                "!pod-template-hash").items
    assert sorted({p.metadata.labels["app.kubernetes.io/name"] for p in others}) == ["agent", "lonely"]
    assert core.list_namespaced_pod("default", label_selector="!app.kubernetes.io/name").items == []
    with pytest.raises(ApiException) as bad:
        core.list_pod_for_all_namespaces(field_selector="spec.color=blue")
    assert bad.value.status == 400 and _status(bad.value)["reason"] == "BadRequest"


def test_node_patch_types(api_client):  # noqa: F811
    served, api = api_client
    core = client.CoreV1Api(api)
    name = node_name(2)
    before = core.read_node(name).metadata.resource_version
    cordoned = core.patch_node(name, {"spec": {"unschedulable": True}})  # dict body: strategic merge
    assert cordoned.spec.unschedulable is True and cordoned.metadata.resource_version != before
    merged = core.patch_node(name, {"metadata": {"labels": {"extra": "1"}}},
                             _content_type="application/merge-patch+json")
    assert merged.metadata.labels["extra"] == "1" and merged.metadata.labels["bluegreen.io/color"] == "blue"
    patched = core.patch_node(name, [{"op": "remove", "path": "/metadata/labels/extra"},
                                     {"op": "replace", "path": "/spec/unschedulable", "value": False}])
    assert "extra" not in patched.metadata.labels and not patched.spec.unschedulable
    with pytest.raises(ApiException) as conflict:
        body = core.read_node(name)
        body.metadata.resource_version = "1"
        core.replace_node(name, body)
    assert conflict.value.status == 409 and _status(conflict.value)["reason"] == "Conflict"
    # The node lifecycle controller taints a cordoned node, as on a real cluster.
    core.patch_node(name, {"spec": {"unschedulable": True}})
    served.advance(1)
    assert [(t.key, t.effect) for t in core.read_node(name).spec.taints] == [
        ("node.kubernetes.io/unschedulable", "NoSchedule")]


def test_eviction_honours_budgets_and_answers_429(api_client):  # noqa: F811
    served, api = api_client
    core = client.CoreV1Api(api)
    web = [p.metadata.name for p in core.list_namespaced_pod("default", label_selector="app.kubernetes.io/name=web")
           .items]
    core.create_namespaced_pod_eviction(web[0], "default", _eviction(web[0]))
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod_eviction(web[1], "default", _eviction(web[1]))
    status = _status(refused.value)
    assert refused.value.status == 429 and status["reason"] == "TooManyRequests"
    assert status["message"] == EVICTION_BLOCKED_MESSAGE
    # The stored status was decremented by the first eviction; the controller has not recounted yet (no tick).
    assert status["details"]["causes"] == [{"reason": "DisruptionBudget", "message":
                                            "The disruption budget web-pdb needs 2 healthy pods and has 3 currently"}]
    # The replacement is created on the next tick (t+1), bound on the one after (t+2), its container runs 1 s later
    # (ContainerCreating, ClusterTiming.container_start_seconds) and it is Ready 5 s after that: budget back at t+8.
    policy = client.PolicyV1Api(api)
    served.advance(7)
    assert policy.read_namespaced_pod_disruption_budget("web-pdb", "default").status.disruptions_allowed == 0
    served.advance(1)
    assert policy.read_namespaced_pod_disruption_budget("web-pdb", "default").status.disruptions_allowed == 1
    core.create_namespaced_pod_eviction(web[1], "default", _eviction(web[1]))
    assert served.server.request_counts()["eviction"] == 3
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_pod_eviction("nope", "default", _eviction("nope"))
    assert missing.value.status == 404 and _status(missing.value)["message"] == 'pods "nope" not found'


def test_percentage_budget_and_two_budgets(api_client):  # noqa: F811
    served, api = api_client
    core, policy = client.CoreV1Api(api), client.PolicyV1Api(api)
    pdb = policy.read_namespaced_pod_disruption_budget("api-pdb", "default")
    # maxUnavailable 25% of 4 replicas: 1 unavailable allowed.
    assert (pdb.status.expected_pods, pdb.status.desired_healthy, pdb.status.disruptions_allowed) == (4, 3, 1)
    assert pdb.status.observed_generation == 1
    pods = [p.metadata.name for p in core.list_namespaced_pod("default", label_selector="app.kubernetes.io/name=api")
            .items]
    core.create_namespaced_pod_eviction(pods[0], "default", _eviction(pods[0]))
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod_eviction(pods[1], "default", _eviction(pods[1]))
    assert refused.value.status == 429 and "api-pdb needs 3 healthy pods" in refused.value.body
    second = client.V1PodDisruptionBudget(
        metadata=client.V1ObjectMeta(name="api-extra"),
        spec=client.V1PodDisruptionBudgetSpec(min_available="10%",
                                              selector=client.V1LabelSelector(
                                                  match_labels={"app.kubernetes.io/name": "api"})))
    policy.create_namespaced_pod_disruption_budget("default", second)
    with pytest.raises(ApiException) as two:
        core.create_namespaced_pod_eviction(pods[2], "default", _eviction(pods[2]))
    assert two.value.status == 500 and _status(two.value)["message"] == MULTIPLE_PDBS_MESSAGE
    assert served.cluster.measurements.summary()["evictions_refused"] == 0  # measurements not started
    with pytest.raises(ApiException) as invalid:
        policy.create_namespaced_pod_disruption_budget("default", client.V1PodDisruptionBudget(
            metadata=client.V1ObjectMeta(name="both"),
            spec=client.V1PodDisruptionBudgetSpec(min_available=1, max_unavailable=1)))
    assert invalid.value.status == 422 and _status(invalid.value)["reason"] == "Invalid"


def test_delete_with_grace_period_and_status_codes(api_client):  # noqa: F811
    served, api = api_client
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    pod = core.read_namespaced_pod("db-1", "data")
    deleted = core.delete_namespaced_pod("db-1", "data", body=client.V1DeleteOptions(grace_period_seconds=40))
    assert deleted.metadata.deletion_timestamp is not None and deleted.metadata.deletion_grace_period_seconds == 40
    served.advance(39)
    assert core.read_namespaced_pod("db-1", "data").metadata.uid == pod.metadata.uid  # still terminating
    assert core.read_namespaced_pod("db-1", "data").status.container_statuses[0].ready is True  # still running
    served.advance(1)
    assert core.read_namespaced_pod("db-1", "data").status.phase == "Succeeded"
    served.advance(1)
    # The StatefulSet recreates db-1 with the same name once the old one is gone: a new uid, Pending (unbound),
    # then bound and ContainerCreating, then Running.
    again = core.read_namespaced_pod("db-1", "data")
    assert again.metadata.uid != pod.metadata.uid and again.status.phase == "Pending"
    assert again.spec.node_name is None
    served.advance(1)
    again = core.read_namespaced_pod("db-1", "data")
    assert again.status.container_statuses[0].state.waiting.reason == "ContainerCreating"
    served.advance(1)
    again = core.read_namespaced_pod("db-1", "data")
    assert again.status.phase == "Running"
    assert again.metadata.deletion_timestamp is None
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("ghost", "default")
    assert missing.value.status == 404 and _status(missing.value)["details"]["name"] == "ghost"
    with pytest.raises(ApiException) as exists:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="data")))
    assert exists.value.status == 409 and _status(exists.value)["reason"] == "AlreadyExists"
    bad = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="bad"),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels={"app": "x"}),
            template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels={"app": "y"}),
                                              spec=client.V1PodSpec(containers=[client.V1Container(name="c")]))))
    with pytest.raises(ApiException) as invalid:
        apps.create_namespaced_deployment("default", bad)
    assert invalid.value.status == 422 and "does not match template" in _status(invalid.value)["message"]
    with pytest.raises(ApiException) as no_namespace:
        core.create_namespaced_pod("nowhere", client.V1Pod(
            metadata=client.V1ObjectMeta(name="x"), spec=client.V1PodSpec(containers=[client.V1Container(name="c")])))
    assert no_namespace.value.status == 404
    assert _status(no_namespace.value)["message"] == 'namespaces "nowhere" not found'
    # A protobuf body is refused (415 naming what is not modelled) rather than its options ignored.
    request = urllib.request.Request(f"{served.server.url}/api/v1/namespaces/default/pods/lonely", method="DELETE",
                                     data=b"k8s\x00\x0a\x0f",
                                     headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 415 and "protobuf" in json.loads(refused.value.read())["message"]
    assert core.read_namespaced_pod("lonely", "default").metadata.deletion_timestamp is None


def test_workload_statuses_events_and_injected_errors(api_client):  # noqa: F811
    served, api = api_client
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    web = apps.read_namespaced_deployment("web", "default")
    assert (web.status.replicas, web.status.ready_replicas, web.status.available_replicas,
            web.status.updated_replicas, web.status.observed_generation) == (3, 3, 3, 3, 1)
    assert {c.type: c.status for c in web.status.conditions} == {"Available": "True", "Progressing": "True"}
    rs = apps.list_namespaced_replica_set("default", label_selector="app.kubernetes.io/name=web").items
    assert len(rs) == 1 and rs[0].metadata.owner_references[0].kind == "Deployment"
    assert rs[0].status.ready_replicas == 3
    sts = apps.read_namespaced_stateful_set("db", "data")
    assert sts.status.ready_replicas == 3
    ds = apps.read_namespaced_daemon_set("agent", "default")
    assert ds.status.desired_number_scheduled == 6 and ds.status.number_ready == 6
    apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 5}})
    served.advance(8)  # created on the next tick, bound on the one after, running 1 s later, Ready 5 s after that
    assert apps.read_namespaced_deployment("web", "default").status.ready_replicas == 5
    assert apps.read_namespaced_deployment("web", "default").metadata.generation == 2
    event = core.create_namespaced_event("default", client.CoreV1Event(
        metadata=client.V1ObjectMeta(generate_name="drain-"), reason="Draining", message="draining node",
        type="Normal", involved_object=client.V1ObjectReference(kind="Node", name=node_name(0))))
    assert event.metadata.name.startswith("drain-")
    listed = core.list_namespaced_event("default", field_selector="involvedObject.kind=Node").items
    assert [e.reason for e in listed] == ["Draining"]
    served.server.inject_errors(1.0, 503)
    with pytest.raises(ApiException) as injected:
        core.list_node()
    assert injected.value.status == 503 and _status(injected.value)["kind"] == "Status"
    assert client.VersionApi(api).get_code().major == "1"  # discovery is never faulted
    served.server.inject_errors(0.5, 500, seed=7)
    outcomes = []
    for _ in range(40):
        try:
            core.list_node()
            outcomes.append(True)
        except ApiException as error:
            assert error.status == 500
            outcomes.append(False)
    assert 5 < outcomes.count(False) < 35
    served.server.inject_errors(0.0, 500)
    counts = served.server.request_counts()
    assert counts["errors_injected"] == 1 + outcomes.count(False)
    assert counts["GET nodes"] >= 41 and counts["total"] >= counts["GET"] + counts["POST"]


def test_watch_streams_events(api_client):  # noqa: F811
    from kubernetes import watch

    _, api = api_client
    core = client.CoreV1Api(api)
    stream = watch.Watch().stream(core.list_namespaced_pod, "data", timeout_seconds=1)
    seen = {event["object"].metadata.name for event in stream if event["type"] == "ADDED"}
    assert seen == {"db-0", "db-1", "db-2"}


def test_scale_subresource(api_client):  # noqa: F811
    served, api = api_client
    apps = client.AppsV1Api(api)
    scale = apps.read_namespaced_stateful_set_scale("db", "data")
    assert scale.spec.replicas == 3 and scale.status.selector == "app.kubernetes.io/name=db"
    apps.patch_namespaced_stateful_set_scale("db", "data", {"spec": {"replicas": 4}})
    served.advance(6)
    names = sorted(p.metadata.name for p in client.CoreV1Api(api).list_namespaced_pod("data").items)
    assert names == ["db-0", "db-1", "db-2", "db-3"]
    apps.replace_namespaced_deployment_scale("api", "default", client.V1Scale(
        metadata=client.V1ObjectMeta(name="api"), spec=client.V1ScaleSpec(replicas=2)))
    served.advance(2)
    assert apps.read_namespaced_deployment("api", "default").status.replicas == 2
    with pytest.raises(ApiException) as invalid:
        apps.patch_namespaced_deployment_scale("api", "default", {"spec": {"replicas": -1}})
    assert invalid.value.status == 422


def test_list_pagination_with_limit_and_continue(api_client):  # noqa: F811
    _, api = api_client
    core = client.CoreV1Api(api)
    everything = [p.metadata.name for p in core.list_pod_for_all_namespaces().items]
    pages, token = [], None
    while True:
        page = core.list_pod_for_all_namespaces(limit=5, _continue=token)
        pages.append([p.metadata.name for p in page.items])
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == len(everything) - sum(len(p) for p in pages)
    assert [len(p) for p in pages] == [5, 5, 5, 2] and sum(pages, []) == everything
    with pytest.raises(ApiException) as bad:
        core.list_pod_for_all_namespaces(limit=5, _continue="garbage")
    assert bad.value.status == 400
