"""Connecting to a cluster: AWS clients with adaptive retries and a Kubernetes client for the EKS API server.

With a kubeconfig (sandbox, operators) the client comes from it; otherwise
from DescribeCluster (endpoint and CA) plus a token minted from the ambient AWS
credentials (see tokens.py), refreshed before it expires.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig

from bluegreen.engine.errors import ConnectError
from bluegreen.engine.kube import KubeApi, http_retries
from bluegreen.engine.tokens import mint_token

#: Re-mint the EKS token after this long (EKS accepts a token for 15 minutes).
TOKEN_REFRESH_S = 600.0
#: Dummy credentials used only when an explicit local AWS endpoint is given and no credentials are around.
_LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class ClusterTarget:
    """Where to act; plain values only (pickled into Pulumi dynamic resources: no clients, no secrets)."""

    cluster_name: str
    region: str
    aws_endpoint_url: str | None = None
    kubeconfig_path: str | None = None
    kube_context: str | None = None


@dataclass
class Connection:
    target: ClusterTarget
    session: boto3.session.Session
    kube: KubeApi
    _clients: dict = field(default_factory=dict)

    def aws(self, service: str):
        """A boto3 client for ``service`` (cached), at the target's endpoint, with adaptive retries."""
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service,
                region_name=self.target.region,
                endpoint_url=self.target.aws_endpoint_url,
                config=BotoConfig(retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=10,
                                  read_timeout=30),
            )
        return self._clients[service]

    @property
    def autoscaling(self):
        return self.aws("autoscaling")

    @property
    def ec2(self):
        return self.aws("ec2")

    @property
    def elbv2(self):
        return self.aws("elbv2")

    @property
    def elb(self):
        return self.aws("elb")


def _session(target: ClusterTarget, session: boto3.session.Session | None) -> boto3.session.Session:
    if session is not None:
        return session
    ambient = boto3.session.Session(region_name=target.region)
    if ambient.get_credentials() is None and target.aws_endpoint_url:
        # A local stand-in (the sandbox) does not check signatures; real AWS always gets ambient credentials.
        return boto3.session.Session(region_name=target.region, **_LOCAL_CREDENTIALS)
    return ambient


def connect(target: ClusterTarget, *, session: boto3.session.Session | None = None) -> Connection:
    """Clients for ``target``. Raises ConnectError naming the cluster and what to check."""
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    boto_session = _session(target, session)
    if target.kubeconfig_path:
        configuration = k8s_client.Configuration()
        try:
            k8s_config.load_kube_config(
                config_file=target.kubeconfig_path, context=target.kube_context, client_configuration=configuration
            )
        except Exception as exc:
            raise ConnectError(
                f"cannot load kubeconfig {target.kubeconfig_path} (context {target.kube_context or 'current'}): {exc}. "
                "Next: check the path and context, or omit --kubeconfig to connect through EKS"
            ) from exc
    else:
        configuration = _eks_configuration(target, boto_session)
    configuration.retries = http_retries()
    connection = Connection(target=target, session=boto_session, kube=KubeApi(k8s_client.ApiClient(configuration)))
    return connection


def _eks_configuration(target: ClusterTarget, session: boto3.session.Session):
    from kubernetes import client as k8s_client

    eks = session.client(
        "eks", region_name=target.region, endpoint_url=target.aws_endpoint_url,
        config=BotoConfig(retries={"mode": "standard", "max_attempts": 5}),
    )
    try:
        cluster = eks.describe_cluster(name=target.cluster_name)["cluster"]
    except Exception as exc:
        raise ConnectError(
            f"cannot describe EKS cluster {target.cluster_name} in {target.region}: {exc}. "
            "Next: check the cluster name, region and the AWS credentials (eks:DescribeCluster)"
        ) from exc
    endpoint = cluster.get("endpoint")
    if not endpoint:
        raise ConnectError(f"EKS cluster {target.cluster_name} has no endpoint yet (status {cluster.get('status')}); "
                           "wait until it is ACTIVE and re-run")
    configuration = k8s_client.Configuration()
    configuration.host = endpoint
    ca_data = (cluster.get("certificateAuthority") or {}).get("data")
    if ca_data and endpoint.startswith("https://"):
        configuration.ssl_ca_cert = _ca_file(base64.b64decode(ca_data))
    sts_endpoint = target.aws_endpoint_url
    minted = {"at": -TOKEN_REFRESH_S * 2}

    def refresh(config) -> None:
        # Called by the client before each request; re-mints only when the token is getting old.
        if time.monotonic() - minted["at"] < TOKEN_REFRESH_S:
            return
        config.api_key["authorization"] = mint_token(session, target.cluster_name, target.region, sts_endpoint)
        config.api_key_prefix["authorization"] = "Bearer"
        minted["at"] = time.monotonic()

    configuration.refresh_api_key_hook = refresh
    refresh(configuration)
    return configuration


def _ca_file(pem: bytes) -> str:
    """The cluster CA as a file (the client wants a path), named by its content so reconnects reuse it."""
    path = Path(tempfile.gettempdir()) / f"eks-ca-{hashlib.sha256(pem).hexdigest()[:16]}.crt"
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(pem)
        partial.replace(path)
    return str(path)


def local_session(region: str) -> boto3.session.Session:
    """A session with dummy credentials for a local AWS stand-in (sandbox, tests)."""
    return boto3.session.Session(region_name=region, **_LOCAL_CREDENTIALS)


__all__ = ["ClusterTarget", "Connection", "connect", "local_session"]
