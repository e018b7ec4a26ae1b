"""A collection kept current by one list and one watch: the engine's informer.

A drain polls the same few collections (pods, ReplicaSets, PodDisruptionBudgets) every poll interval for many
minutes. Listed again each time they cost the API server the whole collection per poll; watched they cost one list
and then only the changes. ``Collection`` does what client-go's reflector does
(staging/src/k8s.io/client-go/tools/cache/reflector.go ``ListAndWatch``/``watchHandler``):

* list the collection in pages (``KubeApi.list_pages``), remember the list's ``metadata.resourceVersion``;
* watch from that resourceVersion (``?watch=1&resourceVersion=RV&allowWatchBookmarks=true&timeoutSeconds=N``),
  applying each event (one JSON object per line: ``{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": …}``)
  to the local copy and remembering each event's resourceVersion (a BOOKMARK carries only that);
* when a watch ends (its timeoutSeconds, a dropped connection) watch again from the last resourceVersion seen;
* when the server answers 410 Gone / ``Expired`` (the resourceVersion left its watch cache: an ERROR event, or a
  410 status to the watch request itself) list again from scratch and watch from the new list.

A background thread reads the watch; readers get a consistent snapshot of the objects (the state after some prefix
of the server's events) under a lock. The engine's decisions stay on its own clock: it still looks every poll
interval (``clock.sleep``), only the look reads memory instead of the API server. With the simulated clock of the
sandbox this matters: a watch cannot replace ``clock.sleep`` (its timeout runs in real seconds on the server), so
the cadence of every wait is unchanged and only its reads became cheap. A snapshot may lag the server by the
stream's latency (milliseconds on a real cluster as on loopback); every decision the engine takes on a snapshot is
one it took on a list read a moment earlier before. A PodDisruptionBudget is enforced by the Eviction API, not by
the engine's copy; the implicit budget, the engine's own, confirms a "yes" on a fresh read (``KubeApi.fresh``);
while a watch is down the copy is ``stale`` and reads go to the server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from enum import StrEnum

#: Seconds (real) a watch request asks the server to keep it open before it is renewed.
WATCH_TIMEOUT_S = 300
#: Seconds (real) to wait before watching again after a failed watch request (connection refused, 5xx): the
#: first pause, doubled on every failure in a row up to ``REWATCH_BACKOFF_MAX_S``. Short: while the watch is down
#: every read of the collection is a list from the server.
REWATCH_BACKOFF_S = 0.05
REWATCH_BACKOFF_MAX_S = 2.0


class EventType(StrEnum):
    """The ``type`` of a watch event (apimachinery/pkg/watch/watch.go)."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"
    ERROR = "ERROR"


@dataclass(frozen=True)
class WatchEvent:
    type: EventType
    object: dict


def parse_events(lines: Iterator[bytes]) -> Iterator[WatchEvent]:
    """Watch events from the stream's lines (handlers/watch.go: one JSON object per line, no array)."""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        data = json.loads(line)
        yield WatchEvent(EventType(str(data.get("type") or "")), data.get("object") or {})


def split_lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Whole lines out of a stream of byte chunks of any size."""
    rest = b""
    for chunk in chunks:
        rest += chunk
        *lines, rest = rest.split(b"\n")
        yield from lines
    if rest.strip():
        yield rest


def object_key(obj: dict) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name") or "")


def older(obj: dict, than: dict | None) -> bool:
    """``obj`` is an older state than ``than`` of the same object. resourceVersions are opaque to clients in
    general; every kube-apiserver backed by etcd issues them as increasing integers (the etcd revision,
    storage/etcd3 APIObjectVersioner), and a watch delivers them in order, so comparing them as integers only
    tells the engine's own newer write from an event the watch has not caught up with yet."""
    if than is None:
        return False
    mine = (obj.get("metadata") or {}).get("resourceVersion") or ""
    theirs = (than.get("metadata") or {}).get("resourceVersion") or ""
    return mine.isdigit() and theirs.isdigit() and int(mine) < int(theirs)


Key = tuple[str, str]


class Store(dict):
    """A watched collection's objects by (namespace, name), indexed by namespace, by ``spec.nodeName`` and by
    label, so a read of one node's or one workload's pods out of thousands costs what a selected list would."""

    def __init__(self, objects: dict[Key, dict] | None = None):
        super().__init__()
        self.by_namespace: dict[str, set[Key]] = {}
        self.by_node: dict[str, set[Key]] = {}
        self.by_label: dict[tuple[str, str], set[Key]] = {}
        for key, obj in (objects or {}).items():
            self[key] = obj

    @staticmethod
    def _terms(obj: dict) -> tuple[str, str | None, list[tuple[str, str]]]:
        meta = obj.get("metadata") or {}
        return (meta.get("namespace") or "", (obj.get("spec") or {}).get("nodeName"),
                list((meta.get("labels") or {}).items()))

    def _unindex(self, key: Key, obj: dict) -> None:
        namespace, node, labels = self._terms(obj)
        self.by_namespace.get(namespace, set()).discard(key)
        if node:
            self.by_node.get(node, set()).discard(key)
        for pair in labels:
            self.by_label.get(pair, set()).discard(key)

    def __setitem__(self, key: Key, obj: dict) -> None:
        if key in self:
            self._unindex(key, self[key])
        super().__setitem__(key, obj)
        namespace, node, labels = self._terms(obj)
        self.by_namespace.setdefault(namespace, set()).add(key)
        if node:
            self.by_node.setdefault(node, set()).add(key)
        for pair in labels:
            self.by_label.setdefault(pair, set()).add(key)

    def pop(self, key: Key, *default):  # type: ignore[override]
        if key in self:
            self._unindex(key, self[key])
        return super().pop(key, *default)

    def select(self, *, namespace: str | None = None, node: str | None = None,
               labels: list[tuple[str, str]] = ()) -> list[dict]:
        """The objects in ``namespace``, on ``node``, carrying every ``labels`` pair, in (namespace, name) order."""
        candidates: set[Key] | None = None
        for found in ([self.by_namespace.get(namespace, set())] if namespace is not None else []) + (
                [self.by_node.get(node, set())] if node is not None else []) + [
                self.by_label.get(pair, set()) for pair in labels]:
            candidates = set(found) if candidates is None else candidates & found
        keys = self.keys() if candidates is None else candidates
        return [self[k] for k in sorted(keys)]


class Expired(Exception):
    """The server no longer has the events after the resourceVersion asked for (410 Gone): list again."""


def apply_event(objects: dict[tuple[str, str], dict], event: WatchEvent) -> str | None:
    """Apply one event to ``objects``; returns the resourceVersion it brings (None when it brings none).
    Raises Expired for an ERROR event with code 410 and RuntimeError for any other ERROR."""
    if event.type is EventType.ERROR:
        if int(event.object.get("code") or 0) == 410:
            raise Expired(str(event.object.get("message") or "too old resource version"))
        raise RuntimeError(f"watch error: {event.object.get('code')} {event.object.get('message')}")
    version = (event.object.get("metadata") or {}).get("resourceVersion")
    if event.type in (EventType.ADDED, EventType.MODIFIED):
        key = object_key(event.object)
        if not older(event.object, objects.get(key)):  # not behind the engine's own write (Collection.observe)
            objects[key] = event.object
    elif event.type is EventType.DELETED:
        objects.pop(object_key(event.object), None)
    return version


class Collection:
    """One collection (``path``, e.g. ``/api/v1/pods``, with optional selectors) kept current by list + watch.

    ``start()`` lists it (synchronously: the first snapshot is complete) and starts the watch thread; ``stop()``
    ends the watch. ``snapshot()`` is every object now, in (namespace, name) order."""

    def __init__(self, kube, path: str, *, label_selector: str | None = None, field_selector: str | None = None):
        self.kube = kube
        self.path = path
        self.query: dict[str, str] = {}
        if label_selector:
            self.query["labelSelector"] = label_selector
        if field_selector:
            self.query["fieldSelector"] = field_selector
        self._objects: Store = Store()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._response = None
        self.resource_version = ""
        self.lists = 0  # lists made (1 + one per 410)
        self.watches = 0  # watch requests made
        self.error: str | None = None  # the last watch failure, for a reader's message
        #: The copy may have missed changes: a watch request failed (a 403 for want of the watch verb, a dropped
        #: connection, a 5xx) or answered 410 and the list again is not done. Readers then ask the server.
        self.stale = False

    # -- lifecycle ------------------------------------------------------------------------------------------------
    def start(self) -> Collection:
        self._relist()
        self._thread = threading.Thread(target=self._run, name=f"watch {self.path}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        response = self._response
        if response is not None:
            self.kube.abort_stream(response)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Collection:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- reading --------------------------------------------------------------------------------------------------
    def snapshot(self, *, namespace: str | None = None, node: str | None = None,
                 labels: list[tuple[str, str]] = ()) -> list[dict]:
        """The objects now (in ``namespace``, on ``node``, with every ``labels`` pair, when given), in (namespace,
        name) order."""
        with self._lock:
            return self._objects.select(namespace=namespace, node=node, labels=labels)

    def observe(self, obj: dict) -> None:
        """The object as the server answered the engine's own write of it: kept at once, so a read right after
        the write sees it (as client-go's MutationCache), unless the watch already brought a newer state."""
        key = object_key(obj)
        with self._lock:
            if key in self._objects and not older(obj, self._objects[key]):
                self._objects[key] = obj

    # -- the reflector ------------------------------------------------------------------------------------------
    def _relist(self) -> None:
        listed = self.kube.list_pages(self.path, self.query)
        with self._lock:
            self._objects = Store({object_key(o): o for o in listed.items})
            self.resource_version = listed.resource_version
        self.lists += 1

    def _run(self) -> None:
        pause = REWATCH_BACKOFF_S
        while not self._stopping.is_set():
            try:
                self._watch_once()
                pause = REWATCH_BACKOFF_S
            except Expired:
                if self._stopping.is_set():
                    return
                self.stale = True
                try:
                    self._relist()
                    self.stale = False
                except Exception as exc:  # readers ask the server meanwhile; list again shortly
                    self.error = f"{type(exc).__name__}: {exc}"
                    self._stopping.wait(pause)
                    pause = min(pause * 2, REWATCH_BACKOFF_MAX_S)
            except Exception as exc:  # connection trouble, a 5xx, a 403: watch again after a pause
                if self._stopping.is_set():
                    return
                self.stale = True
                self.error = f"{type(exc).__name__}: {exc}"
                self._stopping.wait(pause)
                pause = min(pause * 2, REWATCH_BACKOFF_MAX_S)

    def _watch_once(self) -> None:
        query = {**self.query, "watch": "1", "resourceVersion": self.resource_version,
                 "allowWatchBookmarks": "true", "timeoutSeconds": str(WATCH_TIMEOUT_S)}
        self.watches += 1
        response = self.kube.open_stream(self.path, query, read_timeout_s=WATCH_TIMEOUT_S + 30)
        self._response = response
        try:
            if response.status == 410:
                raise Expired("watch answered 410")
            if response.status != 200:
                raise RuntimeError(f"watch of {self.path} answered {response.status}")
            if self._stopping.is_set():
                return
            # Open again: it resumes from the last resourceVersion seen, so the changes made while no watch was
            # open come first, within the stream's latency, as any change does.
            self.stale = False
            for event in parse_events(split_lines(self.kube.stream_chunks(response))):
                with self._lock:
                    version = apply_event(self._objects, event)
                    if version:
                        self.resource_version = version
                if self._stopping.is_set():
                    return
        finally:
            self._response = None
            self.kube.abort_stream(response)


#: What a drain reads on every poll: nodes (the old color's, every pass), pods, and the ReplicaSets and
#: PodDisruptionBudgets of every batch.
DRAIN_COLLECTIONS = ("/api/v1/nodes", "/api/v1/pods", "/apis/apps/v1/replicasets",
                     "/apis/policy/v1/poddisruptionbudgets")


def watching(kube, *specs: str | tuple[str, str]) -> AbstractContextManager:
    """``kube.watched(*specs)`` (KubeApi), or nothing for a client that cannot watch (a test's fake)."""
    watched = getattr(kube, "watched", None)
    return watched(*specs) if watched is not None else nullcontext()


def fresh(kube) -> AbstractContextManager:
    """``kube.fresh()`` (KubeApi: reads bypass the watched copies), or nothing for a client without copies."""
    bypass = getattr(kube, "fresh", None)
    return bypass() if bypass is not None else nullcontext()
