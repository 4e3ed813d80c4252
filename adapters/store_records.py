"""What every persistent store shares: the rule a ``directory`` argument must pass, the form of
an image id, and the JSON form of a stored image's record.

The filesystem store and the object store import these, so a directory refused by one is
refused by the other and a record written by one reads back the same way in the other.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.errors import InvalidRequest
from domain.images import GeneratedImage, StoredImage
from domain.media import extension_for, sniff_media_type

IMAGE_ID = re.compile(r"^[0-9a-f]{32}$")  # uuid4().hex: random, unguessable, safe in a key


def requested_directory(directory: str | None) -> Path | None:
    """``directory`` as a path, ``~`` expanded, or None when none was asked for.

    Raises InvalidRequest for a NUL byte, an absurd length or any ``..`` segment. Whether the
    path then lies inside the store's root is for each store to check against its own root.
    """
    if not directory:
        return None
    if "\x00" in directory or len(directory) > 1024:
        raise InvalidRequest("directory is not a valid path.", option="directory")
    requested = Path(directory).expanduser()
    try:  # NAME_MAX: a longer component would fail every call later, as an OS error
        too_long = any(len(os.fsencode(part)) > 255 for part in requested.parts)
    except UnicodeEncodeError:  # lone surrogates: no file system can name them
        too_long = True
    if too_long:
        raise InvalidRequest("directory is not a valid path.", option="directory")
    if ".." in requested.parts:
        raise InvalidRequest(
            "directory must not contain '..'; give a folder inside the output root.",
            option="directory",
        )
    return requested


def new_record(image: GeneratedImage, metadata: Mapping[str, Any]) -> StoredImage:
    """A fresh record for ``image``: a new id, the time now, the media type the bytes really
    hold (not what a vendor claimed), their hash. CPU work on large images: run it off the loop."""
    return StoredImage(
        id=uuid.uuid4().hex,
        media_type=sniff_media_type(image.data) or image.media_type,
        width=image.width,
        height=image.height,
        byte_size=len(image.data),
        sha256=hashlib.sha256(image.data).hexdigest(),
        created_at=datetime.now(UTC),
        metadata=metadata,
    )


def image_name(record: StoredImage, id_chars: int = 32) -> str:
    """``YYYYmmdd-HHMMSS-{id}.{ext}``: names sort by time, the extension from the real bytes."""
    return f"{record.created_at:%Y%m%d-%H%M%S}-{record.id[:id_chars]}.{extension_for(record.media_type)}"


def record_json(record: StoredImage, **extra: Any) -> bytes:
    """The record as JSON; ``extra`` adds store-specific fields (an object key, say)."""
    return json.dumps(
        {
            "id": record.id,
            "media_type": record.media_type,
            "width": record.width,
            "height": record.height,
            "byte_size": record.byte_size,
            "sha256": record.sha256,
            "created_at": record.created_at.isoformat(),
            "path": record.path,
            "metadata": record.metadata,
            **extra,
        },
        indent=2,
        default=str,
    ).encode()


def record_from_json(raw: bytes) -> tuple[StoredImage, dict[str, Any]]:
    """The record and the whole JSON object (for the store-specific fields).

    Raises ValueError or KeyError when the JSON is not a record.
    """
    data = json.loads(raw)
    record = StoredImage(
        id=data["id"],
        media_type=data["media_type"],
        width=int(data["width"]),
        height=int(data["height"]),
        byte_size=int(data["byte_size"]),
        sha256=data["sha256"],
        created_at=datetime.fromisoformat(data["created_at"]),
        path=data.get("path"),
        metadata=data.get("metadata") or {},
    )
    return record, data
