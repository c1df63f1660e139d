"""The one translation of azure.core's exceptions into flexchaos's (flexchaos/errors.py).

Every SDK call of the fleet runs inside `translated("what the call was for")`, so callers see
one hierarchy with Azure's status and error code kept, and users see one line that names the
call and what Azure said, instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from flexchaos.errors import AzureCallFailed, NotFound, Unreachable


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _code(exc: HttpResponseError) -> str | None:
    error = getattr(exc, "error", None)
    return getattr(error, "code", None) if error is not None else None


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run SDK calls, turning azure.core errors into AzureCallFailed (NotFound, Unreachable)."""
    try:
        yield
    except ResourceNotFoundError as exc:
        raise NotFound(
            f"{what}: not found ({_first_line(exc)})", status=404, code=_code(exc)
        ) from exc
    except ClientAuthenticationError as exc:
        raise AzureCallFailed(
            f"{what}: authentication failed ({_first_line(exc)}); sign in again or check the "
            "credential and its role assignment",
            status=exc.status_code,
            code=_code(exc),
        ) from exc
    except HttpResponseError as exc:
        raise AzureCallFailed(
            f"{what}: HTTP {exc.status_code} {_code(exc) or ''} ({_first_line(exc)})".replace(
                "  ", " "
            ),
            status=exc.status_code,
            code=_code(exc),
        ) from exc
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise Unreachable(f"{what}: no answer ({_first_line(exc)})") from exc
