"""The GetModelCapabilities use case: every provider, enabled or not and why, with its models."""

from __future__ import annotations

from typing import Any

from attrs import frozen

from application.routing import ProviderRegistry
from domain.errors import InvalidRequest


@frozen
class GetModelCapabilities:
    """Report providers in a fixed order. Raises InvalidRequest for an unknown provider id."""

    registry: ProviderRegistry

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
            entry["models"] = [spec.describe() for spec in specs]
            providers.append(entry)
        try:
            default = self.registry.default_provider_id()
        except Exception:  # no provider enabled is a valid state to report, not an error here
            default = None
        return {"default_provider": default, "providers": providers}
