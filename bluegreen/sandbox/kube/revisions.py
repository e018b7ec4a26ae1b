"""Deployment revisions: the annotations `kubectl rollout history` and `rollout undo` read and write.

Follows pkg/controller/deployment/util/deployment_util.go (Revision, MaxRevision,
SetNewReplicaSetAnnotations, copyDeploymentAnnotationsToReplicaSet, SetReplicasAnnotations,
SetDeploymentRevision) as pkg/controller/deployment/sync.go getNewReplicaSet applies them: the new
ReplicaSet's revision is one more than the largest of the old ones; a ReplicaSet that becomes new again
(a rollback) takes that revision and keeps its former ones in revision-history; the Deployment carries
the revision of its new ReplicaSet.
"""

from __future__ import annotations

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
# Deployment annotations that are not copied onto its ReplicaSets (deployment_util.go annotationsToSkip).
NOT_COPIED = frozenset({"kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY,
                        DESIRED_REPLICAS, MAX_REPLICAS, "deprecated.deployment.rollback.to"})
# The controller's limit on the revision-history annotation (maxRevHistoryLengthInChars).
MAX_HISTORY_CHARS = 2000


def revision_of(obj: dict) -> int:
    """The revision annotation of a ReplicaSet or Deployment (0 when absent or not a number)."""
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "")
    return int(value) if value.isdigit() else 0


def next_revision(old_replicasets: list[dict]) -> int:
    """The revision a Deployment's new ReplicaSet gets: one more than the largest of the others."""
    return max((revision_of(rs) for rs in old_replicasets), default=0) + 1


def copied_annotations(deployment: dict) -> dict[str, str]:
    annotations = (deployment.get("metadata") or {}).get("annotations") or {}
    return {k: v for k, v in annotations.items() if k not in NOT_COPIED}


def new_replicaset_annotations(deployment: dict, revision: int, replicas: int, max_replicas: int) -> dict[str, str]:
    """The annotations of a ReplicaSet the Deployment controller creates."""
    return {**copied_annotations(deployment), REVISION: str(revision), DESIRED_REPLICAS: str(replicas),
            MAX_REPLICAS: str(max_replicas)}


def stale(replicaset: dict, deployment: dict, revision: int) -> bool:
    """Whether the Deployment's new ReplicaSet needs its annotations updated: a lower revision than ``revision``,
    or a Deployment annotation it does not carry yet."""
    annotations = (replicaset.get("metadata") or {}).get("annotations") or {}
    return revision_of(replicaset) < revision or any(
        annotations.get(k) != v for k, v in copied_annotations(deployment).items())


def promoted_annotations(annotations: dict[str, str] | None, deployment: dict, revision: int) -> dict[str, str]:
    """An existing ReplicaSet's annotations once it is the Deployment's new one again: its revision rises to
    ``revision`` (never falls) and the revision it had joins revision-history (oldest dropped past 2,000 chars)."""
    updated = {**(annotations or {}), **copied_annotations(deployment)}
    old_text = updated.get(REVISION, "")
    old = int(old_text) if old_text.isdigit() else 0
    if old >= revision:
        return updated
    updated[REVISION] = str(revision)
    if old_text:
        history = [r for r in updated.get(REVISION_HISTORY, "").split(",") if r]
        while history and len(",".join(history + [old_text])) > MAX_HISTORY_CHARS:
            history.pop(0)
        updated[REVISION_HISTORY] = ",".join(history + [old_text])
    return updated


def deployment_annotations(deployment: dict, revision: int) -> dict[str, str]:
    """The Deployment's annotations carrying its new ReplicaSet's revision (SetDeploymentRevision)."""
    annotations = dict((deployment.get("metadata") or {}).get("annotations") or {})
    annotations[REVISION] = str(revision)
    return annotations
