"""A local stand-in for AWS (moto) and an EKS data plane (a fake Kubernetes API)."""
