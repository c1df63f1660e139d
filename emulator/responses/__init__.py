"""HTTP rendering of the models (moto's "responses"): ARM JSON, one module per area.

Each public module here (a name not starting with "_") exposes `ROUTES: list[Route]`;
emulator/urls.py collects every such module, so adding an area (Chaos Studio, network) means
adding one module. Handlers parse the request, call the models and render what they return;
errors raised by the models are rendered in one place (`_arm.py`, with paging and scope
checks), long-running operations in one module (`operations.py`).
"""
