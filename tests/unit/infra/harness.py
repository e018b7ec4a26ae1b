"""Run __main__.py as Pulumi would, under mocks, with a given stack config and live AWS state.

Each run gets a fresh Pulumi runtime: its own contextvars Context (settings, config and the
root stack are context variables) and its own event loop, so runs do not leak into each other.
A RecordingMonitor keeps every RegisterResourceRequest (type, name, inputs, dependencies,
options) and every data-source call, for assertions.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import runpy
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.rpc import deserialize_properties
from pulumi.runtime.stack import run_in_stack

ROOT = Path(__file__).resolve().parents[3]
MAIN = ROOT / "__main__.py"
PROJECT = "eks-bluegreen"
ACCOUNT = "123456789012"
REGION = "eu-west-1"


@dataclass
class FakeGroup:
    """One Auto Scaling group as AWS would report it."""

    name: str
    desired: int
    ami: str
    tags: dict[str, str]
    launch_template_id: str
    # Launches through a mixed instances policy (the template is inside the policy, not on the group).
    mixed: bool = False


@dataclass
class FakeAws:
    """The live state data sources see: groups by name, clusters by name."""

    groups: dict[str, FakeGroup] = field(default_factory=dict)
    clusters: dict[str, str] = field(default_factory=dict)  # name -> authentication mode

    def add_group(
        self,
        cluster: str,
        color: str,
        desired: int,
        ami: str,
        active: bool = False,
        pool: str = "workers",
        mixed: bool = False,
    ) -> None:
        name = f"{cluster}-{pool}-{color}"
        tags = {"bluegreen.io/cluster": cluster, "bluegreen.io/color": color}
        if pool != "workers":  # the default pool's groups carry no pool tag
            tags["bluegreen.io/pool"] = pool
        if active:
            tags["k8s.io/cluster-autoscaler/enabled"] = "true"
        self.groups[name] = FakeGroup(name, desired, ami, tags, f"lt-{pool}{color}0123456789abc", mixed)


@dataclass
class Registration:
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    custom: bool
    remote: bool
    protect: bool
    ignore_changes: list[str]
    delete_before_replace: bool
    urn: str = ""


@dataclass
class Run:
    resources: list[Registration]
    invokes: list[tuple[str, dict[str, Any]]]
    outputs: dict[str, Any]
    logs: list[str]
    error: BaseException | None = None

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Registration:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"{len(found)} resources named {name}: {[r.name for r in self.resources]}"
        return found[0]

    def urn_of(self, name: str) -> str:
        return self.named(name).urn

    def waits_for(self, name: str, other: str) -> bool:
        """``name`` depends on ``other``, directly or through other resources' dependencies."""
        by_urn = {r.urn: r for r in self.resources}
        target, seen, todo = self.urn_of(other), set(), list(self.named(name).dependencies)
        while todo:
            urn = todo.pop()
            if urn == target:
                return True
            if urn not in seen and urn in by_urn:
                seen.add(urn)
                todo.extend(by_urn[urn].dependencies)
        return False


class FakeAwsMocks(pulumi.runtime.Mocks):
    """Answers data sources from FakeAws; gives resources plausible outputs."""

    def __init__(self, aws: FakeAws, invokes: list[tuple[str, dict[str, Any]]]) -> None:
        self.aws = aws
        self.invokes = invokes

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.invokes.append((args.token, dict(args.args)))
        token, a = args.token, args.args
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if token == "aws:autoscaling/getAmiIds:getAmiIds":
            wanted = {f["name"]: set(f["values"]) for f in a.get("filters") or []}
            names = [
                g.name
                for g in self.aws.groups.values()
                if all(g.tags.get(k.removeprefix("tag:")) in v for k, v in wanted.items())
            ]
            return {"names": names, "arns": [f"arn:aws:autoscaling:::{n}" for n in names], "id": REGION}
        if token == "aws:autoscaling/getGroup:getGroup":
            group = self.aws.groups.get(a["name"])
            if group is None:  # what AWS does: the whole program fails
                raise Exception(f"reading Auto Scaling Group ({a['name']}): couldn't find resource")
            template = {"id": group.launch_template_id, "name": group.name, "version": "$Latest"}
            spec = {"launchTemplateId": group.launch_template_id, "launchTemplateName": group.name, "version": "1"}
            return {
                "name": group.name,
                "id": group.name,
                "desiredCapacity": group.desired,
                "launchTemplates": [] if group.mixed else [template],
                "mixedInstancesPolicies": (
                    [{"launchTemplates": [{"launchTemplateSpecifications": [spec], "overrides": []}]}]
                    if group.mixed
                    else []
                ),
                "tags": [{"key": k, "value": v, "propagateAtLaunch": True} for k, v in group.tags.items()],
            }
        if token == "aws:ec2/getLaunchTemplate:getLaunchTemplate":
            for group in self.aws.groups.values():
                if a.get("id") == group.launch_template_id:
                    return {"id": group.launch_template_id, "imageId": group.ami, "name": group.name}
            raise Exception(f"reading launch template {a}: not found")
        if token == "aws:eks/getCluster:getCluster":
            name = a["name"]
            mode = self.aws.clusters.get(name)
            if mode is None:
                raise Exception(f"reading EKS Cluster ({name}): couldn't find resource")
            return {
                "name": name,
                "id": name,
                "endpoint": f"https://{name.upper()}0123.gr7.{REGION}.eks.amazonaws.com",
                "certificateAuthorities": [{"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="}],
                "kubernetesNetworkConfigs": [{"serviceIpv4Cidr": "172.20.0.0/16", "ipFamily": "ipv4"}],
                "accessConfigs": [{"authenticationMode": mode}],
                "vpcConfig": {
                    "clusterSecurityGroupId": "sg-0cluster0000000001",
                    "subnetIds": ["subnet-0aaaaaaa", "subnet-0bbbbbbb"],
                    "vpcId": "vpc-0ccccccc",
                },
            }
        raise Exception(f"unmocked data source {token}")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        rid = f"{args.name}-id"
        if args.typ == "eks:index:Cluster":
            # The remote component's outputs (its children are not materialised under mocks).
            self.aws.clusters.setdefault(args.inputs.get("name", args.name), "API")
            state.update(
                kubeconfig={"apiVersion": "v1", "kind": "Config"},
                kubeconfigJson='{"apiVersion": "v1", "kind": "Config"}',
                clusterSecurityGroupId="sg-0cluster0000000001",
                eksClusterIngressRuleId="sgrule-1",
            )
        elif args.typ in ("aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile"):
            state.update(arn=f"arn:aws:iam::{ACCOUNT}:role/{args.name}", name=args.name)
        elif args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
            rid = f"lt-{abs(hash(args.name)) % 10**17:017d}"
            state.update(latestVersion=1, defaultVersion=1, arn=f"arn:aws:ec2:{REGION}:{ACCOUNT}:launch-template/{rid}")
        elif args.typ == "aws:autoscaling/group:Group":
            state.update(arn=f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:{args.name}")
        elif args.typ == "aws:eks/accessEntry:AccessEntry":
            state.update(accessEntryArn=f"arn:aws:eks:{REGION}:{ACCOUNT}:access-entry/{args.name}")
        return rid, state


class RecordingMonitor(mocks.MockMonitor):
    """A MockMonitor that keeps every RegisterResourceRequest it sees."""

    def __init__(self, m: pulumi.runtime.Mocks) -> None:
        super().__init__(m)
        self.registrations: list[Registration] = []
        self.stack_outputs: dict[str, Any] = {}

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    inputs=deserialize_properties(request.object),
                    parent=request.parent,
                    dependencies=list(request.dependencies),
                    property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                    custom=request.custom,
                    remote=request.remote,
                    protect=request.protect,
                    ignore_changes=list(request.ignoreChanges),
                    delete_before_replace=request.deleteBeforeReplace,
                    urn=response.urn,
                )
            )
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        if request.urn.split("::")[2] == "pulumi:pulumi:Stack":
            self.stack_outputs = deserialize_properties(request.outputs, keep_unknowns=True)
        return super().RegisterResourceOutputs(request)


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__()
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


def stack_file_config(path: Path) -> dict[str, Any]:
    """The ``config:`` of a Pulumi.<stack>.yaml, keys as written (namespaced)."""
    document = yaml.safe_load(path.read_text()) or {}
    return dict(document.get("config") or {})


def project_defaults() -> dict[str, Any]:
    """Defaults declared in Pulumi.yaml's ``config:``, which the engine applies to unset keys."""
    document = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    return {key: decl["default"] for key, decl in (document.get("config") or {}).items() if "default" in decl}


def _engine_config(config: Mapping[str, Any]) -> dict[str, str]:
    """What the engine hands the program: project defaults, then the stack's values; namespaced keys,
    structured values as JSON strings."""
    out: dict[str, str] = {}
    for source in (project_defaults(), config):
        for key, value in source.items():
            full = key if ":" in key else f"{PROJECT}:{key}"
            out[full] = value if isinstance(value, str) else json.dumps(value)
    return out


def run_program(
    config: Mapping[str, Any],
    aws: FakeAws | None = None,
    preview: bool = False,
    stack: str = "prod",
    main: Path | None = None,
) -> Run:
    """Run ``main`` (default: the module-level MAIN, read at call time) under mocks; returns what it
    registered (and the error, if it failed)."""
    aws = aws or FakeAws()
    invokes: list[tuple[str, dict[str, Any]]] = []
    fake = FakeAwsMocks(aws, invokes)
    monitor = RecordingMonitor(fake)
    logs: list[str] = []

    # An unregistered logger per run: pulumi.log.info/warn/error of the program land in ``logs``.
    logger = logging.Logger("bluegreen-mocks", level=logging.INFO)
    logger.addHandler(_Collect(logs))

    def body() -> BaseException | None:
        # The loop first: set_mocks and the program schedule their RPCs on the current loop.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        # A placeholder root keeps set_mocks from registering a stack of its own; run_in_stack makes the real one.
        runtime_settings.ROOT.set(object())  # type: ignore[arg-type]
        pulumi.runtime.set_mocks(fake, project=PROJECT, stack=stack, preview=preview, monitor=monitor, logger=logger)
        runtime_settings.ROOT.set(None)
        set_all_config(_engine_config(config), [])
        try:
            loop.run_until_complete(run_in_stack(lambda: runpy.run_path(str(main or MAIN), run_name="__main__")))
            return None
        except BaseException as error:  # noqa: BLE001 returned to the test for assertions
            return error
        finally:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.close()
            asyncio.set_event_loop(None)

    with warnings.catch_warnings():
        # Import-time deprecation notices of the provider SDKs (pulumi-eks' NodeGroup, pulumi-aws'
        # renamed types) are about modules this program never uses; keep them out of test reports.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pulumi_(eks|aws)(\.|$)")
        error = contextvars.Context().run(body)
    return Run(
        resources=monitor.registrations,
        invokes=invokes,
        outputs=monitor.stack_outputs,
        logs=logs,
        error=error,
    )
