"""The resource types the fake API serves: plural name, kind, group/version, scope, verbs."""

from __future__ import annotations

from dataclasses import dataclass, field

from bluegreen.sandbox.kube.errors import NotFound

_STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    plural: str
    kind: str
    group: str  # "" = core
    version: str
    namespaced: bool
    singular: str
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = _STANDARD_VERBS
    categories: tuple[str, ...] = field(default=("all",))

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version


RESOURCE_TYPES: tuple[ResourceType, ...] = (
    ResourceType("namespaces", "Namespace", "", "v1", False, "namespace", ("ns",),
                 ("create", "delete", "get", "list", "patch", "update", "watch"), ()),
    ResourceType("nodes", "Node", "", "v1", False, "node", ("no",), categories=()),
    ResourceType("pods", "Pod", "", "v1", True, "pod", ("po",)),
    ResourceType("events", "Event", "", "v1", True, "event", ("ev",), categories=()),
    # Read-only: only the built-in `kubernetes` Service exists (no Service controller, endpoints or proxy).
    ResourceType("services", "Service", "", "v1", True, "service", ("svc",), ("get", "list", "watch")),
    ResourceType("deployments", "Deployment", "apps", "v1", True, "deployment", ("deploy",)),
    ResourceType("replicasets", "ReplicaSet", "apps", "v1", True, "replicaset", ("rs",)),
    ResourceType("statefulsets", "StatefulSet", "apps", "v1", True, "statefulset", ("sts",)),
    ResourceType("daemonsets", "DaemonSet", "apps", "v1", True, "daemonset", ("ds",)),
    ResourceType("jobs", "Job", "batch", "v1", True, "job", ()),
    # An operator's custom resource that owns its pods directly (no ReplicaSet): a controller kind the engine does
    # not know, as an Argo Rollout or a database operator's CR looks to it. Scenario workload kind ``PodSet``.
    ResourceType("podsets", "PodSet", "sandbox.bluegreen.io", "v1", True, "podset", (), categories=()),
    ResourceType("persistentvolumeclaims", "PersistentVolumeClaim", "", "v1", True, "persistentvolumeclaim",
                 ("pvc",), categories=()),
    ResourceType("persistentvolumes", "PersistentVolume", "", "v1", False, "persistentvolume", ("pv",),
                 categories=()),
    ResourceType("poddisruptionbudgets", "PodDisruptionBudget", "policy", "v1", True, "poddisruptionbudget",
                 ("pdb",), categories=()),
)

BY_PLURAL: dict[str, ResourceType] = {r.plural: r for r in RESOURCE_TYPES}
BY_KIND: dict[str, ResourceType] = {r.kind: r for r in RESOURCE_TYPES}
GROUP_VERSIONS: dict[str, list[ResourceType]] = {}
for _r in RESOURCE_TYPES:
    GROUP_VERSIONS.setdefault(_r.group_version, []).append(_r)


def resource_type(plural: str) -> ResourceType:
    try:
        return BY_PLURAL[plural]
    except KeyError:
        raise NotFound(f"the server could not find the requested resource ({plural})") from None


def kind_type(kind: str, api_version: str | None = None) -> ResourceType:
    found = BY_KIND.get(kind)
    if found is None or (api_version and api_version != found.api_version):
        raise NotFound(
            f"no matches for kind {kind!r} in version {api_version!r}; the sandbox serves "
            + ", ".join(f"{r.kind} ({r.api_version})" for r in RESOURCE_TYPES)
        )
    return found
