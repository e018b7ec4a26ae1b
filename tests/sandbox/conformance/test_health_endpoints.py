"""Conformance: /healthz, /livez and /readyz answer as kube-apiserver's health handlers do.

Follows staging/src/k8s.io/apiserver/pkg/server/healthz/healthz.go (handleRootHealth, InstallPathHandler,
adaptCheckToHandler) and the check names the real server registers (server/config.go, genericapiserver).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bluegreen.sandbox.kube import health
from tests.integration.sandbox.kube_fixtures import Served, demo_cluster, needs_kubectl, serve


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from serve(demo_cluster(settle_until=5), tmp_path, speed=None)


def _get(served: Served, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(f"{served.server.url}{path}", timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


@pytest.mark.parametrize("endpoint", ["healthz", "livez", "readyz"])
def test_plain_ok(served, endpoint):
    # healthz.go handleRootHealth: every check passes -> 200 "ok", text/plain.
    assert _get(served, f"/{endpoint}") == (200, "text/plain; charset=utf-8", "ok")


@pytest.mark.parametrize("endpoint", ["healthz", "livez", "readyz"])
def test_verbose_lists_every_check(served, endpoint):
    # healthz.go handleRootHealth with ?verbose: "[+]<check> ok" per check, then "<endpoint> check passed".
    code, _, body = _get(served, f"/{endpoint}?verbose")
    lines = body.splitlines()
    assert code == 200 and lines[-1] == f"{endpoint} check passed"
    assert lines[:3] == ["[+]ping ok", "[+]log ok", "[+]etcd ok"]
    assert ("[+]shutdown ok" in lines) == (endpoint == "readyz")
    assert all(line.startswith("[+]") and line.endswith(" ok") for line in lines[:-1])


def test_single_checks_exclusions_and_unknown_paths(served):
    # healthz.go InstallPathHandler: /<endpoint>/<check> runs one check; ?exclude skips one; unknown -> 404.
    assert _get(served, "/healthz/ping")[::2] == (200, "ok")
    assert _get(served, "/readyz/shutdown")[::2] == (200, "ok")
    assert _get(served, "/livez/shutdown")[0] == 404
    code, _, body = _get(served, "/readyz?verbose&exclude=etcd&exclude=nonesuch")
    assert code == 200 and "[+]etcd excluded: ok" in body.splitlines()
    assert 'warn: some health checks cannot be excluded: no matches for "nonesuch"' in body


def test_a_failing_check_is_a_500_with_reason_withheld():
    # healthz.go handleRootHealth: a failing check prints "[-]<check> failed: reason withheld" and the endpoint
    # answers 500 "<endpoint> check failed" (the fake fails readyz's shutdown check once the server stops).
    answer = health.answer(["readyz"], {}, lambda check: check == "shutdown")
    assert answer.code == 500
    assert "[-]shutdown failed: reason withheld" in answer.body.splitlines()
    assert answer.body.endswith("readyz check failed\n")
    assert health.answer(["readyz", "shutdown"], {}, lambda check: True).code == 500
    assert health.answer(["livez"], {}, lambda check: check == "shutdown").code == 200


@needs_kubectl
@pytest.mark.kubectl
def test_kubectl_get_raw_healthz(served):
    # What `kubectl get --raw /healthz` prints against a real server.
    assert served.kubectl("get", "--raw", "/healthz").stdout == "ok"
    verbose = served.kubectl("get", "--raw", "/readyz?verbose").stdout
    assert verbose.splitlines()[-1] == "readyz check passed"
