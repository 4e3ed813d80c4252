"""No `internal` error from user input: over-long path components, symlink loops, non-ASCII
digits in query strings and images deleted while being listed all end in coded errors (or are
skipped). Hypothesis drives directory names, REST query strings and concurrent deletes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.png import solid_png
from domain.errors import AppError
from domain.images import GeneratedImage
from entrypoints.container import build_container
from tests.conftest import make_settings
from tests.hardening.test_fuzz_tools import FUZZ as SHARED_FUZZ
from tests.http.helpers import AUTH, make_app, serving

FUZZ = settings(SHARED_FUZZ, max_examples=80)
PNG = solid_png(4, 4)
# Directory names: long components, loops, odd characters, separators.
DIRECTORY_PARTS = st.one_of(
    st.text(min_size=1, max_size=40),
    st.sampled_from(["loop", "loop/x", "a" * 256, "é" * 200, "x/" * 300, "self/self/self", "..", "~"]),
    st.integers(200, 5000).map(lambda n: "n" * n),
)
DIRECTORIES = st.lists(DIRECTORY_PARTS, min_size=1, max_size=4).map("/".join)
QUERY_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["²", "٣", "１０", "9" * 5000, "-1", "0x10", " 5", "5 ", "1e3", "\x00"]),
)


@pytest.fixture
def looped_root(output_root: Path) -> Path:
    output_root.mkdir(parents=True, exist_ok=True)
    (output_root / "loop").symlink_to("loop")  # points at itself
    (output_root / "self").symlink_to(".")
    return output_root


def test_symlink_loops_and_long_components_are_invalid_requests(looped_root: Path) -> None:
    store = build_container(make_settings(looped_root)).store()

    async def check(directory: str) -> str:
        try:
            await store.check_directory(directory)
        except AppError as exc:
            return exc.code
        return "ok"

    for directory in ("loop/x", "a" * 300, "ok/" + "b" * 256):
        assert asyncio.run(check(directory)) == "invalid_request", directory


@FUZZ
@given(directory=DIRECTORIES)
def test_fuzzed_directories_never_fail_internally(looped_root: Path, directory: str) -> None:
    store = build_container(make_settings(looped_root)).store()
    image = GeneratedImage(PNG, "image/png", 4, 4, provider="fake", model="fake-image")

    async def run() -> None:
        for call in (store.check_directory(directory), store.save(image, directory=directory)):
            try:
                await call
            except AppError as exc:
                assert exc.code in {"invalid_request", "storage_failed"}, (directory, exc.code)

    asyncio.run(run())


@FUZZ
@given(limit=QUERY_VALUES, provider=QUERY_VALUES)
def test_fuzzed_rest_query_strings_never_fail_internally(output_root: Path, limit: str, provider: str) -> None:
    async def run() -> None:
        async with serving(make_app(output_root), AUTH) as client:
            listing = await client.get("/v1/images", params={"limit": limit})
            capabilities = await client.get("/v1/capabilities", params={"provider": provider})
            for response in (listing, capabilities):
                assert response.status_code < 500, (response.status_code, response.text)
                if response.status_code >= 400:
                    assert response.json()["code"] != "internal"

    asyncio.run(run())


def test_a_non_ascii_digit_limit_is_an_invalid_request(output_root: Path) -> None:
    async def run() -> list[tuple[int, str]]:
        async with serving(make_app(output_root), AUTH) as client:
            answers = [await client.get("/v1/images", params={"limit": v}) for v in ("²", "9" * 5000)]
            return [(a.status_code, a.json()["code"]) for a in answers]

    assert asyncio.run(run()) == [(422, "invalid_request")] * 2


@settings(FUZZ, max_examples=15)
@given(deletions=st.lists(st.integers(0, 5), min_size=1, max_size=6), limit=st.integers(1, 8))
def test_images_deleted_while_listed_are_skipped(output_root: Path, deletions: list[int], limit: int) -> None:
    store = build_container(make_settings(output_root)).store()
    image = GeneratedImage(PNG, "image/png", 4, 4, provider="fake", model="fake-image")

    async def run() -> None:
        saved = [await store.save(image) for _ in range(6)]
        index = output_root.resolve() / ".image-gen-mcp" / "index"

        async def delete() -> None:
            for i in deletions:
                for path in (index / f"{saved[i].id}.json", Path(saved[i].path or "")):
                    path.unlink(missing_ok=True)
                await asyncio.sleep(0)

        listings = [store.list_recent(limit) for _ in range(6)]
        results = await asyncio.gather(delete(), *listings)
        for records in results[1:]:
            assert len(records) <= limit

    asyncio.run(run())


async def test_an_index_entry_gone_between_glob_and_stat_is_skipped(
    output_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = build_container(make_settings(output_root)).store()
    kept = await store.save(GeneratedImage(PNG, "image/png", 4, 4, provider="fake", model="fake-image"))
    real_glob = Path.glob

    def glob_with_a_vanished_entry(self: Path, pattern: str):  # type: ignore[no-untyped-def]
        yield self / ("0" * 32 + ".json")  # listed by the directory scan, deleted right after
        yield from real_glob(self, pattern)

    monkeypatch.setattr(Path, "glob", glob_with_a_vanished_entry)
    assert [r.id for r in await store.list_recent(5)] == [kept.id]
