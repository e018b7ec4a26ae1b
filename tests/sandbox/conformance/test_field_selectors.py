"""Conformance: field selectors are the ones kube-apiserver accepts per resource, with its values and errors.

Accepted labels follow each kind's field label conversion function (pkg/apis/core/v1/conversion.go
addConversionFuncs: Pod, Node; AddFieldLabelConversionsForEvent / ForNamespace / ForService; the
ReplicaSet's status.replicas), values follow the registry's ToSelectableFields (pkg/registry/core/pod/
strategy.go, pkg/registry/core/event/strategy.go, pkg/registry/apps/replicaset/strategy.go), and kinds without
a conversion function get runtime.DefaultMetaV1FieldSelectorConversion. An unsupported label is a 400
(handlers/get.go ListResource wraps the conversion error in errors.NewBadRequest).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.integration.sandbox.kube_fixtures import Served, demo_cluster, node_name, serve


@pytest.fixture
def apis(tmp_path: Path) -> Iterator[tuple[Served, client.CoreV1Api, client.AppsV1Api]]:
    for s in serve(demo_cluster(), tmp_path, speed=None):
        api = config.new_client_from_config(config_file=s.kubeconfig)
        try:
            yield s, client.CoreV1Api(api), client.AppsV1Api(api)
        finally:
            api.close()


def _names(listing) -> set[str]:
    return {item.metadata.name for item in listing.items}


def _refused(call, *args, **kwargs) -> str:
    with pytest.raises(ApiException) as refused:
        call(*args, **kwargs)
    assert refused.value.status == 400
    body = json.loads(refused.value.body)
    assert body["reason"] == "BadRequest"
    return body["message"]


def test_pod_fields_the_server_supports(apis):
    # pod/strategy.go ToSelectableFields + core/v1 conversion.go (Pod): every one of these is accepted and filters.
    _, core, _ = apis
    everything = _names(core.list_pod_for_all_namespaces())
    on_node = _names(core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node_name(0)}"))
    assert on_node and on_node < everything
    # spec.host is the old clients' spelling of spec.nodeName.
    assert _names(core.list_pod_for_all_namespaces(field_selector=f"spec.host={node_name(0)}")) == on_node
    for selector in ("spec.hostNetwork=false", "status.nominatedNodeName=", "spec.restartPolicy=Always",
                     "spec.schedulerName=default-scheduler", "spec.serviceAccountName=", "status.phase=Running",
                     "metadata.namespace!=nowhere"):
        assert _names(core.list_pod_for_all_namespaces(field_selector=selector)) == everything, selector
    assert not _names(core.list_pod_for_all_namespaces(field_selector="spec.hostNetwork=true"))
    pod = core.list_namespaced_pod("data").items[0]
    by_ip = core.list_pod_for_all_namespaces(field_selector=f"status.podIP={pod.status.pod_ip}")
    assert _names(by_ip) == {pod.metadata.name}
    assert _names(core.list_namespaced_pod("data", field_selector=f"metadata.name={pod.metadata.name}")) \
        == {pod.metadata.name}
    assert _refused(core.list_pod_for_all_namespaces, field_selector="spec.priority=0") == \
        "field label not supported: spec.priority"


def test_event_fields_kubectl_events_uses(apis):
    # core/event/strategy.go ToSelectableFields: involvedObject.*, reason, source (source.component, else the
    # reporting controller), reportingComponent, type. `kubectl events --for pod/x` sends kind, apiVersion, name.
    _, core, _ = apis
    pod = core.list_namespaced_pod("data").items[0]
    for_pod = core.list_namespaced_event("data", field_selector=(
        f"involvedObject.kind=Pod,involvedObject.apiVersion=v1,involvedObject.name={pod.metadata.name}"))
    assert for_pod.items and {e.involved_object.name for e in for_pod.items} == {pod.metadata.name}
    scheduled = core.list_namespaced_event("data", field_selector=(
        f"involvedObject.uid={pod.metadata.uid},involvedObject.namespace=data,involvedObject.fieldPath=,"
        "reason=Scheduled,source=default-scheduler,reportingComponent=default-scheduler,type=Normal"))
    assert [e.reason for e in scheduled.items] == ["Scheduled"]
    version = scheduled.items[0].involved_object.resource_version or ""
    assert core.list_namespaced_event("data", field_selector=f"involvedObject.resourceVersion={version}").items
    assert _refused(core.list_namespaced_event, "data", field_selector="message=x") == \
        "field label not supported: message"


def test_replicaset_status_replicas(apis):
    # The ReplicaSet's field label conversion accepts status.replicas (replicaset/strategy.go ToSelectableFields).
    _, _, apps = apis
    all_sets = _names(apps.list_replica_set_for_all_namespaces())
    assert _names(apps.list_replica_set_for_all_namespaces(field_selector="status.replicas!=0")) == all_sets
    assert not _names(apps.list_replica_set_for_all_namespaces(field_selector="status.replicas=0"))
    assert _refused(apps.list_replica_set_for_all_namespaces, field_selector="spec.replicas=3") == \
        "field label not supported: spec.replicas"


def test_cluster_scoped_and_metadata_only_kinds(apis):
    # conversion.go (Node): metadata.name and spec.unschedulable only, so metadata.namespace is rejected;
    # Namespace: metadata.name, status.phase; Deployments have no conversion function of their own
    # (runtime.DefaultMetaV1FieldSelectorConversion).
    _, core, apps = apis
    assert _refused(core.list_node, field_selector="metadata.namespace=default") == \
        "field label not supported: metadata.namespace"
    assert len(core.list_node(field_selector="spec.unschedulable=false").items) == 6
    assert _names(core.list_node(field_selector=f"metadata.name={node_name(1)}")) == {node_name(1)}
    assert "data" in _names(core.list_namespace(field_selector="status.phase=Active"))
    assert _refused(core.list_namespace, field_selector="metadata.namespace=x") == \
        "field label not supported: metadata.namespace"
    assert _refused(apps.list_deployment_for_all_namespaces, field_selector="spec.replicas=3") == \
        '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"'
    assert _names(apps.list_namespaced_deployment("default", field_selector="metadata.name=web")) == {"web"}


def test_watches_check_field_selectors_too(apis):
    # handlers/get.go ListResource converts field labels before it decides between list and watch.
    served, _, _ = apis
    import urllib.error
    import urllib.request
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{served.server.url}/api/v1/nodes?watch=true&fieldSelector=metadata.namespace%3Dx",
                               timeout=10)
    assert refused.value.code == 400
