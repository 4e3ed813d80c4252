"""The documented request rules the Google fakes enforce, written from the fact sheet (§3.1,
§3.2, §4.2, §4.3) rather than from the catalog, so a catalog or policy mistake makes a wire test
fail instead of being mirrored by the fake.

``refusal`` returns the message of the 400 INVALID_ARGUMENT Google would answer, or None.
"""

from __future__ import annotations

from typing import Any

STANDARD = frozenset({"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"})
EXTREME = frozenset({"1:4", "4:1", "1:8", "8:1"})
K_SIZES = frozenset({"1K", "2K", "4K"})


def _gemini(ratios: frozenset[str], sizes: frozenset[str], inputs: int) -> dict[str, Any]:
    return {"ratios": ratios, "sizes": sizes, "inputs": inputs}


_FLASH = _gemini(STANDARD | EXTREME, K_SIZES | {"512"}, 14)
_PRO = _gemini(STANDARD, K_SIZES, 14)
_FLASH_25 = _gemini(STANDARD, frozenset(), 3)
GEMINI_MODELS: dict[str, dict[str, Any]] = {
    "gemini-3.1-flash-image": _FLASH,
    "gemini-3.1-flash-image-preview": _FLASH,
    "gemini-3-pro-image": _PRO,
    "gemini-3-pro-image-preview": _PRO,
    "nano-banana-pro-preview": _PRO,
    "gemini-3.1-flash-lite-image": _gemini(STANDARD, frozenset({"1K"}), 14),
    "gemini-nano-banana-2.1": _gemini(STANDARD | EXTREME, K_SIZES, 14),
    "gemini-2.5-flash-image": _FLASH_25,
    "gemini-2.5-flash-image-preview": _FLASH_25,
}
VERTEX_ONLY_RATIOS = {"gemini-3.1-flash-image": frozenset({"9:21"})}
# Fields the Gemini API does not have (the SDK refuses them; the REST API answers 400).
VERTEX_ONLY_IMAGE_FIELDS = ("imageOutputOptions", "outputMimeType", "outputCompressionQuality",
                            "personGeneration", "prominentPeople")  # fmt: skip

IMAGEN_RATIOS = frozenset({"1:1", "3:4", "4:3", "9:16", "16:9"})
IMAGEN_SIZED = frozenset({"imagen-4.0-generate-001", "imagen-4.0-ultra-generate-001"})
IMAGEN_MAX_SAMPLES = {"imagen-4.0-ultra-generate-001": 1}


def model_of(path: str) -> str:
    return path.rsplit("/", 1)[-1].split(":", 1)[0]


def refusal(path: str, body: dict[str, Any], *, vertex: bool) -> str | None:
    model = model_of(path)
    if path.endswith(":generateContent"):
        return _content_refusal(model, body, vertex=vertex)
    if path.endswith(":predict"):
        return _predict_refusal(model, body)
    return None


def _content_refusal(model: str, body: dict[str, Any], *, vertex: bool) -> str | None:
    config = body.get("generationConfig", {})
    image = config.get("imageConfig", {})
    if "IMAGE" not in config.get("responseModalities", []):
        return f"{model} needs responseModalities including IMAGE to return an image."
    if config.get("candidateCount", 1) != 1:
        return "Multiple candidates is not enabled for this model: candidateCount must be 1."
    if not vertex:
        extra = [name for name in VERTEX_ONLY_IMAGE_FIELDS if name in image]
        if extra:
            return f"Invalid JSON payload received. Unknown name {extra[0]!r} at 'generation_config.image_config'."
    rules = GEMINI_MODELS.get(model)
    if rules is None:  # an id the fake does not know: only the universal rules above
        return None
    ratios = rules["ratios"] | (VERTEX_ONLY_RATIOS.get(model, frozenset()) if vertex else frozenset())
    ratio = image.get("aspectRatio")
    if ratio is not None and ratio not in ratios:
        return f"Unsupported aspect ratio: {ratio}. Supported: {', '.join(sorted(ratios))}."
    size = image.get("imageSize")
    if size is not None and size not in rules["sizes"]:
        allowed = ", ".join(sorted(rules["sizes"])) or "none"
        return f"Unsupported image size: {size!r} for {model}. Supported: {allowed}."
    parts = [p for c in body.get("contents", []) for p in c.get("parts", []) if "inlineData" in p]
    if len(parts) > rules["inputs"]:
        return f"{model} accepts at most {rules['inputs']} input images; got {len(parts)}."
    return None


def _predict_refusal(model: str, body: dict[str, Any]) -> str | None:
    parameters = body.get("parameters", {})
    count = parameters.get("sampleCount", 1)
    most = IMAGEN_MAX_SAMPLES.get(model, 4)
    if not (isinstance(count, int) and 1 <= count <= most):
        return f"sampleCount must be between 1 and {most} for {model}; got {count}."
    ratio = parameters.get("aspectRatio")
    if ratio is not None and ratio not in IMAGEN_RATIOS:
        return f"Unsupported aspect ratio: {ratio}."
    size = parameters.get("sampleImageSize")
    if size is not None and (model not in IMAGEN_SIZED or size not in {"1K", "2K"}):
        return f"sampleImageSize {size!r} is not supported by {model}."
    return None
