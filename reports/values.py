"""How a measured value is written: a number in its unit, "never ended", or JSON-safe.

A measured value is a finite number, `math.inf` ("never ended": errors never stopped,
capacity never came back) or missing (None, NaN: not judged). These three must stay apart in
every rendering and file, or a figure that never ended reads as missing, or as zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

INF_TEXT = "inf"  # "never ended" in verdict.json (JSON has no infinity)


def finite(value: object) -> float | None:
    """A finite number, or None (None, bools, NaN, infinities, non-numbers)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def number_or_inf(value: object) -> float | None:
    """A finite number or +/-inf ("never ended"); None for None, NaN and non-numbers."""
    number = finite(value)
    if number is None and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if math.isinf(value) else None
    return number


def format_number(value: float, unit: str) -> str:
    """A value in its unit as the tables show it."""
    if unit == "":
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:g}"
    if unit == "ms":
        return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"
    return f"{value:.1f} {unit}" if value < 1000 else f"{value:.0f} {unit}"


def json_safe(value: Any) -> Any:
    """JSON-safe: "never ended" (inf) is kept as the string "inf", NaN becomes None."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and math.isinf(value):
        return INF_TEXT if value > 0 else f"-{INF_TEXT}"
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def from_json_safe(value: Any) -> Any:
    """The inverse of json_safe for one value: "inf" back to math.inf."""
    return float(value) if value in (INF_TEXT, f"-{INF_TEXT}") else value


def from_json_safe_map(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: from_json_safe(v) for k, v in data.items()}


def md_escape(text: str) -> str:
    """A Markdown table cell: pipes escaped."""
    return text.replace("|", "\\|")
