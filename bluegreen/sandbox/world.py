"""The sandbox world: moto as AWS and a fake Kubernetes API, tied together by one ticker.

``Sandbox.start(scenario)`` builds what a scenario describes — a VPC with two
Availability Zones, an EKS cluster whose endpoint is the fake API, both colors'
launch templates and Auto Scaling groups (blue serving on ``ami.from``, green at
0/0/0), target groups and classic ELBs attached to both, every workload Ready —
then keeps moto and the cluster in step: an instance of a worker group that is
running and InService joins as a node ``join_seconds`` after it first appeared,
and a terminated or detached instance's node leaves.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bluegreen.engine import naming
from bluegreen.sandbox.aws import (
    DEFAULT_REGION,
    AwsRealism,
    GroupInstance,
    MotoServer,
    group_instances,
    point_eks_cluster_at,
    register_amis,
)
from bluegreen.sandbox.clock import ScaledClock
from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.errors import NotFound
from bluegreen.sandbox.kube.objects import APP_LABEL, workload_objects
from bluegreen.sandbox.kube.server import FakeApiServer
from bluegreen.sandbox.kube.store import IMAGE_LABEL, NEVER_READY_ON_IMAGE_ANNOTATION
from bluegreen.sandbox.kube.tick_costs import TickCosts
from bluegreen.sandbox.scenario import (
    AlarmFires,
    ApiErrors,
    NeverReadyAfterMove,
    NodeLost,
    NodeNeverReady,
    NodeShape,
    Pool,
    Rollout,
    Scenario,
    StuckTerminating,
    TargetUnhealthy,
    UnreadyBeforeMove,
)
from bluegreen.sandbox.ticker import Ticker

DEFAULT_CLUSTER_NAME = "sandbox"
#: The pod-template annotation `kubectl rollout restart` sets; the rollout fault sets it the same way.
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
#: The finalizer of the stuck_terminating fault: nothing in the sandbox ever removes it.
STUCK_FINALIZER = "sandbox.bluegreen.io/never-released"
OLD_COLOR = "blue"
NEW_COLOR = "green"
#: Port the workers serve on behind every load balancer (a NodePort, as for an ingress controller).
TARGET_PORT = 30080
#: Simulated seconds Sandbox.start may fast-forward through for the scenario's workloads to become Ready.
SETTLE_LIMIT_S = 3600.0
#: Step of that fast-forward (simulated seconds per controller pass).
SETTLE_STEP_S = 0.5


class SandboxStartError(RuntimeError):
    """The sandbox could not reach the scenario's starting state; the message says what was still missing."""


class SandboxClock(ScaledClock):
    """A ScaledClock that the sandbox moves forward once, before anyone else uses it.

    Setting up a scenario (StatefulSet pods one after another, readiness delays)
    takes simulated minutes; the sandbox runs those controller passes as fast as
    the CPU allows and then jumps this clock to the cluster's time, so start()
    is quick at any speed. It never goes backwards.
    """

    def __init__(self, speed: float):
        super().__init__(speed)
        self._offset = 0.0

    def now(self) -> float:
        return super().now() + self._offset

    def jump_to(self, simulated: float) -> None:
        """Move forward to ``simulated`` seconds (no-op when already past it)."""
        ahead = simulated - self.now()
        if ahead > 0:
            self._offset += ahead


# --------------------------------------------------------------------------------------------------------------------
# Decisions: which instances join as nodes, which nodes leave (pure functions over plain data)


@dataclass(frozen=True)
class WorkerInstance:
    """An instance of a worker group, with the color and pool of its group."""

    color: str
    instance: GroupInstance
    pool: str = naming.DEFAULT_POOL


@dataclass(frozen=True)
class NodeChanges:
    joins: tuple[WorkerInstance, ...]
    leaves: tuple[tuple[str, str], ...]  # (instance id, node name)


def node_changes(
    workers: Iterable[WorkerInstance],
    joined: Mapping[str, str],
    first_seen: Mapping[str, float],
    now: float,
    join_seconds: float,
) -> NodeChanges:
    """Serving instances that have been up ``join_seconds`` and have no node yet join; nodes whose
    instance is no longer a serving member of a worker group (terminated, scaled in, detached) leave."""
    serving = {w.instance.instance_id: w for w in workers if w.instance.serving}
    joins = tuple(
        w
        for iid, w in serving.items()
        if iid not in joined and now - first_seen.get(iid, now) >= join_seconds
    )
    leaves = tuple((iid, name) for iid, name in joined.items() if iid not in serving)
    return NodeChanges(joins, leaves)


def node_labels(color: str, instance: GroupInstance, pool: str = naming.DEFAULT_POOL) -> dict[str, str]:
    """The labels a worker's kubelet registers with (its color, and its pool outside the default pool, through
    kubelet args, as the program's user data sets them; the rest from EC2)."""
    region = instance.availability_zone[:-1]
    return {
        naming.COLOR_LABEL: color,
        **({} if pool == naming.DEFAULT_POOL else {naming.POOL_LABEL: pool}),
        "kubernetes.io/hostname": instance.private_dns_name,
        "topology.kubernetes.io/zone": instance.availability_zone,
        "topology.kubernetes.io/region": region,
        "node.kubernetes.io/instance-type": instance.instance_type,
        IMAGE_LABEL: instance.image_id,
    }


# --------------------------------------------------------------------------------------------------------------------
# The world


@dataclass
class _NodeSync:
    """What the ticker remembers between ticks."""

    first_seen: dict[str, float] = field(default_factory=dict)
    joined: dict[str, str] = field(default_factory=dict)  # instance id -> node name
    never_ready_quota: dict[str, int] = field(default_factory=dict)  # color -> instances still to fail
    never_ready: set[str] = field(default_factory=set)
    lost_quota: dict[str, int] = field(default_factory=dict)  # color -> nodes still to lose when they join
    lost: set[str] = field(default_factory=set)  # node names whose kubelet stopped


class Sandbox:
    """moto + realism layer + fake Kubernetes API + controllers, in the state a scenario describes."""

    def __init__(self, scenario: Scenario, *, speed: float, workdir: str | None, cluster_name: str, region: str):
        self.scenario = scenario
        self.region = region
        self.cluster_name = cluster_name
        self.old_color = OLD_COLOR
        self.new_color = NEW_COLOR
        self.clock = SandboxClock(speed)
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="bluegreen-sandbox-")
        self.kubeconfig_path = str(Path(self.workdir) / "kubeconfig")
        self.moto = MotoServer(region)
        self.realism = AwsRealism(self.clock.now, scenario.load_balancers.healthy_after_seconds, region)
        self.cluster = FakeCluster(placement=scenario.placement, seed=0, timing=scenario.timing)
        self.api = FakeApiServer(self.cluster)
        self.ticker = Ticker(self.clock, [self._tick])
        self.aws_endpoint = ""
        self.kube_url = ""
        self.target_group_arns: list[str] = []
        self.classic_elb_names: list[str] = []
        self._sync = _NodeSync()
        self._sync_lock = threading.Lock()
        self._kube_baseline: dict[str, int] = {}
        self._traffic_baseline: dict[str, Any] = {}
        self._started: list[str] = []
        self._stopped = False
        self._measuring_since: float | None = None  # simulated second the measurements started
        self._timed_losses = [f for f in [*scenario.faults_of(NodeLost), *scenario.faults_of(Rollout)]
                              if not isinstance(f.at, str)]
        self._timed_alarms = [f for f in scenario.faults_of(AlarmFires) if not isinstance(f.at, str)]
        self.alarms_fired: list[str] = []  # alarm faults fired so far, in order

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        scenario: Scenario,
        *,
        speed: float | None = None,
        workdir: str | None = None,
        cluster_name: str = DEFAULT_CLUSTER_NAME,
        region: str = DEFAULT_REGION,
    ) -> Sandbox:
        """Everything up and settled: the old color serving with every workload Ready and every target
        healthy, the new color at 0; measurements start now. Raises SandboxStartError if it cannot settle."""
        sandbox = cls(
            scenario, speed=speed or scenario.speed, workdir=workdir, cluster_name=cluster_name, region=region
        )
        try:
            sandbox._start()
        except BaseException:
            sandbox.stop()
            raise
        return sandbox

    def _start(self) -> None:
        self.moto.start()
        self._started.append("moto")
        self.aws_endpoint = self.moto.endpoint
        self.realism.install()
        self._started.append("realism")
        self.api.start()
        self._started.append("api")
        self.kube_url = self.api.url
        self.api.write_kubeconfig(self.kubeconfig_path, cluster_name=self.cluster_name)
        self._arm_faults_before_setup()
        self._create_aws()
        self._create_alarms()
        self._join_initial_nodes()
        for workload in self.scenario.workloads:
            for obj in workload_objects(
                workload.kind,
                workload.name,
                workload.namespace,
                replicas=workload.replicas,
                cpu=workload.cpu,
                memory=workload.memory,
                ready_seconds=workload.ready_seconds,
                grace_seconds=workload.grace_seconds,
                pdb=workload.pdb.as_spec() if workload.pdb else None,
                empty_dir=workload.empty_dir,
                tolerations=[dict(t) for t in workload.tolerations] or None,
                node_selector=workload.node_selector or None,
                affinity=workload.affinity,
                zonal_volume=workload.zonal_volume,
                never_ready_on_image=self._never_ready_image(f"{workload.namespace}/{workload.name}"),
                completions=workload.completions,
                run_seconds=workload.run_seconds,
                annotations=workload.annotations or None,
            ):
                self.cluster.apply(obj)
        self._fast_forward_until_settled()
        self._arm_stuck_terminating()
        self.ticker.start()
        self._started.append("ticker")
        with self.moto.lock:
            self.realism.settle()  # the old color has been serving for a long time
        self._arm_faults_after_setup()
        self.moto.reset_counts()
        self._kube_baseline = self.api.request_counts()
        self._traffic_baseline = self.api.traffic()
        with self.cluster.lock:
            self.cluster.measurements.start(self.cluster.now, self.cluster.availability_now())
            self._measuring_since = self.cluster.now
            self.cluster.tick_costs = TickCosts()  # the run's ticks, not the fast-forward of the setup
        for fault in [f for f in self._timed_alarms if f.at <= 0]:  # at 0: firing before the cutover starts
            self._timed_alarms.remove(fault)
            self.fire_alarm(fault.name)

    def stop(self) -> None:
        """Stop the ticker and both servers, restore moto, remove the temporary workdir. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if "ticker" in self._started:
            self.ticker.stop()
        if "api" in self._started:
            self.api.stop()
        if "realism" in self._started:
            self.realism.uninstall()
        if "moto" in self._started:
            self.moto.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what callers use --------------------------------------------------------------------------------------------

    def group_name(self, color: str, pool: str = naming.DEFAULT_POOL) -> str:
        return naming.group_name(self.cluster_name, color, pool)

    def pool(self, name: str) -> Pool:
        """The scenario's pool of that name (the default pool is ``workers``)."""
        return next(p for p in self.scenario.all_pools() if p.name == name)

    def aws_client(self, service: str) -> Any:
        """A boto3 client to the sandbox's moto: region, endpoint and dummy credentials set, standard retries."""
        return self.moto.client(service)

    def kube_api_client(self) -> Any:
        """A kubernetes.client.ApiClient configured from ``kubeconfig_path``."""
        from kubernetes import config as k8s_config

        return k8s_config.new_client_from_config(config_file=self.kubeconfig_path)

    def measurements(self) -> dict[str, Any]:
        """The cluster's measurements since start, plus API request counts (AWS per service, Kubernetes) and the
        Kubernetes API's response bytes (``api_bytes``; per "verb resource" in ``kubernetes_traffic``)."""
        with self.cluster.lock:
            summary = self.cluster.measurements.summary()
        aws = self.moto.request_counts()
        kube_now = self.api.request_counts()
        kube = {k: v - self._kube_baseline.get(k, 0) for k, v in kube_now.items()}
        summary["api_requests"] = {"aws": sum(aws.values()), "kubernetes": kube.get("total", 0)}
        summary["aws_requests"] = dict(sorted(aws.items()))
        summary["aws_requests_by_action"] = dict(sorted(self.moto.action_counts().items()))
        summary["kubernetes_requests"] = dict(sorted(kube.items()))
        summary["kubernetes_traffic"] = traffic_since(self._traffic_baseline, self.api.traffic())
        summary["api_bytes"] = {"kubernetes": summary["kubernetes_traffic"]["total_bytes"]}
        summary["sandbox_errors"] = [f"{e.callback} at {e.now:.1f}s: {e.error!r}" for e in self.ticker.errors]
        return summary

    @property
    def errors(self) -> list[str]:
        """Exceptions the sandbox's own ticker met (empty when all is well)."""
        return [f"{e.callback} at {e.now:.1f}s: {e.error!r}\n{e.traceback}" for e in self.ticker.errors]

    # -- setup -------------------------------------------------------------------------------------------------------

    def _arm_faults_before_setup(self) -> None:
        for fault in self.scenario.faults_of(NodeNeverReady):
            color = self.new_color if fault.color == "new" else self.old_color
            self._sync.never_ready_quota[color] = self._sync.never_ready_quota.get(color, 0) + fault.count
        for fault in self.scenario.faults_of(TargetUnhealthy):
            if fault.color == "new":
                self.realism.fail_targets(self.group_name(self.new_color), fault.count)

    def _never_ready_image(self, workload: str) -> str | None:
        """The AMI on which the workload's pods never become Ready (never_ready_after_move: the new one;
        unready_before_move: the old one), if a fault says so."""
        if any(f.workload == workload for f in self.scenario.faults_of(NeverReadyAfterMove)):
            return self.scenario.ami.to
        if any(f.workload == workload for f in self.scenario.faults_of(UnreadyBeforeMove)):
            return self.scenario.ami.from_
        return None

    def _arm_stuck_terminating(self) -> None:
        """stuck_terminating: the first ``count`` pods of the workload (by name) get a finalizer nobody removes."""
        for fault in self.scenario.faults_of(StuckTerminating):
            namespace, name = fault.workload.split("/")
            with self.cluster.lock:
                pods = sorted((p for p in self.cluster.list("pods", namespace)
                               if (p["metadata"].get("labels") or {}).get(APP_LABEL) == name),
                              key=lambda p: p["metadata"]["name"])
            for pod in pods[: fault.count]:
                finalizers = [*(pod["metadata"].get("finalizers") or []), STUCK_FINALIZER]
                self.cluster.patch("pods", namespace, pod["metadata"]["name"],
                                   {"metadata": {"finalizers": finalizers}}, "application/merge-patch+json")

    def _arm_faults_after_setup(self) -> None:
        for fault in self.scenario.faults_of(TargetUnhealthy):
            if fault.color == "old":
                with self.moto.lock:
                    old = group_instances(self.region, [self.group_name(self.old_color)])
                for member in old[self.group_name(self.old_color)][: fault.count]:
                    self.realism.mark_failing(member.instance_id)
        for fault in self.scenario.faults_of(ApiErrors):
            # After setup, so the scenario's own objects are in place before the API starts failing.
            self.api.inject_errors(fault.rate, fault.status, fault.seed)

    def _create_aws(self) -> None:
        scenario = self.scenario
        ec2 = self.aws_client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet_of = {
            zone: ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{self.region}{zone}")["Subnet"][
                "SubnetId"]
            for zone, cidr in (("a", "10.0.0.0/19"), ("b", "10.0.32.0/19"))
        }
        subnets = list(subnet_of.values())
        owned = f"kubernetes.io/cluster/{self.cluster_name}"
        self.aws_client("eks").create_cluster(
            name=self.cluster_name,
            version="1.32",
            roleArn=f"arn:aws:iam::123456789012:role/{self.cluster_name}-eks",
            resourcesVpcConfig={"subnetIds": subnets},
            tags={owned: "owned"},
        )
        with self.moto.lock:
            point_eks_cluster_at(self.region, self.cluster_name, self.kube_url, None)
            register_amis(self.region, sorted({a for p in scenario.all_pools() for a in (p.ami.from_, p.ami.to)}))
        elbv2 = self.aws_client("elbv2")
        for index in range(scenario.load_balancers.target_groups):
            created = elbv2.create_target_group(
                Name=f"{self.cluster_name}-tg-{index + 1}"[:32],
                Protocol="HTTP",
                Port=TARGET_PORT,
                VpcId=vpc,
                TargetType="instance",
                HealthCheckPath="/healthz",
            )
            self.target_group_arns.append(created["TargetGroups"][0]["TargetGroupArn"])
        elb = self.aws_client("elb")
        for index in range(scenario.load_balancers.classic_elbs):
            name = f"{self.cluster_name}-elb-{index + 1}"[:32]
            elb.create_load_balancer(
                LoadBalancerName=name,
                Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": TARGET_PORT}],
                Subnets=subnets,
            )
            self.classic_elb_names.append(name)
        autoscaling = self.aws_client("autoscaling")
        for pool in scenario.all_pools():
            for color in naming.COLORS:
                serving = color == self.old_color
                # The program's tags: the pool tag only outside the default pool (naming.POOL_TAG).
                tags = {naming.CLUSTER_TAG: self.cluster_name, naming.COLOR_TAG: color, owned: "owned"}
                if not pool.is_default:
                    tags[naming.POOL_TAG] = pool.name
                template = naming.launch_template_name(self.cluster_name, color, pool.name)
                shape = self.pool_node_shape(pool, color)
                ec2.create_launch_template(
                    LaunchTemplateName=template,
                    # Both colors start on ami.from: the new color is switched to ami.to by the cutover itself.
                    LaunchTemplateData={"ImageId": pool.ami.from_, "InstanceType": shape.instance_type},
                    TagSpecifications=[
                        {"ResourceType": "launch-template", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
                    ],
                )
                size = pool.nodes_per_color if serving else 0
                name = self.group_name(color, pool.name)
                autoscaling.create_auto_scaling_group(
                    AutoScalingGroupName=name,
                    LaunchTemplate={"LaunchTemplateName": template, "Version": "$Default"},
                    MinSize=size,
                    MaxSize=2 * pool.nodes_per_color if serving else 0,
                    DesiredCapacity=size,
                    VPCZoneIdentifier=",".join(subnet_of[z] for z in shape.zones or tuple(subnet_of)),
                    TargetGroupARNs=list(self.target_group_arns) if pool.load_balancers else [],
                    LoadBalancerNames=list(self.classic_elb_names) if pool.load_balancers else [],
                    Tags=[
                        {"Key": k, "Value": v, "PropagateAtLaunch": True}
                        for k, v in {**tags, "Name": name}.items()
                    ],
                )

    def _join_initial_nodes(self) -> None:
        """The old color has been serving all along: its instances are nodes before the clock matters."""
        self._sync_nodes(self.clock.now(), join_seconds=0.0)

    def _fast_forward_until_settled(self) -> None:
        """Run the controllers in simulated time, without waiting, until the scenario's workloads are Ready;
        then move the clock to the cluster's time. The ticker is not running yet, so nothing else advances."""
        start = max(self.cluster.now, self.clock.now())
        now = start
        missing = self._unsettled()
        while missing:
            if now - start > SETTLE_LIMIT_S:
                raise SandboxStartError(
                    f"scenario {self.scenario.source or self.scenario.name} did not settle within "
                    f"{SETTLE_LIMIT_S:.0f} simulated seconds: {'; '.join(missing[:5])}. Next: check that the "
                    "nodes (node.cpu/memory/pods x nodes_per_color) have room for every workload's requests"
                )
            now += SETTLE_STEP_S
            self.cluster.advance(now)
            missing = self._unsettled()
        self.clock.jump_to(now)

    def _unsettled(self) -> list[str]:
        """What is not yet in the scenario's starting state (empty when settled)."""
        missing: list[str] = []
        with self._sync_lock:
            joined = len(self._sync.joined)
            # pods bound to a node that a fault keeps NotReady can never be Ready: do not wait for them
            broken = {name for iid, name in self._sync.joined.items() if iid in self._sync.never_ready}
        serving_nodes = sum(p.nodes_per_color for p in self.scenario.all_pools())
        if joined < serving_nodes:
            missing.append(f"{joined}/{serving_nodes} old nodes joined")
        # a workload that unready_before_move keeps unready on the old AMI never settles: do not wait for it
        unready = {f.workload for f in self.scenario.faults_of(UnreadyBeforeMove)}
        with self.cluster.lock:
            for kind, plural in (("Deployment", "deployments"), ("StatefulSet", "statefulsets")):
                for obj in self.cluster.list(plural):
                    if f"{obj['metadata']['namespace']}/{obj['metadata']['name']}" in unready:
                        continue
                    want = int(obj["spec"].get("replicas", 1))
                    ready = int((obj.get("status") or {}).get("readyReplicas", 0))
                    if ready < want:
                        meta = obj["metadata"]
                        missing.append(f"{kind} {meta['namespace']}/{meta['name']} {ready}/{want} ready")
            for obj in self.cluster.list("daemonsets"):
                status = obj.get("status") or {}
                want, ready = int(status.get("desiredNumberScheduled", 0)), int(status.get("numberReady", 0))
                if want == 0 or ready < want - len(broken):
                    missing.append(f"DaemonSet {obj['metadata']['namespace']}/{obj['metadata']['name']} {ready}/{want}")
            for pod in self.cluster._iter("pods"):  # read-only, under the lock: no copies of every pod
                if pod["spec"].get("nodeName") in broken:
                    continue
                if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                    continue  # a Job's completed pod
                if NEVER_READY_ON_IMAGE_ANNOTATION in (pod["metadata"].get("annotations") or {}) and pod["spec"].get(
                        "nodeName"):
                    continue  # a fault keeps it unready here
                ready = any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (pod.get("status") or {}).get("conditions") or []
                )
                if not ready:
                    missing.append(f"pod {pod['metadata']['namespace']}/{pod['metadata']['name']} not Ready")
        return missing

    # -- the ticker --------------------------------------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        self._sync_nodes(now, self.scenario.join_seconds)
        if self._timed_alarms and self._measuring_since is not None:
            for fault in [f for f in self._timed_alarms if now >= self._measuring_since + f.at]:
                self._timed_alarms.remove(fault)
                self.fire_alarm(fault.name)
        if self._timed_losses and self._measuring_since is not None:
            due = [f for f in self._timed_losses if now >= self._measuring_since + f.at]
            for fault in due:
                self._timed_losses.remove(fault)
                if isinstance(fault, Rollout):
                    self.roll_out(fault.workload)
                else:
                    self.lose_nodes(fault.color, fault.count)
        self.cluster.advance(now)

    def _create_alarms(self) -> None:
        """Every alarm the scenario's rollout watches (rollout.alarms), in state OK: what the cutover reads."""
        cloudwatch = self.aws_client("cloudwatch")
        for name in self.scenario.rollout.get("alarms", ()):
            cloudwatch.put_metric_alarm(
                AlarmName=name, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=10,
                ComparisonOperator="GreaterThanThreshold")
            cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="sandbox: created in state OK")

    def fire_alarm(self, name: str) -> None:
        """The ``alarm`` fault: CloudWatch alarm ``name`` goes into state ALARM."""
        self.aws_client("cloudwatch").set_alarm_state(
            AlarmName=name, StateValue="ALARM",
            StateReason=f"Threshold Crossed: the scenario's alarm fault fired at {self.clock.now():.0f}s")
        self.alarms_fired.append(name)

    def roll_out(self, workload: str) -> None:
        """The ``rollout`` fault: the workload's pod template changes (an annotation, as `kubectl rollout restart`
        sets one), so its controller replaces every pod: a Deployment through a new ReplicaSet (surge pods, old
        pods deleted by the controller), a StatefulSet pod by pod."""
        namespace, name = workload.split("/")
        kind = next(w.kind for w in self.scenario.workloads if w.namespace == namespace and w.name == name)
        plural = {"Deployment": "deployments", "StatefulSet": "statefulsets"}[kind]
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION:
                                                                    self.cluster.timestamp()}}}}}
        self.cluster.patch(plural, namespace, name, patch, "application/merge-patch+json")

    def lose_nodes(self, color: str, count: int) -> list[str]:
        """The ``node_lost`` fault: the kubelets of ``count`` nodes of the color ("old" or "new") stop reporting,
        first nodes first; when fewer have joined, the rest go silent as they join. Returns the nodes lost now."""
        actual = self.new_color if color == "new" else self.old_color
        with self.cluster.lock, self._sync_lock:
            nodes = [n["metadata"]["name"] for n in self.cluster.objects("nodes")
                     if (n["metadata"].get("labels") or {}).get(naming.COLOR_LABEL) == actual
                     and n["metadata"]["name"] not in self._sync.lost]
            chosen = sorted(nodes, key=self.cluster.node_order)[:count]
            for name in chosen:
                self.cluster.stop_kubelet(name)
                self._sync.lost.add(name)
            if len(chosen) < count:
                self._sync.lost_quota[actual] = self._sync.lost_quota.get(actual, 0) + count - len(chosen)
        return chosen

    def _sync_nodes(self, now: float, join_seconds: float) -> None:
        groups = {self.group_name(c, p.name): (c, p.name) for p in self.scenario.all_pools() for c in naming.COLORS}
        with self.moto.lock:
            self.realism.reconcile()
            found = group_instances(self.region, groups)
        workers = [WorkerInstance(groups[group][0], inst, groups[group][1])
                   for group, members in found.items() for inst in members]
        with self._sync_lock:
            sync = self._sync
            for worker in workers:
                iid = worker.instance.instance_id
                if worker.instance.serving and iid not in sync.first_seen:
                    sync.first_seen[iid] = now
                    # Faults hit the default pool's instances.
                    if worker.pool == naming.DEFAULT_POOL and sync.never_ready_quota.get(worker.color, 0) > 0:
                        sync.never_ready_quota[worker.color] -= 1
                        sync.never_ready.add(iid)
            changes = node_changes(workers, sync.joined, sync.first_seen, now, join_seconds)
            for iid, _name in changes.leaves:
                del sync.joined[iid]
            for worker in changes.joins:
                sync.joined[worker.instance.instance_id] = worker.instance.private_dns_name
            never_ready = set(sync.never_ready)
        for _iid, name in changes.leaves:
            try:
                self.cluster.remove_node(name)
            except NotFound:
                pass  # someone (kubectl delete node) removed it already
        for worker in changes.joins:
            instance = worker.instance
            shape = self.pool_node_shape(self.pool(worker.pool), worker.color)
            self.cluster.add_node(
                instance.private_dns_name,
                provider_id=naming.provider_id(instance.availability_zone, instance.instance_id),
                labels={**shape.labels, **node_labels(worker.color, instance, worker.pool)},
                cpu=shape.cpu,
                memory=shape.memory,
                pods=shape.pods,
                taints=[dict(t) for t in shape.taints] or None,
                ready=instance.instance_id not in never_ready,
            )
            with self._sync_lock:
                if self._sync.lost_quota.get(worker.color, 0) > 0:
                    self._sync.lost_quota[worker.color] -= 1
                    self._sync.lost.add(instance.private_dns_name)
                    self.cluster.stop_kubelet(instance.private_dns_name)

    def node_shape(self, color: str) -> NodeShape:
        """The scenario's node for the color: ``new_node`` for the color the cutover moves to, else ``node``."""
        return self.scenario.new_node_shape if color == self.new_color else self.scenario.node

    def pool_node_shape(self, pool: Pool, color: str) -> NodeShape:
        """A node of ``pool`` in ``color``: the default pool's follows ``node_shape`` (``new_node`` on the new color);
        another pool's is its own ``node``."""
        return self.node_shape(color) if pool.is_default else pool.node


def traffic_since(before: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """The fake API's traffic (``FakeApiServer.traffic``) between two readings: requests and bytes per
    "verb resource" (those with any), and the total bytes."""
    def delta(key: str) -> dict[str, int]:
        old = before.get(key) or {}
        return {k: v - old.get(k, 0) for k, v in sorted((now.get(key) or {}).items()) if v - old.get(k, 0)}
    return {"requests": delta("requests"), "bytes": delta("bytes"),
            "total_bytes": int(now.get("total_bytes", 0)) - int(before.get("total_bytes", 0))}
