"""A strict client of ARM's long-running operations (raw httpx), as another language's SDK
following the ARM RPC would be: no tolerance, no workaround.

Rules (Azure/azure-resource-manager-rpc, v1.0/async-api-reference.md; MicrosoftDocs
azure-resource-manager/management/async-operations.md):
- A 202 names its monitor in `Azure-AsyncOperation` and/or `Location` (without either it is a
  protocol error); a PUT/PATCH's 200/201 may name one too, and is finished without one. A
  POST/DELETE's 200 or any 204 is a finished operation.
- `Azure-AsyncOperation`: GET answers 200 with `{"status": ...}`; Succeeded, Failed and
  Canceled are terminal, anything else is in progress.
- `Location`: GET answers 202 while running and 200 when done (the result, if any, is its
  body); an error status means the operation failed. Anything else (a 204, a 201) is a
  protocol error.
- Every in-progress answer carries `Retry-After` in whole seconds, and the client waits at
  least that long before the next poll; a missing or non-integer Retry-After is an error.
- After Succeeded: a PUT ends with a GET of the resource; a POST or DELETE ends with a GET of
  the `Location` (final-state-via location), which must answer 200.
Every answer on the way is checked against the specification (`Contract.check`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Literal

import httpx

from tests.contract.spec import Contract

TERMINAL = ("succeeded", "failed", "canceled")
Style = Literal["azure-async-operation", "location"]


class LroProtocolError(AssertionError):
    """The server broke ARM's long-running-operation contract."""


class LroFailed(Exception):
    """The operation ended Failed or Canceled; `error` is ARM's error object."""

    def __init__(self, status: str, error: dict[str, str]) -> None:
        super().__init__(f"{status}: {error.get('code')}: {error.get('message')}")
        self.status, self.error = status, error


@dataclass
class StrictLro:
    http: httpx.Client
    contract: Contract
    deadline_s: float = 60.0
    polls: int = 0  # how many polls the client made (for the docs' record)

    def _wait(self, response: httpx.Response) -> None:
        value = response.headers.get("Retry-After")
        if value is None or not re.fullmatch(r"\d+", value):
            raise LroProtocolError(
                f"in-progress answer {response.status_code} from {response.request.url} has "
                f"Retry-After {value!r}, not whole seconds"
            )
        time.sleep(int(value))  # the client's own pacing: ARM says wait at least this long

    def _get(self, url: str) -> httpx.Response:
        response = self.http.get(url)
        self.polls += 1
        self.contract.check(response)
        return response

    def complete(self, initial: httpx.Response, style: Style) -> httpx.Response | None:
        """Follow `initial` to its end by `style`; the final answer (None when the initial
        answer was already final). Raises LroFailed or LroProtocolError."""
        accepted = self.contract.check(initial)
        method = initial.request.method
        monitor = initial.headers.get("Azure-AsyncOperation")
        location = initial.headers.get("Location")
        status = initial.status_code
        if status == 202 and not (monitor or location):
            raise LroProtocolError("202 without Azure-AsyncOperation or Location")
        if status == 204 or (status == 200 and method in ("POST", "DELETE")):
            return None  # finished: nothing to poll
        if status not in (200, 201, 202):
            raise LroProtocolError(f"initial answer {status} is not 200/201/202/204")
        if not (monitor or location):
            return None  # a PUT/PATCH that finished synchronously
        deadline = time.monotonic() + self.deadline_s
        if style == "azure-async-operation" and monitor:
            self._wait(initial)
            self._follow_status(monitor, deadline)
            if method == "PUT":
                return self._get(str(initial.request.url))
            if location:
                final = self._final_location(location)
                self.contract.check_final_state(accepted, final)
                return final
            return None
        if not location:
            raise LroProtocolError("no Location to follow")
        if initial.status_code == 202:
            self._wait(initial)
        final = self._follow_location(location, deadline)
        self.contract.check_final_state(accepted, final)
        return final

    def _follow_status(self, url: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            response = self._get(url)
            if response.status_code != 200:
                raise LroProtocolError(f"status monitor answered {response.status_code}")
            status = str(response.json().get("status", ""))
            if status.lower() == "succeeded":
                return
            if status.lower() in TERMINAL:
                raise LroFailed(status, response.json().get("error") or {})
            self._wait(response)
        raise LroProtocolError(f"{url} still in progress after {self.deadline_s} s")

    def _final_location(self, url: str) -> httpx.Response:
        response = self._get(url)
        if response.status_code != 200:
            raise LroProtocolError(f"final GET on Location answered {response.status_code}")
        return response

    def _follow_location(self, url: str, deadline: float) -> httpx.Response:
        while time.monotonic() < deadline:
            response = self._get(url)
            if response.status_code == 202:
                self._wait(response)
                continue
            if response.status_code == 200:
                return response
            if response.status_code >= 400:
                raise LroFailed("Failed", response.json().get("error") or {})
            raise LroProtocolError(f"Location answered {response.status_code}")
        raise LroProtocolError(f"{url} still 202 after {self.deadline_s} s")
