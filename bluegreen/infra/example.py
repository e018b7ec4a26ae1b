"""An example workload that makes a cutover observable end to end behind the load balancers.

A Deployment of ``replicas`` web pods, a NodePort Service on a fixed port (which the
target groups forward to on every instance) and a PodDisruptionBudget allowing one pod
down at a time, so the drain has a budget to honour. Declared through pulumi-kubernetes
with a provider built from the cluster's kubeconfig (tokens from `aws eks get-token`,
so the machine running `pulumi up` needs the aws CLI when this is enabled).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from bluegreen.infra.config import ExampleWorkloadConfig

APP = "bluegreen-example"


class ExampleWorkload(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        config: ExampleWorkloadConfig,
        kubeconfig: pulumi.Input[str],
        depends_on: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("eks-bluegreen:infra:ExampleWorkload", name, None, opts)
        provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=pulumi.ResourceOptions(parent=self))
        # Pods need nodes: wait for the active group before the Deployment waits for its rollout.
        child = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=list(depends_on))
        labels = {"app": APP}
        meta = {"name": APP, "namespace": "default", "labels": labels}
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta,
            spec={
                "replicas": config.replicas,
                "selector": {"match_labels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": config.image,
                                "ports": [{"container_port": 80}],
                                "readiness_probe": {"http_get": {"path": "/", "port": 80}, "period_seconds": 2},
                                "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}},
                            }
                        ],
                        # Spread over nodes, so one drained node never takes every replica.
                        "topology_spread_constraints": [
                            {
                                "max_skew": 1,
                                "topology_key": "kubernetes.io/hostname",
                                "when_unsatisfiable": "ScheduleAnyway",
                                "label_selector": {"match_labels": labels},
                            }
                        ],
                    },
                },
            },
            opts=child,
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta,
            spec={
                "type": "NodePort",
                "selector": labels,
                "ports": [{"port": 80, "target_port": 80, "node_port": config.node_port}],
            },
            opts=child,
        )
        self.budget = k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=meta,
            spec={"max_unavailable": 1, "selector": {"match_labels": labels}},
            opts=child,
        )
        self.register_outputs({"nodePort": config.node_port})
