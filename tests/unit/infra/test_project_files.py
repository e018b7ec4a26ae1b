"""Pulumi.yaml, Pulumi.prod.yaml and docs/infra.md agree with what the program validates."""

import re
from pathlib import Path

import pytest
import yaml

from bluegreen.infra import config as cfg

ROOT = Path(__file__).resolve().parents[3]
NESTED = {
    "cluster": cfg.CLUSTER_KEYS,
    "workers": cfg.WORKERS_KEYS,
    "pools": cfg.POOL_KEYS,
    "loadBalancers": cfg.LOAD_BALANCER_KEYS,
    "rollout": (*cfg.ROLLOUT_KEYS, cfg.POOLS_IN_PARALLEL_KEY),
    "exampleWorkload": cfg.EXAMPLE_WORKLOAD_KEYS,
}


def project() -> dict:
    return yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def test_project_is_python_with_pip():
    doc = project()
    assert doc["name"] == cfg.NAMESPACE
    assert doc["runtime"]["name"] == "python" and doc["runtime"]["options"]["toolchain"] == "pip"


def test_every_key_is_declared_described_and_validated():
    declared = project()["config"]
    assert set(declared) == set(cfg.TOP_LEVEL_KEYS)
    for key, decl in declared.items():
        assert decl.get("description"), f"{key} has no description"
        # Required keys have a type and no default; optional ones carry their default.
        assert "type" in decl or "default" in decl, key
        # Structured keys are declared as objects (Pulumi CLI 3.187+), with an object default.
        if key in NESTED:
            assert decl["type"] == "object" and decl["default"] == {}, key
    assert "no object type" not in (ROOT / "Pulumi.yaml").read_text()
    assert "default" not in declared["activeAmi"]
    for key, names in NESTED.items():
        description = declared[key]["description"]
        for name in names:
            assert re.search(rf"\b{name}\b", description), f"{key}.{name} is not described in Pulumi.yaml"


def test_docs_describe_every_key():
    docs = (ROOT / "docs" / "infra.md").read_text()
    for key in cfg.TOP_LEVEL_KEYS:
        assert f"`{key}`" in docs, key
    for key, names in NESTED.items():
        for name in names:
            # A pool's keys sit under its name: pools.<name>.instanceType.
            written = f"`pools.<name>.{name}`" if key == "pools" else f"`{key}.{name}`"
            assert written in docs, f"docs/infra.md lacks {written}"


def test_prod_stack_is_valid_and_uses_only_known_keys():
    stack = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    ours = {k.split(":", 1)[1]: v for k, v in stack.items() if k.startswith(f"{cfg.NAMESPACE}:")}
    parsed = cfg.parse_config(ours)
    assert (parsed.workers.desired_capacity, parsed.workers.min_size, parsed.workers.max_size) == (5, 5, 8)
    assert parsed.workers.instance_type == "m5.large" and parsed.workers.root_volume_size == 48
    assert len(parsed.load_balancers.target_group_arns) == 2 and len(parsed.load_balancers.classic_elb_names) == 1


def test_the_prod_stack_file_loads_without_pulumi_and_its_commented_pool_example_is_valid(tmp_path):
    from bluegreen.infra.stack_file import load_stack_file

    text = (ROOT / "Pulumi.prod.yaml").read_text()
    loaded = load_stack_file(ROOT / "Pulumi.prod.yaml")
    assert [p.name for p in loaded.all_pools()] == ["workers"] and not loaded.pools_in_parallel
    assert loaded.workers.security_group_ids == ("sg-0a1b2c3d4e5f60001",)
    # Uncomment the example pool (the lines after "Uncomment to add a GPU pool:").
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "Uncomment to add a GPU pool" in line) + 1
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("  #"))
    lines[start:end] = [line.replace("  # ", "  ", 1) for line in lines[start:end]]
    stack = tmp_path / "Pulumi.gpu.yaml"
    stack.write_text("\n".join(lines) + "\n")
    (default, gpu) = load_stack_file(stack).all_pools()
    assert (gpu.name, gpu.workers.instance_type, gpu.workers.desired_capacity) == ("gpu", "g5.xlarge", 2)
    assert [t.kubelet_form() for t in gpu.workers.taints] == ["nvidia.com/gpu=true:NoSchedule"]
    assert gpu.load_balancers.target_group_arns == () and len(default.load_balancers.target_group_arns) == 2
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(
        "config:\n"
        "  eks-bluegreen:activeAmi: ami-0123abcd\n"
        "  eks-bluegreen:cluster: {name: prod}\n"
        "  eks-bluegreen:pools: {gpu: {instanceTyp: g5.xlarge}}\n"
    )
    with pytest.raises(
        cfg.ConfigError, match=r"Pulumi.bad.yaml: pools.gpu.instanceTyp: unknown key; did you mean \"instanceType\"\?"
    ):
        load_stack_file(bad)


def test_the_design_lives_in_the_repository():
    design = (ROOT / "docs" / "design.md").read_text()
    for section in ("## Layers", "## Resource graph", "## UX contract", "## Rollout rules", "## The sandbox's role"):
        assert section in design, section
    # Nothing cites a design document outside the repository.
    # (Built from pieces, so this file does not match itself.)
    outside = re.compile("DESIGN" + r"\.md|(?i:design" + r" brief)|/work/" + "shared")
    offenders = []
    for path in ROOT.rglob("*"):
        if path.suffix not in {".py", ".md", ".yaml", ".yml", ".toml", ".txt"} or ".git" in path.parts:
            continue
        if any(part in {".venv", "node_modules", "__pycache__"} for part in path.parts):
            continue
        text = path.read_text(errors="replace")
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in outside.finditer(text)]
    assert offenders == []
