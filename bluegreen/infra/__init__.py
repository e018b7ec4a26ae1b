"""The Pulumi program's building blocks (imports pulumi, pulumi_aws, pulumi_eks and the engine)."""
