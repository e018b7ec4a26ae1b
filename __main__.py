"""eks-bluegreen: blue/green EKS worker cutovers. Everything lives in bluegreen/infra/."""

from bluegreen.infra.cutover import insert_cutover
from bluegreen.infra.program import main

# The cutover steps (NodesReady -> LoadBalancersHealthy -> Drain) sit between the new group
# and the old group's scale-down.
main(cutover=insert_cutover)
