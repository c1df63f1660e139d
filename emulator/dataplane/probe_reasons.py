"""The reason codes of the load balancer's health status, as Azure names them.

Azure's "Manage Azure Load Balancer health status" page (learn.microsoft.com/azure/
load-balancer/load-balancer-manage-health-status; docs/azure-behaviour.md §4.1) lists, per backend
of a load-balancing rule, a state (Up or Down) and a reason. The emulator reports the codes its
probe can tell apart; which failure maps to which code is ours where Azure's text leaves room
(marked "inference" below). A backend that is not probed at all (its VM stopped or deallocated)
has no reason: Azure "returns empty values since the health status isn't retrievable".
"""

from __future__ import annotations

from emulator.dataplane.http_check import Check

UP_SUCCESS = "Up_Probe_Success"
UP_APPROACHING_UNHEALTHY = "Up_Probe_ApproachingUnhealthyThreshold"  # failed, under threshold
DOWN_HTTP_STATUS = "Down_Probe_HttpStatusCodeError"  # an answer other than 200
DOWN_HTTP_UNREACHABLE = "Down_Probe_HttpEndpointUnreachable"  # inference: connection refused
DOWN_HTTP_NO_RESPONSE = "Down_Probe_HttpNoResponse"  # connected, no HTTP answer in time
DOWN_TCP_TIMEOUT = "Down_Probe_TcpProbeTimeout"  # no TCP answer in time (TCP probe: any failure)
NOT_PROBED_YET = "NA"  # "the health probe has not probed your backend instance yet"


def failure_reason(check: Check, protocol: str) -> str:
    """The Down reason for a failed check of an `Http`, `Https` or `Tcp` probe.

    Azure documents no TCP-probe code but TcpProbeTimeout, so a refused TCP probe reports it too
    (inference); an HTTP probe whose connection is refused reports HttpEndpointUnreachable
    (inference: Azure's text speaks of an HTTP session rejected after the handshake)."""
    if protocol == "Tcp":
        return DOWN_TCP_TIMEOUT
    if check.outcome == "answered":
        return DOWN_HTTP_STATUS
    if check.outcome == "refused":
        return DOWN_HTTP_UNREACHABLE
    if check.outcome == "timeout" and not check.connected:
        return DOWN_TCP_TIMEOUT
    return DOWN_HTTP_NO_RESPONSE
