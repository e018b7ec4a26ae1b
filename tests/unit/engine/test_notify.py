"""rollout.notifyUrl: the message's shape (pure) and one real POST to a loopback HTTP server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bluegreen.engine.groups import GroupSpec
from bluegreen.engine.notify import DETAIL_LIMIT, Notifier, NotifyEvent, message
from bluegreen.engine.progress import CollectingReporter, Note
from bluegreen.infra.config import ConfigError, parse_config

OLD = GroupSpec("prod", "blue", "", 0)
NEW = GroupSpec("prod", "green", "ami-0bbbbbbbbbbbbbbbb", 3)


class Hook:
    """A loopback webhook that records each JSON body (and answers ``status``)."""

    def __init__(self, status: int = 200) -> None:
        bodies: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers["Content-Length"])
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.bodies = bodies
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Hook:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_message_is_slack_text_plus_fields() -> None:
    body = message(NotifyEvent.ROLLBACK, OLD, NEW, "alarm web-5xx")
    assert body["text"].startswith(":rewind: eks-bluegreen: rolled back onto prod-workers-blue")
    assert body["text"].endswith("\nalarm web-5xx")
    assert {k: body[k] for k in ("event", "cluster", "from_group", "to_group", "to_ami")} == {
        "event": "rollback", "cluster": "prod", "from_group": "prod-workers-blue", "to_group": "prod-workers-green",
        "to_ami": "ami-0bbbbbbbbbbbbbbbb"}
    assert len(message(NotifyEvent.FAILURE, OLD, NEW, "x" * 10_000)["detail"]) == DETAIL_LIMIT


def test_notifier_posts_to_a_loopback_server_and_never_raises() -> None:
    reporter = CollectingReporter()
    with Hook() as hook:
        notifier = Notifier(hook.url, OLD, NEW, reporter)
        notifier.send(NotifyEvent.START)
        notifier.send(NotifyEvent.SUCCESS, "3 node(s) drained")
    assert [b["event"] for b in hook.bodies] == ["start", "success"]
    assert hook.bodies[1]["detail"] == "3 node(s) drained"
    with Hook(status=500) as broken:
        Notifier(broken.url, OLD, NEW, reporter).send(NotifyEvent.FAILURE, "stopped")
    assert broken.bodies and "the failure notification failed" in reporter.of(Note)[-1].text
    Notifier(None, OLD, NEW, reporter).send(NotifyEvent.START)  # no URL: nothing sent, nothing said
    assert len(reporter.of(Note)) == 1


def test_notify_url_is_validated() -> None:
    base = {"activeAmi": "ami-0123456789abcdef0", "cluster": {"name": "prod", "create": False}}
    assert parse_config({**base, "rollout": {"notifyUrl": "https://hooks.slack.com/services/T/B/X"}}).rollout \
        .notify_url == "https://hooks.slack.com/services/T/B/X"
    with pytest.raises(ConfigError, match=r"^rollout.notifyUrl: \"hooks.slack.com\" is not an http:// or https://"):
        parse_config({**base, "rollout": {"notifyUrl": "hooks.slack.com"}})
