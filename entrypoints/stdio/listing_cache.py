"""The server's answers to the opening requests of a session, remembered per code and settings.

An MCP host spawns a stdio server for every session and waits for its tool list before the
session is usable. Importing the MCP framework takes most of a second, yet the answers to
``initialize``, ``tools/list`` and the other listings are a pure function of three things: the
request, the code and the settings. This module names that function's inputs (a fingerprint of
code and settings, a key per request) and keeps the answers the server gave last time in a small
JSON file, so that ``stdio_relay`` can answer them while the framework is still loading.

Only stdlib is imported here: the module runs before anything slow has loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import re
import stat
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from entrypoints.settings import Settings

log = logging.getLogger("image_gen_mcp.listing_cache")

# Requests whose answer depends only on the request, the code and the settings. Calls and reads
# (tools/call, resources/read) are never answered from here.
CACHEABLE_METHODS = frozenset(
    {
        "initialize", "server/discover", "ping",
        "tools/list", "prompts/list", "resources/list", "resources/templates/list",
    }
)  # fmt: skip

# Settings that cannot change what the server lists: where images go, and where this cache is.
# Secrets (SECRET_FIELDS) are reduced to whether they are set; their values never reach the
# fingerprint.
_UNLISTED_SETTINGS = frozenset(
    {"output_dir", "cache_dir", "fast_start", "store_url", "aws_secret_access_key", "aws_session_token"}
)

# The code that shapes the listings: this project's layers, and the frameworks that render them.
_LAYERS = ("domain", "application", "adapters", "entrypoints")
_FRAMEWORKS = ("fastmcp", "mcp", "mcp_types", "pydantic", "pydantic_core")

FORMAT = 1
KEEP_FILES = 8  # one file per configuration; older configurations are dropped
_CACHE_FILE = re.compile(r"[0-9a-f]{32}\.json")  # what fingerprint() names: nothing else is pruned


def settings_fingerprint(settings: Settings) -> dict[str, Any]:
    """The settings that can change a listing, as plain JSON values (secrets as booleans)."""
    from entrypoints.settings import SECRET_FIELDS  # loaded already: the settings are built

    values = settings.model_dump(mode="json")
    return {
        name: (value is not None) if name in SECRET_FIELDS else value
        for name, value in sorted(values.items())
        if name not in _UNLISTED_SETTINGS
    }


def code_fingerprint() -> list[Any]:
    """Identifies the installed code without reading it: path, size and mtime of this project's
    modules and of the frameworks' package markers, plus the interpreter version. Any edit,
    upgrade or reinstall changes it (a stale entry would also be caught by the relay's check)."""
    root = Path(__file__).resolve().parents[2]
    stats: list[Any] = [sys.version, sys.executable]
    for layer in _LAYERS:
        for directory, _dirs, files in sorted(os.walk(root / layer)):
            for name in sorted(files):
                if name.endswith(".py"):
                    stats.append(_stat(Path(directory) / name))
    for package in _FRAMEWORKS:
        spec = importlib.util.find_spec(package)
        stats.append(_stat(Path(spec.origin)) if spec and spec.origin else [package, None])
    # The installed metadata: the version in serverInfo comes from it, and a reinstall rewrites it.
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            stats.extend(_stat(p) for p in sorted(Path(entry).glob("image_gen_mcp-*.dist-info/METADATA")))
    return stats


def _stat(path: Path) -> list[Any]:
    try:
        st = path.stat()
    except OSError:
        return [str(path), None]
    return [str(path), st.st_size, st.st_mtime_ns, st.st_ino]


def fingerprint(settings: Settings) -> str:
    """One hex digest for the pair (code, settings): the name of the cache file."""
    material = json.dumps([FORMAT, code_fingerprint(), settings_fingerprint(settings)], sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def request_key(method: str, params: Any, session: Any = None) -> str:
    """The key of one request's answer: its method and parameters (without the progress token,
    which differs on every call), plus, inside a legacy session, the ``initialize`` parameters
    that negotiated it."""
    if isinstance(params, Mapping) and isinstance(params.get("_meta"), Mapping):
        meta = {k: v for k, v in params["_meta"].items() if k != "progressToken"}
        params = {**params, "_meta": meta} if meta else {k: v for k, v in params.items() if k != "_meta"}
    material = json.dumps([method, params, session], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


class ListingCache:
    """The answers of one configuration, loaded from and saved to ``<directory>/<fingerprint>.json``.

    A missing, unreadable or malformed file is an empty cache; a file that cannot be written is
    logged and forgotten. Neither ever stops the server from starting."""

    def __init__(self, path: Path | None, entries: dict[str, Any] | None = None) -> None:
        self.path = path
        self._entries: dict[str, Any] = dict(entries or {})
        self._dirty = False
        self._lock = threading.Lock()  # the relay's two threads both update and save

    @classmethod
    def open(cls, directory: Path, settings: Settings) -> ListingCache:
        path = directory / f"{fingerprint(settings)}.json"
        return cls(path, _read_entries(path))

    def get(self, key: str) -> Any | None:
        return self._entries.get(key)

    def put(self, key: str, result: Any) -> bool:
        """Remember ``result``; True when it differs from what was remembered."""
        with self._lock:
            changed = self._entries.get(key) != result
            if changed:
                self._entries[key] = result
                self._dirty = True
            return changed

    def discard(self, key: str) -> None:
        with self._lock:
            if self._entries.pop(key, None) is not None:
                self._dirty = True

    def save(self) -> None:
        """Write the file if anything changed: whole or not at all (a temp file, then rename)."""
        with self._lock:
            if self._dirty and self.path is not None:
                self._write(self.path)

    def _write(self, path: Path) -> None:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".listing-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as file:
                    json.dump({"format": FORMAT, "entries": self._entries}, file, separators=(",", ":"))
                os.replace(temp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
            self._dirty = False
            _prune(path.parent, keep=path)
        except OSError as exc:
            log.warning("listing cache not saved (%s): start-up stays correct, only slower", exc.strerror)


def _read_entries(path: Path) -> dict[str, Any]:
    # Opened once, then checked and read through the same descriptor: a file swapped in after
    # the check is never the one read. No symlink; and no blocking on a FIFO put at the path.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        with os.fdopen(os.open(path, flags), "rb") as file:
            if not _trusted(os.fstat(file.fileno())):
                return {}
            data = json.loads(file.read())
    except (OSError, ValueError, RecursionError):
        return {}
    entries = data.get("entries") if isinstance(data, dict) and data.get("format") == FORMAT else None
    return entries if isinstance(entries, dict) else {}


def _trusted(st: os.stat_result) -> bool:
    """Only a file this user owns and no one else can write is served to the host: its tool
    descriptions go straight into the model's context."""
    if not stat.S_ISREG(st.st_mode) or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    return not hasattr(os, "getuid") or st.st_uid == os.getuid()


def _prune(directory: Path, keep: Path) -> None:
    """Keep the newest files only: each configuration once used leaves one file behind."""
    try:
        ours = [p for p in directory.glob("*.json") if _CACHE_FILE.fullmatch(p.name)]
        files = sorted(ours, key=lambda p: p.stat().st_mtime_ns, reverse=True)
    except OSError:  # another server pruned at the same moment
        return
    for old in files[KEEP_FILES:]:
        if old != keep:
            with contextlib.suppress(OSError):
                old.unlink()
