"""How figures are written: numbers in their unit, "never ended" for math.inf, Markdown-safe
text, and JSON that keeps "never ended" (as the string "inf") instead of dropping it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def number_or_inf(value: object) -> float | None:
    """A finite number or +/-inf ("never ended"); None for None, NaN and non-numbers."""
    number = finite(value)
    if number is None and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if math.isinf(value) else None
    return number


def finite(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def number(value: float, unit: str) -> str:
    if unit == "":
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:g}"
    if unit == "ms":
        return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"
    return f"{value:.1f} {unit}" if value < 1000 else f"{value:.0f} {unit}"


def markdown_safe(text: str) -> str:
    return text.replace("|", "\\|")


def json_safe(value: Any) -> Any:
    """JSON-safe: "never ended" (inf) is kept as the string "inf", NaN becomes None."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def from_json_safe(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (float(v) if v in ("inf", "-inf") else v) for k, v in row.items()}
