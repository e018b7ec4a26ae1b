"""moto as AWS: an in-process moto server on a loopback port, request counting, and a realism layer.

moto (5.2.5) keeps its backends as module-level objects in this process, so the
sandbox reads and adjusts them directly (under ``MotoServer.lock``, which every
HTTP request also holds) instead of going through HTTP. Only one MotoServer may
run per process at a time: the backends, and the realism patches, are global.

The realism layer (``AwsRealism``) closes the gaps between moto and AWS that a
blue/green cutover can observe; each patch below names its gap.
"""

from __future__ import annotations

import base64
import io
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

DEFAULT_REGION = "eu-west-1"
#: moto's default account; every dummy access key maps to it.
ACCOUNT_ID = "123456789012"
#: Dummy credentials, passed explicitly to every client so nothing ambient is used or needed.
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}

# Signing names (SigV4 credential scope) that are not the service names people use.
_SIGNING_TO_SERVICE = {"elasticloadbalancing": "elb", "monitoring": "cloudwatch"}
# Classic ELB and ELBv2 share a signing name; the query API Version tells them apart.
_ELBV2_API_VERSION = "2015-12-01"


class SandboxBusyError(RuntimeError):
    """A second MotoServer was started while one runs in this process."""


class AwsSetupError(RuntimeError):
    """The sandbox could not arrange moto the way a scenario needs."""


# --------------------------------------------------------------------------------------------------------------------
# The server and its request counter


class _RequestCounter:
    """WSGI middleware: counts requests per AWS service (and per service action) and serialises them.

    Serialising keeps moto's backends consistent for the sandbox's own direct
    reads; moto answers in milliseconds, so one request at a time costs nothing here.
    """

    def __init__(self, app: Callable[..., Any], lock: threading.RLock):
        self._app = app
        self._lock = lock
        self._counts_lock = threading.Lock()
        self.services: Counter[str] = Counter()
        self.actions: Counter[str] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        service, action = _identify(environ)
        with self._counts_lock:
            self.services[service] += 1
            self.actions[f"{service}:{action}"] += 1
        with self._lock:
            # Materialise the body inside the lock: moto builds it eagerly anyway.
            return list(self._app(environ, start_response))

    def reset(self) -> None:
        with self._counts_lock:
            self.services.clear()
            self.actions.clear()


def _identify(environ: dict[str, Any]) -> tuple[str, str]:
    """(service, action) of one request, from its SigV4 scope and, for query APIs, its body."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/moto-api"):
        return "moto-api", path
    service = "unknown"
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        scope = auth.split(",")[0].split()[1]  # Credential=AKID/20260101/eu-west-1/ec2/aws4_request
        service = scope.split("/")[3].lower()
    except IndexError:
        pass
    service = _SIGNING_TO_SERVICE.get(service, service)
    params = _query_params(environ)
    if service == "elb" and params.get("Version") == _ELBV2_API_VERSION:
        service = "elbv2"
    action = params.get("Action") or f"{environ.get('REQUEST_METHOD', '?')} {path}"
    return service, action


def _query_params(environ: dict[str, Any]) -> dict[str, str]:
    """Action/Version of a query-protocol request; the body is put back for moto."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return {}
    if length <= 0:
        return {}
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    parsed = parse_qs(body.decode("utf-8", "replace"))
    return {key: values[0] for key, values in parsed.items() if key in ("Action", "Version")}


_active_server: MotoServer | None = None
_active_lock = threading.Lock()
# One botocore session for every sandbox of the process: it caches the service models, which
# makes a client cost milliseconds instead of a tenth of a second. Sessions are not thread-safe.
_shared_session: boto3.session.Session | None = None
_session_lock = threading.Lock()


def _new_client(service: str, **kwargs: Any) -> Any:
    global _shared_session
    with _session_lock:
        if _shared_session is None:
            _shared_session = boto3.session.Session()
        return _shared_session.client(service, **kwargs)


class MotoServer(ThreadedMotoServer):
    """moto in server mode on 127.0.0.1 (a free port), counting requests per service.

    ``start()`` resets every moto backend of this process, so each sandbox
    begins from an empty account.
    """

    def __init__(self, region: str = DEFAULT_REGION):
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self.region = region
        #: Held by every HTTP request; hold it to read or change moto's backends directly.
        self.lock = threading.RLock()
        self._counter: _RequestCounter | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._clients_lock = threading.Lock()
        self._saved_ami_setting: Any = None

    def _server_entry(self) -> None:
        # ThreadedMotoServer._server_entry with two changes: the app is wrapped in the
        # request counter, and the request handler does not log every request to stderr.
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

        self._counter = _RequestCounter(DomainDispatcherApplication(create_backend_app), self.lock)
        self._server = make_server(self._ip_address, self._port, self._counter, True, request_handler=QuietHandler)
        self._server_ready_event.set()
        # werkzeug polls for shutdown every 0.5 s by default; stopping is then that slow.
        self._server.serve_forever(poll_interval=0.05)

    def start(self) -> None:
        global _active_server
        with _active_lock:
            if _active_server is not None:
                raise SandboxBusyError(
                    f"a moto server already runs in this process at {_active_server.endpoint}; "
                    "moto's backends are process-global, so stop that sandbox first (Sandbox.stop())"
                )
            _active_server = self
        try:
            import moto.settings
            from moto.moto_api import _internal

            # Every fresh EC2 backend loads ~1300 public Amazon AMIs (a third of a second per
            # reset); a sandbox only ever launches the scenario's own AMIs (register_amis).
            self._saved_ami_setting = moto.settings.ec2_load_default_amis
            moto.settings.ec2_load_default_amis = lambda: False
            _internal.moto_api_backend.reset()
            super().start()
        except BaseException:
            self._restore_settings()
            with _active_lock:
                _active_server = None
            raise

    def _restore_settings(self) -> None:
        if self._saved_ami_setting is not None:
            import moto.settings

            moto.settings.ec2_load_default_amis = self._saved_ami_setting
            self._saved_ami_setting = None

    def stop(self) -> None:
        global _active_server
        try:
            if self._thread is not None:
                super().stop()
                self._server.server_close()  # type: ignore[union-attr]
        finally:
            self._restore_settings()
            with _active_lock:
                if _active_server is self:
                    _active_server = None

    @property
    def endpoint(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client to this server: explicit endpoint, region and dummy credentials, standard retries.

        Clients are cached per (service, region): boto3 clients are thread-safe and
        building one costs a tenth of a second.
        """
        key = (service, region or self.region)
        with self._clients_lock:
            if key not in self._clients:
                self._clients[key] = _new_client(
                    service,
                    region_name=key[1],
                    endpoint_url=self.endpoint,
                    config=Config(retries={"mode": "standard", "max_attempts": 3}),
                    **DUMMY_CREDENTIALS,
                )
            return self._clients[key]

    def request_counts(self) -> dict[str, int]:
        """Requests received so far, per service (``ec2``, ``autoscaling``, ``elb``, ``elbv2``, ``eks``, …)."""
        if self._counter is None:
            return {}
        with self._counter._counts_lock:
            return dict(self._counter.services)

    def action_counts(self) -> dict[str, int]:
        """Requests received so far, per ``service:Action``."""
        if self._counter is None:
            return {}
        with self._counter._counts_lock:
            return dict(self._counter.actions)

    def reset_counts(self) -> None:
        """Forget the requests counted so far (the sandbox does this once its setup is done)."""
        if self._counter is not None:
            self._counter.reset()


# --------------------------------------------------------------------------------------------------------------------
# Direct access to moto's backends


def ec2_backend(region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[ACCOUNT_ID][region]


def autoscaling_backend(region: str) -> Any:
    from moto.autoscaling.models import autoscaling_backends

    return autoscaling_backends[ACCOUNT_ID][region]


def eks_backend(region: str) -> Any:
    from moto.eks.models import eks_backends

    return eks_backends[ACCOUNT_ID][region]


def register_amis(region: str, ami_ids: Iterable[str]) -> None:
    """Make ``ami_ids`` real images in moto, so DescribeImages (and AMI validation, if enabled) finds them.

    moto launches instances from any AMI id by default (MOTO_ENABLE_AMI_VALIDATION
    is off) but answers InvalidAMIID.NotFound when anyone describes one.
    """
    from moto.ec2.models.amis import Ami

    backend = ec2_backend(region)
    for ami_id in ami_ids:
        if ami_id not in backend.amis:
            backend.amis[ami_id] = Ami(
                backend,
                ami_id,
                name=f"sandbox-eks-node-{ami_id}",
                description="EKS worker image (sandbox)",
                owner_id=ACCOUNT_ID,
                virtualization_type="hvm",
                architecture="x86_64",
                root_device_type="ebs",
                root_device_name="/dev/xvda",
                region_name=region,
                boot_mode="uefi-preferred",
            )


def point_eks_cluster_at(region: str, cluster_name: str, endpoint: str, ca_pem: str | None) -> None:
    """Make moto's EKS cluster describe ``endpoint`` (the fake Kubernetes API) and its CA.

    moto invents a random https endpoint and random CA bytes; nothing could connect to them.
    """
    cluster = eks_backend(region).clusters.get(cluster_name)
    if cluster is None:
        raise AwsSetupError(f"EKS cluster {cluster_name!r} does not exist in moto ({region}); create it first")
    cluster.endpoint = endpoint
    cluster.certificate_authority = {"data": base64.b64encode((ca_pem or "").encode()).decode()}


@dataclass(frozen=True)
class GroupInstance:
    """One instance of an Auto Scaling group, as the sandbox's node sync needs it."""

    group: str
    instance_id: str
    availability_zone: str
    private_dns_name: str
    instance_type: str
    image_id: str
    lifecycle_state: str
    state: str  # EC2 state: pending, running, shutting-down, terminated, …

    @property
    def serving(self) -> bool:
        return self.state == "running" and self.lifecycle_state == "InService"


def group_instances(region: str, group_names: Iterable[str]) -> dict[str, list[GroupInstance]]:
    """The current instances of each named group (missing groups map to []). Hold MotoServer.lock."""
    groups = autoscaling_backend(region).autoscaling_groups
    result: dict[str, list[GroupInstance]] = {}
    for name in group_names:
        group = groups.get(name)
        result[name] = [] if group is None else [_group_instance(name, s) for s in list(group.instance_states)]
    return result


def _group_instance(group: str, state: Any) -> GroupInstance:
    instance = state.instance
    return GroupInstance(
        group=group,
        instance_id=instance.id,
        availability_zone=instance.placement.zone,
        private_dns_name=instance.private_dns_name,
        instance_type=instance.instance_type,
        image_id=instance.image_id,
        lifecycle_state=state.lifecycle_state,
        state=instance.state,
    )


# --------------------------------------------------------------------------------------------------------------------
# Target health: pure decisions


@dataclass(frozen=True)
class TargetHealth:
    """What DescribeTargetHealth says about one registered target."""

    state: str  # initial | healthy | unhealthy
    reason: str | None
    description: str | None


@dataclass(frozen=True)
class InstanceHealth:
    """What a classic ELB's DescribeInstanceHealth says about one registered instance."""

    state: str  # InService | OutOfService
    reason_code: str
    description: str


def target_health(registered_at: float, now: float, healthy_after_s: float, failing: bool) -> TargetHealth:
    """A target group's verdict on an instance registered at ``registered_at`` that is running."""
    if now - registered_at < healthy_after_s:
        # AWS answers `initial` until the first health checks have passed (or failed) enough times.
        return TargetHealth("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
    if failing:
        return TargetHealth("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
    return TargetHealth("healthy", None, None)


def instance_health(registered_at: float, now: float, healthy_after_s: float, failing: bool) -> InstanceHealth:
    """A classic ELB's verdict on an instance registered at ``registered_at`` that is running."""
    if failing or now - registered_at < healthy_after_s:
        return InstanceHealth(
            "OutOfService",
            "Instance",
            "Instance has not passed the configured HealthyThreshold number of health checks consecutively.",
        )
    return InstanceHealth("InService", "N/A", "N/A")


# --------------------------------------------------------------------------------------------------------------------
# The realism layer: patches of moto's in-process backends


@dataclass
class _Patch:
    owner: Any
    name: str
    original: Any


class AwsRealism:
    """Closes the moto gaps a cutover can observe. ``install()`` patches moto; ``uninstall()`` restores it.

    ``now`` is the sandbox's simulated clock; registration times and health
    delays are measured on it.
    """

    def __init__(self, now: Callable[[], float], healthy_after_s: float, region: str = DEFAULT_REGION):
        self.now = now
        self.healthy_after_s = healthy_after_s
        self.region = region
        self._lock = threading.RLock()
        self._patches: list[_Patch] = []
        # (target group arn | "elb:<name>", instance id) -> simulated time of registration
        self._registered_at: dict[tuple[str, str], float] = {}
        # group name -> load balancer key -> instance ids this group registered there
        self._by_group: dict[str, dict[str, set[str]]] = {}
        # instances whose health checks fail forever (fault injection)
        self._failing: set[str] = set()
        # group name -> how many of its next newly registered instances should fail
        self._fail_quota: dict[str, int] = {}
        self._seen_by_group: dict[str, set[str]] = {}

    # -- fault injection -------------------------------------------------------------------------------------------

    def fail_targets(self, group_name: str, count: int) -> None:
        """The next ``count`` instances of ``group_name`` to be registered never pass health checks."""
        with self._lock:
            self._fail_quota[group_name] = self._fail_quota.get(group_name, 0) + count

    def mark_failing(self, instance_id: str) -> None:
        """``instance_id`` fails every health check from now on, in every target group and classic ELB."""
        with self._lock:
            self._failing.add(instance_id)

    @property
    def failing_instances(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._failing)

    def settle(self) -> None:
        """Treat every registration so far as long past (the sandbox's initial, already-serving color)."""
        with self._lock:
            past = self.now() - self.healthy_after_s - 1.0
            for key in self._registered_at:
                self._registered_at[key] = min(self._registered_at[key], past)

    # -- install / uninstall ---------------------------------------------------------------------------------------

    def install(self) -> AwsRealism:
        if self._patches:
            return self
        from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup
        from moto.elb.models import ELBBackend
        from moto.elb.responses import ELBResponse
        from moto.elbv2.models import FakeTargetGroup

        realism = self

        # Gap 1: moto registers a group's instances in its target groups but never deregisters
        # them when they leave by scale-in, termination or detach (they stay `healthy` forever).
        def update_attached_target_groups(backend: Any, group_name: str) -> None:
            realism._sync_group(backend, group_name)

        # Gap 2: moto's classic-ELB sync deregisters every instance that is not in *this* group,
        # so two colors attached to one ELB knock each other's instances out of it.
        def update_attached_elbs(backend: Any, group_name: str) -> None:
            realism._sync_group(backend, group_name)

        self._patch(AutoScalingBackend, "update_attached_target_groups", update_attached_target_groups)
        self._patch(AutoScalingBackend, "update_attached_elbs", update_attached_elbs)

        # Gap 3: an instance terminated through EC2 is replaced by the group, but the group's
        # target groups are not updated (only its ELBs).
        original_notify = AutoScalingBackend.notify_terminate_instances

        def notify_terminate_instances(backend: Any, instance_ids: list[str]) -> None:
            original_notify(backend, instance_ids)
            for name in list(backend.autoscaling_groups):
                realism._sync_group(backend, name)

        self._patch(AutoScalingBackend, "notify_terminate_instances", notify_terminate_instances)

        # Gap 4: moto launches every instance of a group into the group's first subnet; AWS
        # balances them across the group's Availability Zones.
        def replace_autoscaling_group_instances(group: Any, count_needed: int, propagated_tags: dict) -> None:
            realism._launch_balanced(group, count_needed, propagated_tags)

        self._patch(FakeAutoScalingGroup, "replace_autoscaling_group_instances", replace_autoscaling_group_instances)

        # Gap 7: moto records suspended processes but ignores them. AWS launches nothing while
        # Launch is suspended (the engine relies on it to keep the old color from growing during
        # a drain) and terminates nothing on scale-in while Terminate is suspended; resuming
        # brings the group back to its desired capacity.
        original_set_desired = FakeAutoScalingGroup.set_desired_capacity
        original_resume = AutoScalingBackend.resume_processes

        def set_desired_capacity(group: Any, new_capacity: int | None) -> None:
            target = group.min_size if new_capacity is None else new_capacity
            if "Terminate" in _suspended(group) and (target or 0) < len(group.active_instances()):
                group.desired_capacity = target  # recorded; nothing is terminated until Terminate resumes
                return
            original_set_desired(group, new_capacity)

        def resume_processes(backend: Any, group_name: str, scaling_processes: list[str]) -> None:
            original_resume(backend, group_name, scaling_processes)
            group = backend.autoscaling_groups[group_name]
            group.set_desired_capacity(group.desired_capacity)

        self._patch(FakeAutoScalingGroup, "set_desired_capacity", set_desired_capacity)
        self._patch(AutoScalingBackend, "resume_processes", resume_processes)

        # Gap 5: targets are `healthy` the moment they are registered; AWS says `initial`
        # (Elb.RegistrationInProgress) until health checks pass, and faults keep some `unhealthy`.
        original_register = FakeTargetGroup.register
        original_deregister = FakeTargetGroup.deregister
        original_health_for = FakeTargetGroup.health_for

        def register(tg: Any, targets: list[dict[str, Any]]) -> None:
            new_ids = [t["Id"] for t in targets if t["Id"] not in tg.targets]
            original_register(tg, targets)
            realism._record_registration(tg.arn, new_ids)

        def deregister(tg: Any, targets: list[dict[str, Any]]) -> None:
            original_deregister(tg, targets)
            realism._forget_registration(tg.arn, [t["Id"] for t in targets])

        def health_for(tg: Any, target: dict[str, Any], ec2: Any) -> Any:
            status = original_health_for(tg, target, ec2)
            if status.status != "healthy" or not str(target["Id"]).startswith("i-"):
                return status
            verdict = realism._target_verdict(tg.arn, target["Id"])
            status.status, status.reason, status.description = verdict.state, verdict.reason, verdict.description
            return status

        self._patch(FakeTargetGroup, "register", register)
        self._patch(FakeTargetGroup, "deregister", deregister)
        self._patch(FakeTargetGroup, "health_for", health_for)

        # Gap 6: classic ELBs say InService the moment an instance is registered; AWS says
        # OutOfService until the health checks pass. moto's response also hard-codes
        # ReasonCode/Description "N/A", so the response method is replaced to pass ours through.
        original_elb_register = ELBBackend.register_instances
        original_elb_deregister = ELBBackend.deregister_instances
        original_instance_health = ELBBackend.describe_instance_health

        def elb_register(backend: Any, name: str, instance_ids: Iterable[str], from_autoscaling: bool = False) -> Any:
            ids = list(instance_ids)
            lb = backend.get_load_balancer(name)
            new_ids = [i for i in ids if lb is not None and i not in lb.instance_ids]
            result = original_elb_register(backend, name, ids, from_autoscaling=from_autoscaling)
            realism._record_registration(f"elb:{name}", new_ids)
            return result

        def elb_deregister(backend: Any, name: str, instance_ids: Iterable[str], from_autoscaling: bool = False) -> Any:
            ids = list(instance_ids)
            result = original_elb_deregister(backend, name, ids, from_autoscaling=from_autoscaling)
            lb = backend.get_load_balancer(name)
            still = set(lb.instance_ids) if lb is not None else set()
            realism._forget_registration(f"elb:{name}", [i for i in ids if i not in still])
            return result

        def describe_instance_health(backend: Any, lb_name: str, instances: list[dict[str, str]]) -> list[dict]:
            states = original_instance_health(backend, lb_name, instances)
            for entry in states:
                if entry["State"] == "InService":
                    verdict = realism._instance_verdict(f"elb:{lb_name}", entry["InstanceId"])
                    entry.update(State=verdict.state, ReasonCode=verdict.reason_code, Description=verdict.description)
                elif entry["State"] == "OutOfService":
                    entry.setdefault("ReasonCode", "Instance")
                    entry.setdefault("Description", "Instance is in stopped state.")
            return states

        def describe_instance_health_response(response: Any) -> Any:
            from moto.core.responses import ActionResult

            lb_name = response._get_param("LoadBalancerName")
            instances = response._get_param("Instances", [])
            states = response.elb_backend.describe_instance_health(lb_name, instances)
            return ActionResult(
                {
                    "InstanceStates": [
                        {
                            "Description": s.get("Description", "N/A"),
                            "InstanceId": s["InstanceId"],
                            "State": s["State"],
                            "ReasonCode": s.get("ReasonCode", "N/A"),
                        }
                        for s in states
                    ]
                }
            )

        self._patch(ELBBackend, "register_instances", elb_register)
        self._patch(ELBBackend, "deregister_instances", elb_deregister)
        self._patch(ELBBackend, "describe_instance_health", describe_instance_health)
        self._patch(ELBResponse, "describe_instance_health", describe_instance_health_response)
        return self

    def uninstall(self) -> None:
        for patch in reversed(self._patches):
            setattr(patch.owner, patch.name, patch.original)
        self._patches.clear()

    def _patch(self, owner: Any, name: str, replacement: Any) -> None:
        self._patches.append(_Patch(owner, name, owner.__dict__[name]))
        setattr(owner, name, replacement)

    # -- bookkeeping -----------------------------------------------------------------------------------------------

    def _record_registration(self, lb_key: str, instance_ids: Iterable[str]) -> None:
        now = self.now()
        with self._lock:
            for instance_id in instance_ids:
                self._registered_at[(lb_key, instance_id)] = now

    def _forget_registration(self, lb_key: str, instance_ids: Iterable[str]) -> None:
        with self._lock:
            for instance_id in instance_ids:
                self._registered_at.pop((lb_key, instance_id), None)

    def _target_verdict(self, lb_key: str, instance_id: str) -> TargetHealth:
        with self._lock:
            registered_at = self._registered_at.get((lb_key, instance_id), float("-inf"))
            failing = instance_id in self._failing
        return target_health(registered_at, self.now(), self.healthy_after_s, failing)

    def _instance_verdict(self, lb_key: str, instance_id: str) -> InstanceHealth:
        with self._lock:
            registered_at = self._registered_at.get((lb_key, instance_id), float("-inf"))
            failing = instance_id in self._failing
        return instance_health(registered_at, self.now(), self.healthy_after_s, failing)

    def reconcile(self) -> None:
        """Bring every group's load-balancer registrations in line with its members. Hold MotoServer.lock."""
        backend = autoscaling_backend(self.region)
        for name in list(backend.autoscaling_groups):
            self._sync_group(backend, name)

    def _sync_group(self, backend: Any, group_name: str) -> None:
        """Register the group's serving instances in its target groups and classic ELBs, and
        deregister the instances this group put there that are no longer serving members."""
        from moto.elbv2.exceptions import TargetGroupNotFoundError

        group = backend.autoscaling_groups.get(group_name)
        if group is None:
            return
        # instance_states is in launch order, which "the first N new instances" relies on
        ordered = [
            s.instance.id
            for s in group.instance_states
            if s.instance.state == "running" and s.lifecycle_state == "InService"
        ]
        members = set(ordered)
        with self._lock:
            self._apply_fail_quota(group_name, ordered)
            registered = self._by_group.setdefault(group_name, {})
        for arn in list(group.target_group_arns):
            try:
                tg = backend.elbv2_backend.target_groups[arn]
            except KeyError:
                continue
            mine = registered.setdefault(arn, set())
            joining = sorted(members - set(tg.targets))
            leaving = sorted(i for i in mine - members if i in tg.targets)
            try:
                if joining:
                    tg.register([{"Id": i, "Port": tg.port} for i in joining])
                if leaving:
                    tg.deregister([{"Id": i} for i in leaving])
            except TargetGroupNotFoundError:
                continue
            registered[arn] = (mine | members) - set(leaving)
        for lb_name in list(group.load_balancer_names):
            lb = backend.elb_backend.get_load_balancer(lb_name)
            if lb is None:
                continue
            key = f"elb:{lb_name}"
            mine = registered.setdefault(key, set())
            joining = sorted(members - set(lb.instance_ids))
            leaving = sorted(i for i in mine - members if i in lb.instance_ids)
            if joining:
                backend.elb_backend.register_instances(lb_name, joining, from_autoscaling=True)
            if leaving:
                backend.elb_backend.deregister_instances(lb_name, leaving, from_autoscaling=True)
            registered[key] = (mine | members) - set(leaving)
        # Load balancers detached from the group: its instances leave them too.
        attached = set(group.target_group_arns) | {f"elb:{n}" for n in group.load_balancer_names}
        for key in [k for k in registered if k not in attached]:
            self._drop_all(backend, key, registered.pop(key))

    def _drop_all(self, backend: Any, key: str, instance_ids: set[str]) -> None:
        if key.startswith("elb:"):
            name = key[4:]
            lb = backend.elb_backend.get_load_balancer(name)
            if lb is not None:
                present = [i for i in instance_ids if i in lb.instance_ids]
                if present:
                    backend.elb_backend.deregister_instances(name, present, from_autoscaling=True)
            return
        tg = backend.elbv2_backend.target_groups.get(key)
        if tg is not None:
            present = [i for i in instance_ids if i in tg.targets]
            if present:
                tg.deregister([{"Id": i} for i in present])

    def _apply_fail_quota(self, group_name: str, ordered_members: list[str]) -> None:
        """Mark the first instances of a group seen after ``fail_targets`` as failing (in launch order)."""
        seen = self._seen_by_group.setdefault(group_name, set())
        for instance_id in [i for i in ordered_members if i not in seen]:
            seen.add(instance_id)
            if self._fail_quota.get(group_name, 0) > 0:
                self._fail_quota[group_name] -= 1
                self._failing.add(instance_id)

    def _launch_balanced(self, group: Any, count_needed: int, propagated_tags: dict[str, str]) -> None:
        """FakeAutoScalingGroup.replace_autoscaling_group_instances, one instance at a time into the
        subnet whose Availability Zone has the fewest of the group's instances."""
        from moto.autoscaling.models import ASG_NAME_TAG, InstanceState

        propagated_tags[ASG_NAME_TAG] = group.name
        propagated_tags.update(group.instance_tags)
        subnet_ids = [s for s in (group.vpc_zone_identifier or "").split(",") if s]
        ec2 = group.autoscaling_backend.ec2_backend
        subnet_zone = {s: ec2.get_subnet(s).availability_zone for s in subnet_ids}
        launch_template = None
        if group.ec2_launch_template:
            if group.ec2_launch_template.id:
                launch_template = {"LaunchTemplateId": group.ec2_launch_template.id}
            elif group.ec2_launch_template.name:
                launch_template = {"LaunchTemplateName": group.ec2_launch_template.name}
        associate_public_ip = group.launch_config.associate_public_ip_address if group.launch_config else None
        if "Launch" in _suspended(group):
            return  # Gap 7: nothing launches while Launch is suspended
        for _ in range(count_needed):
            per_zone = Counter(s.instance.placement.zone for s in group.active_instances())
            subnet_id = min(subnet_ids, key=lambda s: per_zone[subnet_zone[s]]) if subnet_ids else None
            zone = subnet_zone[subnet_id] if subnet_id else group.availability_zones[0]
            reservation = ec2.run_instances(
                group.image_id,
                1,
                group.user_data,
                group.security_groups,
                instance_type=group.instance_type,
                tags={"instance": dict(propagated_tags)},
                placement=zone,
                launch_config=group.launch_config,
                launch_template=launch_template,
                is_instance_type_default=False,
                associate_public_ip=associate_public_ip,
                subnet_id=subnet_id,
                # without it moto names every instance ip-….ec2.internal (us-east-1 style)
                region_name=ec2.region_name,
            )
            for instance in reservation.instances:
                instance.autoscaling_group = group
                group.instance_states.append(
                    InstanceState(instance, protected_from_scale_in=group.new_instances_protected_from_scale_in)
                )


def _suspended(group: Any) -> set[str]:
    """Names of the group's suspended scaling processes."""
    return {p["ProcessName"] for p in group.suspended_processes}
