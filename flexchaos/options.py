"""Options declared once, registered with both argparse (the commands) and pytest (the plugin).

The pytest-timeout model: each option is declared once with its help and default; the command
line gets `--<name>`, pytest gets `--<name>` plus the ini key `flexchaos_<name>`, and both hand
the raw values to one parser (e.g. `FleetSpec.parse`), so a value is checked the same way
whether it came from a command, pytest's command line or an ini file.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the commands must not need pytest to start
    import pytest

TRUE_WORDS = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Option:
    """One setting: `--<name>` on every command line and `flexchaos_<key>` in pytest's ini."""

    name: str  # as on the command line, without the dashes: "arm-url"
    help: str
    default: Any = None
    switch: bool = False  # a flag that takes no value (store_true)
    metavar: str | None = None

    @property
    def key(self) -> str:
        """The attribute and ini name: "arm-url" → "arm_url"."""
        return self.name.replace("-", "_")

    @property
    def ini(self) -> str:
        return f"flexchaos_{self.key}"

    @property
    def help_with_default(self) -> str:
        if self.default is None or self.switch:
            return self.help
        return f"{self.help} (default {self.default})".replace("%", "%%")


def add_to_argparse(parser: argparse.ArgumentParser, title: str, options: Iterable[Option]) -> None:
    """Register the options on a command; values stay raw for the shared parser to check."""
    group = parser.add_argument_group(title)
    for option in options:
        if option.switch:
            group.add_argument(
                f"--{option.name}", dest=option.key, action="store_true", help=option.help
            )
        else:
            group.add_argument(
                f"--{option.name}",
                dest=option.key,
                default=None,
                metavar=option.metavar,
                help=option.help_with_default,
            )


def from_argparse(args: argparse.Namespace, options: Iterable[Option]) -> dict[str, Any]:
    """The raw values of `options`, defaults filled in."""
    values: dict[str, Any] = {}
    for option in options:
        value = getattr(args, option.key, None)
        values[option.key] = option.default if value is None else value
    return values


def add_to_pytest(parser: pytest.Parser, options: Iterable[Option]) -> None:
    """Register the options as `--<name>` and as the ini key `flexchaos_<key>`."""
    group = parser.getgroup("flexchaos", "flexchaos game day")
    for option in options:
        dest = option.ini  # pytest's namespace is shared by every plugin: keep ours apart
        if option.switch:
            group.addoption(
                f"--{option.name}", action="store_true", default=None, dest=dest,
                help=option.help,
            )  # fmt: skip
            parser.addini(option.ini, option.help, type="bool", default=bool(option.default))
        else:
            group.addoption(
                f"--{option.name}", dest=dest, default=None, metavar=option.metavar,
                help=option.help_with_default,
            )  # fmt: skip
            parser.addini(option.ini, option.help, default=option.default)


def from_pytest(config: pytest.Config, options: Iterable[Option]) -> dict[str, Any]:
    """Command line over ini over default, the raw values of `options`."""
    values: dict[str, Any] = {}
    for option in options:
        value = config.getoption(option.ini)
        values[option.key] = config.getini(option.ini) if value is None else value
    return values


def text(values: Mapping[str, Any], key: str) -> str | None:
    """A value as text, with an empty one (an unset ini key) read as not given."""
    value = values.get(key)
    if value is None or value == "":
        return None
    return str(value)


def switch(values: Mapping[str, Any], key: str) -> bool:
    value = values.get(key)
    return value is True or str(value).lower() in TRUE_WORDS
