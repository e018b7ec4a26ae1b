"""A kubeconfig for the cluster, for operators and the CLI (tokens come from `aws eks get-token`)."""

from __future__ import annotations

import json


def kubeconfig(cluster_name: str, endpoint: str, certificate_authority: str, region: str | None = None) -> str:
    """kubeconfig JSON that authenticates with the ambient AWS credentials; holds no secret itself."""
    args = ["eks", "get-token", "--cluster-name", cluster_name, "--output", "json"]
    if region:
        args += ["--region", region]
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster_name,
                    "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority},
                }
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": args,
                        }
                    },
                }
            ],
        },
        indent=2,
    )
