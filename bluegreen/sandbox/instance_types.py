"""A small table of common EC2 instance types, and what a node of each offers the Kubernetes scheduler on EKS.

For rehearsing a stack in the sandbox: a pool's ``instanceType`` becomes a node shape (allocatable CPU, memory and
pods). Figures per type: vCPUs, memory (GiB), network interfaces and IPv4 addresses per interface, as EC2 publishes
them. The pod limit is the Amazon VPC CNI's formula that the EKS AMIs write as ``--max-pods`` (``eni-max-pods.txt``
of amazon-eks-ami): interfaces x (addresses per interface - 1) + 2. Allocatable follows the EKS AMIs' kubelet
reservations (amazon-eks-ami, ``bootstrap.sh`` / nodeadm's kubelet config): kube-reserved CPU of 6% of the first
core, 1% of the second, 0.5% of the third and fourth and 0.25% of every core above four; kube-reserved memory of
255Mi + 11Mi per pod; a hard eviction threshold of 100Mi memory.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Memory the kubelet's hard eviction threshold keeps free (memory.available<100Mi).
EVICTION_HARD_MEMORY_MI = 100


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_gib: float
    enis: int  # network interfaces
    ipv4_per_eni: int  # IPv4 addresses per interface

    @property
    def max_pods(self) -> int:
        """The VPC CNI's pod limit without prefix delegation: one address per interface is the node's own."""
        return self.enis * (self.ipv4_per_eni - 1) + 2

    @property
    def reserved_cpu_m(self) -> int:
        """kube-reserved CPU in millicores, by the EKS AMIs' sliding scale over the cores."""
        shares = ((1, 60), (1, 10), (2, 5))  # (cores, millicores reserved per core)
        left, reserved = self.vcpus, 0.0
        for cores, per_core in shares:
            used = min(left, cores)
            reserved += used * per_core
            left -= used
        return round(reserved + left * 2.5)

    @property
    def reserved_memory_mi(self) -> int:
        """kube-reserved memory plus the hard eviction threshold, in MiB."""
        return 255 + 11 * self.max_pods + EVICTION_HARD_MEMORY_MI

    @property
    def allocatable_cpu(self) -> str:
        """Allocatable CPU as a Kubernetes quantity (millicores)."""
        return f"{self.vcpus * 1000 - self.reserved_cpu_m}m"

    @property
    def allocatable_memory(self) -> str:
        """Allocatable memory as a Kubernetes quantity (MiB)."""
        return f"{round(self.memory_gib * 1024) - self.reserved_memory_mi}Mi"


def _family(prefix: str, sizes: tuple[tuple[str, int, float, int, int], ...]) -> dict[str, InstanceType]:
    return {f"{prefix}.{size}": InstanceType(f"{prefix}.{size}", cpu, mem, enis, ips)
            for size, cpu, mem, enis, ips in sizes}


# (size, vCPUs, GiB, network interfaces, IPv4 per interface)
_M5_M6I = (
    ("large", 2, 8, 3, 10), ("xlarge", 4, 16, 4, 15), ("2xlarge", 8, 32, 4, 15), ("4xlarge", 16, 64, 8, 30),
    ("8xlarge", 32, 128, 8, 30), ("12xlarge", 48, 192, 8, 30), ("16xlarge", 64, 256, 15, 50),
    ("24xlarge", 96, 384, 15, 50),
)
_C5 = (
    ("large", 2, 4, 3, 10), ("xlarge", 4, 8, 4, 15), ("2xlarge", 8, 16, 4, 15), ("4xlarge", 16, 32, 8, 30),
    ("9xlarge", 36, 72, 8, 30), ("12xlarge", 48, 96, 8, 30), ("18xlarge", 72, 144, 15, 50),
    ("24xlarge", 96, 192, 15, 50),
)
_R5 = (
    ("large", 2, 16, 3, 10), ("xlarge", 4, 32, 4, 15), ("2xlarge", 8, 64, 4, 15), ("4xlarge", 16, 128, 8, 30),
    ("8xlarge", 32, 256, 8, 30), ("12xlarge", 48, 384, 8, 30), ("16xlarge", 64, 512, 15, 50),
    ("24xlarge", 96, 768, 15, 50),
)
_G5 = (
    ("xlarge", 4, 16, 4, 15), ("2xlarge", 8, 32, 4, 15), ("4xlarge", 16, 64, 8, 30), ("8xlarge", 32, 128, 8, 30),
    ("12xlarge", 48, 192, 15, 50), ("16xlarge", 64, 256, 8, 30), ("24xlarge", 96, 384, 15, 50),
    ("48xlarge", 192, 768, 7, 50),
)

INSTANCE_TYPES: dict[str, InstanceType] = {
    **_family("m5", _M5_M6I), **_family("m6i", (*_M5_M6I, ("32xlarge", 128, 512, 15, 50))),
    **_family("c5", _C5), **_family("r5", _R5), **_family("g5", _G5),
}


class UnknownInstanceType(KeyError):
    """An instance type the table does not know; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def instance_type(name: str) -> InstanceType:
    """The table's entry for ``name``; UnknownInstanceType naming the known families otherwise."""
    try:
        return INSTANCE_TYPES[name]
    except KeyError:
        families = sorted({n.split(".")[0] for n in INSTANCE_TYPES})
        raise UnknownInstanceType(
            f"instance type {name!r} is not in the sandbox's table (families {', '.join(families)}, e.g. "
            "m5.large, m6i.xlarge, c5.2xlarge, r5.large, g5.xlarge); rehearse with one of those sizes"
        ) from None
