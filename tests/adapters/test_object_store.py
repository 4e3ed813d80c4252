"""The object store against moto's real S3 server on a loopback port (plain http, path-style):
the key layout, byte identity, listing order, concurrent saves, confinement of `directory`,
tenants kept apart both ways, and a bucket that refuses writes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os

import pytest

from adapters.object_store import ObjectImageStore
from adapters.object_store_backends import open_object_image_store
from domain.errors import ImageNotFound, InvalidRequest, StorageFailed
from domain.images import GeneratedImage
from tests.contract.store_contract import generated
from tests.engines import S3_TEST_CREDENTIALS, S3Server


def keys(s3_server: S3Server, bucket: str) -> list[str]:
    listed = s3_server.client().list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def deny_puts(s3_server: S3Server, bucket: str, resource: str) -> None:
    """A bucket policy refusing PutObject on ``resource`` (a key pattern): moto enforces it."""
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/{resource}",
    }
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    s3_server.client().put_bucket_policy(Bucket=bucket, Policy=policy)


@pytest.fixture
def store(s3_bucket: str) -> ObjectImageStore:
    return open_object_image_store(f"s3://{s3_bucket}/team/images")


async def test_key_layout_image_first_then_record_and_listing_entry(store, s3_server, s3_bucket) -> None:
    record = await store.save(generated(), directory="cats/2026", metadata={"prompt": "cat"})
    image_key, record_key, recent_key = keys(s3_server, s3_bucket)[::-1]
    assert image_key.startswith("team/images/cats/2026/") and image_key.endswith(f"-{record.id}.png")
    assert record_key == f"team/images/.image-gen-mcp/records/{record.id}.json"
    assert recent_key.startswith("team/images/.image-gen-mcp/recent/")
    assert recent_key.endswith(f"-{record.id}.json")
    stored = s3_server.client().get_object(Bucket=s3_bucket, Key=image_key)
    assert stored["ContentType"] == "image/png"
    assert json.loads(stored_record(s3_server, s3_bucket, record_key))["metadata"] == {"prompt": "cat"}
    assert record.path is None  # no local file: results fall back to the image:// URI


def stored_record(s3_server: S3Server, bucket: str, key: str) -> bytes:
    return s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()


async def test_general_endpoint_variable_works_too(s3_server, s3_bucket, monkeypatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    store = open_object_image_store(f"s3://{s3_bucket}")
    record = await store.save(generated())
    assert (await store.get(record.id))[1] == generated().data


async def test_large_image_reads_back_byte_identical(store, s3_server, s3_bucket) -> None:
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(6 * 1024 * 1024)  # past any single-part threshold
    image = GeneratedImage(
        data=data, media_type="image/png", width=2048, height=2048, provider="f", model="m"
    )
    record = await store.save(image)
    read, body = await store.get(record.id)
    assert body == data and read.sha256 == hashlib.sha256(data).hexdigest() == record.sha256
    image_key = next(k for k in keys(s3_server, s3_bucket) if k.endswith(".png"))
    assert stored_record(s3_server, s3_bucket, image_key) == data  # the bucket holds the same bytes


async def test_list_recent_is_newest_first_and_bounded(store) -> None:
    saved = [await store.save(generated()) for _ in range(7)]
    recent = await store.list_recent(4)
    assert [r.id for r in recent] == [r.id for r in reversed(saved)][:4]
    assert await store.list_recent(0) == []
    assert [r.id for r in await store.list_recent(100)] == [r.id for r in reversed(saved)]


async def test_concurrent_saves_all_land_and_all_are_listed(store) -> None:
    records = await asyncio.gather(*(store.save(generated(), metadata={"n": n}) for n in range(24)))
    assert len({r.id for r in records}) == 24
    for record in records:
        read, data = await store.get(record.id)
        assert data == generated().data and read.metadata == record.metadata
    assert {r.id for r in await store.list_recent(50)} == {r.id for r in records}


@pytest.mark.parametrize(
    "directory",
    ["../escape", "/etc", "a/../../b", "/tmp/elsewhere", "~/pictures", "tenants/acme", ".image-gen-mcp/records",
     "bad\x00name", "tab\there"],
)  # fmt: skip
async def test_directories_outside_the_prefix_are_refused(store, s3_server, s3_bucket, directory) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await store.check_directory(directory)
    assert caught.value.details["option"] == "directory"
    with pytest.raises(InvalidRequest):
        await store.save(generated(), directory=directory)
    assert keys(s3_server, s3_bucket) == []


async def test_tenants_are_isolated_both_ways(store) -> None:
    acme, globex = store.for_tenant("acme"), store.for_tenant("globex")
    mine = await acme.save(generated())
    root = await store.save(generated())
    for other in (store, globex):
        with pytest.raises(ImageNotFound):
            await other.get(mine.id)
        assert mine.id not in {r.id for r in await other.list_recent(10)}
    for tenant in (acme, globex):
        with pytest.raises(ImageNotFound):
            await tenant.get(root.id)
    assert [r.id for r in await acme.list_recent(10)] == [mine.id]
    assert [r.id for r in await store.list_recent(10)] == [root.id]
    assert acme.prefix == "team/images/tenants/acme"
    # A tenant's view is rooted at the store, never nested in another tenant's namespace.
    assert acme.for_tenant("globex").prefix == globex.prefix
    assert acme.for_tenant("").prefix == store.prefix and store.for_tenant("") is store


@pytest.mark.parametrize("tenant", ["../x", "a/b", ".image-gen-mcp", "-x", "x" * 200, "a b"])
async def test_unsafe_tenant_names_are_refused(store, tenant) -> None:
    with pytest.raises(InvalidRequest):
        store.for_tenant(tenant)


async def test_a_record_pointing_outside_its_view_is_not_served(store, s3_server, s3_bucket) -> None:
    secret = await store.for_tenant("acme").save(generated())
    planted = await store.save(generated())
    record_key = f"team/images/.image-gen-mcp/records/{planted.id}.json"
    raw = json.loads(stored_record(s3_server, s3_bucket, record_key))
    tenant_image = next(k for k in keys(s3_server, s3_bucket) if k.endswith(f"{secret.id}.png"))
    s3_server.client().put_object(
        Bucket=s3_bucket, Key=record_key, Body=json.dumps({**raw, "key": tenant_image})
    )
    with pytest.raises(ImageNotFound):
        await store.get(planted.id)


async def test_a_missing_bucket_is_storage_failed_without_secrets(s3_server, s3_bucket) -> None:
    store = open_object_image_store("s3://no-such-bucket-here/images")
    with pytest.raises(StorageFailed) as caught:
        await store.save(generated())
    payload = json.dumps(caught.value.to_payload())
    assert caught.value.details == {"reason": "NoSuchBucket", "status": 404}
    for secret in (S3_TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"], S3_TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"]):
        assert secret not in payload
    assert s3_server.endpoint not in payload


async def test_a_policy_denying_writes_is_storage_failed_and_leaves_nothing(
    store, s3_server, s3_bucket
) -> None:
    deny_puts(s3_server, s3_bucket, "*")
    with pytest.raises(StorageFailed) as caught:
        await store.save(generated())
    assert caught.value.details["status"] == 403
    assert keys(s3_server, s3_bucket) == []


async def test_a_refused_record_unpublishes_the_image(store, s3_server, s3_bucket) -> None:
    """The image object goes in, its record is refused: the image is removed again and no
    reader ever sees it (nothing half-published)."""
    deny_puts(s3_server, s3_bucket, "team/images/.image-gen-mcp/*")
    with pytest.raises(StorageFailed):
        await store.save(generated(), directory="kept")
    assert keys(s3_server, s3_bucket) == []
    assert await store.list_recent(10) == []


async def test_an_unreachable_endpoint_fails_fast_with_a_code(s3_bucket, monkeypatch) -> None:
    from tests.engines import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_port()}")
    store = open_object_image_store(f"s3://{s3_bucket}")
    with pytest.raises(StorageFailed):
        await asyncio.wait_for(store.save(generated()), timeout=30)
    with pytest.raises(StorageFailed):
        await asyncio.wait_for(store.get("0" * 32), timeout=30)


def test_a_gs_url_opens_a_gcs_bucket_with_the_same_layout() -> None:
    """Only the opening is checked offline: no GCS server or emulator runs in the tests."""
    from obstore.store import GCSStore

    store = open_object_image_store("gs://my-images/team/x")
    assert isinstance(store._backend, GCSStore)
    assert store.prefix == "team/x" and store.for_tenant("acme").prefix == "team/x/tenants/acme"


@pytest.mark.parametrize("delay", [0.0, 0.002, 0.01, 0.03])
async def test_a_cancelled_save_is_published_whole_or_not_at_all(store, s3_server, s3_bucket, delay) -> None:
    saving = asyncio.create_task(store.save(generated(), directory="cancelled"))
    await asyncio.sleep(delay)
    saving.cancel()  # too late when the save already finished: then it simply stands
    with contextlib.suppress(asyncio.CancelledError):
        await saving
    for _ in range(100):  # the publishing task finishes on its own
        written = keys(s3_server, s3_bucket)
        if len(written) in (0, 3):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)
    written = keys(s3_server, s3_bucket)
    assert len(written) in (0, 3), written
    if written:  # published: readable and listed
        (listed,) = await store.list_recent(5)
        assert (await store.get(listed.id))[1] == generated().data


async def test_list_recent_costs_one_list_request_and_n_reads(store, s3_bucket, caplog) -> None:
    """What the README says it costs, counted in the S3 server's own request log."""
    for _ in range(6):
        await store.save(generated())
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        recent = await store.list_recent(2)
    requests = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert len(recent) == 2
    assert sum(f"GET /{s3_bucket}?list-type=2" in line for line in requests) == 1
    assert sum("/.image-gen-mcp/recent/" in line and ".json HTTP/1.1" in line for line in requests) == 2
    assert len(requests) == 3
