"""The instance type table: the VPC CNI's pod limit and the EKS AMIs' kubelet reservations, checked against the
figures EKS publishes for common types (eni-max-pods.txt; allocatable CPU of m5.large and m5.xlarge nodes)."""

from __future__ import annotations

import pytest

from bluegreen.sandbox.instance_types import INSTANCE_TYPES, UnknownInstanceType, instance_type


@pytest.mark.parametrize(("name", "max_pods"), [
    ("m5.large", 29), ("m5.xlarge", 58), ("m5.4xlarge", 234), ("m5.24xlarge", 737), ("m6i.large", 29),
    ("m6i.32xlarge", 737), ("c5.large", 29), ("c5.9xlarge", 234), ("r5.2xlarge", 58), ("g5.xlarge", 58),
    ("g5.16xlarge", 234), ("g5.48xlarge", 345),
])
def test_max_pods_is_the_vpc_cni_formula(name: str, max_pods: int) -> None:
    assert instance_type(name).max_pods == max_pods


def test_allocatable_follows_the_eks_reservations() -> None:
    large, xlarge = instance_type("m5.large"), instance_type("m5.xlarge")
    assert (large.allocatable_cpu, xlarge.allocatable_cpu) == ("1930m", "3920m")
    # 8 GiB less 255Mi + 11Mi x 29 pods of kube-reserved and 100Mi of eviction threshold.
    assert large.allocatable_memory == f"{8 * 1024 - 255 - 11 * 29 - 100}Mi"
    assert instance_type("m5.24xlarge").reserved_cpu_m == 60 + 10 + 2 * 5 + 92 * 2.5


def test_every_family_the_issue_names_is_there() -> None:
    assert {name.split(".")[0] for name in INSTANCE_TYPES} == {"m5", "m6i", "c5", "r5", "g5"}
    assert all(t.memory_gib >= t.vcpus for t in INSTANCE_TYPES.values())


def test_an_unknown_type_names_the_families() -> None:
    with pytest.raises(UnknownInstanceType) as raised:
        instance_type("t3.nano")
    assert str(raised.value).startswith("instance type 't3.nano' is not in the sandbox's table (families c5, g5, m5, "
                                        "m6i, r5")
