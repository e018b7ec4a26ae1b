#!/usr/bin/env bash
# The cutover people script today, after scaling the new group up (the blog post's procedure):
# wait until the new nodes are Ready, then drain the old nodes one at a time, oldest first.
# Real kubectl, default flags but the two the procedure needs; no cordon-all, no health gate between nodes.
#
# usage: kubectl_drain_loop.sh NEW_COLOR OLD_COLOR EXPECTED_NEW_NODES POLL_SECONDS DRAIN_TIMEOUT
# KUBECONFIG must point at the cluster. Scaling the groups (AWS) is done by the caller.
set -euo pipefail
new_color=$1 old_color=$2 expected=$3 poll=$4 drain_timeout=$5
label=bluegreen.io/color

ready_new_nodes() {
  kubectl get nodes -l "$label=$new_color" \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$' || true
}

until [ "$(ready_new_nodes)" -ge "$expected" ]; do
  sleep "$poll"
done
echo "new nodes ready: $expected"

old_nodes=$(kubectl get nodes -l "$label=$old_color" --sort-by=.metadata.creationTimestamp \
  -o jsonpath='{.items[*].metadata.name}')
for node in $old_nodes; do
  kubectl drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout="$drain_timeout"
done
echo "drained: $(wc -w <<<"$old_nodes") node(s)"
