"""The GetModelCapabilities use case: every provider, enabled or not and why, with its models."""

from __future__ import annotations

from typing import Any

from attrs import field, frozen

from application.costs import NoPrices, PriceBook
from application.routing import ProviderRegistry
from domain.errors import AppError, InvalidRequest


@frozen
class GetModelCapabilities:
    """Report providers in a fixed order. Raises InvalidRequest for an unknown provider id."""

    registry: ProviderRegistry
    prices: PriceBook = field(factory=NoPrices)

    async def __call__(self, provider: str | None = None) -> dict[str, Any]:
        ids = self.registry.ordered_ids()
        if provider is not None:
            if provider not in ids:
                raise InvalidRequest(
                    f"Unknown provider {provider!r}; known: {', '.join(ids)}.", option="provider"
                )
            ids = [provider]
        providers: list[dict[str, Any]] = []
        for provider_id in ids:
            enabled = self.registry.enabled.get(provider_id)
            if enabled is not None:
                specs = list(await enabled.models())
                default_model = self.registry.default_models.get(provider_id)
                entry: dict[str, Any] = {
                    "provider": provider_id,
                    "enabled": True,
                    "reason": None,
                    "missing": [],
                    "default_model": default_model,
                }
            else:
                off = self.registry.disabled[provider_id]
                specs = list(off.catalog)
                entry = {
                    "provider": provider_id,
                    "enabled": False,
                    "reason": off.reason,
                    "missing": list(off.missing),
                    "default_model": None,
                }
            brief = not entry["enabled"]
            entry["models"] = [
                self._priced(provider_id, _brief(spec.describe()) if brief else spec.describe())
                for spec in specs
            ]
            providers.append(entry)
        try:
            default: str | None = self.registry.default_provider_id()
        except AppError:  # no provider enabled is a valid state to report, not an error here
            default = None
        return {
            "default_provider": default,
            "providers": providers,
            "capabilities": [_seed_report(p) for p in providers if p["enabled"]],
        }

    def _priced(self, provider: str, described: dict[str, Any]) -> dict[str, Any]:
        # One small field: [lowest, highest] USD per image, or null when no price is known.
        price = self.prices.price(provider, described["model"])
        described["price_per_image_usd"] = price.range_per_image() if price else None
        return described


# What a disabled provider's models report: enough to choose which vendor to enable, while
# keeping the answer small (hosts count it against the model's context).
_BRIEF_FIELDS = (
    "model", "family", "status", "retired_on", "replacement", "operations",
    "supports_generation", "supports_edit", "supports_mask", "max_n", "sizes", "aspect_ratios",
    "transparency",
)  # fmt: skip


def _brief(described: dict[str, Any]) -> dict[str, Any]:
    return {key: described[key] for key in _BRIEF_FIELDS}


_SEED_FIELDS = (
    "model", "supports_generation", "supports_edit", "supports_mask", "max_n",
    "supports_background", "supports_negative_prompt", "supports_multi_image_edit",
)  # fmt: skip


def _seed_report(provider: dict[str, Any]) -> dict[str, Any]:
    """The enabled provider in the older server's ``CapabilityReport`` shape, so clients
    written for it keep reading ``capabilities[].models[]``."""
    kinds = {m["architecture"] for m in provider["models"]}
    return {
        "provider": provider["provider"],
        "family": "diffusion" if kinds == {"diffusion"} else "ar",
        "models": [{k: m[k] for k in _SEED_FIELDS} for m in provider["models"]],
    }
