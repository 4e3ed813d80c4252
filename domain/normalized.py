"""The request a provider receives: every knob already honoured, remapped or refused."""

from __future__ import annotations

from attrs import frozen

from domain.catalog import ModelSpec
from domain.images import ImageData
from domain.options import Background, Operation, OutputFormat, SizeTier


@frozen
class ProviderRequest:
    """A normalized request for exactly one vendor call.

    ``n`` is at most ``spec.max_n``. ``prompt`` already carries an emulated negative prompt;
    ``negative_prompt`` is set only when the model takes one natively. ``width``/``height`` are
    set for models that take exact pixels; ``size_label`` is the model's native tier label.
    ``quality`` is the native value or None when the model has no such knob.
    """

    operation: Operation
    spec: ModelSpec
    prompt: str
    n: int
    aspect_ratio: str
    size_tier: SizeTier
    size_label: str | None
    width: int | None
    height: int | None
    quality: str | None
    background: Background | None
    output_format: OutputFormat
    output_compression: int | None
    negative_prompt: str | None = None
    images: tuple[ImageData, ...] = ()
    mask: ImageData | None = None

    @property
    def provider(self) -> str:
        return self.spec.provider

    @property
    def model(self) -> str:
        return self.spec.model


@frozen
class KnobWarning:
    """A knob that was remapped, emulated or dropped, and why. ``strict`` turns these into errors,
    except ``advisory`` ones: those tell of a risk in what was sent exactly as asked."""

    option: str
    message: str
    advisory: bool = False

    def as_dict(self) -> dict[str, str]:
        return {"option": self.option, "message": self.message}
