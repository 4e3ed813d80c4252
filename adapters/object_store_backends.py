"""Open the bucket an ``s3://`` or ``gs://`` store URL names, with obstore.

Credentials are never taken from the URL or the settings: obstore reads the standard
environment (AWS: access key variables, web identity/IRSA, ECS task role, EC2 instance
metadata; Google: ``GOOGLE_APPLICATION_CREDENTIALS`` and friends, then the metadata server).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from adapters.object_store import ObjectImageStore
from domain.store_location import parse_store_url

# A bucket that does not answer must end in a coded error well inside a tool call's deadline:
# obstore's own defaults retry for up to three minutes.
_CLIENT_OPTIONS: dict[str, Any] = {"connect_timeout": "5s", "timeout": "60s"}
_RETRY: dict[str, Any] = {
    "max_retries": 3,
    "retry_timeout": timedelta(seconds=20),
    "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=4), "base": 2},
}


def s3_endpoint(environ: Mapping[str, str]) -> str | None:
    """The endpoint as AWS SDKs choose it: the S3-specific variable, then the general one."""
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        if environ.get(name, "").strip():
            return environ[name].strip()
    return None


def open_object_image_store(url: str, environ: Mapping[str, str] | None = None) -> ObjectImageStore:
    """The store for an ``s3://bucket/prefix`` or ``gs://bucket/prefix`` URL.

    Raises ValueError for any other URL (the settings have refused it at start already).
    """
    from obstore.store import GCSStore, S3Store

    location = parse_store_url(url)
    env = os.environ if environ is None else environ
    client_options = dict(_CLIENT_OPTIONS)
    if location.scheme == "s3":
        endpoint = s3_endpoint(env)
        config: dict[str, Any] = {}
        if endpoint:
            config["endpoint"] = endpoint
            # A local MinIO or test server speaks plain http and knows no bucket subdomains:
            # path-style requests (obstore's default) reach it as they reach AWS.
            client_options["allow_http"] = endpoint.lower().startswith("http://")
        backend: Any = S3Store(
            location.bucket,
            client_options=client_options,  # type: ignore[arg-type]
            retry_config=_RETRY,  # type: ignore[arg-type]
            virtual_hosted_style_request=False,
            **config,
        )
    elif location.scheme == "gs":
        backend = GCSStore(location.bucket, client_options=client_options, retry_config=_RETRY)  # type: ignore[arg-type]
    else:
        raise ValueError("a file:// store URL is served by the filesystem store")
    return ObjectImageStore(backend, location.prefix)
