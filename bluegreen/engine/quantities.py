"""Kubernetes resource quantities ("250m", "1.5", "512Mi", "1G") as plain numbers."""

from __future__ import annotations

import re

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_PATTERN = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([A-Za-z]*)$")


class QuantityError(ValueError):
    pass


def parse_quantity(text: str | int | float | None) -> float:
    """The quantity's value in base units (cores, bytes, count); None or "" is 0."""
    if text is None or text == "":
        return 0.0
    if isinstance(text, int | float):
        return float(text)
    match = _PATTERN.match(str(text).strip())
    if not match:
        raise QuantityError(f"{text!r} is not a Kubernetes quantity")
    number, suffix = match.groups()
    if suffix in _BINARY:
        return float(number) * _BINARY[suffix]
    if suffix in _DECIMAL:
        return float(number) * _DECIMAL[suffix]
    raise QuantityError(f"{text!r} has an unknown suffix {suffix!r}")


def millicores(text: str | int | float | None) -> int:
    return round(parse_quantity(text) * 1000)


def bytes_of(text: str | int | float | None) -> int:
    return round(parse_quantity(text))
