"""Where images are kept, as ``IMAGE_GEN_MCP_STORE_URL`` names it: ``file:///folder``,
``s3://bucket/prefix`` or ``gs://bucket/prefix``.

Parsed once by the settings (to fail at start with one clear line) and again by the store that
opens it, so both read the URL the same way.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import unquote, urlsplit

from attrs import frozen

# S3's bucket naming rules (MinIO, Ceph, R2 follow them); GCS allows underscores and dotted
# names up to 222 characters.
_BUCKET = {
    "s3": re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"),
    "gs": re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$"),
}
_SEGMENT = re.compile(r"^[^\x00-\x1f\x7f]+$")

Scheme = Literal["file", "s3", "gs"]


@frozen
class StoreLocation:
    """A parsed store URL. ``bucket`` and ``prefix`` (no leading or trailing ``/``, may be
    empty) for object storage; ``path`` (absolute) for ``file``."""

    scheme: Scheme
    bucket: str = ""
    prefix: str = ""
    path: str = ""

    @property
    def store_kind(self) -> str:
        """The ``IMAGE_GEN_MCP_STORE`` value this URL implies."""
        return "filesystem" if self.scheme == "file" else self.scheme


def parse_store_url(url: str) -> StoreLocation:
    """Parse ``url``; raises ValueError with a one-line message that never repeats credentials."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "file":
        return _file_location(parts.netloc, parts.path, parts.query or parts.fragment)
    if scheme not in _BUCKET:
        raise ValueError(
            "IMAGE_GEN_MCP_STORE_URL must be file:///folder, s3://bucket/prefix or gs://bucket/prefix"
            + (f" (scheme {scheme!r} is not supported)" if scheme else "")
        )
    if "@" in parts.netloc or ":" in parts.netloc:
        # Credentials come from the standard chain, never from the URL (which ends up in logs).
        raise ValueError(
            f"IMAGE_GEN_MCP_STORE_URL: a {scheme}:// URL holds only a bucket and a prefix; "
            "credentials and endpoints come from the AWS/Google environment"
        )
    if parts.query or parts.fragment:
        raise ValueError("IMAGE_GEN_MCP_STORE_URL: no query or fragment is allowed")
    bucket = parts.netloc
    if not _BUCKET[scheme].match(bucket):
        raise ValueError(f"IMAGE_GEN_MCP_STORE_URL: {bucket!r} is not a valid {scheme} bucket name")
    segments = [s for s in unquote(parts.path).split("/") if s]
    for segment in segments:
        if segment in (".", "..") or not _SEGMENT.match(segment):
            raise ValueError(
                "IMAGE_GEN_MCP_STORE_URL: the prefix must not hold '.', '..' or control characters"
            )
    return StoreLocation(scheme=scheme, bucket=bucket, prefix="/".join(segments))  # type: ignore[arg-type]


def _file_location(host: str, path: str, extra: str) -> StoreLocation:
    if host not in ("", "localhost") or extra:
        raise ValueError("IMAGE_GEN_MCP_STORE_URL: a file URL names a local folder: file:///absolute/folder")
    folder = unquote(path)
    if not folder.startswith("/") or "\x00" in folder:
        raise ValueError(
            "IMAGE_GEN_MCP_STORE_URL: a file URL needs an absolute folder: file:///absolute/folder"
        )
    return StoreLocation(scheme="file", path=folder)
