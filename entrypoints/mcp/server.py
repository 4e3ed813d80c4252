"""The MCP server: three seed-compatible tools and image resources, over a built container."""

# No `from __future__ import annotations` here: tool signatures are closures whose
# annotations (the provider enum) must be real objects when FastMCP inspects them.

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastmcp import Context, FastMCP
from fastmcp.tools import Tool, ToolResult
from mcp.types import ImageContent, ResourceLink, TextContent, ToolAnnotations
from pydantic import Field

from application.create_images import ImageOutcome, InputLoader
from domain.errors import AppError
from domain.images import ImageRequest
from entrypoints.container import Container
from entrypoints.mcp import tool_params as P
from entrypoints.mcp.errors import CodedErrors, error_result
from entrypoints.mcp.identity import INSTRUCTIONS, SERVER_NAME
from entrypoints.mcp.lean_schema import CAPABILITIES_RESULT_SCHEMA, IMAGE_RESULT_SCHEMA, lean_schema
from entrypoints.mcp.presentation import (
    InlineRenderer,
    capabilities_text,
    structured_result,
    summary_text,
)
from entrypoints.mcp.resources import register_image_resources
from entrypoints.mcp.stored_records import image_uri
from entrypoints.mcp.tasks import (
    acting_for_caller,
    build_tasks_extension,
    task_config,
    waiting_for_a_slot,
)
from entrypoints.mcp.viewer import TOOL_UI_META, register_viewer
from entrypoints.settings import InlineMode, Settings
from entrypoints.version import server_version

log = logging.getLogger("image_gen_mcp")


def image_request(
    prompt: str,
    provider: str | None,
    model: str | None,
    n: int | None,
    size: Any,
    orientation: Any,
    quality: Any,
    background: Any,
    negative_prompt: str | None,
    directory: str | None,
    aspect_ratio: str | None,
    output_format: Any,
    output_compression: int | None,
    strict: bool,
) -> ImageRequest:
    """The request the image tools share, in their parameters' order (an edit adds its images)."""
    return ImageRequest(
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


def build_mcp_server(
    container: Container, *, local_paths: bool = True, shared_tasks: bool = False
) -> FastMCP:
    """Build the FastMCP server whose tools each call one use case of ``container``.

    ``local_paths`` means the caller runs on this machine (stdio): results report where each
    image was saved and local input paths may be read. The HTTP entrypoint turns it off:
    remote clients cannot open the server's files (ids and resource links serve them), and
    read local inputs only when the operator allows it (IMAGE_GEN_MCP_LOCAL_INPUT_REMOTE).
    ``shared_tasks`` puts background tasks in ``IMAGE_GEN_MCP_REDIS_URL`` when it is set (the
    HTTP entrypoint and the worker); otherwise they stay in this process, as a stdio session's
    do: its one local user has no business in a cluster's queue."""
    settings: Settings = container.settings()
    registry = container.registry()
    store = container.store()
    reader = container.image_reader() if local_paths else container.remote_image_reader()
    provider_ids = tuple(registry.ordered_ids())
    # The provider enum is built from the registry, so it lists exactly what this server knows.
    ProviderArg = Annotated[
        Literal[provider_ids] | None,  # type: ignore[valid-type]
        Field(description="Omit for the server's default."),
    ]

    mcp = FastMCP(
        SERVER_NAME,
        instructions=INSTRUCTIONS,
        version=server_version(),
        middleware=[CodedErrors()],
        mask_error_details=True,
    )
    tasks = build_tasks_extension(settings, shared=shared_tasks)
    if tasks is not None:
        mcp.add_extension(tasks)
    # generate_image and edit_image may run as background tasks when the client opts in.
    as_task = task_config(settings)

    async def run(
        ctx: Context | None,
        request: ImageRequest,
        inline: InlineMode | None,
        edit: bool,
        inputs: InputLoader | None = None,
    ) -> ToolResult:
        async def progress(done: float, total: float | None, message: str) -> None:
            if ctx is not None:
                await ctx.report_progress(done, total, message)

        try:
            use_case = container.edit_image() if edit else container.generate_image()
            renderer = InlineRenderer(settings, inline or settings.inline)
            call: Callable[[], Awaitable[ImageOutcome]] = (
                (lambda: use_case(request, progress, renderer.images_ready, inputs))
                if edit
                else (lambda: use_case(request, progress, renderer.images_ready))
            )
            outcome = await waiting_for_a_slot(ctx, call, settings.request_timeout_s, progress)
            inlined = await renderer.render(outcome)
        except Exception as exc:
            # Every exception, not only AppError: as a background task the body runs in a Docket
            # worker, outside the CodedErrors middleware, and must still end in a coded result.
            return error_result(exc, local_paths=local_paths)
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

    async def serve(
        ctx: Context | None, inline: InlineMode | None, inputs: InputLoader | None, *options: Any
    ) -> ToolResult:
        """One image tool call: an edit when it has ``inputs``. As a background task it runs
        for the tenant that started it, and no middleware is there to code its failures."""
        with acting_for_caller(ctx):
            try:
                request = image_request(*options)
            except Exception as exc:
                return error_result(exc, local_paths=local_paths)
            return await run(ctx, request, inline, edit=inputs is not None, inputs=inputs)

    async def generate_image(
        prompt: P.Prompt,
        provider: ProviderArg = None,
        model: P.Model = None,
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
        """Generate images from a prompt. Returns previews, image://{id} links and metadata."""
        return await serve(
            ctx, inline, None,
            prompt, provider, model, n, size, orientation, quality, background, negative_prompt,
            directory, aspect_ratio, output_format, output_compression, strict,
        )  # fmt: skip

    async def edit_image(
        prompt: P.EditPrompt,
        images: P.Images,
        mask: P.Mask = None,
        provider: ProviderArg = None,
        model: P.Model = None,
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
        """Edit images by instruction, optionally inside a mask; takes image://{id} of earlier results."""
        # Read and checked only once the call is admitted (in-flight cap, input deadline).
        return await serve(
            ctx, inline, lambda: reader.read_all(images, mask),
            prompt, provider, model, n, size, orientation, quality, background, negative_prompt,
            directory, aspect_ratio, output_format, output_compression, strict,
        )  # fmt: skip

    async def get_model_capabilities(
        provider: ProviderArg = None,
        model: P.ModelFilter = None,
    ) -> ToolResult:
        """Providers (enabled or not, and the variable that enables each), their default
        models, and per model: operations, mask, max n, sizes, ratios, transparency, status."""
        try:
            report = await container.get_model_capabilities()(provider, model)
        except AppError as exc:
            return error_result(exc, local_paths=local_paths)
        return ToolResult(
            content=[TextContent(type="text", text=capabilities_text(report))],
            structured_content={"ok": True, **report},
        )

    writes = ToolAnnotations(
        readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=True
    )
    reads = ToolAnnotations(
        readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
    )
    # The image tools may run as background tasks, and name the results viewer (an MCP App) for
    # hosts that render one; hosts without Apps support ignore the _meta link.
    for fn, title, annotations, output, task, meta in (
        (generate_image, "Generate Image(s)", writes, IMAGE_RESULT_SCHEMA, as_task, TOOL_UI_META),
        (edit_image, "Edit Image(s)", writes, IMAGE_RESULT_SCHEMA, as_task, TOOL_UI_META),
        (get_model_capabilities, "Get Model Capabilities", reads, CAPABILITIES_RESULT_SCHEMA, None, None),
    ):
        tool = Tool.from_function(
            fn, title=title, annotations=annotations, output_schema=output, task=task, meta=meta
        )
        mcp.add_tool(tool.model_copy(update={"parameters": lean_schema(tool.parameters)}))

    register_image_resources(mcp, store, settings, local_paths=local_paths)
    register_viewer(mcp)
    return mcp
