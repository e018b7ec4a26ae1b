"""The worker pools of a cluster, as status and plan show them: found from the groups' pool tags and the nodes'
pool labels (or given by a stack file), each with both colors' status.

The default pool (``workers``) is always there; a cluster without pool tags or pool labels has it alone, and its
status is exactly the one-pair status it had before pools existed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from bluegreen.engine.naming import CLUSTER_TAG, COLORS, DEFAULT_POOL, POOL_LABEL, POOL_TAG, group_name
from bluegreen.engine.pods import pod_from_json
from bluegreen.engine.status import StatusReport, below_desired, color_status
from bluegreen.engine.stop import Shortfall


def pool_names(tagged: Iterable[str], labelled: Iterable[str]) -> tuple[str, ...]:
    """Every pool named by a group's pool tag or a node's pool label: the default pool first, the others sorted."""
    others = sorted({p for p in (*tagged, *labelled) if p and p != DEFAULT_POOL})
    return (DEFAULT_POOL, *others)


def tagged_pools(autoscaling, cluster_name: str) -> list[str]:
    """Pools of the cluster's groups: the pool tag of each group tagged with the cluster whose name is that pool's
    ``<cluster>-<pool>-<color>`` (DescribeTags, filtered by key, paginated)."""
    by_group: dict[str, dict[str, str]] = {}
    token: str | None = None
    while True:
        page = autoscaling.describe_tags(Filters=[{"Name": "key", "Values": [POOL_TAG, CLUSTER_TAG]}],
                                         **({"NextToken": token} if token else {}))
        for tag in page.get("Tags") or []:
            by_group.setdefault(tag["ResourceId"], {})[tag["Key"]] = tag["Value"]
        token = page.get("NextToken")
        if not token:
            break
    return [tags[POOL_TAG] for group, tags in by_group.items()
            if tags.get(CLUSTER_TAG) == cluster_name and POOL_TAG in tags
            and group in {group_name(cluster_name, c, tags[POOL_TAG]) for c in COLORS}]


def labelled_pools(kube) -> list[str]:
    """Pools named by the pool label of any node that carries a color label."""
    return [(n.get("metadata", {}).get("labels") or {}).get(POOL_LABEL, "")
            for c in COLORS for n in kube.nodes_of_color(c)]


def discover_pools(conn, cluster_name: str) -> tuple[str, ...]:
    """The cluster's pools, the default pool first (read-only)."""
    return pool_names(tagged_pools(conn.autoscaling, cluster_name), labelled_pools(conn.kube))


@dataclass(frozen=True)
class PoolsStatus:
    """Every pool's two colors."""

    cluster_name: str
    pools: tuple[tuple[str, StatusReport], ...]  # (pool, its colors), default pool first
    below_desired: tuple[Shortfall, ...] = ()  # workloads below their desired ready count, cluster-wide

    def to_dict(self) -> dict:
        return {
            "cluster_name": self.cluster_name,
            "pools": {pool: {"serving": list(report.serving),
                             "colors": [{**asdict(c), "serving": c.serving} for c in report.colors]}
                      for pool, report in self.pools},
            "cordoned_nodes": sorted(n for _, report in self.pools for c in report.colors for n in c.cordoned_nodes),
            "workloads_below_desired": [s.to_dict() for s in self.below_desired],
        }

    def lines(self) -> list[str]:
        out = [f"cluster {self.cluster_name}: {len(self.pools)} pool(s)"]
        for pool, report in self.pools:
            # The per-pool report's own lines, its first one naming the pool instead of the cluster.
            first, *rest = report.lines()
            out.append(f"pool {pool}: " + first.split(": ", 1)[1])
            out += rest
        if self.below_desired:
            out.append("workloads below desired:")
            out += [f"  {s.workload} {s.why}" for s in self.below_desired]
        return out


def pools_status(conn, cluster_name: str, pools: Iterable[str]) -> PoolsStatus:
    """Both colors of each pool; each pool's nodes told apart by the pool label (naming.in_pool)."""
    pods = [pod_from_json(p) for p in conn.kube.list_pods()]
    reports = []
    for pool in pools:
        colors = tuple(color_status(conn, cluster_name, c, pool, node_pool=pool, pods=pods) for c in COLORS)
        reports.append((pool, StatusReport(cluster_name, colors)))
    return PoolsStatus(cluster_name, tuple(reports), below_desired(conn.kube, pods))
