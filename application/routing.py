"""Which provider and model serve a request: explicit choices, configured defaults, or the
first enabled provider in a fixed order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from attrs import field, frozen

from application.ports import ImageProvider
from domain.catalog import ModelSpec, template_for, unknown_model_spec
from domain.errors import InvalidRequest, ModelNotFound, ProviderNotConfigured
from domain.options import PROVIDER_ORDER, ModelStatus, Operation


@frozen
class DisabledProvider:
    """A known provider that cannot run, with the variables that would enable it."""

    provider_id: str
    missing: tuple[str, ...]
    catalog: Sequence[ModelSpec] = ()
    note: str | None = None

    @property
    def reason(self) -> str:
        parts = ["Set " + " and ".join(self.missing) + " to enable it."] if self.missing else []
        if self.note:
            parts.append(self.note)
        return " ".join(parts)


@frozen
class Route:
    provider: ImageProvider
    spec: ModelSpec
    chosen_by_default: bool


@frozen
class ProviderRegistry:
    """The configured providers, the disabled ones and their reasons, and the defaults."""

    enabled: Mapping[str, ImageProvider]
    disabled: Mapping[str, DisabledProvider] = field(factory=dict)
    default_provider: str | None = None
    default_models: Mapping[str, str] = field(factory=dict)

    def ordered_ids(self) -> list[str]:
        known = set(self.enabled) | set(self.disabled)
        ordered = [p for p in PROVIDER_ORDER if p in known]
        return ordered + sorted(known - set(ordered))

    def get(self, provider_id: str) -> ImageProvider:
        """Raises ProviderNotConfigured (naming the variables) or InvalidRequest (unknown id)."""
        if provider_id in self.enabled:
            return self.enabled[provider_id]
        if provider_id in self.disabled:
            off = self.disabled[provider_id]
            raise ProviderNotConfigured(
                f"Provider {provider_id!r} is not configured. {off.reason}",
                provider=provider_id,
                missing=list(off.missing),
            )
        raise InvalidRequest(
            f"Unknown provider {provider_id!r}; known: {', '.join(self.ordered_ids())}.",
            option="provider",
        )

    def default_model_id(self, provider_id: str, specs: Sequence[ModelSpec]) -> str | None:
        """The model a call naming only ``provider_id`` gets (None for an empty catalog)."""
        configured = self.default_models.get(provider_id)
        if configured:
            return configured
        try:
            return default_model(specs)
        except ModelNotFound:
            return None

    def default_provider_id(self) -> str:
        if self.default_provider:
            self.get(self.default_provider)  # a configured default that is off is an error
            return self.default_provider
        for provider_id in self.ordered_ids():
            if provider_id in self.enabled:
                return provider_id
        options = [" and ".join(off.missing) for off in self.disabled.values() if off.missing]
        raise ProviderNotConfigured(
            "No provider is enabled. Set one of: " + ", ".join(options) + ".", missing=options
        )

    async def route(self, provider_id: str | None, model: str | None, operation: Operation) -> Route:
        """Resolve (provider, model) to an enabled provider and a catalog entry. A blank model
        counts as none given (clients send "" for an option left empty); an id with inner
        whitespace or control characters is refused (InvalidRequest), since no vendor has one."""
        model = _clean_model_id(model)
        by_default = provider_id is None or model is None
        if provider_id is None and model is not None:
            provider_id = await self._provider_serving(model)
        provider_id = provider_id or self.default_provider_id()
        provider = self.get(provider_id)
        specs = list(await provider.models())
        if model is None:
            model = self.default_models.get(provider_id) or default_model(specs, operation)
        spec = next((s for s in specs if s.model == model), None)
        if spec is None:
            spec = unknown_model_spec(provider_id, model, template_for(model, specs))
        return Route(provider=provider, spec=spec, chosen_by_default=by_default)

    async def _provider_serving(self, model: str) -> str:
        for provider_id in self.ordered_ids():
            provider = self.enabled.get(provider_id)
            if provider is not None and any(s.model == model for s in await provider.models()):
                return provider_id
        for provider_id in self.ordered_ids():
            off = self.disabled.get(provider_id)
            if off is not None and any(s.model == model for s in off.catalog):
                raise ProviderNotConfigured(
                    f"Model {model!r} is served by {provider_id!r}, which is not configured. {off.reason}",
                    provider=provider_id,
                    missing=list(off.missing),
                )
        raise ModelNotFound(
            f"No enabled provider lists model {model!r}; pass provider explicitly to send an "
            "uncatalogued model id.",
            model=model,
        )


def _clean_model_id(model: str | None) -> str | None:
    if model is None or not model.strip():
        return None
    model = model.strip()
    if any(ch.isspace() or not ch.isprintable() for ch in model):
        raise InvalidRequest(
            f"model {model!r} is not a model id: ids have no spaces or control characters "
            "(see get_model_capabilities).",
            option="model",
        )
    return model


def default_model(specs: Sequence[ModelSpec], operation: Operation = Operation.GENERATE) -> str:
    """The model used when a call names none: the catalog's recommended model (the vendor's
    best current general-purpose one) when it can do ``operation``, else the first current
    one that can. Raises ModelNotFound for an empty catalog."""
    recommended = next((s for s in specs if s.recommended and operation in s.operations), None)
    if recommended is not None:
        return recommended.model
    for status in (ModelStatus.CURRENT, ModelStatus.LEGACY):
        for spec in specs:
            if spec.status is status and operation in spec.operations:
                return spec.model
    if specs:
        return specs[0].model
    raise ModelNotFound("This provider lists no models; pass model explicitly.")
