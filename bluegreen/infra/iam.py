"""The worker nodes' IAM role and instance profile, shared by both colors."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# Managed policies every EKS worker needs; SSM core is optional (Session Manager access).
WORKER_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")
SSM_CORE_POLICY = "AmazonSSMManagedInstanceCore"


@dataclass(frozen=True)
class WorkerIdentityArgs:
    cluster_name: str
    # "aws", "aws-cn" or "aws-us-gov": managed policy ARNs live in the partition.
    partition: str = "aws"
    ssm_core: bool = False


def policy_arns(args: WorkerIdentityArgs) -> list[str]:
    """The managed policy ARNs attached to the worker role."""
    names = list(WORKER_POLICIES) + ([SSM_CORE_POLICY] if args.ssm_core else [])
    return [f"arn:{args.partition}:iam::aws:policy/{name}" for name in names]


def assume_role_policy(partition: str) -> str:
    service = "ec2.amazonaws.com.cn" if partition == "aws-cn" else "ec2.amazonaws.com"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


class WorkerIdentity(pulumi.ComponentResource):
    """Role + managed policies + instance profile for the worker nodes of both colors."""

    role: aws.iam.Role
    instance_profile: aws.iam.InstanceProfile

    def __init__(self, name: str, args: WorkerIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-bluegreen:infra:WorkerIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role_policy(args.partition),
            description=f"EKS worker nodes of {args.cluster_name} (blue and green)",
            opts=child,
        )
        for arn in policy_arns(args):
            aws.iam.RolePolicyAttachment(
                f"{name}-{arn.rsplit('/', 1)[-1]}",
                role=self.role.name,
                policy_arn=arn,
                opts=child,
            )
        self.instance_profile = aws.iam.InstanceProfile(f"{name}-profile", role=self.role.name, opts=child)
        self.register_outputs({"roleArn": self.role.arn, "instanceProfileArn": self.instance_profile.arn})
