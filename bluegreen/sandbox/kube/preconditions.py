"""DeleteOptions and the optimistic-concurrency checks of writes, as kube-apiserver applies them
(k8s.io/apiserver/pkg/registry/rest/delete.go BeforeDelete; generic registry Update's resourceVersion and uid
checks in k8s.io/apiserver/pkg/registry/generic/registry/store.go)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bluegreen.sandbox.kube.errors import BadRequest, Conflict, FieldError, Invalid


@dataclass(frozen=True)
class Preconditions:
    """metav1.Preconditions: the delete goes ahead only if the stored object still has this uid/resourceVersion."""

    uid: str | None = None
    resource_version: str | None = None


_PROPAGATION_POLICIES = ("Orphan", "Background", "Foreground")


@dataclass(frozen=True)
class DeleteOptions:
    """metav1.DeleteOptions, from a DELETE's query and body or an Eviction's deleteOptions."""

    grace_seconds: int | None = None
    preconditions: Preconditions = field(default_factory=Preconditions)
    dry_run: bool = False
    propagation: str | None = None


def delete_options(body: dict | None, query: dict[str, str] | None = None) -> DeleteOptions:
    """Parse DeleteOptions (query parameters win over the body, as the apiserver decodes them)."""
    body = body or {}
    query = query or {}
    if not isinstance(body, dict):
        raise BadRequest("DeleteOptions must be a JSON object")
    grace = query.get("gracePeriodSeconds", body.get("gracePeriodSeconds"))
    if grace not in (None, ""):
        try:
            grace = int(grace)
        except (TypeError, ValueError):
            raise BadRequest(f"gracePeriodSeconds {grace!r} is not an integer") from None
    else:
        grace = None
    propagation = query.get("propagationPolicy", body.get("propagationPolicy"))
    if body.get("orphanDependents") is True:
        propagation = "Orphan"
    if propagation not in (None, *_PROPAGATION_POLICIES):
        # ValidateDeleteOptions: an unknown policy is a 422 on the DeleteOptions.
        raise Invalid.fields("DeleteOptions", "meta.k8s.io", "", [FieldError.not_supported(
            "propagationPolicy", propagation, ("Foreground", "Background", "Orphan", "nil"))])
    raw = body.get("preconditions") or {}
    dry_run = query.get("dryRun") == "All" or "All" in (body.get("dryRun") or [])
    return DeleteOptions(grace, Preconditions(raw.get("uid") or None, raw.get("resourceVersion") or None),
                         dry_run, propagation)


def precondition_conflict(kind: str, group: str, obj: dict, preconditions: Preconditions) -> Conflict | None:
    """rest.BeforeDelete (and the eviction's getLatestPod): a uid or resourceVersion that no longer matches
    the stored object is a 409 naming the GroupResource by its kind ("Pod", "Deployment.apps")."""
    metadata = obj["metadata"]
    if preconditions.uid and preconditions.uid != metadata.get("uid"):
        reason = (f"the UID in the precondition ({preconditions.uid}) does not match the UID in record "
                  f"({metadata.get('uid')}). The object might have been deleted and then recreated")
    elif preconditions.resource_version and preconditions.resource_version != metadata.get("resourceVersion"):
        reason = (f"the ResourceVersion in the precondition ({preconditions.resource_version}) does not match the "
                  f"ResourceVersion in record ({metadata.get('resourceVersion')}). The object might have been modified")
    else:
        return None
    qualified = f"{kind}.{group}" if group else kind
    return Conflict(f'Operation cannot be fulfilled on {qualified} "{metadata["name"]}": {reason}',
                    details={"name": metadata["name"], "group": group, "kind": kind})


def update_conflict(plural: str, group: str, current: dict, submitted: dict) -> Conflict | None:
    """A PUT (object or status) must carry the stored resourceVersion when it carries one, and the stored uid."""
    name = current["metadata"]["name"]
    qualified = f"{plural}.{group}" if group else plural
    metadata = submitted.get("metadata") or {}
    wanted_uid = metadata.get("uid")
    if wanted_uid and wanted_uid != current["metadata"].get("uid"):
        # The uid travels as a storage precondition (rest.DefaultUpdatedObjectInfo.Preconditions).
        key = f"/registry/{plural}/{current['metadata'].get('namespace', '')}/{name}".replace("//", "/")
        return Conflict(f'Operation cannot be fulfilled on {qualified} "{name}": StorageError: invalid object, '
                        f"Code: 4, Key: {key}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in "
                        f"precondition: {wanted_uid}, UID in object meta: {current['metadata'].get('uid')}",
                        details={"name": name, "group": group, "kind": plural})
    wanted_version = metadata.get("resourceVersion")
    if wanted_version and wanted_version != current["metadata"].get("resourceVersion"):
        return Conflict(f'Operation cannot be fulfilled on {qualified} "{name}": the object has been modified; '
                        "please apply your changes to the latest version and try again",
                        details={"name": name, "group": group, "kind": plural})
    return None
