"""The process's one running data plane, for the routes that report on it (set by start())."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.dataplane.plane import DataPlane

current: DataPlane | None = None
