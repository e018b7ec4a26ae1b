"""Worker user data and kubeconfig: pure functions over plain strings."""

import base64
import json
import shlex

import pytest
import yaml

from bluegreen.infra.kubeconfig import kubeconfig
from bluegreen.infra.userdata import ClusterJoin, cluster_dns_ip, kubelet_flags, node_labels, user_data

JOIN = ClusterJoin("prod", "https://ABC.gr7.eu-west-1.eks.amazonaws.com", "Q0EK", "10.100.0.0/16")


def test_color_label_comes_first_and_cannot_be_overridden():
    assert node_labels("green", {"b": "2", "a": "1", "bluegreen.io/color": "blue"}) == (
        "bluegreen.io/color=green,a=1,b=2"
    )


def test_taints_only_when_configured():
    assert kubelet_flags("blue", {}, []) == ["--node-labels=bluegreen.io/color=blue"]
    assert kubelet_flags("blue", {}, ["a=b:NoSchedule", "c:NoExecute"])[1] == (
        "--register-with-taints=a=b:NoSchedule,c:NoExecute"
    )


def test_al2023_user_data_is_a_mime_nodeconfig():
    text = base64.b64decode(user_data("AL2023", JOIN, "blue", {"team": "web"}, ["x=y:NoSchedule"])).decode()
    assert text.startswith("MIME-Version: 1.0\nContent-Type: multipart/mixed;")
    body = text.split("Content-Type: application/node.eks.aws\n\n", 1)[1].rsplit("--//BLUEGREEN//--", 1)[0]
    config = yaml.safe_load(body)
    assert config["apiVersion"] == "node.eks.aws/v1alpha1" and config["kind"] == "NodeConfig"
    assert config["spec"]["cluster"] == {
        "name": "prod",
        "apiServerEndpoint": JOIN.endpoint,
        "certificateAuthority": "Q0EK",
        "cidr": "10.100.0.0/16",
    }
    assert config["spec"]["kubelet"]["flags"] == [
        "--node-labels=bluegreen.io/color=blue,team=web",
        "--register-with-taints=x=y:NoSchedule",
    ]


def test_al2_user_data_calls_bootstrap_with_the_same_flags():
    text = base64.b64decode(user_data("AL2", JOIN, "green", {}, [])).decode()
    assert text.startswith("#!/bin/bash\n")
    argv = shlex.split(text.splitlines()[-1])
    assert argv[:2] == ["/etc/eks/bootstrap.sh", "prod"]
    assert argv[argv.index("--dns-cluster-ip") + 1] == "10.100.0.10"
    assert argv[argv.index("--kubelet-extra-args") + 1] == "--node-labels=bluegreen.io/color=green"


def test_dns_ip_is_the_tenth_address_of_the_service_cidr():
    assert cluster_dns_ip("172.20.0.0/16") == "172.20.0.10"


def test_unknown_ami_family_is_refused():
    with pytest.raises(ValueError, match="workers.amiFamily"):
        user_data("Bottlerocket", JOIN, "blue", {}, [])


def test_kubeconfig_uses_exec_tokens_in_the_stack_region():
    config = json.loads(kubeconfig("prod", JOIN.endpoint, "Q0EK", region="eu-west-1"))
    assert config["clusters"][0]["cluster"] == {"server": JOIN.endpoint, "certificate-authority-data": "Q0EK"}
    exec_ = config["users"][0]["user"]["exec"]
    assert exec_["command"] == "aws" and exec_["args"][-2:] == ["--region", "eu-west-1"]
    assert "token" not in json.dumps(config["users"][0]["user"]).replace("get-token", "")


def test_a_pool_label_follows_the_color_outside_the_default_pool():
    assert node_labels("blue", {"a": "1", "bluegreen.io/pool": "x"}, "gpu") == (
        "bluegreen.io/color=blue,bluegreen.io/pool=gpu,a=1"
    )
    assert (
        node_labels("blue", {"a": "1"}, "workers") == node_labels("blue", {"a": "1"}) == "bluegreen.io/color=blue,a=1"
    )
    text = base64.b64decode(user_data("AL2", JOIN, "green", {}, ["nvidia.com/gpu=true:NoSchedule"], "gpu")).decode()
    argv = shlex.split(text.splitlines()[-1])
    assert argv[argv.index("--kubelet-extra-args") + 1] == (
        "--node-labels=bluegreen.io/color=green,bluegreen.io/pool=gpu "
        "--register-with-taints=nvidia.com/gpu=true:NoSchedule"
    )
