"""Annotated parameter types of the tools: names, enums and descriptions follow the seed."""

import json
import re
from typing import Annotated

from pydantic import BeforeValidator, Field

from domain.options import Background, Orientation, OutputFormat, Quality, SizeTier
from entrypoints.settings import InlineMode

# Input strings may carry a whole photo as base64; the decoder applies the byte cap.
MAX_IMAGE_ARG_CHARS = 50_000_000

Prompt = Annotated[str, Field(description="What to draw.", max_length=32_000)]
EditPrompt = Annotated[str, Field(description="The edit instruction.", max_length=32_000)]
# The longest model id any face accepts (the MCP tools, REST and the OpenAI gateway).
MODEL_ID_MAX_CHARS = 200
Model = Annotated[
    str | None,
    Field(
        description="Any model id (new ones pass through). Ids and each provider's default: "
        "get_model_capabilities.",
        max_length=MODEL_ID_MAX_CHARS,
    ),
]
ModelFilter = Annotated[
    str | None, Field(description="Report only this model.", max_length=MODEL_ID_MAX_CHARS)
]
Count = Annotated[int | None, Field(ge=1, le=10, description="Images wanted (default 1).")]
Size = Annotated[
    SizeTier | None,
    Field(description="Long edge ≈1K/2K/4K, per model (not WxH)."),
]
OrientationArg = Annotated[Orientation | None, Field(description="1:1 (default), 2:3 or 3:2.")]
QualityArg = Annotated[Quality | None, Field()]
BackgroundArg = Annotated[Background | None, Field()]
NegativePrompt = Annotated[str | None, Field(description="What to avoid.", max_length=4_000)]
Directory = Annotated[
    str | None, Field(description="Subfolder of the output root.", max_length=1024)
]
AspectRatio = Annotated[
    str | None, Field(description="e.g. 16:9; overrides orientation.", max_length=16)
]
OutputFormatArg = Annotated[OutputFormat | None, Field()]
Compression = Annotated[int | None, Field(ge=0, le=100, description="jpeg/webp only.")]
Strict = Annotated[bool, Field(description="Refuse rather than adjust options.")]
Inline = Annotated[InlineMode | None, Field(description="What goes inline (default preview).")]
_JSON_ARRAY_START = re.compile(r"\s*\[")


def _image_list(value: object) -> object:
    """Accept ``images`` as the list it should be, its JSON text, or one lone string.

    Claude Code, Claude Desktop and Copilot CLI are known to send an array argument as its JSON
    text now and then (anthropics/claude-code#22394, #59227, #86459), and models sometimes pass
    a single string where a list is declared. Neither is ambiguous here: no image form (data
    URL, base64, id, URL) starts with ``[``. The advertised schema stays a plain array.
    """
    if not isinstance(value, str):
        return value
    if _JSON_ARRAY_START.match(value):
        try:
            return json.loads(value)
        except ValueError:
            return value  # left for the list check to refuse with its usual message
    return [value]


Images = Annotated[
    list[Annotated[str, Field(max_length=MAX_IMAGE_ARG_CHARS)]],
    BeforeValidator(_image_list),
    Field(
        min_length=1,
        max_length=16,
        description="data URL, base64, image://{id} or https URL.",
    ),
]
Mask = Annotated[
    str | None,
    Field(
        description="Same forms; transparent or white pixels mark the area to edit.",
        max_length=MAX_IMAGE_ARG_CHARS,
    ),
]
