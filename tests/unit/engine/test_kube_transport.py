"""KubeApi over the official client against a scripted loopback HTTP server: retries and eviction answers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from kubernetes import client as k8s_client

from bluegreen.engine.errors import KubernetesApiError
from bluegreen.engine.kube import KubeApi


class Scripted(BaseHTTPRequestHandler):
    script: list[tuple[int, dict]] = []
    seen: list[tuple[str, str, str, str]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        type(self).seen.append((self.command, self.path, self.headers.get("Content-Type") or "", body))
        status, payload = type(self).script.pop(0) if type(self).script else (200, {"items": []})
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer

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
    yield KubeApi(k8s_client.ApiClient(configuration), sleep=lambda s: None)
    server.shutdown()
    server.server_close()


def test_lists_retry_on_throttling_and_server_errors(api):
    Scripted.script = [(503, {"message": "busy"}), (429, {"message": "slow down"}),
                       (200, {"items": [{"metadata": {"name": "n1"}}]})]
    assert api.list_nodes("bluegreen.io/color=blue") == [{"metadata": {"name": "n1"}}]
    assert len(Scripted.seen) == 3 and api.retried == 2
    path, _, query = Scripted.seen[0][1].partition("?")
    assert path == "/api/v1/nodes" and parse_qs(query) == {"labelSelector": ["bluegreen.io/color=blue"],
                                                           "limit": ["500"]}


def test_lists_follow_continue_tokens_until_the_last_page(api):
    Scripted.script = [(200, {"metadata": {"continue": "c1", "resourceVersion": "7"}, "items": [{"n": 1}]}),
                       (200, {"metadata": {"continue": "c2", "resourceVersion": "7"}, "items": [{"n": 2}]}),
                       (200, {"metadata": {"resourceVersion": "7"}, "items": [{"n": 3}]})]
    listed = api.list_pages("/api/v1/pods", {"fieldSelector": "spec.nodeName=n1"}, page_size=1)
    assert listed.items == [{"n": 1}, {"n": 2}, {"n": 3}] and listed.resource_version == "7" and listed.pages == 3
    queries = [parse_qs(seen[1].partition("?")[2]) for seen in Scripted.seen]
    assert [q.get("continue") for q in queries] == [None, ["c1"], ["c2"]]
    assert all(q["limit"] == ["1"] and q["fieldSelector"] == ["spec.nodeName=n1"] for q in queries)


def test_an_expired_continue_token_starts_the_list_again_then_reads_it_whole(api):
    expired = {"kind": "Status", "code": 410, "reason": "Expired", "message": "The provided continue parameter is "
               "too old to display a consistent list result.", "metadata": {"continue": "fresh"}}
    Scripted.script = [(200, {"metadata": {"continue": "c1"}, "items": [{"n": 1}]}), (410, expired),
                       (200, {"metadata": {"continue": "c9"}, "items": [{"n": 1}]}), (410, expired),
                       (200, {"metadata": {"resourceVersion": "9"}, "items": [{"n": 1}, {"n": 2}]})]
    listed = api.list_pages("/api/v1/pods", page_size=1)
    assert listed.items == [{"n": 1}, {"n": 2}] and listed.restarts == 2 and listed.resource_version == "9"
    queries = [parse_qs(seen[1].partition("?")[2]) for seen in Scripted.seen]
    assert queries[2] == {"limit": ["1"]}  # from scratch: not the fresh (inconsistent) token
    assert queries[4] == {}  # the pager's FullListIfExpired: one list without limit


def test_a_410_on_the_first_page_is_an_error(api):
    Scripted.script = [(410, {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"})]
    with pytest.raises(KubernetesApiError, match="HTTP 410"):
        api.list_pages("/api/v1/pods")


def test_a_client_error_is_not_retried_and_is_named(api):
    Scripted.script = [(403, {"message": "forbidden: nodes"})]
    with pytest.raises(KubernetesApiError, match=r"GET /api/v1/nodes failed \(HTTP 403\): forbidden: nodes"):
        api.list_nodes()
    assert len(Scripted.seen) == 1


def test_eviction_answers(api):
    refused = {"kind": "Status", "code": 429, "message": "Cannot evict pod as it would violate the pod's disruption "
               "budget.", "details": {"causes": [{"reason": "DisruptionBudget",
                                                  "message": "The disruption budget web needs 2 healthy pods"}]}}
    Scripted.script = [(503, {"message": "flaky"}), (201, {"status": "Success"}), (429, refused), (404, {}),
                       (500, {"message": "This pod has more than one PodDisruptionBudget"})] + [(500, {})] * 8
    assert api.evict_pod("default", "web-1").outcome == "evicted"
    method, path, content_type, body = Scripted.seen[1]
    assert (method, path) == ("POST", "/api/v1/namespaces/default/pods/web-1/eviction")
    assert json.loads(body)["kind"] == "Eviction" and content_type == "application/json"
    answer = api.evict_pod("default", "web-2")
    assert (answer.outcome, answer.pdb) == ("refused", "web")
    assert api.evict_pod("default", "gone").outcome == "gone"
    assert api.evict_pod("default", "x").outcome == "failed"


def test_patch_node_is_a_merge_patch(api):
    api.patch_node("n1", {"spec": {"unschedulable": True}})
    method, path, content_type, body = Scripted.seen[0]
    assert (method, path, content_type) == ("PATCH", "/api/v1/nodes/n1", "application/merge-patch+json")
    assert json.loads(body) == {"spec": {"unschedulable": True}}


def test_connection_refused_is_retried_then_named():
    configuration = k8s_client.Configuration()
    configuration.host = "http://127.0.0.1:9"  # discard port: nothing listens
    api = KubeApi(k8s_client.ApiClient(configuration), max_attempts=2, sleep=lambda s: None)
    with pytest.raises(KubernetesApiError, match="HTTP 0"):
        api.list_nodes()
    assert api.requests == 2


def test_patching_a_vanished_node_can_be_tolerated(api):
    Scripted.script = [(404, {"message": "nodes \"n1\" not found"}), (404, {"message": "nodes \"n1\" not found"})]
    assert api.patch_node("n1", {"spec": {"unschedulable": True}}, missing_ok=True) == {}
    with pytest.raises(KubernetesApiError, match="HTTP 404"):
        api.patch_node("n1", {"spec": {"unschedulable": True}})


def test_nodes_of_a_color_in_a_pool(api):
    def node(name: str, **labels: str) -> dict:
        return {"metadata": {"name": name, "labels": labels}}

    items = [
        node("old-unlabelled", **{"bluegreen.io/color": "blue"}),
        node("default-labelled", **{"bluegreen.io/color": "blue", "bluegreen.io/pool": "workers"}),
        node("gpu", **{"bluegreen.io/color": "blue", "bluegreen.io/pool": "gpu"}),
        node("gpu-green", **{"bluegreen.io/color": "green", "bluegreen.io/pool": "gpu"}),
    ]
    Scripted.script = [(200, {"items": items})] * 3

    def names(found: list[dict]) -> list[str]:
        return [n["metadata"]["name"] for n in found]

    assert names(api.nodes_of_color("blue")) == ["old-unlabelled", "default-labelled", "gpu"]
    assert names(api.nodes_of_color("blue", "workers")) == ["old-unlabelled", "default-labelled"]
    assert names(api.nodes_of_color("blue", "gpu")) == ["gpu"]


def test_a_410_mid_list_that_is_not_an_expired_token_is_an_error_not_a_short_list(api):
    Scripted.script = [(200, {"metadata": {"continue": "c1"}, "items": [{"n": 1}]}),
                       (410, {"kind": "Status", "code": 410, "reason": "Gone", "message": "gone"})]
    listed = api.list_pages("/api/v1/pods", page_size=1)  # "Gone": how servers before 1.16 said Expired
    assert listed.restarts == 1
    Scripted.script = [(200, {"metadata": {"continue": "c1"}, "items": [{"n": 1}]}),
                       (410, {"kind": "Status", "code": 410, "reason": "SomethingElse", "message": "odd"})]
    with pytest.raises(KubernetesApiError, match=r"HTTP 410\): odd"):
        api.list_pages("/api/v1/pods", page_size=1)
