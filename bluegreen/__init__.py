"""eks-bluegreen: blue/green worker-node cutovers for EKS, driven by Pulumi.

Three layers that never import upwards (see README "Layout"):

* ``bluegreen.infra``   - the Pulumi program: config, colors, components, cutover resources;
* ``bluegreen.engine``  - the rollout as a plain library (boto3 + kubernetes client, no pulumi);
* ``bluegreen.sandbox`` - moto + a fake Kubernetes API, for rehearsals and tests.
"""

__version__ = "0.1.0"
