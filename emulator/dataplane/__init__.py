"""The emulator's data plane: what the VMs do on the network. Every running VM serves the
reference app on its own loopback address (vm_app.py), the Application Health extension probes
it in the guest (health_extension.py), and a layer-4 load balancer with its health probes
spreads connections over the VMs in rotation (load_balancer.py, lb_probe.py). `DataPlane`
(plane.py) ties them to the world's facts; docs/emulator-data-plane.md describes it all.

The server creates one DataPlane per process and keeps it in the application
(`request.app[DATAPLANE]`, emulator/routing.py); its emulator-only routes are in routes.py.
"""

from emulator.dataplane.plane import DataPlane

__all__ = ["DataPlane"]
