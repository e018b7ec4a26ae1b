"""A small cluster served over HTTP with no ticker (each test advances simulated time itself), the official
Kubernetes client on it, and helpers to read the Status of a refused call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.objects import workload_objects
from tests.integration.sandbox.kube_fixtures import Served, add_nodes, serve


@dataclass
class Conformance:
    served: Served
    api: client.ApiClient

    @property
    def cluster(self) -> FakeCluster:
        return self.served.cluster

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    @property
    def policy(self) -> client.PolicyV1Api:
        return client.PolicyV1Api(self.api)

    def apply(self, *objects: dict) -> None:
        for obj in objects:
            self.cluster.apply(obj)

    def workload(self, kind: str, name: str, **kw) -> None:
        self.apply(*workload_objects(kind, name, **kw))

    def advance(self, seconds: float = 1.0) -> None:
        self.served.advance(seconds)

    def pods(self, app: str, namespace: str = "default") -> list:
        return self.core.list_namespaced_pod(namespace, label_selector=f"app.kubernetes.io/name={app}").items

    def pdb(self, name: str, namespace: str = "default") -> dict:
        """The PDB as the wire carries it (plain JSON, so absent omitempty fields stay absent)."""
        return self.cluster.get("poddisruptionbudgets", namespace, name)

    def evict(self, name: str, namespace: str = "default", **delete_options) -> None:
        body = client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace=namespace),
                                 delete_options=client.V1DeleteOptions(**delete_options) if delete_options else None)
        self.core.create_namespaced_pod_eviction(name, namespace, body)


def refusal(error: ApiException) -> dict:
    """The Status body of a refused call."""
    return json.loads(error.body)


@pytest.fixture
def conformance(tmp_path: Path) -> Iterator[Conformance]:
    """Four Ready nodes, nothing scheduled yet; the test adds its workloads and advances time."""
    cluster = FakeCluster(placement="spread", seed=1)
    add_nodes(cluster, 4)
    for served in serve(cluster, tmp_path, speed=None):
        api = config.new_client_from_config(config_file=served.kubeconfig)
        try:
            yield Conformance(served, api)
        finally:
            api.close()
