"""eks-bluegreen: blue/green EKS worker cutovers. Everything lives in bluegreen/infra/."""

from bluegreen.infra.program import main

main()
