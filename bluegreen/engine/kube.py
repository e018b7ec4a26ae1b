"""The Kubernetes calls a cutover makes, over the official client's ApiClient, as plain JSON dicts.

One place retries: 429/5xx/connection failures are repeated with backoff, or
after the server's Retry-After when it sends one (as client-go does). An
eviction's 429 whose Status names a DisruptionBudget cause is a budget's answer
and is returned to the drain, which has its own, longer, policy; any other 429
is the API server throttling (API Priority and Fairness answers a plain-text
"Too many requests" with Retry-After) and is retried here like any other call.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote

from bluegreen.engine.errors import KubernetesApiError
from bluegreen.engine.eviction import EvictionOutcome
from bluegreen.engine.listing import PAGE_SIZE, PAGED_RESTARTS, Listed, continue_of, expired_continue, page_query
from bluegreen.engine.naming import COLOR_LABEL, DEFAULT_POOL, POOL_LABEL, in_pool
from bluegreen.engine.retries import backoff_delay, is_retryable
from bluegreen.engine.selectors import parse_selector_text, text_matches
from bluegreen.engine.watch import Collection

#: Longest Retry-After honoured (seconds): a server asking for more is asked again sooner.
MAX_RETRY_AFTER_S = 30.0


def http_retries():
    """urllib3's own retries for the client's pool: connection trouble only. Left at its default, urllib3 also
    sleeps out a 429's Retry-After on GETs by itself (real time, unbounded, invisible to the clock and to
    ``request``'s count), so one place, ``KubeApi.request``, decides about every HTTP answer."""
    from urllib3.util.retry import Retry

    return Retry(total=3, respect_retry_after_header=False)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    retry_after_s: float | None = None  # the Retry-After header, when the server sent one

    @property
    def message(self) -> str:
        return str(self.body.get("message") or self.body.get("reason") or "")


@dataclass(frozen=True)
class EvictionAnswer:
    """Outcome of one eviction request: accepted, refused by a budget (429), gone (404), or another failure."""

    outcome: EvictionOutcome
    status: int
    message: str
    pdb: str | None = None


class KubeApi:
    def __init__(self, api_client, *, max_attempts: int = 8, sleep=time.sleep) -> None:
        self.api_client = api_client
        self.max_attempts = max_attempts
        self._sleep = sleep
        self.requests = 0
        self.retried = 0
        self._count_lock = threading.Lock()
        #: Collections kept current by a watch while ``watched`` is active (path -> Collection): lists of them are
        #: answered from memory.
        self._watched: dict[tuple[str, str], Collection] = {}
        self._fresh = 0  # > 0 while ``fresh`` is active: lists go to the server

    # -- transport -----------------------------------------------------------------------------------------

    def _once(self, method: str, path: str, query: dict | None, body, content_type: str | None) -> Answer:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        with self._count_lock:
            self.requests += 1
        try:
            args = self.api_client.param_serialize(
                method, path, query_params=list((query or {}).items()), header_params=headers, body=body,
                auth_settings=["BearerToken"],
            )
            response = self.api_client.call_api(*args, _request_timeout=30)
            response.read()
            raw = response.data or b""
            status = int(response.status)
            retry_after = retry_after_seconds(response.getheader("Retry-After"))
        except Exception as exc:  # urllib3 connection errors, timeouts, ApiException(status=0)
            return Answer(0, {"message": f"{type(exc).__name__}: {exc}"})
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {"message": raw[:200].decode("utf-8", "replace").strip()}
        return Answer(status, parsed if isinstance(parsed, dict) else {"items": parsed}, retry_after)

    def request(self, method: str, path: str, *, query: dict | None = None, body=None,
                content_type: str | None = None, retry_429: bool = True, ok_statuses: tuple[int, ...] = ()) -> Answer:
        """Send one call, retrying what is retryable; raise KubernetesApiError on a final failure
        unless the status is 2xx or in ``ok_statuses``. With ``retry_429=False`` a 429 that a disruption
        budget caused is returned at once; a throttling 429 is retried either way."""
        attempt = 0
        while True:
            attempt += 1
            answer = self._once(method, path, query, body, content_type)
            if answer.status == 429 and not retry_429 and disruption_budget_cause(answer.body) is not None:
                return answer
            if 200 <= answer.status < 300 or (answer.status in ok_statuses and answer.status != 429):
                return answer
            if not is_retryable(answer.status) or attempt >= self.max_attempts:
                message = answer.message
                if answer.status == 429:
                    message = (f"{message} (the API server kept throttling the request, API Priority and "
                               f"Fairness, after {attempt} attempt(s))")
                raise KubernetesApiError(f"{method} {path}", answer.status, message)
            self.retried += 1
            delay = backoff_delay(attempt)
            if answer.retry_after_s is not None:
                delay = max(delay, min(answer.retry_after_s, MAX_RETRY_AFTER_S))
            self._sleep(delay)

    # -- lists and watches ---------------------------------------------------------------------------------

    def list_pages(self, path: str, query: dict[str, str] | None = None, *, page_size: int = PAGE_SIZE) -> Listed:
        """The whole collection at ``path`` in pages of ``page_size`` (``limit``/``continue``), as client-go's pager
        reads it (tools/pager/pager.go ``ListPager.List``): a continue token that expired (410 Expired) starts the
        list again from scratch; a second expiry reads it once without ``limit`` (the pager's FullListIfExpired)."""
        restarts = 0
        limit = page_size
        while True:
            items: list[dict] = []
            token: str | None = None
            pages = 0
            while True:
                answer = self.request("GET", path, query=page_query(query, limit=limit, continue_token=token),
                                      ok_statuses=(410,) if token else ())
                if answer.status == 410:
                    if expired_continue(answer.status, answer.body):
                        break
                    raise KubernetesApiError(f"GET {path}", 410, answer.message)
                pages += 1
                items += answer.body.get("items") or []
                token = continue_of(answer.body)
                if token is None:
                    version = str((answer.body.get("metadata") or {}).get("resourceVersion") or "")
                    return Listed(items, version, pages, restarts)
            restarts += 1
            if restarts > PAGED_RESTARTS:
                limit = 0

    def open_stream(self, path: str, query: dict[str, str], *, read_timeout_s: float):
        """A GET whose body is read as it arrives (a watch); the caller reads ``stream_chunks`` and aborts it."""
        with self._count_lock:
            self.requests += 1
        args = self.api_client.param_serialize(
            "GET", path, query_params=list(query.items()), header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        return self.api_client.call_api(*args, _request_timeout=(30, read_timeout_s))

    @staticmethod
    def stream_chunks(response) -> Iterator[bytes]:
        yield from response.response.stream(amt=None, decode_content=True)

    @staticmethod
    def abort_stream(response) -> None:
        """End a streamed response now, from any thread (a blocked read returns)."""
        raw = getattr(response, "response", None)
        if raw is None:
            return
        try:
            raw.shutdown()
            raw.release_conn()
        except Exception:  # noqa: BLE001 - already closed
            pass

    @contextmanager
    def watched(self, *specs: str | tuple[str, str]) -> Iterator[None]:
        """While active, the collections of ``specs`` (a path such as "/api/v1/pods", or (path, label selector))
        are listed once and kept current by a watch (watch.py); ``list_nodes``, ``list_pods``, ``list_all`` and
        ``list_namespaced`` answer them from memory. Collections already watched by an outer ``watched`` are
        reused."""
        keys = [(spec, "") if isinstance(spec, str) else spec for spec in dict.fromkeys(specs)]
        started = [(key, Collection(self, key[0], label_selector=key[1] or None)) for key in keys
                   if key not in self._watched]
        try:
            for key, collection in started:
                collection.start()
                self._watched[key] = collection
            yield
        finally:
            for key, collection in started:
                self._watched.pop(key, None)
                collection.stop()

    @contextmanager
    def fresh(self) -> Iterator[None]:
        """While active, lists go to the server even for watched collections: for a decision the engine takes
        on its own (an implicit budget), which must not lag the server by the watch's latency."""
        self._fresh += 1
        try:
            yield
        finally:
            self._fresh -= 1

    def _cached(self, path: str, label_selector: str | None = None, *, namespace: str | None = None,
                node: str | None = None) -> list[dict] | None:
        """The objects at ``path`` matching ``label_selector`` (in ``namespace``, on ``node``) from a watched
        collection, when one answers it: the whole collection's (selected here), or one watched with that very
        selector; None otherwise, and while a watch is down or ``fresh`` is active."""
        if self._fresh:
            return None
        whole = self._watched.get((path, ""))
        requirements = parse_selector_text(label_selector)
        if whole is not None and whole.stale:
            return None  # its watch is down: ask the server until it is open again
        if whole is not None and requirements is not None:
            equal = [(key, values[0]) for key, operator, values in requirements if operator == "="]
            return [o for o in whole.snapshot(namespace=namespace, node=node, labels=equal)
                    if text_matches(requirements, (o.get("metadata") or {}).get("labels") or {})]
        selected = self._watched.get((path, label_selector or ""))
        if selected is None or selected.stale:
            return None
        return selected.snapshot(namespace=namespace, node=node)

    # -- nodes -----------------------------------------------------------------------------------------------

    def list_nodes(self, label_selector: str | None = None) -> list[dict]:
        cached = self._cached("/api/v1/nodes", label_selector)
        if cached is not None:
            return cached
        return self.list_pages("/api/v1/nodes", {"labelSelector": label_selector} if label_selector else None).items

    def nodes_of_color(self, color: str, pool: str | None = None) -> list[dict]:
        """Nodes labelled with ``color`` (of ``pool`` when given; see naming.in_pool), selected by the server
        (``labelSelector``; the default pool's nodes carry no pool label, or the default pool's name). Filtered
        here as well: the answer is the same whatever selector syntax a server accepts."""
        nodes = self.list_nodes(color_selector(color, pool))
        return [n for n in nodes if _color_and_pool(n, color, pool)]

    def patch_node(self, name: str, patch: dict, *, missing_ok: bool = False) -> dict:
        """A JSON merge patch of the node; with ``missing_ok`` a node that no longer exists answers {}."""
        answer = self.request(
            "PATCH", f"/api/v1/nodes/{quote(name)}", body=patch, content_type="application/merge-patch+json",
            ok_statuses=(404,) if missing_ok else (),
        )
        if answer.status == 404:
            return {}
        watched = self._watched.get(("/api/v1/nodes", ""))
        if watched is not None:
            watched.observe(answer.body)  # read your own write: the next nodes_of_color sees the patch
        return answer.body

    # -- pods ------------------------------------------------------------------------------------------------

    def list_pods(self, *, node: str | None = None, namespace: str | None = None,
                  label_selector: str | None = None, phase: str | None = None) -> list[dict]:
        """Pods selected by the server: on ``node`` (``spec.nodeName``), in ``phase`` (``status.phase``), in
        ``namespace``, matching ``label_selector``; from memory while pods are ``watched``."""
        cached = self._cached("/api/v1/pods", label_selector, namespace=namespace, node=node)
        if cached is not None:
            return [p for p in cached if _pod_matches(p, node, namespace, phase)]
        query: dict[str, str] = {}
        fields = ([f"spec.nodeName={node}"] if node else []) + ([f"status.phase={phase}"] if phase else [])
        if fields:
            query["fieldSelector"] = ",".join(fields)
        if label_selector:
            query["labelSelector"] = label_selector
        path = f"/api/v1/namespaces/{quote(namespace)}/pods" if namespace else "/api/v1/pods"
        return self.list_pages(path, query or None).items

    def get_pod(self, namespace: str, name: str) -> dict | None:
        answer = self.request("GET", f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(name)}", ok_statuses=(404,))
        return None if answer.status == 404 else answer.body

    def delete_pod(self, namespace: str, name: str) -> None:
        self.request("DELETE", f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(name)}", ok_statuses=(404,))

    def evict_pod(self, namespace: str, name: str) -> EvictionAnswer:
        """POST a policy/v1 Eviction. Transient 5xx/connection failures and throttling 429s are retried here;
        a disruption budget's 429 (a Status with a DisruptionBudget cause) is returned as "refused"."""
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
        path = f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(name)}/eviction"
        try:
            answer = self.request("POST", path, body=body, retry_429=False, ok_statuses=(404,))
        except KubernetesApiError as exc:
            return EvictionAnswer(EvictionOutcome.FAILED, exc.status, str(exc))
        if answer.status == 404:
            return EvictionAnswer(EvictionOutcome.GONE, 404, answer.message)
        if answer.status == 429:
            return EvictionAnswer(EvictionOutcome.REFUSED, 429, answer.message,
                                  pdb_name(disruption_budget_cause(answer.body)))
        return EvictionAnswer(EvictionOutcome.EVICTED, answer.status, answer.message)

    # -- other objects -------------------------------------------------------------------------------------

    def list_all(self, group_path: str, resource: str) -> list[dict]:
        """Every object of a resource in all namespaces, e.g. ("/apis/policy/v1", "poddisruptionbudgets"); from
        memory while it is ``watched``."""
        cached = self._cached(f"{group_path}/{resource}")
        return cached if cached is not None else self.list_pages(f"{group_path}/{resource}").items

    def list_namespaced(self, group_path: str, resource: str, namespace: str, *,
                        label_selector: str | None = None) -> list[dict]:
        """Every object of a resource in one namespace (those matching ``label_selector``, when given); from memory
        while the resource is ``watched``."""
        cached = self._cached(f"{group_path}/{resource}", label_selector, namespace=namespace)
        if cached is not None:
            return cached
        query = {"labelSelector": label_selector} if label_selector else None
        return self.list_pages(f"{group_path}/namespaces/{quote(namespace)}/{resource}", query).items

    def get_namespaced(self, group_path: str, resource: str, namespace: str, name: str) -> dict | None:
        answer = self.request(
            "GET", f"{group_path}/namespaces/{quote(namespace)}/{resource}/{quote(name)}", ok_statuses=(404,)
        )
        return None if answer.status == 404 else answer.body


def disruption_budget_cause(body: dict) -> str | None:
    """The message of a Status's DisruptionBudget cause (pkg/registry/core/pod/storage/eviction.go puts one in
    every 429 a budget causes; a StatusCause's type is serialized as "reason"), else None."""
    causes = (body.get("details") or {}).get("causes") or []
    return next((c.get("message") or "" for c in causes if isinstance(c, dict)
                 and (c.get("reason") or c.get("type")) == "DisruptionBudget"), None)


def retry_after_seconds(header: str | None) -> float | None:
    """A Retry-After header in seconds (the API server sends whole seconds); None when absent or unreadable."""
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None


def color_selector(color: str, pool: str | None) -> str:
    """The label selector of ``color``'s nodes in ``pool`` (None: every pool). The default pool's nodes carry no
    pool label or the default pool's own name, which one selector cannot say (requirements are ANDed), so the
    default pool is selected by color alone and the other pools' nodes are filtered out by ``in_pool``."""
    if pool is None or pool == DEFAULT_POOL:
        return f"{COLOR_LABEL}={color}"
    return f"{COLOR_LABEL}={color},{POOL_LABEL}={pool}"


def _pod_matches(pod: dict, node: str | None, namespace: str | None, phase: str | None) -> bool:
    """The field selectors ``list_pods`` sends, answered on a pod from memory."""
    if node is not None and (pod.get("spec") or {}).get("nodeName") != node:
        return False
    if namespace is not None and ((pod.get("metadata") or {}).get("namespace") or "") != namespace:
        return False
    return phase is None or (pod.get("status") or {}).get("phase") == phase


def _color_and_pool(node: dict, color: str, pool: str | None) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return labels.get(COLOR_LABEL) == color and in_pool(labels, pool)


def pdb_name(cause_message: str | None) -> str | None:
    """The API server puts the PDB's name in the DisruptionBudget cause ("The disruption budget NAME needs ...")."""
    if not cause_message:
        return None
    words = cause_message.split()
    if "budget" in words:
        index = words.index("budget")
        if index + 1 < len(words):
            return words[index + 1]
    return cause_message


WORKLOAD_PATHS = {
    "Deployment": ("/apis/apps/v1", "deployments"),
    "StatefulSet": ("/apis/apps/v1", "statefulsets"),
    "ReplicaSet": ("/apis/apps/v1", "replicasets"),
    "DaemonSet": ("/apis/apps/v1", "daemonsets"),
    "ReplicationController": ("/api/v1", "replicationcontrollers"),
}
