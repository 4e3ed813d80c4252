"""Which tenant the running request acts for, and the store that follows it.

Why a context variable rather than a tenant argument threaded through the use cases: the
tenant is an authentication fact of the HTTP face, and the application layer should not know
tenants exist — it is handed an ``ImageStore`` and that store *is* the tenant's space. The MCP
tools and resources are called by FastMCP with signatures we do not control, and reaching the
HTTP request from them would tie the MCP face to one transport. So the HTTP face sets the
tenant once per request (:class:`entrypoints.http.security.BearerAuth`), in a context variable
that every task spawned for the request inherits, and the one :class:`TenantStore` the
container hands out reads it on each call. stdio never sets it: one local, unnamed tenant.

Fail closed: the HTTP app marks its store :meth:`TenantStore.require_request_tenant`, so if a
framework upgrade ever ran a handler outside the request's context, the call fails instead of
quietly using the unnamed tenant's images.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from application.ports import ImageStore
from domain.errors import InternalError
from domain.images import GeneratedImage, StoredImage
from domain.tenants import UNNAMED, checked_tenant

_current: ContextVar[str | None] = ContextVar("image_gen_mcp_tenant", default=None)


def current_tenant() -> str | None:
    """The tenant of the running request; None outside any."""
    return _current.get()


@contextmanager
def acting_as(tenant: str) -> Iterator[None]:
    """Run the block (and every task it starts) as ``tenant``."""
    token = _current.set(checked_tenant(tenant))
    try:
        yield
    finally:
        _current.reset(token)


class TenantStore(ImageStore):
    """The store view of whichever tenant the current request acts for."""

    def __init__(self, storage: ImageStore) -> None:
        self.storage = storage
        self.outside_requests: str | None = UNNAMED  # stdio: the one local user

    def require_request_tenant(self) -> None:
        """From now on, refuse calls made outside a request that named its tenant."""
        self.outside_requests = None

    def _view(self) -> ImageStore:
        tenant = _current.get()
        if tenant is None:
            tenant = self.outside_requests
        if tenant is None:
            raise InternalError("The image store was used outside an authenticated request.")
        return self.storage.for_tenant(tenant)

    def for_tenant(self, tenant: str) -> ImageStore:
        return self.storage.for_tenant(tenant)

    async def check_directory(self, directory: str | None) -> None:
        await self._view().check_directory(directory)

    async def check_ready(self) -> None:
        await self._view().check_ready()

    async def save(
        self,
        image: GeneratedImage,
        *,
        directory: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> StoredImage:
        return await self._view().save(image, directory=directory, metadata=metadata)

    async def get(self, image_id: str) -> tuple[StoredImage, bytes]:
        return await self._view().get(image_id)

    async def list_recent(self, limit: int = 20) -> list[StoredImage]:
        return await self._view().list_recent(limit)


# An MCP background task runs in a worker, outside the request (often in another process), so
# the tenant cannot ride on the context variable there. The HTTP face writes it into the request
# headers the app sees (after dropping any the client sent), the tasks runtime keeps those
# headers with the task, and the worker acts for the tenant they name.
TENANT_HEADER = "x-image-gen-mcp-tenant"
_TENANT_PREFIX = "tenant:"  # so the unnamed tenant ("") is a value, not a missing header


def tenant_header_value(tenant: str) -> str:
    return _TENANT_PREFIX + tenant


def tenant_in_headers(headers: Mapping[str, str]) -> str | None:
    """The tenant a request's headers name, or None when they name none."""
    value = headers.get(TENANT_HEADER)
    if value is None or not value.startswith(_TENANT_PREFIX):
        return None
    return checked_tenant(value[len(_TENANT_PREFIX) :])
