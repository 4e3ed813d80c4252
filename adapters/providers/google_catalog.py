"""The Gemini API and Vertex AI model catalogs, as data.

Facts come from the provider fact sheet (§3, §4). Gemini image models make one image per call
(``candidateCount`` is 1), so ``max_n`` is 1 and the policy fans out; they take no mask and make
no transparent background, so the policy refuses both before any call. Imagen is kept on Vertex
only, as retired entries that still work for projects that kept access.
"""

from __future__ import annotations

from datetime import date
from functools import partial

import attrs

from domain.catalog import STANDARD_RATIOS, ModelSpec
from domain.options import ModelStatus, Operation, OutputFormat, SizeTier

# The size label of models that take no ``image_size``: the adapter then omits the field and the
# vendor answers at its own size (about 1024 px). A label rather than None keeps the S tier listed.
VENDOR_DEFAULT_SIZE = "default"

_EXTREME_RATIOS = ("1:4", "4:1", "1:8", "8:1")
_FLASH_IMAGE_RATIOS = STANDARD_RATIOS + _EXTREME_RATIOS
_K_TIERS = {SizeTier.S: "1K", SizeTier.M: "2K", SizeTier.L: "4K"}
_IMAGEN_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
_IMAGEN_RETIRED = date(2026, 6, 30)
_IMAGEN_REPLACEMENT = "gemini-3.1-flash-image"
_GENERATE_ONLY = frozenset({Operation.GENERATE})
# Vertex serves the Gemini 3.x image models from the ``global`` location only (fact sheet §4.2);
# a regional endpoint answers 404. A prefix, so a new 3.x id is covered before it is listed.
VERTEX_GLOBAL_ONLY_PREFIXES = ("gemini-3",)
_EDIT_ONLY = frozenset({Operation.EDIT})
# "Maximum image size: 7 MB" per inline file on the Gemini image model pages; read as decimal
# megabytes, the stricter reading, so nothing refused upstream gets past this check.
INLINE_IMAGE_BYTES = 7_000_000


# Shutdown dates from Google's deprecation tables: the Gemini API shut the two 3.x preview ids
# down on 2026-06-25; Vertex discontinued gemini-3.1-flash-image-preview on 2026-07-17 and still
# listed gemini-3-pro-image-preview as a preview.
_PREVIEWS_SHUT_ON_GEMINI_API = date(2026, 6, 25)
_FLASH_PREVIEW_SHUT_ON_VERTEX = date(2026, 7, 17)
# Google gave gemini-2.5-flash-image's earliest shutdown as 2026-10-02 and published no date for
# its preview id; a preview cannot outlive its GA model, so that date bounds it.
_FLASH_25_SHUTDOWN = date(2026, 10, 2)


def _previous_ids(provider: str, output_formats: tuple[OutputFormat, ...]) -> tuple[ModelSpec, ...]:
    """Preview ids and aliases that callers still send: retired (or legacy) entries with their
    dates and replacements, so they get the retired warning instead of the unknown-id one."""
    gemini_api = provider == "gemini"
    pro = partial(
        ModelSpec,
        provider=provider,
        family="gemini-image",
        max_input_images=14,
        output_formats=output_formats,
        aspect_ratios=STANDARD_RATIOS,
        size_tiers=_K_TIERS,
        replacement="gemini-3-pro-image",
    )
    entries = [
        ModelSpec(
            provider=provider,
            model="gemini-3.1-flash-image-preview",
            family="gemini-image",
            description="Preview id of gemini-3.1-flash-image, shut down by Google.",
            status=ModelStatus.RETIRED,
            retired_on=_PREVIEWS_SHUT_ON_GEMINI_API if gemini_api else _FLASH_PREVIEW_SHUT_ON_VERTEX,
            replacement="gemini-3.1-flash-image",
            max_input_images=14,
            output_formats=output_formats,
            aspect_ratios=_FLASH_IMAGE_RATIOS,
            size_tiers=_K_TIERS,
        ),
        pro(
            model="gemini-3-pro-image-preview",
            description="Preview id of gemini-3-pro-image"
            + (", shut down by Google." if gemini_api else ", still listed as a preview on Vertex."),
            status=ModelStatus.RETIRED if gemini_api else ModelStatus.LEGACY,
            retired_on=_PREVIEWS_SHUT_ON_GEMINI_API if gemini_api else None,
        ),
    ]
    if gemini_api:  # an alias the Gemini API gave the Pro preview
        entries.append(
            pro(
                model="nano-banana-pro-preview",
                description="Alias of gemini-3-pro-image-preview, shut down with it.",
                status=ModelStatus.RETIRED,
                retired_on=_PREVIEWS_SHUT_ON_GEMINI_API,
            )
        )
    entries.append(
        ModelSpec(
            provider=provider,
            model="gemini-2.5-flash-image-preview",
            family="gemini-image",
            description="Preview id of gemini-2.5-flash-image, shut down by Google (by 2026-10-02 "
            "at the latest, with its GA model's earliest shutdown).",
            status=ModelStatus.RETIRED,
            retired_on=_FLASH_25_SHUTDOWN,
            replacement="gemini-2.5-flash-image",
            max_input_images=3,
            output_formats=output_formats,
            aspect_ratios=STANDARD_RATIOS,
            size_tiers={SizeTier.S: VENDOR_DEFAULT_SIZE},
        )
    )
    return tuple(entries)


def _gemini_models(provider: str, output_formats: tuple[OutputFormat, ...]) -> tuple[ModelSpec, ...]:
    """The Gemini image family, the same on both vendors but for ratios and output formats."""
    flash_ratios = _FLASH_IMAGE_RATIOS + (("9:21",) if provider == "vertex" else ())
    return (
        ModelSpec(
            provider=provider,
            model="gemini-3.1-flash-image",
            family="gemini-image",
            description="Nano Banana 2: fast generation and mask-free edits, up to 4K, 14 reference images.",
            max_input_images=14,
            output_formats=output_formats,
            aspect_ratios=flash_ratios,
            size_tiers=_K_TIERS,
        ),
        ModelSpec(
            provider=provider,
            model="gemini-3-pro-image",
            family="gemini-image",
            description="Nano Banana Pro: best fidelity and text rendering, up to 4K, 14 reference images.",
            max_input_images=14,
            output_formats=output_formats,
            aspect_ratios=STANDARD_RATIOS,
            size_tiers=_K_TIERS,
        ),
        ModelSpec(
            provider=provider,
            model="gemini-3.1-flash-lite-image",
            family="gemini-image",
            description="Nano Banana 2 Lite: cheapest, 1K only.",
            # The input-image limit is not documented; the vendor's 400 answers if it is lower.
            max_input_images=14,
            output_formats=output_formats,
            aspect_ratios=STANDARD_RATIOS,
            size_tiers={SizeTier.S: "1K"},
        ),
        ModelSpec(
            provider=provider,
            model="gemini-nano-banana-2.1",
            family="gemini-image",
            description="Nano Banana 2.1: new in 2026-10 and not yet documented by Google; the "
            "limits here are assumed from Nano Banana 2 (the vendor's 400 answers otherwise).",
            max_input_images=14,
            output_formats=output_formats,
            aspect_ratios=_FLASH_IMAGE_RATIOS,
            size_tiers=_K_TIERS,
        ),
        ModelSpec(
            provider=provider,
            model="gemini-2.5-flash-image",
            family="gemini-image",
            description="Nano Banana (legacy): about 1024 px, no size setting, 3 reference images; "
            "Google gave 2026-10-02 as its earliest shutdown.",
            status=ModelStatus.LEGACY,
            replacement="gemini-3.1-flash-image",
            max_input_images=3,
            output_formats=output_formats,
            aspect_ratios=STANDARD_RATIOS,
            size_tiers={SizeTier.S: VENDOR_DEFAULT_SIZE},
        ),
        *_previous_ids(provider, output_formats),
    )


def _imagen_generator(model: str, description: str, *, two_k: bool, max_n: int = 4) -> ModelSpec:
    return ModelSpec(
        provider="vertex",
        model=model,
        family="imagen",
        architecture="diffusion",
        description=description,
        operations=_GENERATE_ONLY,
        status=ModelStatus.RETIRED,
        retired_on=_IMAGEN_RETIRED,
        replacement=_IMAGEN_REPLACEMENT,
        max_n=max_n,
        max_input_images=0,
        output_formats=(OutputFormat.PNG, OutputFormat.JPEG),
        aspect_ratios=_IMAGEN_RATIOS,
        # sampleImageSize exists on Imagen 4 generate/ultra only; Imagen 3 takes no size field.
        size_tiers={SizeTier.S: "1K", SizeTier.M: "2K"} if two_k else {SizeTier.S: VENDOR_DEFAULT_SIZE},
        native_negative_prompt=model == "imagen-3.0-generate-002",
    )


_IMAGEN: tuple[ModelSpec, ...] = (
    _imagen_generator("imagen-4.0-generate-001", "Imagen 4 (retired): 1K/2K, up to 4 per call.", two_k=True),
    _imagen_generator(
        "imagen-4.0-fast-generate-001", "Imagen 4 Fast (retired): 1K only, up to 4 per call.", two_k=False
    ),
    # Ultra makes one image per request; a larger n fans out rather than being refused.
    _imagen_generator(
        "imagen-4.0-ultra-generate-001", "Imagen 4 Ultra (retired): 1K/2K, one per call.", two_k=True, max_n=1
    ),
    _imagen_generator(
        "imagen-3.0-generate-002", "Imagen 3 (retired): native negative prompt, 1K.", two_k=False
    ),
    ModelSpec(
        provider="vertex",
        model="imagen-3.0-capability-001",
        family="imagen",
        architecture="diffusion",
        description="Imagen 3 masked editing (retired): inpaint insertion or removal inside a mask.",
        operations=_EDIT_ONLY,
        status=ModelStatus.RETIRED,
        retired_on=_IMAGEN_RETIRED,
        replacement=_IMAGEN_REPLACEMENT,
        max_n=4,
        max_input_images=1,
        mask=True,
        output_formats=(OutputFormat.PNG, OutputFormat.JPEG),
        aspect_ratios=_IMAGEN_RATIOS,
        size_tiers={SizeTier.S: VENDOR_DEFAULT_SIZE},
    ),
)

# The Gemini API has no output-format knob (ImageConfig.output_mime_type raises there);
# Vertex takes image/jpeg through imageOutputOptions.
def _inline_capped(specs: tuple[ModelSpec, ...]) -> tuple[ModelSpec, ...]:
    return tuple(attrs.evolve(spec, max_input_bytes=INLINE_IMAGE_BYTES) for spec in specs)


_GEMINI_API = _inline_capped(_gemini_models("gemini", (OutputFormat.PNG,)))
_VERTEX = _inline_capped(_gemini_models("vertex", (OutputFormat.PNG, OutputFormat.JPEG))) + _IMAGEN


def gemini_catalog() -> tuple[ModelSpec, ...]:
    """Gemini API (``GEMINI_API_KEY``) models, current first."""
    return _GEMINI_API


def vertex_catalog() -> tuple[ModelSpec, ...]:
    """Vertex AI models: the Gemini image family, then the retired Imagen models."""
    return _VERTEX


def needs_global_location(model: str, location: str) -> bool:
    """True when Vertex serves ``model`` from ``global`` only and ``location`` is regional."""
    return location != "global" and model.startswith(VERTEX_GLOBAL_ONLY_PREFIXES)


# The Gemini image model Vertex serves from regional locations too: what a retired model points
# to when the usual replacement (a 3.x model) is global-only and the location is regional.
REGIONAL_IMAGE_MODEL = "gemini-2.5-flash-image"


def vertex_catalog_at(location: str) -> tuple[ModelSpec, ...]:
    """The Vertex catalog as seen from ``location``: models served from ``global`` only say so,
    and a replacement that the location cannot serve gives way to one it can."""
    return tuple(_as_seen_from(spec, location) for spec in _VERTEX)


def _as_seen_from(spec: ModelSpec, location: str) -> ModelSpec:
    if needs_global_location(spec.model, location):
        note = f" Not served in {location}: needs VERTEX_LOCATION=global."
        return attrs.evolve(spec, description=spec.description + note)
    replacement = spec.replacement
    if replacement and needs_global_location(replacement, location) and spec.model != REGIONAL_IMAGE_MODEL:
        note = f" ({replacement} would need VERTEX_LOCATION=global.)"
        return attrs.evolve(spec, replacement=REGIONAL_IMAGE_MODEL, description=spec.description + note)
    return spec
