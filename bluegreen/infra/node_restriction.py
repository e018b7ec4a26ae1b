"""Which node labels and taints a worker's kubelet may register with: pure checks run at config time.

A node label the kubelet may not set does not fail loudly where the operator looks: the
kubelet refuses to start (or NodeRestriction refuses its Node), the instance never joins,
and the cutover's readiness gate times out. So the config refuses such keys by name.

Labels follow upstream Kubernetes:

- the kubelet's own flag validation (``cmd/kubelet/app/options/options.go``,
  ``ValidateKubeletFlags``) refuses ``--node-labels`` in the ``kubernetes.io`` and ``k8s.io``
  namespaces (and their subdomains) unless ``IsKubeletLabel`` allows them;
- ``IsKubeletLabel`` (``staging/src/k8s.io/kubelet/pkg/apis/well_known_labels.go``) allows a
  fixed set of keys and the namespaces ``kubelet.kubernetes.io`` and ``node.kubernetes.io``
  (and their subdomains);
- the NodeRestriction admission plugin (``plugin/pkg/admission/noderestriction/admission.go``,
  ``getForbiddenLabels``) also refuses ``node-restriction.kubernetes.io`` (and subdomains) at
  registration.

Taints: NodeRestriction admits any taint a node registers with (``admitNode`` checks only labels
and configSource on create); it refuses later changes. Taint keys in the Kubernetes namespaces
belong to Kubernetes' own components (the node lifecycle controller adds and removes the
``node.kubernetes.io/*`` taints; the cloud provider removes
``node.cloudprovider.kubernetes.io/uninitialized``), and the readiness gate waits for several of
them to go, so a configured taint there is refused too.
"""

from __future__ import annotations

# IsKubeletLabel's fixed set (well_known_labels.go, kubeletLabels).
KUBELET_LABELS = frozenset(
    {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/region",
        "beta.kubernetes.io/instance-type",
        "node.kubernetes.io/instance-type",
        "kubernetes.io/os",
        "kubernetes.io/arch",
        "beta.kubernetes.io/os",
        "beta.kubernetes.io/arch",
    }
)
# IsKubeletLabel's namespaces (kubeletLabelNamespaces): the namespace itself or any subdomain of it.
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
# The namespaces the kubelet's flag validation and NodeRestriction guard (isKubernetesLabel).
KUBERNETES_NAMESPACES = ("kubernetes.io", "k8s.io")
# v1.LabelNamespaceNodeRestriction: labels only an administrator may set, to steer workloads safely.
NODE_RESTRICTION_NAMESPACE = "node-restriction.kubernetes.io"


def namespace_of(key: str) -> str:
    """The prefix before the ``/`` of a label key ("" without one), as upstream's getLabelNamespace."""
    prefix, slash, _ = key.partition("/")
    return prefix if slash else ""


def _within(namespace: str, domain: str) -> bool:
    return namespace == domain or namespace.endswith("." + domain)


def is_kubernetes_key(key: str) -> bool:
    """The key's namespace is kubernetes.io or k8s.io, or a subdomain of either (upstream isKubernetesLabel)."""
    namespace = namespace_of(key)
    return any(_within(namespace, domain) for domain in KUBERNETES_NAMESPACES)


def is_kubelet_label(key: str) -> bool:
    """A key the kubelet may set on its own Node (upstream IsKubeletLabel)."""
    if key in KUBELET_LABELS:
        return True
    namespace = namespace_of(key)
    return any(_within(namespace, allowed) for allowed in KUBELET_LABEL_NAMESPACES)


def label_refusal(key: str) -> str | None:
    """Why a worker may not register with node label ``key``; None when it may."""
    if _within(namespace_of(key), NODE_RESTRICTION_NAMESPACE):
        return (
            f"the {NODE_RESTRICTION_NAMESPACE}/ prefix is reserved for labels an administrator sets "
            "(the NodeRestriction admission plugin refuses it from a node); set it with kubectl label instead"
        )
    if is_kubernetes_key(key) and not is_kubelet_label(key):
        return (
            "the kubelet may not set labels under kubernetes.io/ or k8s.io/ other than "
            f"{', '.join(n + '/' for n in KUBELET_LABEL_NAMESPACES)} and the well-known ones "
            "(it would refuse to start and the node would never join); use your own prefix, e.g. example.com/"
        )
    return None


def taint_refusal(key: str) -> str | None:
    """Why a worker should not register with a taint of ``key``; None when it may."""
    if is_kubernetes_key(key):
        return (
            "taints under kubernetes.io/ and k8s.io/ belong to Kubernetes' own controllers (the node lifecycle "
            "controller adds and removes node.kubernetes.io/* taints); use your own prefix, e.g. example.com/"
        )
    return None
