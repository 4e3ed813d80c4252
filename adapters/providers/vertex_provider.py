"""The Vertex AI adapter: Gemini image models, plus the retired Imagen models for projects that
still have access (``generate_images`` and masked ``edit_image``), on google-genai."""

from __future__ import annotations

import asyncio
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from adapters.imaging import as_accepted, image_size
from adapters.masks import white_edit_mask
from adapters.providers.google_catalog import REGIONAL_IMAGE_MODEL, needs_global_location, vertex_catalog_at
from adapters.providers.google_common import (
    CLOUD_PLATFORM_SCOPE,
    GoogleImageProvider,
    generated_image,
    native_size,
)
from adapters.providers.google_errors import AuthHint
from domain.errors import (
    AuthFailed,
    ContentBlocked,
    InvalidRequest,
    ModelNotFound,
    NoImage,
    UnsupportedOption,
)
from domain.images import GeneratedImage, ImageData, ProviderResult
from domain.normalized import ProviderRequest
from domain.options import OutputFormat
from domain.secrets import register_secrets, shorten

if TYPE_CHECKING:
    import httpx2
    from google import genai
    from google.auth.credentials import Credentials
    from google.genai import types

CREDENTIALS_VARIABLE = "VERTEX_CREDENTIALS_PATH"
IMAGEN_FAMILY = "imagen"
IMAGEN_INPUT_TYPES = frozenset({"image/png", "image/jpeg"})
# A prompt that starts by asking to take something away erases the masked region
# (EDIT_MODE_INPAINT_REMOVAL); any other prompt paints what it describes there (INSERTION).
_REMOVAL = re.compile(r"^\s*(remove|erase|delete|get rid of|take out)\b", re.IGNORECASE)


class VertexSettings(Protocol):
    """What this adapter reads from ``entrypoints.settings.Settings`` (adapters may not import it)."""

    vertex_project: str | None
    vertex_location: str
    vertex_credentials_path: Path | None
    vertex_base_url: str | None
    request_timeout_s: float


def _registering_tokens(credentials: Credentials) -> Credentials:
    """Have every OAuth access token these credentials obtain registered as a secret, so a
    vendor or SDK message that quotes one is masked like a configured key. google-genai
    refreshes through ``credentials.refresh(request)``; the instance method is wrapped."""
    if getattr(credentials, "_image_gen_mcp_registers", False):
        return credentials
    refresh = credentials.refresh

    def refresh_and_register(request: Any) -> None:
        refresh(request)
        register_secrets([str(credentials.token or "")], runtime=True)

    credentials.refresh = refresh_and_register  # type: ignore[method-assign]
    credentials._image_gen_mcp_registers = True  # type: ignore[attr-defined]
    register_secrets([str(credentials.token or "")], runtime=True)  # one already held (ADC may carry one)
    return credentials


class VertexImageProvider(GoogleImageProvider):
    """Vertex AI through ``genai.Client(vertexai=True, project, location, credentials)``.

    Credentials come from a service-account file (its own ``token_uri`` is used for the token
    exchange) or else Application Default Credentials. They are loaded at the first call, so a
    broken file fails that call with ``auth_failed`` naming the variable, not the start-up.
    """

    provider_id = "vertex"
    vertex = True

    def __init__(
        self,
        project: str,
        *,
        location: str = "global",
        credentials_path: Path | None = None,
        timeout_s: float,
        base_url: str | None = None,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        location = location or "global"
        super().__init__(
            vertex_catalog_at(location),
            timeout_s=timeout_s,
            base_url=base_url,
            http_client=http_client,
        )
        self._project = project
        self._location = location
        self._credentials_path = credentials_path

    async def generate(self, request: ProviderRequest) -> ProviderResult:
        self._check_location(request.model)
        if request.spec.family == IMAGEN_FAMILY:
            return await self._imagen_generate(request)
        return await self._generate_content(request)

    async def edit(self, request: ProviderRequest) -> ProviderResult:
        self._check_location(request.model)
        if request.spec.family == IMAGEN_FAMILY:
            return await self._imagen_edit(request)
        return await self._generate_content(request)

    def _check_location(self, model: str) -> None:
        """Refuse up front what the regional endpoint would answer with a bare 404. The location
        is not switched silently: a regional VERTEX_LOCATION may be a data-residency choice."""
        if needs_global_location(model, self._location):
            raise ModelNotFound(
                f"{model} is served from the Vertex AI 'global' location only, and VERTEX_LOCATION "
                f"is {self._location!r}. Set VERTEX_LOCATION=global (or leave it unset), or choose "
                f"a model served in that region ({REGIONAL_IMAGE_MODEL}).",
                provider=self.provider_id,
                model=model,
                variable="VERTEX_LOCATION",
            )

    def _client_from(self, options: types.HttpOptions) -> genai.Client:
        from google import genai

        credentials = _registering_tokens(self._load_credentials())
        try:
            return genai.Client(
                vertexai=True,
                project=self._project,
                location=self._location,
                credentials=credentials,
                http_options=options,
            )
        except ValueError as exc:
            raise AuthFailed(f"The Vertex AI client cannot start: {exc}", variable="VERTEX_PROJECT") from None

    def _load_credentials(self) -> Credentials:
        import google.auth
        from google.auth import exceptions

        if self._credentials_path is None:
            try:
                credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
            except exceptions.DefaultCredentialsError:
                raise AuthFailed(
                    f"No Google credentials: set {CREDENTIALS_VARIABLE} to a service-account JSON file "
                    "or configure Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, "
                    "gcloud auth application-default login).",
                    variable=CREDENTIALS_VARIABLE,
                ) from None
            return credentials
        from google.oauth2 import service_account

        path = self._credentials_path.expanduser()
        try:
            return service_account.Credentials.from_service_account_file(  # type: ignore[no-any-return]
                str(path), scopes=[CLOUD_PLATFORM_SCOPE]
            )
        except FileNotFoundError:
            problem = "the file does not exist"
        except (OSError, ValueError, exceptions.GoogleAuthError) as exc:
            # google-auth's messages name missing fields, never key material.
            problem = f"{type(exc).__name__}: {shorten(str(exc), 200)}"
        raise AuthFailed(
            f"{CREDENTIALS_VARIABLE}={path} is not a usable service-account key file ({problem}).",
            variable=CREDENTIALS_VARIABLE,
        )

    def _auth_hint(self) -> AuthHint:
        if self._credentials_path is not None:
            return AuthHint(
                f" Check the service account in {CREDENTIALS_VARIABLE} and its Vertex AI role.",
                CREDENTIALS_VARIABLE,
            )
        return AuthHint(f" Check Application Default Credentials, or set {CREDENTIALS_VARIABLE}.")

    # -- Imagen (retired vendor-side; kept for projects that still have access) --------------

    async def _imagen_generate(self, request: ProviderRequest) -> ProviderResult:
        from google.genai import types

        client = await self._sdk()
        config = types.GenerateImagesConfig(
            number_of_images=request.n,
            aspect_ratio=request.aspect_ratio,
            image_size=native_size(request),
            negative_prompt=request.negative_prompt or None,
            include_rai_reason=True,  # filtered images come back with their reason, not silently dropped
            **_output_options(request),
        )
        with self._translated(request):
            with _deprecation_quiet():
                call = client.aio.models.generate_images(
                    model=request.model, prompt=request.prompt, config=config
                )
            response = await call
        used = {"aspect_ratio": request.aspect_ratio, "image_size": config.image_size}
        # Image bytes are inspected with Pillow: CPU work, off the event loop.
        return await asyncio.to_thread(self._imagen_result, request, response.generated_images or [], used)

    async def _imagen_edit(self, request: ProviderRequest) -> ProviderResult:
        from google.genai import types

        if request.mask is None:
            raise UnsupportedOption(
                f"{request.model} only edits inside a mask; send a mask, or use a Gemini image model "
                "for mask-free edits.",
                option="mask",
            )
        # Imagen reads PNG and JPEG only (a GIF or WebP becomes PNG). Users mark the area with
        # transparency or white; Imagen wants white = edit, at the base image's size.
        base, mask = await asyncio.to_thread(_imagen_inputs, request.images[0], request.mask)
        mode = (
            "EDIT_MODE_INPAINT_REMOVAL" if _REMOVAL.match(request.prompt) else "EDIT_MODE_INPAINT_INSERTION"
        )
        references: list[Any] = [
            types.RawReferenceImage(
                reference_id=1, reference_image=types.Image(image_bytes=base.data, mime_type=base.media_type)
            ),
            types.MaskReferenceImage(
                reference_id=2,
                reference_image=types.Image(image_bytes=mask, mime_type="image/png"),
                config=types.MaskReferenceConfig(mask_mode="MASK_MODE_USER_PROVIDED"),
            ),
        ]
        config = types.EditImageConfig(
            edit_mode=mode,
            number_of_images=request.n,
            negative_prompt=request.negative_prompt or None,
            include_rai_reason=True,
            **_output_options(request),
        )
        client = await self._sdk()
        with self._translated(request):
            with _deprecation_quiet():
                call = client.aio.models.edit_image(
                    model=request.model, prompt=request.prompt, reference_images=references, config=config
                )
            response = await call
        used = {"edit_mode": mode, "mask_mode": "MASK_MODE_USER_PROVIDED"}
        return await asyncio.to_thread(self._imagen_result, request, response.generated_images or [], used)

    def _imagen_result(
        self, request: ProviderRequest, generated: Sequence[types.GeneratedImage], used: dict[str, Any]
    ) -> ProviderResult:
        images: list[GeneratedImage] = []
        filtered: list[str] = []
        for item in generated:
            data = item.image.image_bytes if item.image is not None else None
            image = generated_image(data, request, self.provider_id) if data else None
            if image is not None:
                images.append(image)
            elif item.rai_filtered_reason:
                filtered.append(item.rai_filtered_reason)
        if not images and filtered:
            raise ContentBlocked(
                f"vertex withheld every image: {filtered[0]}",
                provider=self.provider_id,
                stage="output",
                reason=filtered[0],
                rai_filtered_reason=filtered[0],
            )
        if not images:
            raise NoImage(f"vertex/{request.model} answered without an image.", provider=self.provider_id)
        warnings_ = tuple(f"Vertex's safety filter withheld an image: {reason}" for reason in filtered)
        first = images[0].media_type
        if first != request.output_format.media_type:
            warnings_ += (f"{request.output_format.media_type} was asked for; Vertex returned {first}.",)
        used = {**used, "output_format": first.removeprefix("image/")}
        return ProviderResult(images=tuple(images), used=used, warnings=warnings_)


def _imagen_inputs(base: ImageData, mask: ImageData) -> tuple[ImageData, bytes]:
    """The base image in a type Imagen reads, and the white = edit mask at its size (blocking)."""
    base = as_accepted(base, IMAGEN_INPUT_TYPES)
    _, width, height = image_size(base.data)
    return base, white_edit_mask(mask.data, (width, height))


def _output_options(request: ProviderRequest) -> dict[str, Any]:
    options: dict[str, Any] = {"output_mime_type": request.output_format.media_type}
    if request.output_format is OutputFormat.JPEG and request.output_compression is not None:
        options["output_compression_quality"] = request.output_compression
    return options


@contextmanager
def _deprecation_quiet() -> Iterator[None]:
    """google-genai warns once that the Imagen methods are deprecated (the models are retired;
    the catalog says so). Silence just that, only while the call is created: the warning is
    raised synchronously, before the first await."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"The (generate_images|edit_image) method is deprecated")
        yield


def build_vertex_provider(
    settings: VertexSettings, http_client: httpx2.AsyncClient | None = None
) -> VertexImageProvider:
    """The adapter from settings; ``http_client`` lets tests put a fake vendor on the wire."""
    if not settings.vertex_project:
        raise InvalidRequest("VERTEX_PROJECT is required for Vertex AI.", variable="VERTEX_PROJECT")
    return VertexImageProvider(
        settings.vertex_project,
        location=settings.vertex_location,
        credentials_path=settings.vertex_credentials_path,
        timeout_s=settings.request_timeout_s,
        base_url=settings.vertex_base_url,
        http_client=http_client,
    )
