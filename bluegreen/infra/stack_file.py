"""A stack file (``Pulumi.<stack>.yaml``) read the way the program reads its config, without Pulumi.

For tools that work from the committed stack file rather than a running ``pulumi up`` (a rehearsal
of the stack's own cutover, say): the same validation, the same typed StackConfig, every pool in
cutover order (``StackConfig.all_pools()``), the rollout settings and ``pools_in_parallel``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bluegreen.infra.config import NAMESPACE, ConfigError, StackConfig, parse_config


def namespace_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``eks-bluegreen:*`` values of a stack file's ``config:``, keys without the namespace (pure)."""
    prefix = f"{NAMESPACE}:"
    return {key[len(prefix) :]: value for key, value in config.items() if str(key).startswith(prefix)}


def parse_stack_document(document: Any, where: str = "stack file") -> StackConfig:
    """A parsed YAML stack document as a StackConfig; ConfigError naming the key (or the file's shape)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("config") or {}, Mapping):
        raise ConfigError(f"{where}: not a Pulumi stack file (a YAML mapping with a config: mapping)")
    return parse_config(namespace_values(document.get("config") or {}))


def load_stack_file(path: str | Path) -> StackConfig:
    """Read and validate ``Pulumi.<stack>.yaml``; ConfigError names the file and the key."""
    file = Path(path)
    try:
        document = yaml.safe_load(file.read_text())
    except OSError as error:
        raise ConfigError(f"{file}: cannot be read ({error.strerror or error})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{file}: not valid YAML ({error})") from None
    try:
        return parse_stack_document(document, str(file))
    except ConfigError as error:
        raise ConfigError(f"{file}: {error}") from None
