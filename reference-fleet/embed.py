"""Put cloud-init.yaml, with app.py in it, into azuredeploy.json's `cloudInit` variable.

ARM takes the VMs' custom data as one string in the template; the readable sources are the two
files beside it. Run after changing either: `python reference-fleet/embed.py`. A test fails
while the template's copy differs from them (tests/pipelines/test_reference_fleet.py).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "azuredeploy.json"


def cloud_init() -> str:
    """cloud-init.yaml with app.py indented under its write_files entry."""
    app = textwrap.indent((HERE / "app.py").read_text(), " " * 6).lstrip()
    return (HERE / "cloud-init.yaml").read_text().replace("@APP@", app)


def main() -> None:
    template = json.loads(TEMPLATE.read_text())
    template["variables"]["cloudInit"] = cloud_init()
    TEMPLATE.write_text(json.dumps(template, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
