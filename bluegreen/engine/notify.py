"""``rollout.notifyUrl``: one JSON POST at the start of a drain, at its failure, at a rollback and at its success.

The body is Slack-compatible (an incoming webhook shows its ``text``) and carries structured fields for anything
else: ``event`` (start | failure | rollback | success), ``cluster``, ``pool``, ``from_group``, ``to_group``,
``detail``. A notification is visibility only: a POST that fails is said in a progress line and never stops (or
fails) a cutover.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from enum import Enum

from bluegreen.engine.groups import GroupSpec
from bluegreen.engine.progress import Note, Reporter

#: How long one POST may take.
NOTIFY_TIMEOUT_S = 10.0
#: How much of an error message goes into ``detail`` (a chat message, not a log).
DETAIL_LIMIT = 3000


class NotifyEvent(Enum):
    START = "start"
    FAILURE = "failure"
    ROLLBACK = "rollback"
    SUCCESS = "success"


_HEADLINE = {
    NotifyEvent.START: ":arrows_counterclockwise: eks-bluegreen: draining {old} onto {new}",
    NotifyEvent.FAILURE: ":x: eks-bluegreen: the drain of {old} onto {new} stopped",
    NotifyEvent.ROLLBACK: ":rewind: eks-bluegreen: rolled back onto {old}; {new} is cordoned",
    NotifyEvent.SUCCESS: ":white_check_mark: eks-bluegreen: {old} drained onto {new}",
}


def message(event: NotifyEvent, old: GroupSpec, new: GroupSpec, detail: str = "") -> dict:
    """The JSON body: Slack's ``text`` and the same facts as fields."""
    headline = _HEADLINE[event].format(old=old.group_name, new=new.group_name)
    detail = detail if len(detail) <= DETAIL_LIMIT else detail[: DETAIL_LIMIT - 3] + "..."
    return {
        "text": f"{headline}\n{detail}" if detail else headline,
        "event": event.value, "cluster": old.cluster_name, "pool": old.pool,
        "from_group": old.group_name, "to_group": new.group_name, "to_ami": new.ami or None, "detail": detail,
    }


def post_json(url: str, body: dict, timeout_s: float = NOTIFY_TIMEOUT_S) -> int:
    """POST ``body`` as JSON; returns the HTTP status (raises on a connection failure or an HTTP error)."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # noqa: S310 - the operator's own URL
        return answer.status


@dataclass
class Notifier:
    """Posts the drain's notifications to ``url`` (None: nothing is sent)."""

    url: str | None
    old: GroupSpec
    new: GroupSpec
    reporter: Reporter

    def send(self, event: NotifyEvent, detail: str = "") -> None:
        if not self.url:
            return
        try:
            post_json(self.url, message(event, self.old, self.new, detail))
        except Exception as exc:  # noqa: BLE001 - a notification never stops a cutover
            self.reporter.emit(Note(f"rollout.notifyUrl: the {event.value} notification failed ({exc})"))
