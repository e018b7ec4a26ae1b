"""Watch events: every change to every object, kept per resource in a bounded history.

Follows the API server's watch cache (staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go):
each write is one event with its own resourceVersion, carrying the object after the change and the
object before it (``PrevObject``). A watch replays the events after its resourceVersion, or answers
410 Expired once they have left the history; a list at an exact resourceVersion, or a continued list,
is rebuilt from the same history. Objects are kept as serialized JSON: a watch writes them as they
are, and a snapshot costs nothing when nobody watches.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bluegreen.sandbox.kube.resources import BY_KIND, BY_PLURAL

#: Events kept per resource unless the cluster is built with another ``watch_history``. The real watch cache
#: keeps between 100 and 102,400 events depending on load (watch_cache.go, eventFreshDuration 75 s).
DEFAULT_HISTORY = 4096

Key = tuple[str, str]  # (namespace or "", name), the store's key


class EventType(StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"
    ERROR = "ERROR"


@dataclass(frozen=True)
class Change:
    """One write: the object after it (for DELETED, its last state at the deletion's resourceVersion)
    and before it (None for ADDED), both as JSON."""

    resource_version: int
    type: EventType
    key: Key
    object_json: str
    previous_json: str | None


def _dumps(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"))


class ResourceHistory:
    """The bounded event history of one resource and the latest JSON of each of its objects."""

    def __init__(self, capacity: int):
        self.events: deque[Change] = deque(maxlen=capacity)
        self.latest: dict[Key, str] = {}
        # resourceVersion of the newest event that fell out of the history (0: none yet).
        self.dropped_through = 0

    def append(self, change: Change) -> None:
        if self.events.maxlen is not None and len(self.events) == self.events.maxlen:
            self.dropped_through = self.events[0].resource_version
        self.events.append(change)
        if change.type is EventType.DELETED:
            self.latest.pop(change.key, None)
        else:
            self.latest[change.key] = change.object_json

    def too_old(self, resource_version: int) -> bool:
        """watch_cache.go getAllEventsSinceLocked: events after ``resource_version`` are no longer all kept."""
        return resource_version < self.dropped_through

    def oldest_kept(self) -> int:
        """The oldest resourceVersion a watch may still start from (the "(M)" of "too old resource version: N (M)")."""
        return self.events[0].resource_version - 1 if self.events else self.dropped_through

    def since(self, resource_version: int) -> list[Change]:
        found: list[Change] = []
        for change in reversed(self.events):
            if change.resource_version <= resource_version:
                break
            found.append(change)
        found.reverse()
        return found

    def state_at(self, resource_version: int) -> dict[Key, str]:
        """Every object as it was at ``resource_version`` (which must not be too old): the current objects with
        the later events undone, newest first, as etcd serves a read at a past revision."""
        state = dict(self.latest)
        for change in reversed(self.events):
            if change.resource_version <= resource_version:
                break
            if change.previous_json is None:
                state.pop(change.key, None)
            else:
                state[change.key] = change.previous_json
        return state


class WatchLog:
    """Histories of all resources plus a condition watchers wait on; written under the cluster lock."""

    def __init__(self, capacity: int = DEFAULT_HISTORY):
        if capacity < 1:
            raise ValueError(f"watch history must keep at least one event, got {capacity}")
        self.capacity = capacity
        self.histories = {plural: ResourceHistory(capacity) for plural in BY_PLURAL}
        self.changed = threading.Condition()
        #: resourceVersion of the newest event of any resource.
        self.last_resource_version = 0

    def history(self, plural: str) -> ResourceHistory:
        return self.histories[plural]

    def _record(self, plural: str, change: Change) -> None:
        with self.changed:
            self.histories[plural].append(change)
            self.last_resource_version = max(self.last_resource_version, change.resource_version)
            self.changed.notify_all()

    def touched(self, obj: dict, tables: Mapping[str, Mapping[Key, dict]]) -> None:
        """``obj`` got a new resourceVersion: MODIFIED if the object stored under its key is this one (same uid);
        a create is recorded once it is stored, and a write to an object no longer stored is not an event."""
        rtype = BY_KIND.get(obj.get("kind", ""))
        if rtype is None:
            return
        metadata = obj["metadata"]
        key = (metadata.get("namespace") or "" if rtype.namespaced else "", metadata["name"])
        stored = tables[rtype.plural].get(key)
        if stored is None or stored["metadata"].get("uid") != metadata.get("uid"):
            return
        history = self.histories[rtype.plural]
        previous = history.latest.get(key)
        if previous is None:
            return
        self._record(rtype.plural, Change(int(metadata["resourceVersion"]), EventType.MODIFIED, key, _dumps(obj),
                                          previous))

    def added(self, plural: str, key: Key, obj: dict) -> None:
        self._record(plural, Change(int(obj["metadata"]["resourceVersion"]), EventType.ADDED, key, _dumps(obj),
                                    None))

    def deleted(self, plural: str, key: Key, obj: dict, resource_version: str) -> None:
        history = self.histories[plural]
        final = {**obj, "metadata": {**obj["metadata"], "resourceVersion": resource_version}}
        self._record(plural, Change(int(resource_version), EventType.DELETED, key, _dumps(final),
                                    history.latest.get(key, _dumps(obj))))

    def wait(self, seen: int, timeout: float) -> None:
        """Block until an event newer than ``seen`` is recorded, or ``timeout`` seconds pass."""
        with self.changed:
            if self.last_resource_version <= seen and timeout > 0:
                self.changed.wait(timeout)

    def wake_all(self) -> None:
        with self.changed:
            self.changed.notify_all()


class ObjectTable(dict):
    """One resource's stored objects by key; storing a new key records ADDED, removing one records DELETED
    with a fresh resourceVersion (as etcd gives the deletion its own revision)."""

    def __init__(self, plural: str, log: WatchLog, next_resource_version: Callable[[], str]):
        super().__init__()
        self._plural = plural
        self._log = log
        self._next_resource_version = next_resource_version

    def __setitem__(self, key: Key, obj: dict) -> None:
        existed = key in self
        super().__setitem__(key, obj)
        if not existed:
            self._log.added(self._plural, key, obj)

    def __delitem__(self, key: Key) -> None:
        obj = self[key]
        super().__delitem__(key)
        self._log.deleted(self._plural, key, obj, self._next_resource_version())

    def pop(self, key: Key, *default: Any) -> Any:  # keep the log complete whichever way an object goes
        if key not in self:
            if default:
                return default[0]
            raise KeyError(key)
        obj = self[key]
        del self[key]
        return obj


# ---------------------------------------------------------------------------------------------- what a watcher sees
@dataclass(frozen=True)
class WatchEvent:
    type: EventType
    object_json: str

    def line(self) -> bytes:
        return f'{{"type":"{self.type.value}","object":{self.object_json}}}\n'.encode()


Matcher = Callable[[dict], bool]


def _with_resource_version(object_json: str, resource_version: int) -> str:
    obj = json.loads(object_json)
    obj.setdefault("metadata", {})["resourceVersion"] = str(resource_version)
    return _dumps(obj)


def convert(change: Change, namespace: str | None, matches: Matcher | None,
            key_matches: Callable[[Key], bool] | None = None) -> WatchEvent | None:
    """What one watcher sees of ``change`` (cacher/cache_watcher.go convertToWatchEvent): an object that starts
    matching the watch's selectors is ADDED, one that stops matching is DELETED (its previous state at the
    change's resourceVersion), a change outside the selectors is not sent. ``key_matches`` answers the
    selectors on name and namespace from the key (they cannot change for a key)."""
    if namespace is not None and change.key[0] != namespace:
        return None
    if key_matches is not None and not key_matches(change.key):
        return None
    if matches is None:
        return WatchEvent(change.type, change.object_json)
    now_passes = change.type is not EventType.DELETED and matches(json.loads(change.object_json))
    before_passes = change.previous_json is not None and matches(json.loads(change.previous_json))
    if now_passes and before_passes:
        return WatchEvent(EventType.MODIFIED, change.object_json)
    if now_passes:
        return WatchEvent(EventType.ADDED, change.object_json)
    if before_passes:
        assert change.previous_json is not None
        return WatchEvent(EventType.DELETED, _with_resource_version(change.previous_json, change.resource_version))
    return None


def bookmark(kind: str, api_version: str, resource_version: int, *, initial_events_end: bool = False) -> WatchEvent:
    """A BOOKMARK: an empty object of the watched kind carrying only the resourceVersion reached
    (cacher.go, cache_watcher.go; with the k8s.io/initial-events-end annotation after sendInitialEvents)."""
    metadata: dict[str, Any] = {"resourceVersion": str(resource_version), "creationTimestamp": None}
    if initial_events_end:
        metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
    return WatchEvent(EventType.BOOKMARK, _dumps({"kind": kind, "apiVersion": api_version, "metadata": metadata}))


def expired(message: str) -> dict:
    """The Status of a 410 Gone for a resourceVersion the history no longer covers (errors.NewResourceExpired)."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": "Expired", "code": 410}


def initial_events(state: dict[Key, str], namespace: str | None, matches: Matcher | None,
                   key_matches: Callable[[Key], bool] | None = None) -> Iterator[WatchEvent]:
    """ADDED for every object that exists and matches, in key order (a watch from resourceVersion "" or "0")."""
    for key in sorted(state):
        if namespace is not None and key[0] != namespace:
            continue
        if key_matches is not None and not key_matches(key):
            continue
        object_json = state[key]
        if matches is None or matches(json.loads(object_json)):
            yield WatchEvent(EventType.ADDED, object_json)
