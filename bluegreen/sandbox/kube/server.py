"""The fake API server: real HTTP, real Kubernetes JSON, routed onto a FakeCluster.

Plain HTTP on loopback; any bearer token is accepted. Supports what the official Python client and
kubectl (get, cordon, uncordon, drain) send; see docs/sandbox-kube.md for the full list.
"""

from __future__ import annotations

import dataclasses
import json
import random
import select
import socket
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from bluegreen.sandbox.kube import discovery, health, listing
from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.errors import (
    ApiError,
    BadRequest,
    InternalError,
    MethodNotAllowed,
    NotFound,
    UnsupportedMediaType,
)
from bluegreen.sandbox.kube.patch import apply_patch
from bluegreen.sandbox.kube.preconditions import delete_options, precondition_conflict
from bluegreen.sandbox.kube.resources import BY_PLURAL, ResourceType
from bluegreen.sandbox.kube.selectors import (
    fields_match,
    key_requirements,
    labels_match,
    parse_field_selector,
    parse_label_selector,
)
from bluegreen.sandbox.kube.tables import to_table
from bluegreen.sandbox.kube.watch import EventType, WatchEvent, bookmark, convert, expired, initial_events

_STATUS_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
                   422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
                   504: "Timeout"}
# A watch sends a BOOKMARK this often (real seconds) when asked to, and 2 s before its timeout
# (cacher/cache_watcher.go nextBookmarkTime, bookmarkFrequency).
_BOOKMARK_EVERY = 60.0
# An idle watch looks this often (real seconds) whether its client has gone.
_WATCH_POLL = 1.0


@dataclass(frozen=True)
class Route:
    rtype: ResourceType | None
    namespace: str | None
    name: str | None
    subresource: str | None
    discovery: dict | None = None
    legacy_watch: bool = False  # /api/v1/watch/..., the deprecated spelling of ?watch=true


class FakeApiServer:
    """Serves ``cluster`` over HTTP on ``host``:``port`` (0 = a free port) once started."""

    def __init__(self, cluster: FakeCluster, host: str = "127.0.0.1", port: int = 0):
        self.cluster = cluster
        self.host = host
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._counts: Counter[str] = Counter()
        # Per "verb resource" (the authorizer's verb: list, watch, get, create, patch, ...): requests and the
        # bytes of their response bodies (a watch's bytes counted as its events go out).
        self._verb_requests: Counter[str] = Counter()
        self._verb_bytes: Counter[str] = Counter()
        self._total_bytes = 0
        self._counts_lock = threading.Lock()
        self._error_rate = 0.0
        self._error_status = 500
        self._error_rng = random.Random(0)
        self._stopping = threading.Event()
        #: Tracebacks of unexpected exceptions while serving (each was answered with a 500 Status).
        self.internal_errors: list[str] = []

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeApiServer is not started; call start() first")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        if self._httpd is not None:
            raise RuntimeError("FakeApiServer already started")
        handler = type("BoundHandler", (_Handler,), {"api": self})
        self._httpd = _QuietServer((self.host, self._port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="fake-kube-api",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.cluster.watch_log.wake_all()  # open watches end now rather than at their timeout
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ faults and figures
    def inject_errors(self, rate: float, status: int, seed: int = 0) -> None:
        """Answer ``rate`` (0..1) of non-discovery requests with ``status`` and a Status body."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"error rate must be between 0 and 1, got {rate}")
        with self._counts_lock:
            self._error_rate, self._error_status, self._error_rng = rate, int(status), random.Random(seed)

    def request_counts(self) -> dict[str, int]:
        """Requests so far: total, per method, eviction, discovery, injected errors, and per "VERB resource"."""
        with self._counts_lock:
            counts = dict(self._counts)
        for key in ("total", "GET", "POST", "PUT", "PATCH", "DELETE", "eviction", "discovery", "errors_injected"):
            counts.setdefault(key, 0)
        return counts

    def traffic(self) -> dict[str, Any]:
        """What the server sent so far: ``requests`` and ``bytes`` (response bodies) per "verb resource", and
        ``total_bytes`` (every response body, discovery and errors included)."""
        with self._counts_lock:
            return {"requests": dict(sorted(self._verb_requests.items())),
                    "bytes": dict(sorted(self._verb_bytes.items())),
                    "total_bytes": self._total_bytes}

    def _count_bytes(self, key: str | None, size: int) -> None:
        with self._counts_lock:
            self._total_bytes += size
            if key is not None:
                self._verb_bytes[key] += size

    def _count(self, *keys: str) -> None:
        with self._counts_lock:
            for key in keys:
                self._counts[key] += 1

    def _health_failing(self, check: str) -> bool:
        """Which health check fails now: only ``shutdown`` (readyz), once the server is stopping."""
        return check == "shutdown" and self._stopping.is_set()

    def _maybe_inject(self) -> int | None:
        with self._counts_lock:
            if self._error_rate and self._error_rng.random() < self._error_rate:
                self._counts["errors_injected"] += 1
                return self._error_status
        return None

    def write_kubeconfig(self, path: str, *, cluster_name: str = "sandbox") -> str:
        """A kubeconfig for this server (token auth, plain HTTP) that kubectl and the client load."""
        config = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": cluster_name, "cluster": {"server": self.url}}],
            "users": [{"name": f"{cluster_name}-user", "user": {"token": "sandbox-token"}}],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": f"{cluster_name}-user",
                                                            "namespace": "default"}}],
            "current-context": cluster_name,
        }
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    # ------------------------------------------------------------------ routing
    def route(self, path: str) -> Route:
        parts = [p for p in path.split("/") if p]
        if parts == ["version"]:
            return Route(None, None, None, None, discovery.VERSION_INFO)
        if parts == ["api"]:
            return Route(None, None, None, None, discovery.api_versions(f"{self.host}:{self.port}"))
        if parts == ["apis"]:
            return Route(None, None, None, None, discovery.api_group_list())
        if parts[:2] == ["api", "v1"]:
            group_version, rest = "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) == 2:
            group = discovery.api_group(parts[1])
            if group is None:
                raise NotFound("the server could not find the requested resource")
            return Route(None, None, None, None, group)
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            raise NotFound("the server could not find the requested resource")
        legacy_watch = bool(rest) and rest[0] == "watch"
        if legacy_watch:
            rest = rest[1:]
        if not rest:
            if legacy_watch:
                raise NotFound("the server could not find the requested resource")
            listing = discovery.api_resource_list(group_version)
            if listing is None:
                raise NotFound("the server could not find the requested resource")
            return Route(None, None, None, None, listing)
        namespace = None
        namespace_subresource = group_version == "v1" and len(rest) == 3 and rest[2] in ("status", "finalize")
        if rest[0] == "namespaces" and len(rest) >= 3 and not namespace_subresource:
            namespace, rest = rest[1], rest[2:]
        rtype = BY_PLURAL.get(rest[0])
        if rtype is None or rtype.group_version != group_version or (namespace is not None and not rtype.namespaced):
            raise NotFound("the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if len(rest) > 3:
            raise NotFound("the server could not find the requested resource")
        if legacy_watch and subresource is not None:
            raise NotFound("the server could not find the requested resource")
        return Route(rtype, namespace, name, subresource, legacy_watch=legacy_watch)


class _QuietServer(ThreadingHTTPServer):
    """A client that drops its connection (a watcher ending its watch) is routine, not a server error: the
    traceback socketserver prints for it is left out; any other error is still printed."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    api: FakeApiServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY, delayed ACKs cost 40 ms a request.
    disable_nagle_algorithm = True
    server_version = "bluegreen-sandbox-kube/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # the tests and the sandbox report request counts instead of access logs

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # ------------------------------------------------------------------ plumbing
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json_body(self, raw: bytes, *, required: bool) -> Any:
        content_type = (self.headers.get("Content-Type") or "").lower()
        if not raw:
            if required:
                raise BadRequest("the request body is empty; send a JSON object")
            return None
        if "protobuf" in content_type:
            # The real server decodes protobuf bodies; the fake models none of the protobuf schemas, so it refuses
            # rather than guessing (or ignoring options such as a DeleteOptions' gracePeriodSeconds).
            raise UnsupportedMediaType(
                f"the sandbox API does not model protobuf request bodies ({content_type}); send the body as "
                "application/json (kubectl and the official clients do by default)")
        if "yaml" in content_type:
            try:
                return yaml.safe_load(raw)
            except yaml.YAMLError as error:
                raise BadRequest(f"the request body is not valid YAML: {error}") from None
        try:
            return json.loads(raw)
        except ValueError as error:
            if required:
                raise BadRequest(f"the request body is not valid JSON: {error}") from None
            return None

    #: The "verb resource" the response's bytes are counted under (None: health, discovery, unknown paths).
    _traffic_key: str | None = None

    def _send_text(self, code: int, text: str) -> None:
        data = text.encode()
        self.api._count_bytes(self._traffic_key, len(data))
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(data)

    def _send(self, code: int, body: dict, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.api._count_bytes(self._traffic_key, len(data))
        self.send_response(code)
        for header, value in (headers or {}).items():
            self.send_header(header, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, error: ApiError) -> None:
        self._send(error.code, error.status(), headers=error.headers())

    def _handle(self, method: str) -> None:
        self._traffic_key = None
        raw = self._body()
        split = urlsplit(self.path)
        multi_query = parse_qs(split.query, keep_blank_values=True)
        query = {k: v[-1] for k, v in multi_query.items()}
        parts = [p for p in split.path.split("/") if p]
        if health.is_health_path(parts):
            self.api._count("total", method, "health")
            if method != "GET":
                self._send_error(MethodNotAllowed(f"the server does not allow this method on {split.path}"))
                return
            answer = health.answer(parts, multi_query, self.api._health_failing)
            self._send_text(answer.code, answer.body)
            return
        try:
            route = self.api.route(split.path)
        except ApiError as error:
            self.api._count("total", method, "unknown")
            self._send_error(error)
            return
        if route.discovery is not None:
            self.api._count("total", method, "discovery")
            if method != "GET":
                self._send_error(MethodNotAllowed(f"the server does not allow this method on {split.path}"))
                return
            accept = self.headers.get("Accept") or "application/json"
            if "application/json" not in accept and "*/*" not in accept and "as=APIGroupDiscoveryList" not in accept:
                self._send(406, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                 "message": "only application/json is served", "reason": "NotAcceptable",
                                 "code": 406})
                return
            self._send(200, route.discovery)
            return
        assert route.rtype is not None
        is_eviction = route.subresource == "eviction"
        self.api._count("total", method, f"{method} {route.rtype.plural}" + (f"/{route.subresource}"
                                                                              if route.subresource else ""))
        if is_eviction:
            self.api._count("eviction")
        verb = "watch" if route.legacy_watch else _verb(method, route.name is not None, query)
        self._traffic_key = f"{verb} {route.rtype.plural}" + (
            f"/{route.subresource}" if route.subresource else "")
        with self.api._counts_lock:
            self.api._verb_requests[self._traffic_key] += 1
        injected = self.api._maybe_inject()
        if injected is not None:
            reason = _STATUS_REASONS.get(injected, "InternalError")
            self._send(injected, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                  "message": f"injected fault: the sandbox answers {injected} to this request",
                                  "reason": reason, "code": injected})
            return
        try:
            self._dispatch(method, route, query, raw)
        except ApiError as error:
            self._send_error(error)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as error:  # a bug in the fake: answer like the real server would, and keep it for tests
            self.api.internal_errors.append(f"{method} {self.path}: {traceback.format_exc()}")
            self._send_error(InternalError(f"sandbox API bug while serving {method} {split.path}: {error!r}"))

    def _dispatch(self, method: str, route: Route, query: dict[str, str], raw: bytes) -> None:
        cluster = self.api.cluster
        rtype = route.rtype
        assert rtype is not None
        namespace = route.namespace
        if rtype.namespaced and route.name is not None and namespace is None:
            raise NotFound("the server could not find the requested resource")
        if route.legacy_watch:
            # The deprecated watch paths (installer.go, "WATCH" and "WATCHLIST" actions): the same watch, one
            # object's being a watch of the collection with metadata.name selected.
            if method != "GET":
                raise MethodNotAllowed(f"the server does not allow this method on the requested resource "
                                       f"({method} on a watch path)")
            query = {**query, "watch": "true"}
            if route.name is not None:
                by_name = f"metadata.name={route.name}"
                query["fieldSelector"] = f"{query['fieldSelector']},{by_name}" if query.get("fieldSelector") \
                    else by_name
            route = Route(rtype, namespace, None, None)
        if route.subresource not in (None, "status", "eviction", "scale") or (
            route.subresource == "eviction" and rtype.plural != "pods"
        ):
            raise NotFound("the server could not find the requested resource")
        verb = _verb(method, route.name is not None, query)
        if route.subresource is None and verb not in rtype.verbs:
            raise MethodNotAllowed(f"the server does not allow this method on the requested resource ({verb} "
                                   f"{rtype.plural}; the sandbox serves {rtype.plural} as {', '.join(rtype.verbs)} "
                                   "only)")
        if route.subresource == "scale" and route.name is not None:
            self._scale(method, route, raw)
            return
        body_options = self._json_body(raw, required=False) if method == "DELETE" else None
        dry_run = query.get("dryRun") == "All" or "All" in ((body_options or {}).get("dryRun") or [])
        if dry_run and method != "GET":
            self._dry_run(method, route, raw)
            return
        if method == "GET" and route.name is None:
            options = listing.parse(query)
            listing.validate(options)
            if options.watch:
                self._watch(rtype, namespace, options)
                return
            items, list_metadata = self._list(rtype, namespace, options)
            if self._wants_table():
                table = to_table(rtype, items, now_stamp=cluster.timestamp(),
                                 resource_version=list_metadata["resourceVersion"],
                                 include_object=query.get("includeObject", "Metadata"))
                table["metadata"].update(list_metadata)
                self._send(200, table)
                return
            self._send(200, {"kind": f"{rtype.kind}List", "apiVersion": rtype.api_version,
                             "metadata": list_metadata, "items": items})
        elif method == "GET":
            # resourceVersion on a get: "" and "0" read the current object, N waits until the server reached N
            # (cacher.go Get, then 504 "Too large resource version").
            wanted = listing.parse({"resourceVersion": query.get("resourceVersion", "")}).start_resource_version()
            if wanted is not None:
                self._wait_for(wanted)
            obj = cluster.read(rtype.plural, namespace, route.name)
            if self._wants_table() and route.subresource is None:
                self._send(200, to_table(rtype, [obj], now_stamp=cluster.timestamp(),
                                         resource_version=obj["metadata"]["resourceVersion"],
                                         include_object=query.get("includeObject", "Metadata")))
                return
            self._send(200, obj)
        elif method == "POST" and route.subresource == "eviction":
            self._send(201, cluster.evict(namespace or "default", route.name, self._json_body(raw, required=False)))
        elif method == "POST" and route.name is None:
            self._send(201, cluster.create(rtype.plural, namespace, self._json_body(raw, required=True)))
        elif method == "PUT" and route.name is not None:
            body = self._json_body(raw, required=True)
            if route.subresource == "status":
                self._send(200, cluster.update_status(rtype.plural, namespace, route.name, body=body))
            else:
                self._send(200, cluster.replace(rtype.plural, namespace, route.name, body))
        elif method == "PATCH" and route.name is not None:
            patch = self._json_body(raw, required=True)
            content_type = self.headers.get("Content-Type") or ""
            if route.subresource == "status":
                self._send(200, cluster.update_status(rtype.plural, namespace, route.name, patch=patch,
                                                      content_type=content_type))
            else:
                self._send(200, cluster.patch(rtype.plural, namespace, route.name, patch, content_type))
        elif method == "DELETE" and route.name is not None:
            options = delete_options(self._json_body(raw, required=False), query)
            self._send(200, cluster.delete(rtype.plural, namespace, route.name, grace_seconds=options.grace_seconds,
                                           propagation=options.propagation, preconditions=options.preconditions))
        else:
            raise MethodNotAllowed(f"the server does not allow this method on the requested resource "
                                   f"({method} {rtype.plural})")

    def _scale(self, method: str, route: Route, raw: bytes) -> None:
        cluster, rtype = self.api.cluster, route.rtype
        assert rtype is not None and route.name is not None
        if method == "GET":
            self._send(200, cluster.read_scale(rtype.plural, route.namespace, route.name))
        elif method == "PUT":
            self._send(200, cluster.update_scale(rtype.plural, route.namespace, route.name,
                                                 body=self._json_body(raw, required=True)))
        elif method == "PATCH":
            self._send(200, cluster.update_scale(rtype.plural, route.namespace, route.name,
                                                 patch=self._json_body(raw, required=True),
                                                 content_type=self.headers.get("Content-Type") or ""))
        else:
            raise MethodNotAllowed(f"the server does not allow {method} on {rtype.plural}/scale")

    def _dry_run(self, method: str, route: Route, raw: bytes) -> None:
        """dryRun=All: evictions are decided (429 and all), patches and deletes are answered, nothing is kept."""
        cluster, rtype = self.api.cluster, route.rtype
        assert rtype is not None
        if method == "POST" and route.subresource == "eviction":
            self._send(201, cluster.evict(route.namespace or "default", route.name,
                                          self._json_body(raw, required=False), dry_run=True))
        elif method == "PATCH" and route.name is not None and route.subresource is None:
            current = cluster.read(rtype.plural, route.namespace, route.name)
            patched = apply_patch(current, self._json_body(raw, required=True), self.headers.get("Content-Type") or "")
            self._send(200, patched)
        elif method == "DELETE" and route.name is not None:
            current = cluster.read(rtype.plural, route.namespace, route.name)
            options = delete_options(self._json_body(raw, required=False))
            conflict = precondition_conflict(rtype.kind, rtype.group, current, options.preconditions)
            if conflict is not None:
                raise conflict
            self._send(200, current)
        else:
            raise BadRequest(f"the sandbox API does not support dryRun for {method} {rtype.plural}; "
                             "run without --dry-run=server")

    def _wants_table(self) -> bool:
        return "as=Table" in (self.headers.get("Accept") or "")

    # ------------------------------------------------------------------ list and watch
    def _list(self, rtype: ResourceType, namespace: str | None, options: listing.ListOptions,
              ) -> tuple[list[dict], dict]:
        """The items and list metadata of a list, honouring resourceVersion, resourceVersionMatch, limit and
        continue as the real server does (cacher.go GetList; etcd3 store.GetList for Exact and continue)."""
        cluster = self.api.cluster
        history = cluster.watch_log.history(rtype.plural)
        after = None
        if options.continue_token:
            if options.resource_version not in ("", "0"):
                raise BadRequest("specifying resource version is not allowed when using continue")
            at, after = listing.decode_continue(options.continue_token)
        elif listing.exact(options):
            at = int(options.resource_version)
        else:
            wanted = options.start_resource_version()
            if wanted is not None:
                self._wait_for(wanted)
            items, version = cluster.list_objects(rtype.plural, namespace, label_selector=options.label_selector,
                                                  field_selector=options.field_selector)
            if options.resource_version == "0":
                options = dataclasses.replace(options, limit=0)  # served "from the watch cache": limit ignored
            return listing.page(items, int(version), options)
        self._wait_for(at)
        labels = parse_label_selector(options.label_selector)
        fields = parse_field_selector(rtype.plural, options.field_selector)
        with cluster.lock:
            if history.too_old(at):
                if options.continue_token:
                    fresh = listing.encode_continue(int(cluster.resource_version), after or ("", ""))
                    raise listing.continue_too_old(fresh)
                raise listing.list_too_old()
            state = history.state_at(at)
        items = []
        for key in sorted(state):
            if rtype.namespaced and namespace is not None and key[0] != namespace:
                continue
            obj = json.loads(state[key])
            if labels_match(labels, obj["metadata"].get("labels")) and fields_match(fields, obj):
                items.append(obj)
        return listing.page(items, at, options, after)

    def _wait_for(self, wanted: int) -> None:
        """A resourceVersion the server has not reached: wait up to 3 s for it, then 504 (cacher.go
        waitUntilFreshAndBlock)."""
        log = self.api.cluster.watch_log
        deadline = time.monotonic() + listing.FRESHNESS_WAIT_SECONDS
        while int(self.api.cluster.resource_version) < wanted:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.api._stopping.is_set():
                raise listing.too_large(wanted, int(self.api.cluster.resource_version))
            log.wait(int(self.api.cluster.resource_version), min(remaining, 0.1))

    def _watch(self, rtype: ResourceType, namespace: str | None, options: listing.ListOptions) -> None:
        """A watch as the cacher serves it (cacher.go Watch, cache_watcher.go, handlers/watch.go): every change
        after the start as its own event, until timeoutSeconds, the client leaves or the server stops."""
        cluster, log = self.api.cluster, self.api.cluster.watch_log
        history = log.history(rtype.plural)
        labels = parse_label_selector(options.label_selector)
        key_matches, fields = key_requirements(parse_field_selector(rtype.plural, options.field_selector))
        matches = (lambda obj: labels_match(labels, obj["metadata"].get("labels")) and fields_match(fields, obj)) \
            if labels or fields else None
        scope = namespace if rtype.namespaced else None
        timeout = listing.watch_timeout(options, random.Random())
        wanted = options.start_resource_version()
        if options.send_initial_events and wanted is not None:
            self._wait_for(wanted)
        error: dict | None = None
        initial: list[WatchEvent] = []
        with cluster.lock:
            if options.send_initial_events or (wanted is None and options.send_initial_events is None):
                position = int(cluster.resource_version)
                initial = list(initial_events(history.latest, scope, matches, key_matches))
            else:
                position = wanted if wanted is not None else int(cluster.resource_version)
                if history.too_old(position):
                    error = expired(f"too old resource version: {position} ({history.oldest_kept()})")
        table = self._wants_table()
        include_object = self._query_value("includeObject", "Metadata")
        headers_sent = [False]

        def emit(event: WatchEvent) -> None:
            if table and event.type in (EventType.ADDED, EventType.MODIFIED, EventType.DELETED):
                # Server-side printing of watch events: one row each, column definitions on the first only.
                rows = to_table(rtype, [json.loads(event.object_json)], now_stamp=cluster.timestamp(),
                                resource_version="", include_object=include_object)
                rows["metadata"] = {}
                if headers_sent[0]:
                    rows["columnDefinitions"] = None
                headers_sent[0] = True
                event = WatchEvent(event.type, json.dumps(rows, separators=(",", ":")))
            line = event.line()
            self.api._count_bytes(self._traffic_key, len(line))
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            self.wfile.flush()

        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        try:
            if error is not None:
                emit(WatchEvent(EventType.ERROR, json.dumps(error, separators=(",", ":"))))
            else:
                for event in initial:
                    emit(event)
                if options.send_initial_events:
                    emit(bookmark(rtype.kind, rtype.api_version, position, initial_events_end=True))
                self._stream_changes(rtype, scope, (matches, key_matches), position, timeout,
                                     options.allow_watch_bookmarks, emit)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _stream_changes(self, rtype: ResourceType, scope: str | None, filters: tuple[Any, Any], position: int,
                        timeout: float, bookmarks: bool, emit: Any) -> None:
        matches, key_matches = filters
        log = self.api.cluster.watch_log
        history = log.history(rtype.plural)
        started = time.monotonic()
        deadline = started + timeout
        # A bookmark every minute and one 2 s before the timeout (none when the watch is shorter than that).
        next_bookmark = min(started + _BOOKMARK_EVERY, deadline - 2.0) if bookmarks else None
        if next_bookmark is not None and next_bookmark < started:
            next_bookmark = None
        while not self.api._stopping.is_set():
            with log.changed:
                fell_behind = history.too_old(position)
                changes = history.since(position)
                newest = log.last_resource_version
            if fell_behind:
                return  # the real cacher closes a watcher that cannot keep up; the client watches again
            for change in changes:
                event = convert(change, scope, matches, key_matches)
                if event is not None:
                    emit(event)
            position = max(position, newest)
            now = time.monotonic()
            if now >= deadline:
                return
            if next_bookmark is not None and now >= next_bookmark:
                emit(bookmark(rtype.kind, rtype.api_version, position))
                following = now + _BOOKMARK_EVERY
                next_bookmark = following if following < deadline - 2.0 else None
            if self._client_gone():
                return
            wake = min(deadline, next_bookmark or deadline, now + _WATCH_POLL)
            log.wait(position, wake - now)

    def _client_gone(self) -> bool:
        """The watching client closed its connection (readable with nothing to read)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _query_value(self, key: str, default: str) -> str:
        values = parse_qs(urlsplit(self.path).query, keep_blank_values=True).get(key)
        return values[-1] if values else default


def _verb(method: str, named: bool, query: dict[str, str]) -> str:
    """The API verb of a request, as the authorizer names it (endpoints/request/requestinfo.go)."""
    if method == "GET":
        if named:
            return "get"
        return "watch" if query.get("watch") in ("true", "1") else "list"
    return {"POST": "create", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete" if named else "deletecollection"}.get(method, method.lower())
