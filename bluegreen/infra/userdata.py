"""Worker user data: how an instance joins the cluster carrying its color.

Pure functions over plain strings; the WorkerGroup applies them once the cluster's
endpoint and certificate are known. The color label (and, for a pool other than the
default one, the pool label) is set by the kubelet at registration, so the engine can
find each pool's and color's nodes before any pod lands. The default pool's nodes carry
no pool label, so its user data is what it was before pools existed.
"""

from __future__ import annotations

import base64
import ipaddress
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import yaml

from bluegreen.engine.naming import COLOR_LABEL, DEFAULT_POOL, POOL_LABEL

MIME_BOUNDARY = "//BLUEGREEN//"


@dataclass(frozen=True)
class ClusterJoin:
    """What a node needs to know to join the cluster."""

    cluster_name: str
    endpoint: str
    # Base64 PEM of the cluster CA, as EKS reports it.
    certificate_authority: str
    service_cidr: str


def node_labels(color: str, labels: Mapping[str, str], pool: str = DEFAULT_POOL) -> str:
    """``bluegreen.io/color=<color>[,bluegreen.io/pool=<pool>],k=v,...`` for --node-labels; the color always first,
    the pool label only outside the default pool."""
    pairs = [f"{COLOR_LABEL}={color}"]
    if pool != DEFAULT_POOL:
        pairs.append(f"{POOL_LABEL}={pool}")
    pairs += [f"{k}={v}" for k, v in sorted(labels.items()) if k not in (COLOR_LABEL, POOL_LABEL)]
    return ",".join(pairs)


def kubelet_flags(color: str, labels: Mapping[str, str], taints: Sequence[str], pool: str = DEFAULT_POOL) -> list[str]:
    """The kubelet flags that give a node its color (and pool) label, configured labels and taints."""
    flags = [f"--node-labels={node_labels(color, labels, pool)}"]
    if taints:
        flags.append(f"--register-with-taints={','.join(taints)}")
    return flags


def nodeadm_user_data(
    join: ClusterJoin, color: str, labels: Mapping[str, str], taints: Sequence[str], pool: str = DEFAULT_POOL
) -> str:
    """AL2023 user data: a MIME multipart document with one nodeadm NodeConfig."""
    node_config = {
        "apiVersion": "node.eks.aws/v1alpha1",
        "kind": "NodeConfig",
        "spec": {
            "cluster": {
                "name": join.cluster_name,
                "apiServerEndpoint": join.endpoint,
                "certificateAuthority": join.certificate_authority,
                "cidr": join.service_cidr,
            },
            "kubelet": {"flags": kubelet_flags(color, labels, taints, pool)},
        },
    }
    body = yaml.safe_dump(node_config, sort_keys=False, explicit_start=True)
    return (
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="{MIME_BOUNDARY}"\n'
        "\n"
        f"--{MIME_BOUNDARY}\n"
        "Content-Type: application/node.eks.aws\n"
        "\n"
        f"{body}\n"
        f"--{MIME_BOUNDARY}--\n"
    )


def cluster_dns_ip(service_cidr: str) -> str:
    """The kube-dns service address EKS uses: the tenth address of the service CIDR."""
    network = ipaddress.ip_network(service_cidr, strict=False)
    return str(network.network_address + 10)


def bootstrap_user_data(
    join: ClusterJoin, color: str, labels: Mapping[str, str], taints: Sequence[str], pool: str = DEFAULT_POOL
) -> str:
    """AL2 user data: /etc/eks/bootstrap.sh with the same kubelet flags."""
    args = [
        "/etc/eks/bootstrap.sh",
        join.cluster_name,
        "--apiserver-endpoint",
        join.endpoint,
        "--b64-cluster-ca",
        join.certificate_authority,
        "--dns-cluster-ip",
        cluster_dns_ip(join.service_cidr),
        "--kubelet-extra-args",
        " ".join(kubelet_flags(color, labels, taints, pool)),
    ]
    return "#!/bin/bash\nset -o errexit -o nounset\n" + " ".join(shlex.quote(a) for a in args) + "\n"


def user_data(
    ami_family: str,
    join: ClusterJoin,
    color: str,
    labels: Mapping[str, str],
    taints: Sequence[str],
    pool: str = DEFAULT_POOL,
) -> str:
    """Base64 user data for a launch template of ``ami_family`` ("AL2023" or "AL2")."""
    if ami_family == "AL2023":
        text = nodeadm_user_data(join, color, labels, taints, pool)
    elif ami_family == "AL2":
        text = bootstrap_user_data(join, color, labels, taints, pool)
    else:
        raise ValueError(f"workers.amiFamily: {ami_family!r} is not supported (AL2023 or AL2)")
    return base64.b64encode(text.encode()).decode()
