"""The ports the core depends on. Adapters and fakes subclass them explicitly."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from domain.catalog import ModelSpec
from domain.images import GeneratedImage, ProviderResult, StoredImage
from domain.normalized import ProviderRequest


class ImageProvider(Protocol):
    """One vendor (or fake) that turns normalized requests into images.

    ``provider_id`` is the public id (``openai``, ``azure``, ``gemini``, ``vertex``,
    ``openrouter``, ``placeholder``, ``fake``). The request it receives has already passed the
    normalization policy, so an adapter only translates knobs; it never invents defaults the
    policy did not choose.

    ``generate``/``edit`` raise only :class:`domain.errors.AppError` subclasses:
    ``AuthFailed``, ``PermissionDenied``, ``ModelNotFound``, ``RateLimited``,
    ``QuotaExhausted``, ``ContentBlocked``, ``InvalidRequest``/``UnsupportedOption``,
    ``ProviderUnavailable``, ``ProviderTimeout``, ``NetworkError`` or ``NoImage``. Vendor SDK
    exceptions are translated at the adapter boundary and never escape.
    """

    provider_id: str

    @abstractmethod
    def catalog(self) -> Sequence[ModelSpec]:
        """The curated model entries, in a fixed order. Pure data: no I/O, never raises."""

    @abstractmethod
    async def models(self) -> Sequence[ModelSpec]:
        """Curated entries plus any discovered live (cached). Discovery failures are swallowed
        and logged: this never raises, it falls back to :meth:`catalog`."""

    @abstractmethod
    async def generate(self, request: ProviderRequest) -> ProviderResult:
        """Make ``request.n`` images from ``request.prompt`` in one vendor call."""

    @abstractmethod
    async def edit(self, request: ProviderRequest) -> ProviderResult:
        """Edit ``request.images`` (with ``request.mask`` when set) in one vendor call."""

    @abstractmethod
    async def probe(self) -> None:
        """Make one cheap authenticated request (a model or key listing, never a paid
        generation) to show the credentials and the base URL work. Raises the same AppError
        subclasses as ``generate`` (``AuthFailed``, ``NetworkError``, ``ProviderTimeout`` ...)."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release clients and connections. Safe to call more than once."""


class ImageStore(Protocol):
    """Keeps every generated image at full resolution, under a stable id.

    Raises only ``StorageFailed`` (disk full, permission), ``InvalidRequest`` (a directory
    outside the store's root) and ``ImageNotFound`` (unknown or malformed id).

    A store is one tenant's space; :meth:`for_tenant` gives the others.
    """

    @abstractmethod
    def for_tenant(self, tenant: str) -> ImageStore:
        """A view of the same storage confined to ``tenant``'s namespace. Pure: no I/O.

        * ``""`` (the unnamed tenant: stdio, and bearer tokens given without a name) is the
          root store itself, so single-user layouts keep working unchanged.
        * A named tenant's images are saved, read and listed only in its namespace: ids saved
          through one view raise ``ImageNotFound`` through any other (including the unnamed
          one), ``list_recent`` shows only the view's own images, and ``directory`` resolves
          inside the namespace. The unnamed tenant cannot reach a named one's namespace
          through ``directory`` or ids either.
        * Namespaces: ``<root>/tenants/<tenant>/`` on a filesystem, ``{prefix}/tenants/{tenant}/``
          for object-store keys.
        * ``tenant`` must match ``domain.tenants.TENANT_NAME``; otherwise ``InvalidRequest``.
        """

    @abstractmethod
    async def check_directory(self, directory: str | None) -> None:
        """Refuse, before any vendor is paid, a directory the store would not write to."""

    async def check_ready(self) -> None:
        """Raise (``StorageFailed``) when the store cannot serve now; readiness probes call it.
        By default the check a save makes first: the default folder is writable. A store
        behind a network reaches its backend too."""
        await self.check_directory(None)

    @abstractmethod
    async def save(
        self,
        image: GeneratedImage,
        *,
        directory: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> StoredImage:
        """Write the image atomically (never half-written) with its metadata sidecar."""

    @abstractmethod
    async def get(self, image_id: str) -> tuple[StoredImage, bytes]:
        """The record and the exact stored bytes."""

    @abstractmethod
    async def list_recent(self, limit: int = 20) -> list[StoredImage]:
        """Newest first."""


class AdmissionControl(Protocol):
    """Admits a call before it costs anything (input decoding, fetching, vendor calls).

    ``slot()`` is an async context manager held for the whole call (inputs, vendor and store):
    entering it either admits the call or raises :class:`domain.errors.Overloaded` at once
    (never queues), or ``BackendUnavailable`` when a shared cap cannot be consulted; leaving it
    gives the place back, whether the call succeeded, failed or was cancelled. Kept this small
    so that a cluster-wide cap (leases in Redis) replaces the in-process one without touching
    the use cases.
    """

    @abstractmethod
    def slot(self) -> AbstractAsyncContextManager[None]: ...
