"""The EKS cluster: created with pulumi-eks, or an existing one found by name.

Either way the rest of the program sees the same ``ClusterFacts``, read through
``aws.eks.get_cluster`` (for a created cluster, after it exists). Workers are
admitted through an EC2_LINUX access entry, so the cluster must use the API (or
API_AND_CONFIG_MAP) authentication mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

from bluegreen.infra.config import ClusterConfig
from bluegreen.infra.kubeconfig import kubeconfig

ACCESS_ENTRY_MODES = ("API", "API_AND_CONFIG_MAP")


class ClusterError(ValueError):
    """The cluster cannot take these workers as configured; the message says what to change."""


@dataclass(frozen=True)
class ClusterFacts:
    """What the worker groups need to know about the cluster."""

    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    service_cidr: pulumi.Output[str]
    # The EKS-managed cluster security group: nodes in it reach the control plane and each other.
    security_group_id: pulumi.Output[str]
    subnet_ids: pulumi.Output[list[str]]
    kubeconfig: pulumi.Output[str]
    # The resource(s) the workers must wait for (the created cluster, the access entry).
    dependencies: tuple[pulumi.Resource, ...] = ()


def _first(items: Any, attr: str, default: Any = None) -> Any:
    return getattr(items[0], attr) if items else default


def _facts_from(result: pulumi.Output[Any], subnet_ids: list[str], deps: tuple[pulumi.Resource, ...]) -> ClusterFacts:
    # The operator's kubeconfig asks for tokens in the stack's region, whatever their default is.
    region = pulumi.Config("aws").get("region")
    endpoint = result.apply(lambda c: c.endpoint)
    ca = result.apply(lambda c: _first(c.certificate_authorities, "data", ""))
    name = result.apply(lambda c: c.name)
    return ClusterFacts(
        name=name,
        endpoint=endpoint,
        certificate_authority=ca,
        service_cidr=result.apply(lambda c: _first(c.kubernetes_network_configs, "service_ipv4_cidr", "10.100.0.0/16")),
        security_group_id=result.apply(lambda c: c.vpc_config.cluster_security_group_id),
        subnet_ids=result.apply(lambda c: list(subnet_ids) or list(c.vpc_config.subnet_ids)),
        kubeconfig=pulumi.Output.secret(
            pulumi.Output.all(name, endpoint, ca).apply(lambda a: kubeconfig(*a, region=region))
        ),
        dependencies=deps,
    )


def check_authentication_mode(cluster_name: str, mode: str | None) -> None:
    """Refuse a cluster whose authentication mode has no access entries (pure; raises ClusterError)."""
    if mode not in ACCESS_ENTRY_MODES:
        raise ClusterError(
            f"cluster.name: existing cluster {cluster_name} uses authentication mode {mode}, which has no access "
            "entries for the workers; switch it with `aws eks update-cluster-config --name "
            f"{cluster_name} --access-config authenticationMode=API_AND_CONFIG_MAP` and run `pulumi up` again"
        )


def find_existing_cluster(config: ClusterConfig) -> Any:
    """Read an existing cluster and check it can take the workers, before anything is declared.

    ``aws.eks.get_cluster`` fails the whole program when the cluster does not exist: that is a
    config error (cluster.name, or the AWS account/region), to be fixed by the operator.
    """
    found = aws.eks.get_cluster(name=config.name)
    check_authentication_mode(config.name, _first(found.access_configs, "authentication_mode"))
    return found


def existing_cluster(config: ClusterConfig, found: Any, worker_role_arn: pulumi.Input[str]) -> ClusterFacts:
    """Facts of an existing cluster (``found`` by find_existing_cluster), plus an access entry for the workers."""
    entry = aws.eks.AccessEntry(
        f"{config.name}-workers",
        cluster_name=config.name,
        principal_arn=worker_role_arn,
        type="EC2_LINUX",
    )
    return _facts_from(pulumi.Output.from_input(found), list(config.subnet_ids), (entry,))


def created_cluster(config: ClusterConfig, worker_role: aws.iam.Role) -> ClusterFacts:
    """A new cluster with pulumi-eks: API authentication, no default node group, workers' access entry."""
    cluster = eks.Cluster(
        config.name,
        name=config.name,
        version=config.version,
        vpc_id=config.vpc_id,
        subnet_ids=list(config.subnet_ids),
        skip_default_node_group=True,
        authentication_mode=eks.AuthenticationMode.API,
        access_entries={
            "workers": eks.AccessEntryArgs(principal_arn=worker_role.arn, type=eks.AccessEntryType.EC2_LINUX),
        },
    )
    # Read back through the data source, so both kinds of cluster give the same facts.
    found = aws.eks.get_cluster_output(name=config.name, opts=pulumi.InvokeOutputOptions(depends_on=[cluster]))
    return _facts_from(found, list(config.subnet_ids), (cluster,))
