"""Every exception flexchaos raises, in one hierarchy (the one module lower packages import).

    FlexchaosError            a user-facing error: printed as one line (what is wrong, what to do)
    ├── BadInput              the target or the request is wrong; nothing was changed (exit 2)
    │   └── GuardRefusal      the blast-radius guard said no
    ├── AzureCallFailed       an Azure (or emulator) call failed, translated from azure.core
    │   ├── NotFound          the resource is not there
    │   │   └── VmGone        the VM was deleted while we worked on it (a Replace repair)
    │   └── Unreachable       no answer from Resource Manager (or the emulator is gone)
    ├── OperationTimeout      an operation did not complete within its deadline
    └── LoadError             the load generator could not start or died
    MissedTargets             a resilience target was missed (AssertionError: the test fails)
    Inconclusive              nothing may pass on this run: the steady state did not hold, the
                              fault was not shown to land, or a figure's evidence has a gap
    Interrupted               SIGINT/SIGTERM while a fault was in (BaseException: unwinds to the
                              reverts, like KeyboardInterrupt)

Only the standard library is imported here, so the emulator, the fleet, the probes and the
reports can all depend on this module without depending on each other.
"""

from __future__ import annotations

import signal


class FlexchaosError(Exception):
    """A user-facing error: its message is printed as one line and nothing was changed."""


class BadInput(FlexchaosError):
    """What was asked for cannot be done here (a missing scale set, a selection that matches
    nothing, a guard refusal): refused before any mutating call, exit code 2."""


class GuardRefusal(BadInput):
    """The guard said no: `rule` names the rule, the message gives the value that broke it."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"guard refused ({rule}): {message}")
        self.rule = rule


class AzureCallFailed(FlexchaosError):
    """A Resource Manager call failed; `status` and `code` are Azure's (None when unreachable)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class NotFound(AzureCallFailed):
    """The resource the call named does not exist (HTTP 404)."""


class VmGone(NotFound):
    """The VM was deleted (a Replace repair, a Delete eviction) while we worked on it."""


class Unreachable(AzureCallFailed):
    """No answer at all: the endpoint is down, unreachable, or the connection broke."""


class BudgetExhausted(AzureCallFailed):
    """A read the harness skipped because Azure's request budget for it ran low (a gap in the
    samples, never a 429 spent)."""


class OperationTimeout(FlexchaosError):
    """An operation did not complete within its deadline."""


class LoadError(FlexchaosError):
    """The load generator could not be started, or stopped sending traffic."""


class MissedTargets(AssertionError):
    """A resilience target was missed: the experiment's test fails (Allure status: failed)."""


class Inconclusive(Exception):
    """The experiment proves nothing either way (Allure status: broken; exit code 3)."""


class Interrupted(BaseException):
    """A signal arrived while a fault was in; unwinds to the reverts."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum
