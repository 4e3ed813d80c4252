"""What a call costs: a model's price as data, and the cost of one vendor call.

A price is read from a vendor's page on a given day and kept with that page and day; the
arithmetic here never invents one. Where no price is known the cost is ``None`` and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum

from attrs import field, frozen

from domain.images import Usage
from domain.normalized import ProviderRequest


class CostSource(StrEnum):
    """Where ``cost_usd`` came from."""

    VENDOR = "vendor"  # the vendor's own figure (OpenRouter's usage.cost)
    ESTIMATE = "estimate"  # tokens or images billed × the price table
    FREE = "free"  # an offline provider: nothing is billed
    UNKNOWN = "unknown"  # no price known: cost_usd is null, never a guess


@frozen
class Price:
    """One model's list price, as read from ``source`` on ``read_on``.

    * ``input_per_mtok`` / ``output_per_mtok``: USD per million input / output tokens, for
      vendors that bill tokens and report them. Output is priced at the image-token rate: text
      and thinking tokens, billed lower by some vendors, are counted at it too (an upper bound).
    * ``per_image``: USD per output image by key, most specific first when looked up:
      ``"{quality}/{W}x{H}"`` (OpenAI's table), the native size label (``"1K"``) or ``"*"``.
      Used when the vendor reports no tokens, and for the estimate before a call.
    """

    source: str
    read_on: date
    input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    per_image: Mapping[str, float] = field(factory=dict)
    free: bool = False

    def image_price(self, call: ProviderRequest) -> float | None:
        """The price of one image made by ``call``. An exact key wins; otherwise the highest
        listed price, so that a cap never lets through more than the table allows."""
        if self.free:
            return 0.0
        for key in (f"{call.quality}/{call.width}x{call.height}", call.size_label, "*"):
            if key is not None and key in self.per_image:
                return self.per_image[key]
        return max(self.per_image.values(), default=None)

    def token_cost(self, usage: Usage) -> float | None:
        """The cost of the tokens the vendor reported, or None when it reported none."""
        if self.output_per_mtok is None or usage.output_tokens is None:
            return None
        cost = usage.output_tokens * self.output_per_mtok
        if usage.input_tokens is not None and self.input_per_mtok is not None:
            cost += usage.input_tokens * self.input_per_mtok
        return cost / 1_000_000

    def range_per_image(self) -> list[float] | None:
        """[lowest, highest] price of one image, for the capabilities report."""
        if self.free:
            return [0.0, 0.0]
        values = sorted(self.per_image.values())
        return [round(values[0], 4), round(values[-1], 4)] if values else None


def per_image_from_tokens(tokens_per_label: Mapping[str, int], output_per_mtok: float) -> dict[str, float]:
    """Per-image prices of a model billed per output token, from the tokens each size costs."""
    return {label: tokens * output_per_mtok / 1_000_000 for label, tokens in tokens_per_label.items()}


@frozen
class Cost:
    """The cost of a call: ``usd`` is None exactly when ``source`` is UNKNOWN."""

    usd: float | None
    source: CostSource

    @staticmethod
    def total(parts: Sequence[Cost]) -> Cost:
        """Fan-out: the parts add up; one unknown part makes the whole unknown (a partial sum
        would read as the full price), and any estimate makes the whole an estimate."""
        if not parts or any(p.usd is None for p in parts):
            return Cost(None, CostSource.UNKNOWN)
        sources = {p.source for p in parts}
        source = next(iter(sources)) if len(sources) == 1 else CostSource.ESTIMATE
        return Cost(sum(p.usd or 0.0 for p in parts), source)

    def as_dict(self) -> dict[str, object]:
        usd = None if self.usd is None else round(self.usd, 6)
        return {"cost_usd": usd, "cost_source": self.source.value}
