"""Result size: characters in one ``generate_image`` tool result, as it travels to the host.

The vendor answers with a 1536×1024 PNG (about 2 MB), photo-like or high-detail (``--image``).
The figure is the JSON of the ``CallToolResult`` (text, inline image, resource link and
structuredContent) — what a host has to carry into its context — next to the older server's
4.2 M characters for one 1024² image (it inlined the full-resolution base64 twice: image block
and structured output).

Usage::

    uv run python benchmarks/result_size.py [--size 1536x1024] [--n 1] [--image detailed] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from bench_images import IMAGES
from harness import PhotoFakeProvider, PlainClient, bench_server, bench_settings

SEED_CHARS_PER_1024_IMAGE = 4_200_000  # image-gen-mcp 1.4.0, measured on one 1024² image


async def result_chars(
    size: tuple[int, int], n: int, inline: str | None, image: str = "photo"
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="result-size-") as tmp:
        settings = bench_settings(Path(tmp))
        server = bench_server(settings, PhotoFakeProvider(size, image=image))
        args: dict[str, Any] = {"prompt": "a harbour at dawn", "provider": "fake", "n": n}
        if inline:
            args["inline"] = inline
        async with PlainClient(server) as client:
            result = await client.call_tool_mcp("generate_image", args)
    assert not result.is_error, result
    wire = result.model_dump_json(by_alias=True, exclude_none=True)
    inline_chars = sum(len(block.data) for block in result.content if block.type == "image")
    structured = json.dumps(result.structured_content, separators=(",", ":"))
    return {
        "size": f"{size[0]}x{size[1]}",
        "image": image,
        "n": n,
        "inline": inline or settings.inline.value,
        "result_chars": len(wire),
        "inline_image_chars": inline_chars,
        "structured_chars": len(structured),
        "png_bytes": result.structured_content["images"][0]["byte_size"],
        "per_image_chars": len(wire) / n,
        "vs_seed": len(wire) / n / SEED_CHARS_PER_1024_IMAGE,
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--size", default="1536x1024")
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--image", default="photo", choices=sorted(IMAGES), help="the vendor's image")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    rows = [
        asyncio.run(result_chars((width, height), args.n, inline=None, image=args.image)),
        asyncio.run(result_chars((width, height), 4, inline=None, image=args.image)),
    ]
    if args.json:
        print(json.dumps(rows))
        return rows
    for row in rows:
        print(
            f"result size, {row['n']} x {row['image']} {row['size']} ({row['png_bytes'] / 1e6:.2f} MB PNG), "
            f"inline={row['inline']}: {row['result_chars']:,} chars ({row['per_image_chars']:,.0f}/image: "
            f"inline image {row['inline_image_chars'] // row['n']:,}, "
            f"structuredContent {row['structured_chars']:,}) = {row['vs_seed']:.3f}x "
            f"the older server's {SEED_CHARS_PER_1024_IMAGE / 1e6:.1f} M per 1024² image"
        )
    return rows


if __name__ == "__main__":
    main()
