"""Conformance: what the engine reads (engine/kube.py, listing.py, watch.py) served as kube-apiserver serves it.

The engine selects on the server (label and field selectors), pages its lists (limit/continue, restarting on a
410 Expired continue token as client-go's pager does) and keeps its polled collections current with a watch
resumed from the list's resourceVersion (re-listing on 410). Each test names the upstream behaviour it relies on.
The cluster is advanced by hand (no ticker).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import config

from bluegreen.engine.errors import KubernetesApiError
from bluegreen.engine.kube import KubeApi
from bluegreen.engine.readiness import DAEMON_POD_LABEL, read_daemon_pods
from bluegreen.engine.watch import Collection
from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.objects import workload_objects
from tests.integration.sandbox.kube_fixtures import Served, add_nodes, node_name, serve


def _cluster(history: int = 4096) -> FakeCluster:
    cluster = FakeCluster(placement="spread", seed=0, watch_history=history)
    add_nodes(cluster, 2)
    add_nodes(cluster, 1, color="green", start=2)
    for obj in (workload_objects("Deployment", "web", replicas=4, ready_seconds=1)
                + workload_objects("DaemonSet", "agent", cpu="50m", memory="64Mi")):
        cluster.apply(obj)
    cluster.settle(10)
    return cluster


def _kube(served: Served) -> KubeApi:
    return KubeApi(config.new_client_from_config(config_file=served.kubeconfig), sleep=lambda s: None)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from serve(_cluster(), tmp_path, speed=None)


@pytest.fixture
def short_history(tmp_path: Path) -> Iterator[Served]:
    """A server whose watch history keeps 8 events per resource: a little churn compacts past a token."""
    yield from serve(_cluster(history=8), tmp_path, speed=None)


def _pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}}


def _wait_until(check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the watched collection did not catch up"
        time.sleep(0.01)


def test_the_engine_selects_on_the_server(served):
    # Node label selectors (labels.Parse: equality, ANDed) and pod field selectors (pod/strategy.go
    # ToSelectableFields: spec.nodeName, status.phase); the DaemonSet pods by the daemon controller's
    # pod-template-generation label (daemon/util/daemonset_util.go CreatePodTemplate).
    kube = _kube(served)
    assert {n["metadata"]["name"] for n in kube.nodes_of_color("blue")} == {node_name(0), node_name(1)}
    assert [n["metadata"]["name"] for n in kube.nodes_of_color("green")] == [node_name(2)]
    before = served.server.traffic()["requests"].get("list nodes", 0)
    kube.nodes_of_color("blue", "gpu")
    assert served.server.traffic()["requests"]["list nodes"] == before + 1
    on_node = kube.list_pods(node=node_name(0))
    assert on_node and {p["spec"]["nodeName"] for p in on_node} == {node_name(0)}
    assert {p["status"]["phase"] for p in kube.list_pods(phase="Running")} == {"Running"}
    daemons = kube.list_pods(label_selector=DAEMON_POD_LABEL)
    assert len(daemons) == 3 and all(p["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet" for p in daemons)
    assert all(p["metadata"]["labels"][DAEMON_POD_LABEL] == "1" for p in daemons)
    requests = served.server.traffic()["requests"].get("list pods", 0)
    assert len(read_daemon_pods(kube, {node_name(0), node_name(2)})) == 2
    assert served.server.traffic()["requests"]["list pods"] == requests + 1  # one read, whatever the nodes


def test_an_unsupported_field_selector_is_refused_not_ignored(served):
    # core/v1 conversion.go: a field label the Pod conversion does not know is a 400 "field label not supported".
    kube = _kube(served)
    with pytest.raises(KubernetesApiError, match=r"HTTP 400\): field label not supported: spec.priority"):
        kube.list_pages("/api/v1/pods", {"fieldSelector": "spec.priority=0"})


def test_paged_lists_follow_continue_and_restart_on_an_expired_token(short_history):
    # etcd3 store.go GetList: each page continues the first page's snapshot; once that snapshot is compacted the
    # token is 410 Expired, and client-go's pager (tools/pager/pager.go) lists again from scratch.
    s = short_history
    kube = _kube(s)
    everything = sorted(p["metadata"]["name"] for p in kube.list_pages("/api/v1/pods", page_size=0).items)
    listed = kube.list_pages("/api/v1/pods", page_size=2)
    assert sorted(p["metadata"]["name"] for p in listed.items) == everything and listed.pages == 4
    assert listed.resource_version == s.cluster.resource_version
    original = kube.request
    churned = []

    def churn_after_the_first_page(method, path, **kwargs):
        answer = original(method, path, **kwargs)
        if not churned:
            churned.append(True)
            for i in range(10):
                s.cluster.create("pods", "default", _pod(f"churn-{i}"))
        return answer
    kube.request = churn_after_the_first_page  # type: ignore[method-assign]
    restarted = kube.list_pages("/api/v1/pods", page_size=2)
    assert restarted.restarts == 1
    names = sorted(p["metadata"]["name"] for p in restarted.items)
    assert names == sorted(everything + [f"churn-{i}" for i in range(10)])


def test_a_watched_collection_follows_every_change(served):
    # client-go reflector ListAndWatch: list, then watch from the list's resourceVersion; ADDED/MODIFIED/DELETED
    # applied in order; bookmarks asked for (allowWatchBookmarks) carry only a resourceVersion.
    kube = _kube(served)
    with Collection(kube, "/api/v1/pods") as pods:
        first = {p["metadata"]["name"] for p in pods.snapshot()}
        served.cluster.create("pods", "default", _pod("late"))
        _wait_until(lambda: "late" in {p["metadata"]["name"] for p in pods.snapshot()})
        victim = sorted(n for n in first if n.startswith("web"))[0]
        served.cluster.delete("pods", "default", victim, grace_seconds=0)
        _wait_until(lambda: victim not in {p["metadata"]["name"] for p in pods.snapshot()})
        assert pods.lists == 1 and pods.watches == 1
        snapshot = {p["metadata"]["name"] for p in pods.snapshot()}
        listed = {p["metadata"]["name"] for p in kube.list_pages("/api/v1/pods").items}
        assert snapshot == listed
    traffic = served.server.traffic()
    assert traffic["requests"]["watch pods"] == 1 and traffic["bytes"]["watch pods"] > 0


def test_a_watch_from_a_compacted_resource_version_lists_again(short_history):
    # watch_cache.go: a resourceVersion older than the history is an ERROR event with a 410 Expired Status; the
    # reflector then lists again and watches from the new list (reflector.go, isExpiredError).
    s = short_history
    kube = _kube(s)
    pods = Collection(kube, "/api/v1/pods")
    pods._relist()
    for i in range(10):
        s.cluster.create("pods", "default", _pod(f"churn-{i}"))
    thread = threading.Thread(target=pods._run, daemon=True)
    thread.start()
    try:
        _wait_until(lambda: pods.lists == 2)
        _wait_until(lambda: "churn-9" in {p["metadata"]["name"] for p in pods.snapshot()})
    finally:
        pods.stop()
        thread.join(timeout=5)
    assert pods.watches >= 2


def test_watched_lists_are_answered_from_memory(served):
    kube = _kube(served)
    with kube.watched("/api/v1/pods"):
        before = served.server.traffic()["requests"]
        on_node = kube.list_pods(node=node_name(0))
        web = kube.list_pods(namespace="default", label_selector="app.kubernetes.io/name=web")
        assert served.server.traffic()["requests"] == before  # no request
    assert sorted(p["metadata"]["name"] for p in on_node) == sorted(
        p["metadata"]["name"] for p in kube.list_pods(node=node_name(0)))
    assert len(web) == 4


def test_response_bytes_are_counted_per_verb_and_resource(served):
    before = served.server.traffic()
    with urllib.request.urlopen(f"{served.server.url}/api/v1/pods?limit=2", timeout=10) as response:
        body = response.read()
    after = served.server.traffic()
    assert after["bytes"]["list pods"] - before["bytes"].get("list pods", 0) == len(body)
    assert after["requests"]["list pods"] - before["requests"].get("list pods", 0) == 1
    assert after["total_bytes"] - before["total_bytes"] == len(body)
    assert json.loads(body)["metadata"]["continue"]


def test_reads_go_to_the_server_while_the_watch_cannot_be_opened(served):
    # A watch the server refuses (here every request fails with a 503 for a while): the copy may miss changes,
    # so reads are lists again until a watch is open.
    kube = _kube(served)
    with kube.watched("/api/v1/pods"):
        collection = kube._watched[("/api/v1/pods", "")]
        served.server.inject_errors(1.0, 503)
        kube.abort_stream(collection._response)
        _wait_until(lambda: collection.stale)
        served.server.inject_errors(0.0, 503)
        served.cluster.create("pods", "default", _pod("while-down"))
        assert "while-down" in {p["metadata"]["name"] for p in kube.list_pods(namespace="default")}
        _wait_until(lambda: not collection.stale)
        _wait_until(lambda: "while-down" in {p["metadata"]["name"] for p in collection.snapshot()})
