"""The report generator's install: pinned, outside the source tree, never half there."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from flexchaos.errors import FlexchaosError
from reports import allure_tool

REPO = Path(__file__).resolve().parents[2]


def fake_npm(tmp_path: Path, body: str) -> str:
    """An `npm` that runs `body` (sh) with the --prefix folder as $prefix."""
    npm = tmp_path / "bin" / "npm"
    npm.parent.mkdir(parents=True, exist_ok=True)
    npm.write_text(f'#!/bin/sh\nprefix="$3"\n{body}\n')
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    return str(npm)


def test_the_cache_is_outside_the_checkout_and_named_by_the_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(allure_tool.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert allure_tool.tool_dir() == tmp_path / "xdg" / "flexchaos" / (
        f"allure-{allure_tool.pin_hash()}"
    )
    monkeypatch.setenv(allure_tool.CACHE_ENV, str(tmp_path / "mine"))
    assert allure_tool.tool_dir().parent == tmp_path / "mine"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.delenv(allure_tool.CACHE_ENV)
    assert allure_tool.cache_root() == Path.home() / ".cache" / "flexchaos"
    assert REPO not in allure_tool.tool_dir().parents
    assert (REPO / "reports" / "package-lock.json").is_file()  # the pin stays in the source


def test_first_use_installs_the_pin_with_npm_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(allure_tool.CACHE_ENV, str(tmp_path / "cache"))
    npm = fake_npm(
        tmp_path,
        'test "$1" = ci && test -f "$prefix/package-lock.json" || exit 9\n'
        'mkdir -p "$prefix/node_modules/allure"\n'
        'echo "// cli" > "$prefix/node_modules/allure/cli.js"',
    )
    cli = allure_tool.ensure_installed(npm)
    assert cli == allure_tool.cli_path() and cli.is_file()
    assert os.listdir(tmp_path / "cache") == [allure_tool.tool_dir().name]  # no scratch left
    assert allure_tool.ensure_installed(fake_npm(tmp_path, "exit 7")) == cli  # once only


def test_a_failed_install_is_one_line_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(allure_tool.CACHE_ENV, str(tmp_path / "cache"))
    npm = fake_npm(
        tmp_path,
        'mkdir -p "$prefix/node_modules/allure"; echo "npm ERR! network unreachable" >&2; exit 1',
    )
    with pytest.raises(FlexchaosError) as raised:
        allure_tool.ensure_installed(npm)
    message = str(raised.value)
    assert "npm ERR! network unreachable" in message and "\n" not in message
    assert not allure_tool.installed()
    assert os.listdir(tmp_path / "cache") == []
