"""The built-in Azure emulator: one asyncio process on 127.0.0.1 that the real Azure SDK
clients drive over HTTP as they drive Azure Resource Manager (docs/emulator.md, docs/design.md).

Laid out as moto lays out a service: the world's state and behaviour as plain objects
(emulator.models), their rendering as ARM JSON (emulator.responses), the route table
(emulator/urls.py, emulator/routing.py) and the process around them (emulator/server.py).
Beside the control plane, emulator.dataplane makes the VMs serve traffic behind a load
balancer; emulator/truth.py records what really happened, for tests to check against.
"""
