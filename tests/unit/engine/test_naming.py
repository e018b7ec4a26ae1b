import pytest

from bluegreen.engine import naming
from bluegreen.engine.settings import RolloutSettings


def test_other_color_flips_and_rejects_unknown():
    assert naming.other_color("blue") == "green"
    assert naming.other_color("green") == "blue"
    with pytest.raises(ValueError, match="unknown color 'red'"):
        naming.other_color("red")


def test_group_names_are_deterministic_per_color():
    assert naming.group_name("prod", "blue") == "prod-workers-blue"
    assert naming.group_name("prod", "green") != naming.group_name("prod", "blue")


def test_provider_id_round_trip():
    pid = naming.provider_id("eu-west-1a", "i-0123456789abcdef0")
    assert pid == "aws:///eu-west-1a/i-0123456789abcdef0"
    assert naming.instance_id_from_provider_id(pid) == "i-0123456789abcdef0"
    assert naming.instance_id_from_provider_id("kind://docker/x") is None


def test_rollout_overrides_reject_unknown_names():
    s = RolloutSettings().with_overrides(max_parallel_nodes=2)
    assert s.max_parallel_nodes == 2
    with pytest.raises(ValueError, match="max_paralel_nodes"):
        RolloutSettings().with_overrides(max_paralel_nodes=2)


def test_pool_group_names_and_the_default_pool_keeps_todays_names():
    assert naming.group_name("prod", "blue", naming.DEFAULT_POOL) == naming.group_name("prod", "blue")
    assert naming.group_name("prod", "green", "gpu") == "prod-gpu-green"
    assert naming.launch_template_name("prod", "blue", "gpu") == "prod-gpu-blue"


@pytest.mark.parametrize(
    "labels,pool,member",
    [
        ({}, None, True),
        ({naming.POOL_LABEL: "gpu"}, None, True),
        # The default pool: nodes without a pool label (launched before pools existed) and labelled ones.
        ({}, naming.DEFAULT_POOL, True),
        ({naming.POOL_LABEL: naming.DEFAULT_POOL}, naming.DEFAULT_POOL, True),
        ({naming.POOL_LABEL: "gpu"}, naming.DEFAULT_POOL, False),
        ({naming.POOL_LABEL: "gpu"}, "gpu", True),
        ({}, "gpu", False),
        ({naming.POOL_LABEL: "memory"}, "gpu", False),
    ],
)
def test_nodes_are_told_apart_by_the_pool_label(labels, pool, member):
    assert naming.in_pool(labels, pool) is member
