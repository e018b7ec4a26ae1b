"""Conformance: watches and list resourceVersions behave as kube-apiserver's watch cache serves them.

Each test names the upstream file and function whose behaviour it checks. The cluster is advanced by hand
(no ticker), so every change below is made by the test and the expected events are exact.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.objects import workload_objects
from tests.integration.sandbox.kube_fixtures import Served, add_nodes, serve


def _cluster(history: int = 4096) -> FakeCluster:
    cluster = FakeCluster(placement="spread", seed=0, watch_history=history)
    add_nodes(cluster, 2)
    for obj in workload_objects("Deployment", "web", replicas=2, ready_seconds=1):
        cluster.apply(obj)
    cluster.settle(10)
    return cluster


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, client.CoreV1Api]]:
    for s in serve(_cluster(), tmp_path, speed=None):
        api = config.new_client_from_config(config_file=s.kubeconfig)
        try:
            yield s, client.CoreV1Api(api)
        finally:
            api.close()


def _pod(name: str, labels: dict[str, str] | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"app": name}},
            "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}}


def _raw_watch(served: Served, path: str, **query: str) -> list[dict]:
    """Every event of a watch on ``path`` until the server ends it (tests pass a short timeoutSeconds)."""
    text = "&".join(f"{k}={v}" for k, v in {"watch": "true", **query}.items())
    with urllib.request.urlopen(f"{served.server.url}{path}?{text}", timeout=30) as response:
        return [json.loads(line) for line in response if line.strip()]


def _get(served: Served, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{served.server.url}{path}", timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_every_change_is_its_own_event_in_order(served):
    # staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go getAllEventsSinceLocked: a watch from a
    # resourceVersion replays each later write as one event, in order, none merged.
    s, core = served
    start = core.list_namespaced_pod("default").metadata.resource_version
    core.create_namespaced_pod("default", _pod("solo"))
    core.patch_namespaced_pod("solo", "default", {"metadata": {"labels": {"step": "one"}}})
    core.patch_namespaced_pod("solo", "default", {"metadata": {"labels": {"step": "two"}}})
    core.delete_namespaced_pod("solo", "default", grace_period_seconds=0)
    events = _raw_watch(s, "/api/v1/namespaces/default/pods", resourceVersion=start, timeoutSeconds="1")
    solo = [(e["type"], e["object"]["metadata"].get("labels", {}).get("step")) for e in events
            if e["object"]["metadata"]["name"] == "solo"]
    assert solo == [("ADDED", None), ("MODIFIED", "one"), ("MODIFIED", "two"), ("DELETED", "two")]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert all(v > int(start) for v in versions)


def test_resuming_sends_only_later_changes_with_their_real_type(served):
    # cacher.go Watch with a resourceVersion: only events after it; an object modified since is MODIFIED
    # (not re-ADDED), objects left alone are not sent at all.
    s, core = served
    pods = core.list_namespaced_pod("default")
    first, second = pods.items[0].metadata.name, pods.items[1].metadata.name
    core.patch_namespaced_pod(first, "default", {"metadata": {"labels": {"touched": "yes"}}})
    stream = watch.Watch().stream(core.list_namespaced_pod, "default", resource_version=pods.metadata.resource_version,
                                  timeout_seconds=1)
    seen = [(e["type"], e["object"].metadata.name) for e in stream]
    assert seen == [("MODIFIED", first)]
    assert second not in {name for _, name in seen}


def test_a_watch_without_resource_version_starts_with_the_current_state_then_follows(served):
    # cacher.go Watch, resourceVersion unset: synthetic ADDED for every object, then changes as they happen.
    s, core = served
    names = {p.metadata.name for p in core.list_namespaced_pod("default").items}
    threading.Timer(0.3, lambda: core.create_namespaced_pod("default", _pod("late"))).start()
    events = _raw_watch(s, "/api/v1/namespaces/default/pods", timeoutSeconds="1")
    assert {e["object"]["metadata"]["name"] for e in events[:len(names)]} == names
    assert all(e["type"] == "ADDED" for e in events)
    assert events[-1]["object"]["metadata"]["name"] == "late"


def test_a_watch_lasts_until_timeout_seconds(served):
    # staging/src/k8s.io/apiserver/pkg/endpoints/handlers/get.go ListResource: the watch ends at timeoutSeconds
    # (the server's own default is 30-60 minutes), and delivers changes made while it is open.
    s, core = served
    threading.Timer(1.5, lambda: core.create_namespaced_pod("default", _pod("midway"))).start()
    began = time.monotonic()
    events = _raw_watch(s, "/api/v1/namespaces/default/pods", resourceVersion=s.cluster.resource_version,
                        timeoutSeconds="2")
    lasted = time.monotonic() - began
    assert 1.9 <= lasted < 4.0
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "midway")]


def test_bookmarks_only_when_allowed(served):
    # cacher/cache_watcher.go nextBookmarkTime: with allowWatchBookmarks a BOOKMARK goes out 2 s before the
    # watch's timeout (and every minute), carrying only the resourceVersion reached.
    s, core = served
    core.create_namespaced_pod("default", _pod("marker"))
    reached = int(s.cluster.resource_version)
    events = _raw_watch(s, "/api/v1/namespaces/default/pods", resourceVersion=str(reached),
                        allowWatchBookmarks="true", timeoutSeconds="3")
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert len(bookmarks) == 1
    marker = bookmarks[0]["object"]
    assert marker["kind"] == "Pod" and int(marker["metadata"]["resourceVersion"]) >= reached
    assert "spec" not in bookmarks[0]["object"]
    plain = _raw_watch(s, "/api/v1/namespaces/default/pods", resourceVersion=str(reached), timeoutSeconds="3")
    assert not [e for e in plain if e["type"] == "BOOKMARK"]


def test_send_initial_events_ends_with_the_initial_events_end_bookmark(served):
    # cacher.go Watch with sendInitialEvents=true (the WatchList protocol): the current state as ADDED, then a
    # BOOKMARK annotated k8s.io/initial-events-end; without resourceVersionMatch=NotOlderThan it is a 422.
    s, core = served
    names = {p.metadata.name for p in core.list_namespaced_pod("default").items}
    events = _raw_watch(s, "/api/v1/namespaces/default/pods", sendInitialEvents="true",
                        resourceVersionMatch="NotOlderThan", allowWatchBookmarks="true", timeoutSeconds="1")
    assert {e["object"]["metadata"]["name"] for e in events if e["type"] == "ADDED"} == names
    end = next(e for e in events if e["type"] == "BOOKMARK")
    assert end["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    code, status = _get(s, "/api/v1/namespaces/default/pods?watch=true&sendInitialEvents=true&timeoutSeconds=1")
    assert code == 422 and "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan" in \
        status["message"]


def test_selector_watch_sees_objects_enter_and_leave(served):
    # cacher/cache_watcher.go convertToWatchEvent: an object that starts matching the selector is ADDED, one that
    # stops matching is DELETED (its previous state at the change's resourceVersion).
    s, core = served
    start = s.cluster.resource_version
    core.create_namespaced_pod("default", _pod("mover", {"tier": "blue"}))
    core.patch_namespaced_pod("mover", "default", {"metadata": {"labels": {"tier": "green"}}})
    core.patch_namespaced_pod("mover", "default", {"metadata": {"labels": {"tier": "blue"}}})
    stream = watch.Watch().stream(core.list_namespaced_pod, "default", label_selector="tier=blue",
                                  resource_version=start, timeout_seconds=1)
    seen = [(e["type"], e["object"].metadata.labels["tier"], int(e["object"].metadata.resource_version))
            for e in stream]
    assert [(kind, tier) for kind, tier, _ in seen] == [("ADDED", "blue"), ("DELETED", "blue"), ("ADDED", "blue")]
    assert seen[1][2] > seen[0][2]  # the DELETED carries the change's resourceVersion, not the old one


def test_a_resource_version_older_than_the_history_is_410_expired(tmp_path: Path):
    # watch_cache.go getAllEventsSinceLocked: "too old resource version" -> errors.NewResourceExpired, sent as an
    # ERROR event with a 410 Status (cacher.go newErrWatcher); a list at an exact compacted resourceVersion is
    # a 410 too (etcd3 store, "The resourceVersion for the provided list is too old.").
    for s in serve(_cluster(history=8), tmp_path, speed=None):
        old = s.cluster.resource_version
        for i in range(10):
            s.cluster.create("pods", "default", _pod(f"churn-{i}"))
        events = _raw_watch(s, "/api/v1/namespaces/default/pods", resourceVersion=old, timeoutSeconds="1")
        assert [e["type"] for e in events] == ["ERROR"]
        status = events[0]["object"]
        assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
        assert status["message"].startswith(f"too old resource version: {old} (")
        code, body = _get(s, f"/api/v1/namespaces/default/pods?resourceVersion={old}&resourceVersionMatch=Exact")
        assert (code, body["reason"]) == (410, "Expired")
        # The history is bounded per resource: pod churn does not expire a watch on nodes from the same point.
        assert _raw_watch(s, "/api/v1/nodes", resourceVersion=old, timeoutSeconds="1") == []
        assert len(s.cluster.watch_log.history("pods").events) == 8
        # A continue token whose snapshot has left the history: 410 with a fresh token that continues from now.
        first = json.loads(urllib.request.urlopen(
            f"{s.server.url}/api/v1/namespaces/default/pods?limit=2", timeout=10).read())
        for i in range(10):
            s.cluster.create("pods", "default", _pod(f"more-{i}"))
        code, body = _get(s, f"/api/v1/namespaces/default/pods?limit=2&continue={first['metadata']['continue']}")
        assert (code, body["reason"]) == (410, "Expired") and "continue parameter is too old" in body["message"]
        code, rest = _get(s, f"/api/v1/namespaces/default/pods?limit=100&continue={body['metadata']['continue']}")
        assert code == 200 and [p["metadata"]["name"] for p in rest["items"]] == sorted(
            p["metadata"]["name"] for p in rest["items"])
        # A recent resourceVersion still resumes.
        recent = s.cluster.resource_version
        s.cluster.create("pods", "default", _pod("after"))
        resumed = _raw_watch(s, "/api/v1/namespaces/default/pods", resourceVersion=recent, timeoutSeconds="1")
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in resumed] == [("ADDED", "after")]


def test_the_official_client_follows_a_list_with_a_watch_from_its_resource_version(served):
    # client-go reflector ListAndWatch (as the Python client's Watch): list, then watch from
    # list.metadata.resourceVersion; nothing is lost or repeated between the two.
    s, core = served
    listed = core.list_namespaced_pod("default")
    core.create_namespaced_pod("default", _pod("after-list"))
    stream = watch.Watch().stream(core.list_namespaced_pod, "default",
                                  resource_version=listed.metadata.resource_version, timeout_seconds=1)
    assert [(e["type"], e["object"].metadata.name) for e in stream] == [("ADDED", "after-list")]


def test_list_resource_version_semantics(served):
    # staging/src/k8s.io/apiserver/pkg/storage/cacher/cacher.go GetList and the etcd3 store: "0" = any,
    # NotOlderThan waits for a resourceVersion not reached yet (then 504 "Too large resource version"),
    # Exact serves the state at that resourceVersion; bad combinations are the 422s of ValidateListOptions.
    s, core = served
    before = core.list_namespaced_pod("default")
    core.create_namespaced_pod("default", _pod("newer"))
    names = lambda listing: sorted(p.metadata.name for p in listing.items)  # noqa: E731
    assert "newer" in names(core.list_namespaced_pod("default", resource_version="0"))
    exact = core.list_namespaced_pod("default", resource_version=before.metadata.resource_version,
                                     resource_version_match="Exact")
    assert names(exact) == names(before) and exact.metadata.resource_version == before.metadata.resource_version
    # A resourceVersion with a limit and no match is the legacy spelling of Exact; "0" ignores limit (the watch
    # cache does not page).
    legacy = core.list_namespaced_pod("default", resource_version=before.metadata.resource_version, limit=50)
    assert names(legacy) == names(before)
    anything = core.list_namespaced_pod("default", resource_version="0", limit=1)
    assert len(anything.items) == len(before.items) + 1 and not anything.metadata._continue
    ahead = str(int(s.cluster.resource_version) + 1)
    threading.Timer(0.3, lambda: core.create_namespaced_pod("default", _pod("arrives"))).start()
    waited = core.list_namespaced_pod("default", resource_version=ahead, resource_version_match="NotOlderThan")
    assert "arrives" in names(waited) and int(waited.metadata.resource_version) >= int(ahead)
    code, body = _get(s, f"/api/v1/namespaces/default/pods?resourceVersion={int(ahead) + 50}")
    assert (code, body["reason"]) == (504, "Timeout") and body["message"].startswith("Too large resource version")
    for query, message in (
        ("resourceVersionMatch=Exact", "resourceVersionMatch is forbidden unless resourceVersion is provided"),
        ("resourceVersion=0&resourceVersionMatch=Exact",
         'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'),
        ("resourceVersion=1&resourceVersionMatch=Sometimes", 'Unsupported value: "Sometimes"'),
        ("watch=true&resourceVersionMatch=NotOlderThan",
         "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"),
    ):
        code, body = _get(s, f"/api/v1/namespaces/default/pods?{query}")
        assert code == 422 and body["message"].startswith('ListOptions.meta.k8s.io "" is invalid') \
            and message in body["message"], (query, body)
    with pytest.raises(ApiException) as bad:
        core.list_namespaced_pod("default", resource_version="yesterday")
    assert bad.value.status == 400
    # A get honours resourceVersion the same way (cacher.go Get): reached -> the object, never reached -> 504.
    current = s.cluster.resource_version
    assert _get(s, f"/api/v1/namespaces/default/pods/newer?resourceVersion={current}")[0] == 200
    code, body = _get(s, f"/api/v1/namespaces/default/pods/newer?resourceVersion={int(current) + 50}")
    assert (code, body["reason"]) == (504, "Timeout")


def test_continued_pages_read_the_first_pages_snapshot(served):
    # staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go GetList with a continue token: later pages are read
    # at the first page's resourceVersion, so an object created in between does not appear.
    s, core = served
    for i in range(4):
        core.create_namespaced_pod("default", _pod(f"page-{i}"))
    first = core.list_namespaced_pod("default", limit=2)
    core.create_namespaced_pod("default", _pod("zz-created-between"))
    rest, token = [], first.metadata._continue
    while token:
        page = core.list_namespaced_pod("default", limit=2, _continue=token)
        assert page.metadata.resource_version == first.metadata.resource_version
        rest += [p.metadata.name for p in page.items]
        token = page.metadata._continue
    listed = [p.metadata.name for p in first.items] + rest
    assert "zz-created-between" not in listed and listed == sorted(listed)
    assert len(listed) == len(core.list_namespaced_pod("default").items) - 1
    code, body = _get(s, f"/api/v1/namespaces/default/pods?limit=2&continue={first.metadata._continue}"
                         "&resourceVersion=5")
    assert code == 400 and body["message"] == "specifying resource version is not allowed when using continue"


def test_the_deprecated_watch_paths_watch_too(served):
    # staging/src/k8s.io/apiserver/pkg/endpoints/installer.go registers /watch/ paths ("WATCHLIST", and "WATCH"
    # of one object): the same watch as ?watch=true, one object's limited to its name.
    s, core = served
    start = s.cluster.resource_version
    core.create_namespaced_pod("default", _pod("watched"))
    core.create_namespaced_pod("default", _pod("ignored"))
    one = _raw_watch(s, "/api/v1/watch/namespaces/default/pods/watched", resourceVersion=start, timeoutSeconds="1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in one] == [("ADDED", "watched")]
    every = _raw_watch(s, "/api/v1/watch/pods", resourceVersion=start, timeoutSeconds="1")
    assert [e["object"]["metadata"]["name"] for e in every] == ["watched", "ignored"]
    code, _ = _get(s, "/api/v1/watch/namespaces/default/pods/watched/status")
    assert code == 404
