"""Live discovery of OpenRouter's image models from ``GET /images/models``.

Each listed model carries ``supported_parameters`` (typed descriptors: ``enum``, ``range``,
``boolean``; a missing key means the parameter is not accepted) and its input/output
modalities. They become ``ModelSpec`` entries with ``discovered=True``, so the normalization
policy remaps or refuses the knobs a model does not list, exactly as for curated entries.

Discovery is an optional extra: it never raises. A failure is logged, the last good listing
(or none) is kept, and the next try waits for a back-off instead of hitting every call.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from attrs import frozen

from adapters.providers.openrouter_catalog import ALL_FORMATS, OPENAI_QUALITIES, PROVIDER_ID, TIERS_1K_2K_4K
from application.policy import ratio_value
from domain.catalog import GENERATE_AND_EDIT, ModelSpec
from domain.errors import AppError, InvalidRequest
from domain.options import Operation, OutputFormat, SizeTier

log = logging.getLogger(__name__)

FetchListing = Callable[[], Awaitable[object]]

_MAX_N = 10  # the image API's own upper bound for n
_MAX_REFERENCES = 16  # the image API's own upper bound for input_references


@frozen
class DiscoveredModel:
    """One listed model: its spec and the request parameters it accepts."""

    spec: ModelSpec
    parameters: frozenset[str]


def _descriptor(params: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = params.get(name)
    return value if isinstance(value, Mapping) else None


def _enum_values(descriptor: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    if descriptor is None or descriptor.get("type") != "enum":
        return None
    values = descriptor.get("values")
    return tuple(str(v) for v in values) if isinstance(values, list) else ()


def _upper_bound(descriptor: Mapping[str, Any] | None, cap: int) -> int:
    """The largest value a range or enum descriptor allows; a boolean means the API's own cap."""
    if descriptor is None:
        return 1
    kind = descriptor.get("type")
    if kind == "range" and isinstance(descriptor.get("max"), int | float):
        return max(1, min(cap, math.floor(descriptor["max"])))
    if kind == "enum":
        numbers = [int(v) for v in _enum_values(descriptor) or () if str(v).isdigit()]
        return max(1, min(cap, max(numbers))) if numbers else 1
    return cap


def _accepts(descriptor: Mapping[str, Any] | None, value: str) -> bool:
    if descriptor is None:
        return False
    values = _enum_values(descriptor)
    return values is None or value in values  # boolean/range: the parameter is accepted as a whole


def _ratios(descriptor: Mapping[str, Any] | None) -> tuple[str, ...]:
    ratios: list[str] = []
    for value in _enum_values(descriptor) or ():
        try:
            ratio_value(value)
        except InvalidRequest:  # "auto" and anything else that is no W:H ratio
            continue
        ratios.append(value)
    # Without a listed ratio the model makes what it makes; say so as a square default.
    return tuple(ratios) or ("1:1",)


def _size_tiers(descriptor: Mapping[str, Any] | None) -> dict[SizeTier, str]:
    labels = _enum_values(descriptor) or ()
    # "512" only stands in when nothing larger exists.
    tiers = {tier: label for tier, label in TIERS_1K_2K_4K.items() if label in labels}
    if not tiers and "512" in labels:
        tiers[SizeTier.S] = "512"
    return tiers or {SizeTier.S: "1K"}


def _formats(descriptor: Mapping[str, Any] | None) -> tuple[OutputFormat, ...]:
    listed = _enum_values(descriptor) or ()
    found = tuple(f for f in ALL_FORMATS if f.value in listed)
    return found or (OutputFormat.PNG,)


def _max_references(params: Mapping[str, Any]) -> int:
    return _upper_bound(_descriptor(params, "input_references"), _MAX_REFERENCES)


def model_from_listing(item: Mapping[str, Any]) -> DiscoveredModel | None:
    """Turn one listing entry into a spec; None when it makes no images or is malformed."""
    model_id = item.get("id")
    architecture = item.get("architecture")
    if not isinstance(model_id, str) or not model_id or not isinstance(architecture, Mapping):
        return None
    if "image" not in (architecture.get("output_modalities") or ()):
        return None
    params = item.get("supported_parameters")
    params = params if isinstance(params, Mapping) else {}
    # Inputs reach the image API only as input_references, and a key the listing leaves out is
    # one the model does not take: image input alone does not make a model editable here.
    can_edit = "image" in (architecture.get("input_modalities") or ()) and "input_references" in params
    formats = _formats(_descriptor(params, "output_format"))
    quality = _descriptor(params, "quality")
    name = item.get("name") if isinstance(item.get("name"), str) else model_id
    spec = ModelSpec(
        provider=PROVIDER_ID,
        model=model_id,
        family=model_id.split("/", 1)[0],
        description=f"{name} (listed live by OpenRouter's image API).",
        operations=GENERATE_AND_EDIT if can_edit else frozenset({Operation.GENERATE}),
        max_n=_upper_bound(_descriptor(params, "n"), _MAX_N),
        max_input_images=_max_references(params) if can_edit else 0,
        mask=False,  # the image API has no mask field
        transparency=_accepts(_descriptor(params, "background"), "transparent")
        and any(f.has_alpha for f in formats),
        output_formats=formats,
        aspect_ratios=_ratios(_descriptor(params, "aspect_ratio")),
        size_tiers=_size_tiers(_descriptor(params, "resolution")),
        qualities={q: v for q, v in OPENAI_QUALITIES.items() if _accepts(quality, v)},
        discovered=True,
    )
    return DiscoveredModel(spec=spec, parameters=frozenset(params))


def parse_listing(payload: object) -> tuple[DiscoveredModel, ...]:
    """Every image-making model of a ``GET /images/models`` answer; malformed entries are skipped."""
    data = payload.get("data") if isinstance(payload, Mapping) else None
    if not isinstance(data, list):
        raise ValueError("the listing has no 'data' array")
    found: dict[str, DiscoveredModel] = {}
    for item in data:
        model = model_from_listing(item) if isinstance(item, Mapping) else None
        if model is not None:
            found.setdefault(model.spec.model, model)
    return tuple(found.values())


def merge_catalog(curated: Sequence[ModelSpec], discovered: Iterable[ModelSpec]) -> tuple[ModelSpec, ...]:
    """Curated entries first, in their order, then discovered ones; curated wins on conflicts."""
    known = {spec.model for spec in curated}
    return (*curated, *(spec for spec in discovered if spec.model not in known))


class OpenRouterModelDiscovery:
    """Caches the live listing for ``ttl_s``.

    A failed fetch keeps the last good listing (none at first), logs a warning and waits
    ``failure_backoff_s`` before the next try. ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        fetch: FetchListing,
        *,
        ttl_s: float,
        failure_backoff_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl_s = ttl_s
        self._backoff_s = min(failure_backoff_s, ttl_s) if ttl_s > 0 else failure_backoff_s
        self._clock = clock
        self._models: dict[str, DiscoveredModel] = {}
        self._next_fetch_at: float | None = None
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    async def specs(self) -> tuple[ModelSpec, ...]:
        """The discovered specs, refreshed when stale. Never raises."""
        await self._refresh_if_due()
        return tuple(model.spec for model in self._models.values())

    def parameters_for(self, model: str) -> frozenset[str] | None:
        """The parameters the last listing gave for ``model``; None when it was not listed."""
        found = self._models.get(model)
        return found.parameters if found else None

    def _due(self) -> bool:
        return self._next_fetch_at is None or self._clock() >= self._next_fetch_at

    async def _refresh_if_due(self) -> None:
        if not self._due():
            return
        if self._next_fetch_at is not None:
            # A listing (or a failed try) exists: serve it and refresh in the background, so a
            # slow listing never holds up a generation.
            if self._background is None or self._background.done():
                self._background = asyncio.create_task(self._refresh())
            return
        await self._refresh()

    async def aclose(self) -> None:
        """Stop a background refresh still running."""
        if self._background is not None and not self._background.done():
            self._background.cancel()
            await asyncio.gather(self._background, return_exceptions=True)

    async def _refresh(self) -> None:
        async with self._lock:
            if not self._due():  # another caller refreshed while this one waited
                return
            try:
                models = parse_listing(await self._fetch())
            except Exception as exc:  # discovery must never break generation
                self._next_fetch_at = self._clock() + self._backoff_s
                reason = f"{exc.code}: {exc.message}" if isinstance(exc, AppError) else type(exc).__name__
                log.warning(
                    "OpenRouter model discovery failed (%s); keeping %s, next try in %.0f s.",
                    reason,
                    f"{len(self._models)} model(s) from the last listing"
                    if self._models
                    else "the curated catalog only",
                    self._backoff_s,
                )
                return
            self._models = {model.spec.model: model for model in models}
            self._next_fetch_at = self._clock() + self._ttl_s
            log.info("OpenRouter lists %d image model(s).", len(models))
