"""The MCP server: three seed-compatible tools and image resources, over a built container."""

# No `from __future__ import annotations` here: tool signatures are closures whose
# annotations (the provider enum) must be real objects when FastMCP inspects them.

import logging
from typing import Annotated, Any, Literal

from fastmcp import Context, FastMCP
from fastmcp.tools import ToolResult
from mcp.types import ImageContent, ResourceLink, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from application.create_images import ImageOutcome
from domain.errors import AppError
from domain.images import ImageRequest
from entrypoints.container import Container
from entrypoints.mcp import tool_params as P
from entrypoints.mcp.errors import CodedErrors, error_result
from entrypoints.mcp.presentation import (
    ImageToolResult,
    InlineRenderer,
    capabilities_text,
    structured_result,
    summary_text,
)
from entrypoints.mcp.resources import register_image_resources
from entrypoints.mcp.stored_records import image_uri
from entrypoints.mcp.viewer import TOOL_APP, register_viewer
from entrypoints.settings import InlineMode, Settings

log = logging.getLogger("image_gen_mcp")

SERVER_NAME = "image-gen-mcp"
INSTRUCTIONS = """\
Generates and edits images on OpenAI, Azure OpenAI, Google Gemini, Vertex AI and OpenRouter
through one schema. Call get_model_capabilities to see which providers are enabled (and which
variable enables the others), and what each model supports (sizes, aspect ratios, masks,
transparency, max n). provider and model may be omitted: the server picks its default and
says which it chose. Results carry a small inline preview plus a resource link
(image://{id}) to the full image; pass image://{id} to edit_image to edit an image made
earlier without re-sending it. Every failure is an isError result whose structuredContent has
a stable `code`. Options a model cannot honour exactly are remapped and reported in
`warnings`; pass strict=true to get an error instead."""


def server_version() -> str:
    """The installed package's version (reported as serverInfo and in the OpenAPI document)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("image-gen-mcp")
    except PackageNotFoundError:
        return "0+unknown"


class CapabilitiesResult(BaseModel):
    """structuredContent of get_model_capabilities."""

    ok: bool
    default_provider: str | None = None
    providers: list[dict[str, Any]] | None = Field(
        None, description="Every provider, enabled or not (with the variables that enable it)."
    )
    capabilities: list[dict[str, Any]] | None = Field(
        None, description="Enabled providers in the older image-gen-mcp CapabilityReport shape."
    )
    code: str | None = None
    message: str | None = None
    details: dict[str, Any] | None = None
    retryable: bool | None = None


def _known_models(container: Container) -> str:
    registry = container.registry()
    names: list[str] = []
    for provider_id in registry.ordered_ids():
        provider = registry.enabled.get(provider_id)
        specs = provider.catalog() if provider else registry.disabled[provider_id].catalog
        names.extend(f"{provider_id}:{s.model}" for s in specs)
    return ", ".join(names) or "see get_model_capabilities"


def build_mcp_server(container: Container, *, local_paths: bool = True) -> FastMCP:
    """Build the FastMCP server whose tools each call one use case of ``container``.

    ``local_paths`` means the caller runs on this machine (stdio): results report where each
    image was saved and local input paths may be read. The HTTP entrypoint turns it off:
    remote clients cannot open the server's files (ids and resource links serve them), and
    read local inputs only when the operator allows it (IMAGE_GEN_MCP_LOCAL_INPUT_REMOTE)."""
    settings: Settings = container.settings()
    registry = container.registry()
    store = container.store()
    reader = container.image_reader() if local_paths else container.remote_image_reader()
    provider_ids = tuple(registry.ordered_ids())
    # The provider enum is built from the registry, so it lists exactly what this server knows.
    ProviderArg = Annotated[
        Literal[provider_ids] | None,  # type: ignore[valid-type]
        Field(description="Provider id; omit for the server's default (reported in the result)."),
    ]
    ModelArg = Annotated[
        str | None,
        Field(
            description="Model id; any string is passed through so new vendor models work "
            f"without a release. Known: {_known_models(container)}. Omit for the provider's default.",
            max_length=200,
        ),
    ]

    mcp = FastMCP(
        SERVER_NAME,
        instructions=INSTRUCTIONS,
        version=server_version(),
        middleware=[CodedErrors()],
        mask_error_details=True,
    )

    async def run(
        ctx: Context | None, request: ImageRequest, inline: InlineMode | None, edit: bool
    ) -> ToolResult:
        async def progress(done: float, total: float | None, message: str) -> None:
            if ctx is not None:
                await ctx.report_progress(done, total, message)

        try:
            use_case = container.edit_image() if edit else container.generate_image()
            renderer = InlineRenderer(settings, inline or settings.inline)
            outcome: ImageOutcome = await use_case(request, progress, renderer.images_ready)
            inlined = await renderer.render(outcome)
        except AppError as exc:
            return error_result(exc)
        result = structured_result(outcome, inlined, local_paths=local_paths)
        content: list[Any] = [TextContent(type="text", text=summary_text(result))]
        for record, preview in zip(result.images or [], inlined, strict=True):
            if preview is not None:
                content.append(
                    ImageContent(type="image", data=preview.base64(), mime_type=preview.media_type)
                )
            if record.id:
                content.append(
                    ResourceLink(
                        type="resource_link",
                        uri=record.uri or image_uri(record.id),
                        name=record.id,
                        title=f"{record.width}x{record.height} {record.media_type}",
                        mime_type=record.media_type,
                        size=record.byte_size,
                    )
                )
        return ToolResult(content=content, structured_content=result.model_dump(exclude_none=True))

    image_tool_schema = ImageToolResult.model_json_schema()

    @mcp.tool(
        title="Generate Image(s)",
        app=TOOL_APP,
        annotations=ToolAnnotations(
            title="Generate Image(s)",
            readOnlyHint=False,
            destructiveHint=False,
            idempotentHint=False,
            openWorldHint=True,
        ),
        output_schema=image_tool_schema,
    )
    async def generate_image(
        prompt: P.Prompt,
        provider: ProviderArg = None,
        model: ModelArg = None,
        n: P.Count = 1,
        size: P.Size = None,
        orientation: P.OrientationArg = None,
        quality: P.QualityArg = None,
        background: P.BackgroundArg = None,
        negative_prompt: P.NegativePrompt = None,
        directory: P.Directory = None,
        aspect_ratio: P.AspectRatio = None,
        output_format: P.OutputFormatArg = None,
        output_compression: P.Compression = None,
        strict: P.Strict = False,
        inline: P.Inline = None,
        ctx: Context | None = None,
    ) -> ToolResult:
        """Generate image(s) from a text prompt. Returns inline previews, links to the
        full-resolution images (image://{id}) and compact metadata."""
        request = ImageRequest(
            prompt=prompt,
            provider=provider,
            model=model,
            n=n or 1,
            size=size,
            orientation=orientation,
            aspect_ratio=aspect_ratio,
            quality=quality,
            background=background,
            negative_prompt=negative_prompt,
            output_format=output_format,
            output_compression=output_compression,
            strict=strict,
            directory=directory,
        )
        return await run(ctx, request, inline, edit=False)

    @mcp.tool(
        title="Edit Image(s)",
        app=TOOL_APP,
        annotations=ToolAnnotations(
            title="Edit Image(s)",
            readOnlyHint=False,
            destructiveHint=False,
            idempotentHint=False,
            openWorldHint=True,
        ),
        output_schema=image_tool_schema,
    )
    async def edit_image(
        prompt: P.EditPrompt,
        images: P.Images,
        mask: P.Mask = None,
        provider: ProviderArg = None,
        model: ModelArg = None,
        n: P.Count = 1,
        size: P.Size = None,
        orientation: P.OrientationArg = None,
        quality: P.QualityArg = None,
        background: P.BackgroundArg = None,
        negative_prompt: P.NegativePrompt = None,
        directory: P.Directory = None,
        aspect_ratio: P.AspectRatio = None,
        output_format: P.OutputFormatArg = None,
        output_compression: P.Compression = None,
        strict: P.Strict = False,
        inline: P.Inline = None,
        ctx: Context | None = None,
    ) -> ToolResult:
        """Edit image(s) following an instruction, optionally inside a mask. Accepts
        image://{id} from an earlier result, so nothing needs re-sending."""
        try:
            decoded, decoded_mask = await reader.read_all(images, mask)
        except AppError as exc:
            return error_result(exc)
        request = ImageRequest(
            prompt=prompt,
            provider=provider,
            model=model,
            n=n or 1,
            size=size,
            orientation=orientation,
            aspect_ratio=aspect_ratio,
            quality=quality,
            background=background,
            negative_prompt=negative_prompt,
            output_format=output_format,
            output_compression=output_compression,
            strict=strict,
            directory=directory,
            images=decoded,
            mask=decoded_mask,
        )
        return await run(ctx, request, inline, edit=True)

    @mcp.tool(
        title="Get Model Capabilities",
        annotations=ToolAnnotations(
            title="Get Model Capabilities",
            readOnlyHint=True,
            destructiveHint=False,
            idempotentHint=True,
            openWorldHint=False,
        ),
        output_schema=CapabilitiesResult.model_json_schema(),
    )
    async def get_model_capabilities(
        provider: ProviderArg = None,
    ) -> ToolResult:
        """List every provider (enabled or not, and which variable enables it) with its
        models: operations, masks, max n, sizes, aspect ratios, transparency and status."""
        try:
            report = await container.get_model_capabilities()(provider)
        except AppError as exc:
            return error_result(exc)
        return ToolResult(
            content=[TextContent(type="text", text=capabilities_text(report))],
            structured_content={"ok": True, **report},
        )

    register_image_resources(mcp, store, settings, local_paths=local_paths)
    register_viewer(mcp)
    return mcp
