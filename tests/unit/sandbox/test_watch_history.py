"""The watch history and list options on plain data: what a watcher sees, what a past state was."""

from __future__ import annotations

import json

import pytest

from bluegreen.sandbox.kube import listing
from bluegreen.sandbox.kube.errors import BadRequest, Invalid
from bluegreen.sandbox.kube.watch import Change, EventType, ResourceHistory, convert


def _json(name: str, rv: int, tier: str) -> str:
    return json.dumps({"kind": "Pod", "metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv),
                                                   "labels": {"tier": tier}}})


def _history(capacity: int = 10) -> ResourceHistory:
    history = ResourceHistory(capacity)
    history.append(Change(1, EventType.ADDED, ("ns", "a"), _json("a", 1, "blue"), None))
    history.append(Change(2, EventType.MODIFIED, ("ns", "a"), _json("a", 2, "green"), _json("a", 1, "blue")))
    history.append(Change(3, EventType.ADDED, ("ns", "b"), _json("b", 3, "blue"), None))
    history.append(Change(4, EventType.DELETED, ("ns", "a"), _json("a", 4, "green"), _json("a", 2, "green")))
    return history


def test_state_at_undoes_later_events():
    history = _history()
    names = lambda state: {k[1]: json.loads(v)["metadata"]["labels"]["tier"] for k, v in state.items()}  # noqa: E731
    assert names(history.state_at(4)) == {"b": "blue"}
    assert names(history.state_at(3)) == {"a": "green", "b": "blue"}
    assert names(history.state_at(1)) == {"a": "blue"}
    assert names(history.state_at(0)) == {}


def test_since_and_too_old_once_events_fall_out():
    history = _history(capacity=3)
    assert [c.resource_version for c in history.since(2)] == [3, 4]
    assert history.too_old(0) and not history.too_old(1) and history.oldest_kept() == 1


def test_convert_follows_selectors():
    blue = lambda obj: obj["metadata"]["labels"]["tier"] == "blue"  # noqa: E731
    history = _history()
    seen = [convert(c, "ns", blue) for c in history.events]
    assert [(e.type, json.loads(e.object_json)["metadata"]["resourceVersion"]) if e else None for e in seen] == [
        (EventType.ADDED, "1"), (EventType.DELETED, "2"), (EventType.ADDED, "3"), None]
    assert all(convert(c, "other", None) is None for c in history.events)
    assert [convert(c, None, None).type for c in history.events] == [  # type: ignore[union-attr]
        EventType.ADDED, EventType.MODIFIED, EventType.ADDED, EventType.DELETED]


def test_list_options_validation_and_continue_tokens():
    with pytest.raises(Invalid) as invalid:
        listing.validate(listing.parse({"resourceVersionMatch": "Exact", "continue": "x"}))
    assert invalid.value.message.startswith('ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden')
    assert listing.exact(listing.parse({"resourceVersion": "7", "limit": "5"}))
    assert not listing.exact(listing.parse({"resourceVersion": "0", "limit": "5"}))
    token = listing.encode_continue(12, ("ns", "b"))
    assert listing.decode_continue(token) == (12, ("ns", "b"))
    with pytest.raises(BadRequest):
        listing.decode_continue("not-a-token")


def test_name_and_namespace_selectors_are_answered_from_the_key():
    from bluegreen.sandbox.kube.selectors import key_requirements, parse_field_selector

    key_test, others = key_requirements(parse_field_selector("pods", "metadata.name=b,status.phase!=Failed"))
    assert key_test is not None and [r.field for r in others] == ["status.phase"]
    assert key_test(("ns", "b")) and not key_test(("ns", "a"))
    history = _history()
    seen = [convert(c, "ns", None, key_test) for c in history.events]
    assert [e.type if e else None for e in seen] == [None, None, EventType.ADDED, None]
    assert key_requirements(parse_field_selector("pods", "spec.nodeName=n"))[0] is None
