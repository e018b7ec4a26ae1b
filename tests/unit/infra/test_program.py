"""__main__.py under Pulumi mocks: what the program declares for a stack config and a live state."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.unit.infra.harness import ROOT, FakeAws, Run, run_program, stack_file_config

PROD = stack_file_config(ROOT / "Pulumi.prod.yaml")
OLD = PROD["eks-bluegreen:activeAmi"]
NEW = "ami-0fedcba987654321f"
TYPE_LT = "aws:ec2/launchTemplate:LaunchTemplate"
TYPE_ASG = "aws:autoscaling/group:Group"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def prod_aws() -> FakeAws:
    return FakeAws(clusters={"prod": "API_AND_CONFIG_MAP"})


def with_ami(ami: str, **extra) -> dict:
    return {**PROD, "eks-bluegreen:activeAmi": ami, **{f"eks-bluegreen:{k}": v for k, v in extra.items()}}


def ok(run: Run) -> Run:
    assert run.error is None, f"program failed: {run.error!r}"
    return run


def tags_of(asg) -> dict[str, str]:
    return {t["key"]: t["value"] for t in asg.inputs["tags"]}


def node_config(lt) -> dict:
    mime = base64.b64decode(lt.inputs["userData"]).decode()
    part = mime.split("Content-Type: application/node.eks.aws\n\n", 1)[1].split("\n--//BLUEGREEN//--", 1)[0]
    return yaml.safe_load(part)


def test_prod_stack_on_an_empty_account_declares_both_colors():
    run = ok(run_program(PROD, prod_aws()))
    blue, green = run.named("workers-blue-asg"), run.named("workers-green-asg")
    assert (blue.inputs["desiredCapacity"], blue.inputs["minSize"], blue.inputs["maxSize"]) == (5, 5, 8)
    assert (green.inputs["desiredCapacity"], green.inputs["minSize"], green.inputs["maxSize"]) == (0, 0, 0)
    assert blue.inputs["name"] == "prod-workers-blue" and green.inputs["name"] == "prod-workers-green"
    for asg in (blue, green):
        # Every color is attached to every configured load balancer.
        assert asg.inputs["targetGroupArns"] == PROD["eks-bluegreen:loadBalancers"]["targetGroupArns"]
        assert asg.inputs["loadBalancers"] == ["prod-legacy-web"]
        assert asg.inputs["vpcZoneIdentifiers"] == PROD["eks-bluegreen:cluster"]["subnetIds"]
        assert "instanceRefresh" not in asg.inputs
        assert tags_of(asg)["bluegreen.io/cluster"] == "prod"
        assert tags_of(asg)["kubernetes.io/cluster/prod"] == "owned"
    assert tags_of(blue)["bluegreen.io/color"] == "blue" and tags_of(green)["bluegreen.io/color"] == "green"
    # Only the active color is discoverable by cluster-autoscaler.
    assert tags_of(blue)["k8s.io/cluster-autoscaler/enabled"] == "true"
    assert not any(k.startswith("k8s.io/cluster-autoscaler") for k in tags_of(green))
    assert run.outputs["activeColor"] == "blue" and run.outputs["activeAmi"] == OLD
    assert run.outputs["cutover"]["drain"] == "none"


def test_launch_templates_require_imdsv2_and_encrypt_the_root_volume():
    run = ok(run_program(PROD, prod_aws()))
    lts = run.of_type(TYPE_LT)
    assert sorted(lt.inputs["name"] for lt in lts) == ["prod-workers-blue", "prod-workers-green"]
    for lt in lts:
        assert lt.inputs["imageId"] == OLD
        assert lt.inputs["instanceType"] == "m5.large"
        assert lt.inputs["metadataOptions"]["httpTokens"] == "required"
        assert lt.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 2
        (root,) = lt.inputs["blockDeviceMappings"]
        assert root["ebs"]["encrypted"] == "true" and root["ebs"]["volumeType"] == "gp3"
        assert root["ebs"]["volumeSize"] == 48
        # The cluster security group, then the workers' own (the load balancers reach node ports through it).
        assert lt.inputs["vpcSecurityGroupIds"] == ["sg-0cluster0000000001", "sg-0a1b2c3d4e5f60001"]


def test_user_data_joins_with_the_color_label_and_configured_labels():
    run = ok(
        run_program(
            with_ami(OLD, workers={**PROD["eks-bluegreen:workers"], "taints": ["dedicated=web:NoSchedule"]}), prod_aws()
        )
    )
    for color in ("blue", "green"):
        config = node_config(run.named(f"workers-{color}-lt"))
        assert config["kind"] == "NodeConfig"
        cluster = config["spec"]["cluster"]
        assert cluster["name"] == "prod" and cluster["cidr"] == "172.20.0.0/16"
        assert cluster["apiServerEndpoint"].startswith("https://")
        flags = config["spec"]["kubelet"]["flags"]
        assert f"--node-labels=bluegreen.io/color={color},workload-class=general" in flags
        assert "--register-with-taints=dedicated=web:NoSchedule" in flags


def test_new_ami_flips_to_the_idle_color_and_leaves_the_old_template_alone():
    aws = prod_aws()
    before = ok(run_program(PROD, aws))
    aws.add_group("prod", "blue", 5, OLD, active=True)
    aws.add_group("prod", "green", 0, OLD)
    after = ok(run_program(with_ami(NEW), aws))
    green, blue = after.named("workers-green-asg"), after.named("workers-blue-asg")
    assert (green.inputs["desiredCapacity"], green.inputs["minSize"], green.inputs["maxSize"]) == (5, 5, 8)
    assert (blue.inputs["desiredCapacity"], blue.inputs["maxSize"]) == (0, 0)
    assert after.named("workers-green-lt").inputs["imageId"] == NEW
    # The old color's launch template is declared exactly as before: no new version, no churn.
    assert after.named("workers-blue-lt").inputs == before.named("workers-blue-lt").inputs
    assert after.outputs["activeColor"] == "green"
    assert after.outputs["cutover"]["drain"] == "blue"
    assert after.outputs["blue"]["ami"] == OLD and after.outputs["green"]["ami"] == NEW
    # The scale-down of the old color waits for the new group (through the cutover steps)...
    assert after.waits_for("workers-blue-asg", "workers-green-asg")
    # ...and never the other way round.
    assert not after.waits_for("workers-green-asg", "workers-blue-asg")
    assert any("blue will be drained" in line for line in after.logs)


def test_unchanged_config_declares_the_same_inputs_and_drains_nothing():
    aws = prod_aws()
    first = ok(run_program(PROD, aws))
    aws.add_group("prod", "blue", 5, OLD, active=True)
    aws.add_group("prod", "green", 0, OLD)
    second = ok(run_program(PROD, aws))
    assert second.outputs["cutover"]["drain"] == "none" and second.outputs["activeColor"] == "blue"
    assert {r.name: r.inputs for r in second.resources} == {r.name: r.inputs for r in first.resources}


def test_interrupted_cutover_resumes_on_the_color_already_on_active_ami():
    aws = prod_aws()
    aws.add_group("prod", "blue", 5, OLD)
    aws.add_group("prod", "green", 5, NEW, active=True)
    run = ok(run_program(with_ami(NEW), aws))
    assert run.outputs["activeColor"] == "green" and run.outputs["cutover"]["drain"] == "blue"
    assert run.named("workers-blue-lt").inputs["imageId"] == OLD


def test_data_sources_read_only_groups_that_exist():
    aws = prod_aws()
    aws.add_group("prod", "blue", 5, OLD, active=True)
    run = ok(run_program(PROD, aws))
    groups = [args["name"] for token, args in run.invokes if token == "aws:autoscaling/getGroup:getGroup"]
    assert groups == ["prod-workers-blue"]
    empty = ok(run_program(PROD, prod_aws()))
    tokens = {token for token, _ in empty.invokes}
    assert "aws:autoscaling/getAmiIds:getAmiIds" in tokens
    assert not tokens & {"aws:autoscaling/getGroup:getGroup", "aws:ec2/getLaunchTemplate:getLaunchTemplate"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"activeAmi": "ami-12"}, 'activeAmi: "ami-12" is not an AMI id (ami- followed by 8 or 17 hex digits)'),
        ({"workers": {"instanceTyp": "m5.large"}}, 'workers.instanceTyp: unknown key; did you mean "instanceType"?'),
        (
            {"workers": {"desiredCapacity": 3, "minSize": 4, "maxSize": 8}},
            "minSize 4 <= desiredCapacity 3 <= maxSize 8",
        ),
        ({"rollout": {"evictionTimeoutSeconds": 0}}, "rollout.evictionTimeoutSeconds: 0 is not allowed"),
        ({"activeColor": "purple"}, 'activeColor: "purple" is not allowed (one of blue, green)'),
        ({"loadBalancers": {"targetGroupArns": ["tg-1"]}}, 'loadBalancers.targetGroupArns[0]: "tg-1" is not a target'),
        ({"activeAmy": NEW}, 'activeAmy: unknown key; did you mean "activeAmi"?'),
    ],
)
def test_bad_config_stops_before_any_resource(change, message):
    config = {**PROD, **{f"eks-bluegreen:{k}": v for k, v in change.items()}}
    run = run_program(config, prod_aws())
    assert run.error is not None and message in str(run.error)
    assert type(run.error).__name__ == "RunError"  # one message, no traceback in `pulumi up`
    assert run.resources == []


def test_pinning_the_serving_color_while_changing_its_ami_is_refused():
    aws = prod_aws()
    aws.add_group("prod", "blue", 5, OLD, active=True)
    run = run_program(with_ami(NEW, activeColor="blue"), aws)
    assert "activeColor: blue is pinned and serving on" in str(run.error)
    assert run.resources == []


def test_pinned_color_is_obeyed():
    aws = prod_aws()
    aws.add_group("prod", "blue", 5, OLD, active=True)
    run = ok(run_program(with_ami(OLD, activeColor="green"), aws))
    assert run.outputs["activeColor"] == "green" and run.outputs["cutover"]["drain"] == "blue"


def test_existing_cluster_gets_an_ec2_linux_access_entry_for_the_worker_role():
    run = ok(run_program(PROD, prod_aws()))
    (entry,) = run.of_type("aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["type"] == "EC2_LINUX" and entry.inputs["clusterName"] == "prod"
    role = run.named("prod-workers-role")
    assert entry.inputs["principalArn"].startswith("arn:aws:iam::")
    assert role.urn in entry.dependencies
    policies = sorted(r.inputs["policyArn"] for r in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"))
    assert policies == sorted(
        f"arn:aws:iam::aws:policy/{p}"
        for p in (
            "AmazonEKSWorkerNodePolicy",
            "AmazonEKS_CNI_Policy",
            "AmazonEC2ContainerRegistryReadOnly",
            "AmazonSSMManagedInstanceCore",
        )
    )
    assert run.named("workers-blue-lt").inputs["iamInstanceProfile"]["arn"].startswith("arn:aws:iam::")


def test_config_map_only_cluster_is_refused_with_the_fix():
    run = run_program(PROD, FakeAws(clusters={"prod": "CONFIG_MAP"}))
    assert "authenticationMode=API_AND_CONFIG_MAP" in str(run.error)
    assert type(run.error).__name__ == "RunError" and run.resources == []


def test_missing_existing_cluster_fails_before_any_resource():
    run = run_program(PROD, FakeAws())
    assert "couldn't find resource" in str(run.error) and run.resources == []


def test_created_cluster_uses_pulumi_eks_with_api_auth_and_no_default_node_group():
    cluster = {
        "name": "dev",
        "create": True,
        "vpcId": "vpc-0123abcd",
        "subnetIds": ["subnet-0123abcd", "subnet-4567abcd"],
    }
    config = {"aws:region": "us-east-2", "eks-bluegreen:activeAmi": NEW, "eks-bluegreen:cluster": cluster}
    run = ok(run_program(config, FakeAws()))
    (eks,) = run.of_type("eks:index:Cluster")
    assert eks.remote
    assert eks.inputs["authenticationMode"] == "API" and eks.inputs["skipDefaultNodeGroup"] is True
    assert eks.inputs["accessEntries"]["workers"]["type"] == "EC2_LINUX"
    assert run.named("workers-blue-lt").dependencies.count(eks.urn) == 1
    assert run.named("workers-blue-asg").inputs["vpcZoneIdentifiers"] == cluster["subnetIds"]
    assert run.outputs["clusterName"] == "dev"


def test_kubeconfig_output_is_secret():
    run = ok(run_program(PROD, prod_aws()))
    kubeconfig = run.outputs["kubeconfig"]
    assert isinstance(kubeconfig, dict) and SECRET_SIG in kubeconfig.values()
    assert '"server": "https://' in kubeconfig["value"]


def test_preview_shows_which_color_becomes_active_and_which_is_drained():
    aws = prod_aws()
    aws.add_group("prod", "green", 5, OLD, active=True)
    run = ok(run_program(with_ami(NEW), aws, preview=True))
    assert run.outputs["cutover"]["to"] == "blue" and run.outputs["cutover"]["drain"] == "green"
    assert "green will be drained" in run.outputs["cutover"]["summary"]


def test_cutover_hook_sits_between_the_new_group_and_the_old_scale_down(tmp_path: Path):
    program = tmp_path / "__main__.py"
    program.write_text(
        textwrap.dedent(
            """
            import pulumi
            from bluegreen.infra.program import main

            # A custom resource, as the dynamic Drain step will be (depending on a component with no
            # children would depend on nothing).
            class Drain(pulumi.CustomResource):
                def __init__(self, name, opts=None):
                    super().__init__("test:cutover:Drain", name, {}, opts)

            def cutover(context):
                drain = Drain(
                    f"drain-{context.plan.idle}",
                    pulumi.ResourceOptions(depends_on=[context.active_group.group]),
                )
                assert context.config.rollout.max_parallel_nodes == 1
                return [drain]

            main(cutover=cutover)
            """
        )
    )
    aws = prod_aws()
    aws.add_group("prod", "blue", 5, OLD, active=True)
    run = ok(run_program(with_ami(NEW), aws, main=program))
    drain = run.named("drain-blue")
    assert run.urn_of("workers-green-asg") in drain.dependencies
    assert drain.urn in run.named("workers-blue-asg").dependencies


@pytest.mark.parametrize(("live", "declared"), [(7, 7), (3, 5), (12, 8)])
def test_a_serving_group_keeps_its_live_size_within_min_and_max(live, declared):
    # cluster-autoscaler moved the serving group: resetting desiredCapacity would terminate nodes undrained.
    aws = prod_aws()
    aws.add_group("prod", "blue", live, OLD, active=True)
    run = ok(run_program(PROD, aws))
    assert run.named("workers-blue-asg").inputs["desiredCapacity"] == declared
    assert run.outputs["blue"]["desiredCapacity"] == declared


def test_a_color_coming_up_starts_at_the_configured_size():
    aws = prod_aws()
    aws.add_group("prod", "blue", 7, OLD, active=True)
    run = ok(run_program(with_ami(NEW), aws))
    assert run.named("workers-green-asg").inputs["desiredCapacity"] == 5


def test_key_pair_and_ssm_core_follow_the_config():
    workers = {**PROD["eks-bluegreen:workers"], "keyName": "ops", "ssmCore": False}
    run = ok(run_program(with_ami(OLD, workers=workers), prod_aws()))
    assert {lt.inputs["keyName"] for lt in run.of_type(TYPE_LT)} == {"ops"}
    policies = [r.inputs["policyArn"] for r in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
    assert len(policies) == 3 and not any("SSM" in p for p in policies)
    without_key = ok(run_program(PROD, prod_aws()))
    assert all("keyName" not in lt.inputs for lt in without_key.of_type(TYPE_LT))


def test_example_workload_is_off_by_default_and_complete_when_enabled():
    assert not [r for r in ok(run_program(PROD, prod_aws())).resources if r.type.startswith("kubernetes:")]
    run = ok(run_program(with_ami(OLD, exampleWorkload={"enabled": True, "replicas": 4}), prod_aws()))
    deployment = run.named("example-deployment")
    assert deployment.inputs["spec"]["replicas"] == 4
    assert run.urn_of("workers-blue-asg") in deployment.dependencies
    service = run.named("example-service")
    assert service.inputs["spec"]["type"] == "NodePort"
    assert service.inputs["spec"]["ports"][0]["nodePort"] == 30080
    assert run.named("example-pdb").inputs["spec"]["maxUnavailable"] == 1
    provider = run.named("example-k8s")
    assert provider.type == "pulumi:providers:kubernetes"
    assert run.outputs["exampleNodePort"] == 30080
