"""ARM errors raised by the world model; the HTTP layer renders them as {"error": {...}}."""

from __future__ import annotations


class ArmError(Exception):
    """An error Azure Resource Manager would answer: HTTP status, ARM code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def not_found(kind: str, name: str, resource_group: str) -> ArmError:
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource 'Microsoft.Compute/{kind}/{name}' under resource group "
        f"'{resource_group}' was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix",
    )


def not_allowed(message: str) -> ArmError:
    return ArmError(409, "OperationNotAllowed", message)
