"""The HTML report's generator: npm `allure` 3, installed once per pin, outside the source tree.

reports/package.json and package-lock.json pin the version. `npm ci` installs exactly that
into `<cache>/allure-<hash of the lock file>`, where `<cache>` is `$FLEXCHAOS_NPM_CACHE`, or
`${XDG_CACHE_HOME:-~/.cache}/flexchaos`: a checkout stays source only, every checkout with the
same pin shares one install, and a new pin gets a folder of its own. The install goes to a
scratch folder first and is renamed into place, so a killed install never looks complete.

    python -m reports.allure_tool     # install (scripts/install.sh); prints the generator's path
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from flexchaos.errors import FlexchaosError

PIN_DIR = Path(__file__).resolve().parent  # package.json + package-lock.json
PIN_FILES = ("package.json", "package-lock.json")
CACHE_ENV = "FLEXCHAOS_NPM_CACHE"
NPM_CI_TIMEOUT_S = 240


def cache_root() -> Path:
    """Where flexchaos keeps its npm tools."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "flexchaos"


def pin_hash() -> str:
    """Short hash of the lock file: a new pin, a new install folder."""
    return hashlib.sha256((PIN_DIR / "package-lock.json").read_bytes()).hexdigest()[:12]


def tool_dir() -> Path:
    return cache_root() / f"allure-{pin_hash()}"


def cli_path() -> Path:
    """The generator's entry point, run as `node <cli.js> generate …`."""
    return tool_dir() / "node_modules" / "allure" / "cli.js"


def installed() -> bool:
    return cli_path().is_file()


def ensure_installed(npm: str | None = None) -> Path:
    """The pinned generator, installed with `npm ci` the first time; FlexchaosError if it fails."""
    if installed():
        return cli_path()
    npm = npm or shutil.which("npm")
    if npm is None:
        raise FlexchaosError("npm is needed to install the report generator; install Node.js 20+")
    final = tool_dir()
    scratch = final.with_name(f"{final.name}.partial-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        for name in PIN_FILES:
            shutil.copy2(PIN_DIR / name, scratch / name)
        _npm_ci(npm, scratch)
        try:
            scratch.rename(final)
        except OSError:  # another process installed it meanwhile: use theirs
            if not installed():
                raise FlexchaosError(
                    f"{final} exists but holds no allure generator; remove it and retry"
                ) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return cli_path()


def node_env() -> dict[str, str]:
    """No analytics, no update checks: the report is built offline and quietly."""
    return {**os.environ, "ALLURE_NO_ANALYTICS": "true", "NO_UPDATE_NOTIFIER": "1"}


def _npm_ci(npm: str, prefix: Path) -> None:
    command = f"npm ci of the pin in {PIN_DIR / 'package-lock.json'}"
    try:
        run = subprocess.run(
            [npm, "ci", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error"],
            capture_output=True,
            text=True,
            timeout=NPM_CI_TIMEOUT_S,
            env=node_env(),
        )
    except subprocess.TimeoutExpired:
        raise FlexchaosError(
            f"{command} took over {NPM_CI_TIMEOUT_S} s; check the network to the npm registry "
            "and retry"
        ) from None
    if run.returncode != 0 or not (prefix / "node_modules" / "allure" / "cli.js").is_file():
        tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no output"]
        raise FlexchaosError(
            f"{command} failed ({tail[0]}); check the network to the npm registry and retry"
        )


def main() -> int:
    try:
        print(ensure_installed())
    except FlexchaosError as exc:
        print(f"report generator not installed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
