"""HTTP routes: models rendered as ARM JSON, one module per area.

Each public module here (a name not starting with "_") exposes `ROUTES: list[Route]`;
emulator/urls.py collects every such module, so adding an area (Chaos Studio, network) means
adding one module. Shared ARM conventions (errors, LRO headers, paging) live in `_arm.py`.
"""
