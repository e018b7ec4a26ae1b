"""Kubernetes resource quantities ("250m", "1.5", "512Mi", "2G") as plain numbers."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3, "M": 10**6,
            "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


class QuantityError(ValueError):
    """A resource quantity that Kubernetes would reject."""


def parse_quantity(value: str | int | float) -> Decimal:
    """The quantity as a Decimal in base units (cores for cpu, bytes for memory)."""
    if isinstance(value, int | float):
        return Decimal(str(value))
    text = str(value).strip()
    for suffix, factor in _BINARY.items():
        if text.endswith(suffix):
            return _number(text[: -len(suffix)], value) * factor
    if text and text[-1] in _DECIMAL:
        return _number(text[:-1], value) * Decimal(_DECIMAL[text[-1]])
    return _number(text, value)


def _number(text: str, original: object) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise QuantityError(
            f"quantity {original!r} is not a Kubernetes quantity (e.g. '250m', '1', '512Mi', '2Gi')"
        ) from None
    if not number.is_finite():
        raise QuantityError(f"quantity {original!r} is not finite")
    return number


def cpu_millis(value: str | int | float) -> int:
    """CPU in millicores, rounded up as the scheduler does."""
    return int((parse_quantity(value) * 1000).to_integral_value(rounding="ROUND_CEILING"))


def memory_bytes(value: str | int | float) -> int:
    return int(parse_quantity(value).to_integral_value(rounding="ROUND_CEILING"))
