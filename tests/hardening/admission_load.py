"""Run as a script by test_admission.py: many parallel edit calls, each carrying several
large-dimension, highly compressible PNGs, against a server with a small in-flight cap.
Prints one JSON line: peak RSS growth, outcome counts and how fast the refusals came."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import resource
import sys
import tempfile
import time

from PIL import Image


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(calls: int, per_call: int, side: tuple[int, int]) -> dict[str, object]:
    from domain.errors import AppError
    from domain.images import ImageRequest
    from entrypoints.container import build_container
    from entrypoints.settings import Settings

    out = io.BytesIO()
    Image.new("RGB", side, (90, 140, 200)).save(out, "PNG", compress_level=9)
    png = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
    settings = Settings(
        _env_file=None,
        IMAGE_GEN_MCP_OUTPUT_DIR=tempfile.mkdtemp(),
        IMAGE_GEN_MCP_FAKE_PROVIDER=True,
        IMAGE_GEN_MCP_FAKE_LATENCY=1.5,
        IMAGE_GEN_MCP_MAX_IN_FLIGHT=3,
        IMAGE_GEN_MCP_DECODE_WORKERS=2,
    )
    container = build_container(settings)
    reader, edit = container.image_reader(), container.edit_image()
    baseline = rss_peak_mb()
    refused_after: list[float] = []
    codes: dict[str, int] = {}

    async def one() -> None:
        started = time.perf_counter()
        request = ImageRequest(prompt="p", provider="fake", model="fake-image")
        try:
            await edit(request, inputs=lambda: reader.read_all([png] * per_call, None))
            codes["ok"] = codes.get("ok", 0) + 1
        except AppError as exc:
            codes[exc.code] = codes.get(exc.code, 0) + 1
            if exc.code == "overloaded":
                refused_after.append(time.perf_counter() - started)

    await asyncio.gather(*(one() for _ in range(calls)))
    return {
        "png_bytes": len(out.getvalue()),
        "growth_mb": rss_peak_mb() - baseline,
        "codes": codes,
        "slowest_refusal_s": max(refused_after, default=0.0),
    }


if __name__ == "__main__":
    calls, per_call, width, height = (int(v) for v in sys.argv[1:5])
    print(json.dumps(asyncio.run(main(calls, per_call, (width, height)))))
