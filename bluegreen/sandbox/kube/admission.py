"""Admission plugins the fake API server runs on create, as kube-apiserver's defaults do."""

from __future__ import annotations

NOT_READY_TAINT_KEY = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT_KEY = "node.kubernetes.io/unreachable"


def default_toleration_seconds(pod_spec: dict, seconds: int) -> None:
    """plugin/pkg/admission/defaulttolerationseconds (admission.go, Admit): on pod create, a pod without a
    toleration for the not-ready (resp. unreachable) NoExecute taint gets one with ``tolerationSeconds``.

    A toleration counts when its key is that taint's key or empty, and its effect NoExecute or empty."""
    tolerations = pod_spec.get("tolerations") or []

    def tolerated(key: str) -> bool:
        return any((t.get("key") or "") in (key, "") and (t.get("effect") or "") in ("NoExecute", "")
                   for t in tolerations)

    added = [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}
             for key in (NOT_READY_TAINT_KEY, UNREACHABLE_TAINT_KEY) if not tolerated(key)]
    if added:
        pod_spec["tolerations"] = [*tolerations, *added]
