"""The price table: one entry per (provider, model) whose price was read on a page, with the
page and the day. A model missing here has no known price and reports ``cost_usd: null``.

Kept as data beside the catalogs (no ``if model == …``): to update a price, change its row and
its ``read_on``. See README "Cost" for what each source is and what is left unknown and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from application.costs import PriceBook
from domain.pricing import Price, per_image_from_tokens

_READ = date(2026, 12, 4)

# OpenAI's model pages list token rates and a per-image table by quality and size.
_OPENAI_SIZES = ("1024x1024", "1024x1536", "1536x1024")


def _openai_table(
    low: tuple[float, ...], medium: tuple[float, ...], high: tuple[float, ...]
) -> dict[str, float]:
    rows = {"low": low, "medium": medium, "high": high}
    return {
        f"{quality}/{size}": usd
        for quality, prices in rows.items()
        for size, usd in zip(_OPENAI_SIZES, prices, strict=True)
    }


GPT_IMAGE_1_MINI = Price(
    source="https://developers.openai.com/api/docs/models/gpt-image-1-mini",
    read_on=_READ,
    # The page bills input text at $2.00 and input images at $2.50; usage does not split them,
    # so the higher rate is applied to all input tokens (an upper bound of a few cents at most).
    input_per_mtok=2.50,
    output_per_mtok=8.00,
    per_image=_openai_table((0.005, 0.006, 0.006), (0.011, 0.015, 0.015), (0.036, 0.052, 0.052)),
)
GPT_IMAGE_1 = Price(
    source="https://developers.openai.com/api/docs/models/gpt-image-1",
    read_on=_READ,
    input_per_mtok=10.00,  # image input; text input is $5.00 (see above)
    output_per_mtok=40.00,
    per_image=_openai_table((0.011, 0.016, 0.016), (0.042, 0.063, 0.063), (0.167, 0.25, 0.25)),
)

# Gemini 3.1 Flash Image: $60 per million image output tokens, $0.50 per million input tokens
# (pages quoting Google's pricing page disagree on input between $0.25 and $0.50: the higher is
# kept). Tokens per image by size are the fact sheet's Vertex figures [GV-MODELS].
_FLASH_31_TOKENS = {"512": 747, "1K": 1120, "2K": 1680, "4K": 2520}


def _flash_31(source: str) -> Price:
    return Price(
        source=source,
        read_on=_READ,
        input_per_mtok=0.50,
        output_per_mtok=60.00,
        per_image=per_image_from_tokens(_FLASH_31_TOKENS, 60.00),
    )


GEMINI_31_FLASH_IMAGE = _flash_31(
    "https://blog.laozhang.ai/en/posts/gemini-3-1-flash-image-preview (quoting https://ai.google.dev/gemini-api/docs/pricing)"
)
# Vertex lists the same rates ($0.50 in, $0.0672 per 1K image = 1120 tokens × $60/M), per a
# cost calculator built on Vertex's price list; Google's Vertex pricing page was not in reach.
VERTEX_31_FLASH_IMAGE = _flash_31(
    "https://www.getmaxim.ai/bifrost/llm-cost-calculator/provider/vertex_ai/model/gemini-3.1-flash-image-preview"
)
# Gemini 2.5 Flash Image: $30 per million output tokens, 1290 tokens per image up to 1024².
GEMINI_25_FLASH_IMAGE = Price(
    source="https://discuss.ai.google.dev/t/issue-with-url-context-tooling/101173 (quoting https://ai.google.dev/gemini-api/docs/pricing)",
    read_on=_READ,
    input_per_mtok=0.30,
    output_per_mtok=30.00,
    per_image=per_image_from_tokens({"*": 1290}, 30.00),
)


def _imagen(usd: float) -> Price:
    return Price(
        source="https://discuss.ai.google.dev/t/issue-with-url-context-tooling/101173 (quoting https://ai.google.dev/gemini-api/docs/pricing)",
        read_on=_READ,
        per_image={"*": usd},
    )


PRICES: Mapping[tuple[str, str], Price] = {
    ("openai", "gpt-image-1-mini"): GPT_IMAGE_1_MINI,
    ("openai", "gpt-image-1"): GPT_IMAGE_1,
    ("gemini", "gemini-3.1-flash-image"): GEMINI_31_FLASH_IMAGE,
    ("gemini", "gemini-3.1-flash-image-preview"): GEMINI_31_FLASH_IMAGE,
    ("gemini", "gemini-2.5-flash-image"): GEMINI_25_FLASH_IMAGE,
    ("gemini", "gemini-2.5-flash-image-preview"): GEMINI_25_FLASH_IMAGE,
    ("vertex", "gemini-3.1-flash-image"): VERTEX_31_FLASH_IMAGE,
    ("vertex", "gemini-3.1-flash-image-preview"): VERTEX_31_FLASH_IMAGE,
    # Imagen is served from Vertex here; the per-image prices are those Google lists for Imagen.
    ("vertex", "imagen-4.0-generate-001"): _imagen(0.04),
    ("vertex", "imagen-4.0-fast-generate-001"): _imagen(0.02),
    ("vertex", "imagen-4.0-ultra-generate-001"): _imagen(0.06),
    ("vertex", "imagen-3.0-generate-002"): _imagen(0.03),
}

# Providers that bill nothing: every model is free.
FREE_PROVIDERS = frozenset({"placeholder"})
_FREE = Price(source="offline provider", read_on=_READ, free=True)


class PriceTable(PriceBook):
    """The table above (or another one, for tests) as the use cases' :class:`PriceBook`."""

    def __init__(
        self, prices: Mapping[tuple[str, str], Price] = PRICES, free: frozenset[str] = FREE_PROVIDERS
    ) -> None:
        self._prices = prices
        self._free = free

    def price(self, provider: str, model: str) -> Price | None:
        if provider in self._free:
            return _FREE
        return self._prices.get((provider, model))
