"""The listing cache: what its fingerprint covers, and that a bad file never stops a start."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from fastmcp import Client

from entrypoints.container import build_container
from entrypoints.mcp.server import build_mcp_server
from entrypoints.settings import Settings
from entrypoints.stdio import listing_cache
from entrypoints.stdio.listing_cache import ListingCache, fingerprint, request_key


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)


async def listings(config: Settings) -> tuple[object, ...]:
    """Everything a host lists at the start of a session, from a server built on ``config``."""
    async with Client(build_mcp_server(build_container(config))) as client:
        return (
            [t.model_dump() for t in await client.list_tools()],
            [r.model_dump() for r in await client.list_resources()],
            [t.model_dump() for t in await client.list_resource_templates()],
        )


async def test_settings_left_out_of_the_fingerprint_do_not_change_the_listings(tmp_path: Path) -> None:
    base = settings(IMAGE_GEN_MCP_OUTPUT_DIR=str(tmp_path / "a"), OPENAI_API_KEY="sk-one")
    varied = settings(
        IMAGE_GEN_MCP_OUTPUT_DIR=str(tmp_path / "b"),
        IMAGE_GEN_MCP_CACHE_DIR=str(tmp_path / "cache"),
        IMAGE_GEN_MCP_FAST_START="false",
        OPENAI_API_KEY="sk-two",
    )
    assert fingerprint(base) == fingerprint(varied)
    assert await listings(base) == await listings(varied)


async def test_settings_that_change_the_listings_change_the_fingerprint(tmp_path: Path) -> None:
    base = settings(IMAGE_GEN_MCP_OUTPUT_DIR=str(tmp_path))
    # The provider enum of the tool schemas lists the providers the registry holds.
    with_fake = settings(IMAGE_GEN_MCP_OUTPUT_DIR=str(tmp_path), IMAGE_GEN_MCP_FAKE_PROVIDER="true")
    assert await listings(base) != await listings(with_fake)
    assert fingerprint(base) != fingerprint(with_fake)
    # The placeholder switched off stays in the enum (as a disabled provider), but is still
    # fingerprinted: the listings may come to show it.
    no_placeholder = settings(IMAGE_GEN_MCP_OUTPUT_DIR=str(tmp_path), IMAGE_GEN_MCP_PLACEHOLDER="false")
    assert fingerprint(base) != fingerprint(no_placeholder)
    # Settings the listings do not show yet are still covered: a miss costs one slow start,
    # a stale hit would cost a wrong schema until the relay's check corrects it.
    deployments = settings(
        IMAGE_GEN_MCP_OUTPUT_DIR=str(tmp_path), AZURE_OPENAI_DEPLOYMENTS="gpt-image-1.5=prod-images"
    )
    assert fingerprint(base) != fingerprint(deployments)


def test_no_secret_reaches_the_fingerprint() -> None:
    secret = "sk-very-secret-value"
    material = json.dumps(listing_cache.settings_fingerprint(settings(OPENAI_API_KEY=secret)))
    assert secret not in material
    assert '"openai_api_key": true' in material


def test_the_code_fingerprint_follows_the_project_and_framework_files() -> None:
    files = {entry[0] for entry in listing_cache.code_fingerprint() if isinstance(entry, list)}
    root = Path(listing_cache.__file__).resolve().parents[2]
    assert str(root / "entrypoints" / "stdio" / "listing_cache.py") in files
    assert str(root / "domain" / "catalog.py") in files
    assert any(f.endswith(os.path.join("fastmcp", "__init__.py")) for f in files)


def test_request_keys_ignore_the_progress_token_but_not_the_rest() -> None:
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
    key = request_key("tools/list", {"_meta": meta})
    assert request_key("tools/list", {"_meta": {**meta, "progressToken": 5}}) == key
    assert request_key("tools/list", {"_meta": {"progressToken": 5}}) == request_key("tools/list", {})
    assert request_key("tools/list", {"_meta": meta}, session="s") != key
    assert request_key("prompts/list", {"_meta": meta}) != key
    assert request_key("tools/list", {"cursor": "2", "_meta": meta}) != key


def test_a_saved_cache_reopens_with_its_entries(tmp_path: Path) -> None:
    config = settings()
    cache = ListingCache.open(tmp_path, config)
    assert cache.get("k") is None
    assert cache.put("k", {"tools": []}) is True
    assert cache.put("k", {"tools": []}) is False
    cache.save()
    assert ListingCache.open(tmp_path, config).get("k") == {"tools": []}
    assert ListingCache.open(tmp_path, settings(OPENAI_API_KEY="x")).get("k") is None
    assert [p.name for p in tmp_path.iterdir()] == [f"{fingerprint(config)}.json"]  # no temp file left


@pytest.mark.parametrize(
    "content", [b"", b"{not json", b"[]", b'{"format": 99, "entries": {}}', b'{"format": 1}']
)
def test_an_unreadable_cache_file_is_an_empty_cache(tmp_path: Path, content: bytes) -> None:
    config = settings()
    (tmp_path / f"{fingerprint(config)}.json").write_bytes(content)
    assert ListingCache.open(tmp_path, config).get("k") is None


def test_a_cache_that_cannot_be_written_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = ListingCache.open(blocker / "listings", settings())
    cache.put("k", {})
    with caplog.at_level(logging.WARNING):
        cache.save()
    assert "listing cache not saved" in caplog.text


def test_old_configurations_are_pruned(tmp_path: Path) -> None:
    for index in range(listing_cache.KEEP_FILES + 3):
        old = tmp_path / f"{index:032x}.json"
        old.write_text("{}")
        os.utime(old, ns=(index * 10**9, index * 10**9))
    cache = ListingCache.open(tmp_path, settings())
    cache.put("k", {})
    cache.save()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == listing_cache.KEEP_FILES
    assert cache.path is not None and cache.path.name in left
    assert f"{0:032x}.json" not in left and f"{listing_cache.KEEP_FILES + 2:032x}.json" in left


def test_a_file_others_can_write_or_a_symlink_is_not_trusted(tmp_path: Path) -> None:
    config = settings()
    cache = ListingCache.open(tmp_path, config)
    cache.put("k", {"tools": []})
    cache.save()
    assert cache.path is not None
    cache.path.chmod(0o666)
    assert ListingCache.open(tmp_path, config).get("k") is None
    cache.path.chmod(0o600)
    assert ListingCache.open(tmp_path, config).get("k") == {"tools": []}
    elsewhere = tmp_path / "elsewhere.json"
    cache.path.rename(elsewhere)
    cache.path.symlink_to(elsewhere)
    assert ListingCache.open(tmp_path, config).get("k") is None


def test_pruning_deletes_only_listing_cache_files(tmp_path: Path) -> None:
    """``IMAGE_GEN_MCP_CACHE_DIR`` may name a folder shared with other things: pruning removes
    only the files the cache itself names."""
    theirs = []
    for index in range(listing_cache.KEEP_FILES + 2):
        other = tmp_path / f"someone-elses-{index}.json"
        other.write_text("{}")
        os.utime(other, ns=(index * 10**9, index * 10**9))
        theirs.append(other)
    cache = ListingCache.open(tmp_path, settings())
    cache.put("k", {})
    cache.save()
    assert [p for p in theirs if not p.exists()] == []


def test_the_cache_file_that_is_checked_is_the_one_that_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is opened once, and the open file is what is checked and read: a file others can
    write, swapped in at the path meanwhile, is never served."""
    config = settings()
    good = ListingCache.open(tmp_path, config)
    good.put("k", {"tools": ["ours"]})
    good.save()
    assert good.path is not None
    hostile = tmp_path / "hostile.tmp"
    hostile.write_text(json.dumps({"format": 1, "entries": {"k": {"tools": ["theirs"]}}}))
    hostile.chmod(0o666)

    real_fstat, real_lstat = os.fstat, Path.lstat

    def swap_then(real):  # the swap lands while the file is being checked
        def checked(target):
            if hostile.exists():
                os.replace(hostile, good.path)
            return real(target)

        return checked

    monkeypatch.setattr(os, "fstat", swap_then(real_fstat))
    monkeypatch.setattr(Path, "lstat", swap_then(real_lstat))
    assert ListingCache.open(tmp_path, config).get("k") == {"tools": ["ours"]}
    assert not hostile.exists()  # the swap did happen


def test_the_code_fingerprint_follows_the_installed_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = listing_cache.code_fingerprint()
    dist = tmp_path / "image_gen_mcp-9.9.9.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Name: image-gen-mcp\nVersion: 9.9.9\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert listing_cache.code_fingerprint() != before
