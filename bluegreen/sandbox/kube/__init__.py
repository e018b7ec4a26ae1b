"""A fake Kubernetes API server with controllers, for the sandbox (see docs/sandbox-kube.md)."""
