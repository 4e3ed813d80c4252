"""The GetModelCapabilities use case: every provider, enabled or not and why, with its models."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from attrs import field, frozen

from application.costs import NoPrices, PriceBook
from application.routing import ProviderRegistry
from domain.catalog import ModelSpec
from domain.errors import AppError, InvalidRequest, ModelNotFound
from domain.options import ModelStatus


@frozen
class GetModelCapabilities:
    """Report providers in a fixed order, each with its default model.

    ``provider`` narrows the report to one provider, ``model`` to the entries with that id.
    Raises InvalidRequest for an unknown provider id and ModelNotFound for a model no
    reported provider lists.
    """

    registry: ProviderRegistry
    prices: PriceBook = field(factory=NoPrices)

    async def __call__(self, provider: str | None = None, model: str | None = None) -> dict[str, Any]:
        ids = self.registry.ordered_ids()
        if provider is not None:
            if provider not in ids:
                raise InvalidRequest(
                    f"Unknown provider {provider!r}; known: {', '.join(ids)}.", option="provider"
                )
            ids = [provider]
        providers: list[dict[str, Any]] = []
        seed: list[dict[str, Any]] = []
        for provider_id in ids:
            entry, specs = await self._provider(provider_id, model)
            if model is not None and not specs:
                continue
            providers.append(entry)
            if entry["enabled"]:
                # Retired models are of no use to a client choosing what to call.
                live = [s for s in specs if s.status is not ModelStatus.RETIRED]
                seed.append(_seed_report(provider_id, live))
        if model is not None and not providers:
            raise ModelNotFound(
                f"No provider lists model {model!r}; any id may still be passed with an "
                "explicit provider (it is sent as is).",
                model=model,
            )
        try:
            default: str | None = self.registry.default_provider_id()
        except AppError:  # no provider enabled is a valid state to report, not an error here
            default = None
        return {
            "default_provider": default,
            "providers": providers,
            "capabilities": seed,
        }

    async def _provider(self, provider_id: str, model: str | None) -> tuple[dict[str, Any], list[ModelSpec]]:
        enabled = self.registry.enabled.get(provider_id)
        if enabled is not None:
            specs = list(await enabled.models())
            entry: dict[str, Any] = {"provider": provider_id, "enabled": True}
        else:
            off = self.registry.disabled[provider_id]
            specs = list(off.catalog)
            entry = {
                "provider": provider_id, "enabled": False, "reason": off.reason, "missing": list(off.missing)
            }  # fmt: skip
        entry["default_model"] = self.registry.default_model_id(provider_id, specs)
        if model is not None:
            specs = [s for s in specs if s.model == model]
        entry["models"] = [self._priced(s, _describe(s, full=entry["enabled"])) for s in specs]
        return entry, specs

    def _priced(self, spec: ModelSpec, described: dict[str, Any]) -> dict[str, Any]:
        # One small field, only where a price is known: [lowest, highest] USD per image. Absent
        # means unknown (results then say cost_usd null); a retired model cannot be called.
        price = self.prices.price(spec.provider, spec.model)
        if price is not None and spec.status is not ModelStatus.RETIRED:
            described["price_per_image_usd"] = price.range_per_image()
        return described


# Fields the seed-shape ``capabilities[]`` carries, or that repeat another field
# (``operations``, ``transparency``, ``negative_prompt``): left out of ``providers[].models``
# so the whole report stays small (hosts count it against the model's context).
_SEED_ONLY = frozenset({
    "supports_generation", "supports_edit", "supports_background", "supports_negative_prompt",
    "supports_multi_image_edit", "architecture",
})  # fmt: skip


def _describe(spec: ModelSpec, *, full: bool) -> dict[str, Any]:
    """One model's entry: every fact for an enabled provider's current and legacy models,
    the brief fields for a disabled provider's, and only the status and replacement for a
    retired model (it cannot be called)."""
    described = spec.describe()
    if spec.status is ModelStatus.RETIRED:
        keys: Iterable[str] = _RETIRED_FIELDS
    elif full:
        keys = [k for k in described if k not in _SEED_ONLY]
    else:
        keys = _BRIEF_FIELDS
    entry = {k: described[k] for k in keys if described[k] is not None}
    if not spec.discovered:
        entry.pop("discovered", None)  # said only of models found live
    return entry


_RETIRED_FIELDS = ("model", "status", "retired_on", "replacement")


# What a disabled provider's models report: enough to choose which vendor to enable.
_BRIEF_FIELDS = (
    "model", "status", "replacement", "operations", "supports_mask", "max_n", "sizes",
    "aspect_ratios", "transparency",
)  # fmt: skip


_SEED_FIELDS = (
    "model", "supports_generation", "supports_edit", "supports_mask", "max_n",
    "supports_background", "supports_negative_prompt", "supports_multi_image_edit",
)  # fmt: skip


def _seed_report(provider_id: str, specs: list[ModelSpec]) -> dict[str, Any]:
    """An enabled provider in the older server's ``CapabilityReport`` shape, so clients
    written for it keep reading ``capabilities[].models[]``."""
    described = [spec.describe() for spec in specs]
    kinds = {spec.architecture for spec in specs}
    return {
        "provider": provider_id,
        "family": "diffusion" if kinds == {"diffusion"} else "ar",
        "models": [{k: m[k] for k in _SEED_FIELDS} for m in described],
    }
