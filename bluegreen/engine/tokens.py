"""EKS bearer tokens minted the way `aws eks get-token` does, from ambient AWS credentials, without the aws CLI.

The token is a presigned STS GetCallerIdentity URL that carries the cluster
name in the signed ``x-k8s-aws-id`` header; the cluster's authenticator
replays it to learn who is calling.
"""

from __future__ import annotations

import base64

from botocore.signers import RequestSigner

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_HEADER = "x-k8s-aws-id"
#: EKS accepts tokens for 15 minutes; the URL's own expiry is what `aws eks get-token` uses.
URL_EXPIRES_S = 60


def mint_token(session, cluster_name: str, region: str, sts_endpoint: str | None = None) -> str:
    """A ``k8s-aws-v1.`` token for ``cluster_name``, signed with ``session``'s credentials (a boto3 Session)."""
    sts = session.client("sts", region_name=region, endpoint_url=sts_endpoint)
    signer = RequestSigner(
        sts.meta.service_model.service_id,
        region,
        "sts",
        "v4",
        session.get_credentials(),
        session.events,
    )
    url = sts_endpoint or f"https://sts.{region}.amazonaws.com/"
    params = {
        "method": "GET",
        "url": f"{url.rstrip('/')}/?Action=GetCallerIdentity&Version=2011-06-15",
        "body": {},
        "headers": {CLUSTER_HEADER: cluster_name},
        "context": {},
    }
    signed = signer.generate_presigned_url(params, region_name=region, expires_in=URL_EXPIRES_S, operation_name="")
    return TOKEN_PREFIX + base64.urlsafe_b64encode(signed.encode("utf-8")).decode("utf-8").rstrip("=")
