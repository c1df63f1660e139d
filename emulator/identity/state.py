"""The application keys of Azure mode: the Entra stand-in and the role-based access store.

Absent from the application outside Azure mode (then ARM accepts any bearer token and every
caller may do everything, as before).
"""

from __future__ import annotations

from aiohttp import web

from emulator.identity.rbac import Authorization
from emulator.identity.tokens import Identity

IDENTITY = web.AppKey("identity", Identity)
AUTHORIZATION = web.AppKey("authorization", Authorization)
