"""The one Service the sandbox serves: `kubernetes` in `default`, the API server's own.

The real API server creates and keeps it (pkg/controlplane/controller/kubernetesservice/controller.go,
CreateOrUpdateMasterServiceIfNeeded); EKS gives it the first address of its service range, 10.100.0.1.
Services are otherwise not modelled: the resource is read-only (no Service controller, endpoints, proxy).
"""

from __future__ import annotations

KUBERNETES_SERVICE_IP = "10.100.0.1"


def kubernetes_service(cluster_ip: str = KUBERNETES_SERVICE_IP) -> dict:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "clusterIP": cluster_ip, "clusterIPs": [cluster_ip], "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}],
            "sessionAffinity": "None", "type": "ClusterIP",
        },
        "status": {"loadBalancer": {}},
    }
