"""Builders of the Kubernetes objects a scenario describes (workload, namespace, PDB).

They encode the sandbox's own knobs the way a real cluster would carry them: the readiness delay
as a pod-template annotation the fake kubelet reads, the grace period as
``terminationGracePeriodSeconds``, scratch data as an ``emptyDir`` volume.
"""

from __future__ import annotations

import copy

from bluegreen.sandbox.kube.store import (
    NEVER_READY_ON_IMAGE_ANNOTATION,
    READY_SECONDS_ANNOTATION,
    RUN_SECONDS_ANNOTATION,
)

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Pod", "Job", "PodSet")
APP_LABEL = "app.kubernetes.io/name"


class WorkloadSpecError(ValueError):
    """A workload description the builders cannot turn into objects."""


#: Storage class of the zonal volumes (``zonal_volume: true``): bound when the pod is first scheduled, in its zone.
ZONAL_STORAGE_CLASS = "sandbox-zonal"


def pod_template(name: str, *, cpu: str, memory: str, ready_seconds: float, grace_seconds: float,
                 empty_dir: bool, tolerations: list[dict] | None, node_selector: dict[str, str] | None = None,
                 affinity: dict | None = None, never_ready_on_image: str | None = None,
                 annotations: dict[str, str] | None = None) -> dict:
    """A pod template labelled ``app.kubernetes.io/name=<name>`` (with ``annotations``, when given)."""
    container = {
        "name": "app",
        "image": "registry.k8s.io/pause:3.10",
        "resources": {"requests": {"cpu": cpu, "memory": memory}},
    }
    spec: dict = {"containers": [container], "terminationGracePeriodSeconds": int(round(grace_seconds))}
    if empty_dir:
        spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
        container["volumeMounts"] = [{"name": "scratch", "mountPath": "/scratch"}]
    if tolerations:
        spec["tolerations"] = [dict(t) for t in tolerations]
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if affinity:
        spec["affinity"] = copy.deepcopy(affinity)
    metadata: dict = {"labels": {APP_LABEL: name}}
    if annotations:
        metadata["annotations"] = dict(annotations)
    if ready_seconds:
        metadata.setdefault("annotations", {})[READY_SECONDS_ANNOTATION] = str(float(ready_seconds))
    if never_ready_on_image:
        metadata.setdefault("annotations", {})[NEVER_READY_ON_IMAGE_ANNOTATION] = never_ready_on_image
    return {"metadata": metadata, "spec": spec}


def workload_objects(kind: str, name: str, namespace: str = "default", *, replicas: int = 1, cpu: str = "100m",
                     memory: str = "128Mi", ready_seconds: float = 0.0, grace_seconds: float = 0.0,
                     pdb: dict | None = None, empty_dir: bool = False,
                     tolerations: list[dict] | None = None, node_selector: dict[str, str] | None = None,
                     affinity: dict | None = None, zonal_volume: bool = False,
                     never_ready_on_image: str | None = None, completions: int = 1,
                     run_seconds: float = 60.0, annotations: dict[str, str] | None = None) -> list[dict]:
    """The namespace (unless "default"), the workload and, when ``pdb`` is given, its PodDisruptionBudget.

    ``kind`` is Deployment, StatefulSet, DaemonSet or Pod (a bare pod without a controller);
    ``pdb`` is ``{"minAvailable": 2}`` or ``{"maxUnavailable": "25%"}`` and so on; ``zonal_volume`` (StatefulSet
    only) gives each pod a claim "data-<pod>" from a volumeClaimTemplate, bound to a volume in the zone of the node
    the pod first runs on; ``annotations`` go onto the pod template (onto the pod itself for a bare pod).
    """
    if zonal_volume and kind != "StatefulSet":
        raise WorkloadSpecError(f"workload {name!r}: zonal_volume needs kind StatefulSet (one claim per pod), "
                                f"not {kind}")
    if kind not in WORKLOAD_KINDS:
        raise WorkloadSpecError(f"workload {name!r}: kind {kind!r} is not one of {', '.join(WORKLOAD_KINDS)}")
    if replicas < 0:
        raise WorkloadSpecError(f"workload {name!r}: replicas must be >= 0, got {replicas}")
    if pdb is not None:
        keys = set(pdb)
        rules = keys & {"minAvailable", "maxUnavailable"}
        if len(rules) != 1 or not keys <= {"minAvailable", "maxUnavailable", "unhealthyPodEvictionPolicy"}:
            raise WorkloadSpecError(f"workload {name!r}: pdb must have exactly one of minAvailable or maxUnavailable "
                                    f"(and optionally unhealthyPodEvictionPolicy), got {sorted(keys)}")
    objects: list[dict] = []
    if namespace != "default":
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    template = pod_template(name, cpu=cpu, memory=memory, ready_seconds=ready_seconds, grace_seconds=grace_seconds,
                            empty_dir=empty_dir, tolerations=tolerations, node_selector=node_selector,
                            affinity=affinity, never_ready_on_image=never_ready_on_image, annotations=annotations)
    labels = {APP_LABEL: name}
    metadata = {"name": name, "namespace": namespace, "labels": dict(labels)}
    selector = {"matchLabels": dict(labels)}
    if kind == "Job":
        # A Job's pods run to completion: restartPolicy Never, the run time as an annotation the kubelet reads.
        template["spec"]["restartPolicy"] = "Never"
        template["metadata"].setdefault("annotations", {})[RUN_SECONDS_ANNOTATION] = str(float(run_seconds))
        objects.append({"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata,
                        "spec": {"completions": completions, "parallelism": 1, "template": template}})
    elif kind == "Pod":
        objects.append({"apiVersion": "v1", "kind": "Pod",
                        "metadata": {**metadata, **template["metadata"], "labels": dict(labels)},
                        "spec": template["spec"]})
    elif kind == "DaemonSet":
        objects.append({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": metadata,
                        "spec": {"selector": selector, "template": template}})
    elif kind == "PodSet":  # an operator's custom resource owning its pods directly
        objects.append({"apiVersion": "sandbox.bluegreen.io/v1", "kind": "PodSet", "metadata": metadata,
                        "spec": {"replicas": replicas, "selector": selector, "template": template}})
    else:
        spec = {"replicas": replicas, "selector": selector, "template": template}
        if kind == "StatefulSet":
            spec["serviceName"] = name
        if zonal_volume:
            spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "storageClassName": ZONAL_STORAGE_CLASS,
                "resources": {"requests": {"storage": "1Gi"}}}}]
            spec["template"]["spec"]["containers"][0]["volumeMounts"] = [
                *spec["template"]["spec"]["containers"][0].get("volumeMounts", []),
                {"name": "data", "mountPath": "/data"}]
        objects.append({"apiVersion": "apps/v1", "kind": kind, "metadata": metadata, "spec": spec})
    if pdb is not None:
        objects.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                        "metadata": {"name": f"{name}-pdb", "namespace": namespace, "labels": dict(labels)},
                        "spec": {"selector": {"matchLabels": dict(labels)}, **pdb}})
    return objects
