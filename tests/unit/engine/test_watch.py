"""The watch stream's framing and how each event changes a watched collection (engine/watch.py)."""

from __future__ import annotations

import pytest

from bluegreen.engine.selectors import parse_selector_text, text_matches
from bluegreen.engine.watch import (
    Collection,
    EventType,
    Expired,
    Store,
    WatchEvent,
    apply_event,
    older,
    parse_events,
    split_lines,
)


def _obj(name: str, version: str, namespace: str = "default") -> dict:
    return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": version}}


def test_lines_are_whole_whatever_the_chunks():
    chunks = [b'{"type":"ADDED","object":{"metadata":{"na', b'me":"a"}}}\n{"type":"BOOK',
              b'MARK","object":{"metadata":{"resourceVersion":"9"}}}\n', b"\n"]
    events = list(parse_events(split_lines(iter(chunks))))
    assert [(e.type, e.object["metadata"]) for e in events] == [
        ("ADDED", {"name": "a"}), ("BOOKMARK", {"resourceVersion": "9"})]


def test_events_change_the_collection_in_order():
    objects: dict = {}
    assert apply_event(objects, WatchEvent(EventType.ADDED, _obj("a", "5"))) == "5"
    assert apply_event(objects, WatchEvent(EventType.MODIFIED, _obj("a", "7"))) == "7"
    assert objects[("default", "a")]["metadata"]["resourceVersion"] == "7"
    assert apply_event(objects, WatchEvent(EventType.BOOKMARK, {"metadata": {"resourceVersion": "8"}})) == "8"
    assert list(objects) == [("default", "a")]
    assert apply_event(objects, WatchEvent(EventType.DELETED, _obj("a", "9"))) == "9"
    assert objects == {}


def test_a_410_error_event_means_list_again_and_other_errors_are_raised():
    with pytest.raises(Expired, match="too old resource version: 3"):
        apply_event({}, WatchEvent(EventType.ERROR, {"kind": "Status", "code": 410, "reason": "Expired",
                                             "message": "too old resource version: 3 (40)"}))
    with pytest.raises(RuntimeError, match="500"):
        apply_event({}, WatchEvent(EventType.ERROR, {"kind": "Status", "code": 500, "message": "boom"}))


def test_the_engines_own_write_is_not_undone_by_an_event_the_watch_has_not_caught_up_with():
    collection = Collection(kube=None, path="/api/v1/nodes")
    collection._objects = Store({("", "n1"): _obj("n1", "10", namespace="")})
    collection.observe(_obj("n1", "12", namespace=""))  # the PATCH's answer
    apply_event(collection._objects, WatchEvent(EventType.MODIFIED, _obj("n1", "11", namespace="")))  # a stale event
    assert collection.snapshot()[0]["metadata"]["resourceVersion"] == "12"
    apply_event(collection._objects, WatchEvent(EventType.MODIFIED, _obj("n1", "13", namespace="")))
    assert collection.snapshot()[0]["metadata"]["resourceVersion"] == "13"
    collection.observe(_obj("n1", "12", namespace=""))  # an answer older than what the watch brought: ignored
    assert collection.snapshot()[0]["metadata"]["resourceVersion"] == "13"
    assert older(_obj("x", "9"), _obj("x", "10")) and not older(_obj("x", "10"), None)


def test_selectors_answered_from_memory_match_as_the_server_does():
    requirements = parse_selector_text("app=web,tier!=db,canary,!legacy")
    assert requirements is not None
    assert text_matches(requirements, {"app": "web", "canary": "1"})
    assert not text_matches(requirements, {"app": "web", "canary": "1", "tier": "db"})
    assert not text_matches(requirements, {"app": "web", "canary": "1", "legacy": "y"})
    assert not text_matches(requirements, {"app": "web"})
    assert parse_selector_text("tier in (a,b)") is None  # set-based: left to the server
    assert parse_selector_text(None) == []


def test_the_store_selects_by_namespace_node_and_labels_through_its_indexes():
    def pod(name, namespace, node, **labels):
        return {"metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": {"nodeName": node}}
    store = Store()
    store[("a", "p1")] = pod("p1", "a", "n1", app="web")
    store[("a", "p2")] = pod("p2", "a", "n2", app="web")
    store[("b", "p3")] = pod("p3", "b", "n1", app="db")
    names = lambda found: [o["metadata"]["name"] for o in found]  # noqa: E731
    assert names(store.select(node="n1")) == ["p1", "p3"]
    assert names(store.select(namespace="a", labels=[("app", "web")])) == ["p1", "p2"]
    assert names(store.select(labels=[("app", "db")], node="n2")) == []
    store[("a", "p1")] = pod("p1", "a", "n2", app="api")  # moved and relabelled: old index entries go
    assert names(store.select(node="n1")) == ["p3"] and names(store.select(labels=[("app", "web")])) == ["p2"]
    apply_event(store, WatchEvent(EventType.DELETED, pod("p2", "a", "n2", app="web")))
    assert names(store.select(namespace="a")) == ["p1"] and names(store.select()) == ["p1", "p3"]
