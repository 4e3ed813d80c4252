"""LocalFileReader: image inputs read from the operator's local input folder, and nowhere else."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from adapters.safe_paths import UnsafePath, open_top, read_file, relative_parts, walk
from domain.errors import InvalidRequest


class LocalFileReader:
    """Reads a local path or ``file://`` URL inside ``folder`` (``IMAGE_GEN_MCP_LOCAL_INPUT_DIR``).

    * Every component below ``folder`` is opened by descriptor without following symlinks, so
      a folder swapped for a symlink mid-call cannot lead the read outside.
    * Only regular files with a single link are read: a hard link shares its inode with a
      file that may live outside the folder.
    * Every refusal has the same message, whether the path is missing, outside, a link, or
      unreadable, and paths outside the folder are refused before the filesystem is touched:
      the answer never tells a caller whether a file exists elsewhere on the server.
    """

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = Path(folder).expanduser().absolute()
        self.max_bytes = max_bytes

    async def __call__(self, text: str, field: str) -> bytes:
        return await asyncio.to_thread(self._read, text, field)

    def _read(self, text: str, field: str) -> bytes:
        refusal = InvalidRequest(
            f"{field}: no readable file at this path inside the local input folder "
            "(IMAGE_GEN_MCP_LOCAL_INPUT_DIR); paths elsewhere are never read.",
            option=field,
        )
        parts = self._parts(text)
        if not parts:
            raise refusal

        def check(info: os.stat_result) -> None:
            if info.st_nlink != 1:
                raise refusal
            if info.st_size > self.max_bytes:
                raise InvalidRequest(
                    f"{field} is larger than {self.max_bytes} bytes.", option=field, limit=self.max_bytes
                )

        try:
            with open_top(str(self.folder)) as top, walk(top, parts[:-1]) as folder:
                return read_file(folder, parts[-1], self.max_bytes + 1, check)
        except (OSError, ValueError):
            raise refusal from None

    def _parts(self, text: str) -> tuple[str, ...] | None:
        """The folder names of ``text`` below the input folder, found lexically; None when it
        is malformed or lies outside."""
        if "\x00" in text or len(text) > 4096:
            return None
        if text[:5].lower() == "file:":
            url = urlsplit(text)
            if url.netloc not in ("", "localhost") or url.query or url.fragment:
                return None
            path = url2pathname(url.path)
        else:
            path = os.path.expanduser(text)
        try:
            if not os.path.isabs(path):
                return relative_parts(path)
            normal = Path(os.path.normpath(path))
            for base in (self.folder, self.folder.resolve()):
                with contextlib.suppress(ValueError):
                    return relative_parts(str(normal.relative_to(base)))
        except (UnsafePath, OSError, RuntimeError):
            return None
        return None
