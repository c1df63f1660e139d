"""Every error the emulator reports, one class per Azure error code (as moto names its errors).

Models raise these; emulator/responses/_arm.py renders them, in one place, as ARM's
`{"error": {"code", "message"}}`. No other module spells an error code: it names a class here.

- `ArmError`: answered over HTTP with the class's `status` (docs/azure-behaviour.md §2.4, §6).
- `ChaosFailure`: why a Chaos Studio execution or one of its targets failed; reported in the
  execution details (`failureReason`, `targets[].error`), never as an HTTP answer
  (docs/azure-behaviour.md §5).
"""

from __future__ import annotations

from typing import Any, ClassVar


class AzureError(Exception):
    """An error as Azure reports it: a code (fixed by the class) and a message.

    `str(error)` is `"<code>: <message>"`, the form of a Chaos Studio `failureReason`.
    """

    code: ClassVar[str]

    def __init__(self, message: str) -> None:
        if not hasattr(type(self), "code"):
            raise TypeError(f"{type(self).__name__} names no error code; raise a named error")
        super().__init__(f"{self.code}: {message}")
        self.message = message

    def details(self) -> list[dict[str, Any]]:
        """ARM's `error.details` (empty for most errors)."""
        return []


# ----- ARM errors: answered over HTTP ----------------------------------------------------------


class ArmError(AzureError):
    """An error Azure Resource Manager answers with an HTTP status; raise a subclass."""

    status: ClassVar[int]


class BadRequest(ArmError):
    """A request body the service refuses (Chaos Studio's validation of an experiment)."""

    status, code = 400, "BadRequest"


class InvalidParameter(ArmError):
    """A parameter with a value the API does not accept ($filter, $expand, $skiptoken, …)."""

    status, code = 400, "InvalidParameter"


class InvalidRequestContent(ArmError):
    """A body that is not the JSON the route expects."""

    status, code = 400, "InvalidRequestContent"


class MissingApiVersionParameter(ArmError):
    status, code = 400, "MissingApiVersionParameter"


class InvalidApiVersionParameter(ArmError):
    """An api-version that is empty or not a date (docs/azure-behaviour.md §6)."""

    status, code = 400, "InvalidApiVersionParameter"


class NoRegisteredProviderFound(ArmError):
    """A well-formed api-version the resource type does not serve (docs/azure-behaviour.md §6)."""

    status, code = 400, "NoRegisteredProviderFound"


class AuthenticationFailed(ArmError):
    status, code = 401, "AuthenticationFailed"


class InvalidAuthenticationToken(ArmError):
    """A bearer token ARM cannot read or whose signature does not verify (Azure mode)."""

    status, code = 401, "InvalidAuthenticationToken"


class ExpiredAuthenticationToken(ArmError):
    status, code = 401, "ExpiredAuthenticationToken"


class InvalidAuthenticationTokenAudience(ArmError):
    status, code = 401, "InvalidAuthenticationTokenAudience"


class InvalidAuthenticationTokenTenant(ArmError):
    status, code = 401, "InvalidAuthenticationTokenTenant"


class AuthorizationFailed(ArmError):
    """Role-based access refused the caller the route's action at its scope (Azure mode)."""

    status, code = 403, "AuthorizationFailed"


class RoleDefinitionDoesNotExist(ArmError):
    status, code = 404, "RoleDefinitionDoesNotExist"


class RoleAssignmentExists(ArmError):
    """The principal already holds the role at the scope, under any assignment name: ARM's
    PUT is not idempotent here (Azure/azure-cli#8599, terraform-provider-azurerm#28694)."""

    status, code = 409, "RoleAssignmentExists"


class ResourceNotFound(ArmError):
    status, code = 404, "ResourceNotFound"

    @classmethod
    def in_group(cls, resource_type: str, name: str, resource_group: str) -> ResourceNotFound:
        """ARM's message for a missing resource, e.g. `Microsoft.Compute/virtualMachines`."""
        return cls(
            f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' "
            "was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        )


class ResourceGroupNotFound(ArmError):
    status, code = 404, "ResourceGroupNotFound"


class SubscriptionNotFound(ArmError):
    status, code = 404, "SubscriptionNotFound"


class InvalidResourceType(ArmError):
    """A route the emulator does not serve (ARM's answer for an unknown resource type)."""

    status, code = 404, "InvalidResourceType"


class MethodNotAllowed(ArmError):
    status, code = 405, "MethodNotAllowed"


class OperationNotAllowed(ArmError):
    """Compute refuses an operation in the VM's current state (docs/azure-behaviour.md §2.4)."""

    status, code = 409, "OperationNotAllowed"


class OperationPreempted(ArmError):
    """A running Compute operation superseded by a later one (a delete): its status monitor
    ends `Canceled` with this error (docs/azure-behaviour.md §2.6)."""

    status, code = 409, "OperationPreempted"


class Conflict(ArmError):
    """Chaos Studio: an experiment that is running or provisioning cannot be changed now."""

    status, code = 409, "Conflict"


class PreconditionFailed(ArmError):
    """An If-Match header that names an ETag the resource no longer has (optimistic
    concurrency, docs/azure-behaviour.md §1.4)."""

    status, code = 412, "PreconditionFailed"


class Throttled(OperationNotAllowed):
    """Compute's throttling answer: 429 with code OperationNotAllowed and a TooManyRequests
    detail naming the exhausted budget (a control-plane fault)."""

    status = 429

    def __init__(self, message: str, budget: str, detail: str) -> None:
        super().__init__(message)
        self.budget, self.detail = budget, detail

    def details(self) -> list[dict[str, Any]]:
        return [{"code": "TooManyRequests", "target": self.budget, "message": self.detail}]


class InternalServerError(ArmError):
    status, code = 500, "InternalServerError"


class OperationCanceled(ArmError):
    """A long-running operation that ended without finishing (the emulator is stopping)."""

    status, code = 500, "OperationCanceled"


class ServiceUnavailable(ArmError):
    status, code = 503, "ServiceUnavailable"


class DataPlaneNotRunning(ArmError):
    """An emulator-only data-plane route asked before the data plane has started."""

    status, code = 503, "DataPlaneNotRunning"


# ----- Chaos Studio execution failures: reported in the execution details ----------------------


class ChaosFailure(AzureError):
    """Why a Chaos Studio execution (or one target) failed; raise a subclass."""


class TargetNotFound(ChaosFailure):
    code = "TargetNotFound"


class CapabilityNotEnabled(ChaosFailure):
    code = "CapabilityNotEnabled"


class UnsupportedOrchestrationMode(ChaosFailure):
    """A Uniform-only fault (the scale-set shutdown) aimed at a Flexible scale set."""

    code = "UnsupportedOrchestrationMode"


class UnsupportedFault(ChaosFailure):
    code = "UnsupportedFault"


class InvalidSelector(ChaosFailure):
    code = "InvalidSelector"


class UnsupportedSelector(ChaosFailure):
    code = "UnsupportedSelector"


class TooManyTargets(ChaosFailure):
    code = "TooManyTargets"


class ActionFailed(ChaosFailure):
    """An action failed on at least one of its targets."""

    code = "ActionFailed"


class InternalError(ChaosFailure):
    """The emulator's own failure while running an execution (a bug, reported, not raised)."""

    code = "InternalError"
