"""The engine fixtures start real servers that answer, and a stopped Redis comes back."""

from __future__ import annotations

from tests.engines import RedisServer, S3Server


def test_redis_server_answers_and_can_be_taken_away(redis_server: RedisServer) -> None:
    assert redis_server.ping()
    redis_server.stop()
    assert not redis_server.ping()
    redis_server.start()
    assert redis_server.ping()


def test_s3_server_keeps_what_is_put(s3_server: S3Server, s3_bucket: str) -> None:
    client = s3_server.client()
    client.put_object(Bucket=s3_bucket, Key="a/b.png", Body=b"\x89PNG bytes")
    assert client.get_object(Bucket=s3_bucket, Key="a/b.png")["Body"].read() == b"\x89PNG bytes"
    assert s3_server.endpoint.startswith("http://127.0.0.1:")
