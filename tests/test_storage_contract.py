"""One contract for every storage backend: a local folder and Amazon S3 (a moto server over HTTP)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import boto3
import httpx
import pytest

from connector.storage import KeyMissing, LocalStorage, S3Storage, Storage, StorageError, make_storage


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    endpoint = request.getfixturevalue("aws")
    bucket = f"worn-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return make_storage(f"s3://{bucket}/drafts?endpoint={endpoint}&region=us-east-1")


def test_round_trip(storage: Storage) -> None:
    data = os.urandom(200_000)
    storage.put("shops/1/drafts/a.jpg", data, "image/jpeg")
    assert storage.exists("shops/1/drafts/a.jpg")
    assert storage.get("shops/1/drafts/a.jpg") == data


def test_overwrite_replaces(storage: Storage) -> None:
    storage.put("shops/1/x.png", b"first")
    storage.put("shops/1/x.png", b"second")
    assert storage.get("shops/1/x.png") == b"second"


def test_missing_key(storage: Storage) -> None:
    assert not storage.exists("shops/1/none.jpg")
    with pytest.raises(KeyMissing, match=r"no object 'shops/1/none\.jpg'"):
        storage.get("shops/1/none.jpg")
    storage.delete("shops/1/none.jpg")  # deleting what is not there is fine


def test_keys_and_delete_prefix_stay_inside_the_shop(storage: Storage) -> None:
    for key in ("shops/1/a.jpg", "shops/1/sub/b.jpg", "shops/12/c.jpg", "shops/2/d.jpg"):
        storage.put(key, key.encode())
    assert list(storage.keys("shops/1/")) == ["shops/1/a.jpg", "shops/1/sub/b.jpg"]
    assert storage.delete_prefix("shops/1/") == 2
    assert list(storage.keys("shops/")) == ["shops/12/c.jpg", "shops/2/d.jpg"]


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs.jpg", "a/../../b", "a//b", "", "dir/", "sp ace.jpg"])
def test_unsafe_keys_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(StorageError, match="is not valid"):
        storage.put(key, b"x")


def test_large_object(storage: Storage) -> None:
    data = os.urandom(6 * 1024 * 1024)
    storage.put("shops/1/big.png", data)
    assert storage.get("shops/1/big.png") == data


def test_presigned_url_serves_the_object(storage: Storage) -> None:
    storage.put("shops/1/p.jpg", b"jpeg bytes", "image/jpeg")
    url = storage.presigned_url("shops/1/p.jpg", expires=60)
    if isinstance(storage, LocalStorage):
        assert url is None  # local files go through the app's signed route instead
        return
    assert isinstance(storage, S3Storage)
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == b"jpeg bytes"
    assert response.headers["content-type"] == "image/jpeg"


def test_local_writes_are_atomic(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("a/b.jpg", b"1")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.jpg"]  # no temporary file left behind


def test_s3_missing_bucket_says_so(aws: str) -> None:
    storage = make_storage(f"s3://no-such-bucket-{uuid.uuid4().hex[:6]}?endpoint={aws}")
    with pytest.raises(StorageError, match="does not exist"):
        storage.put("shops/1/a.jpg", b"x")


def test_make_storage_reads_the_url(tmp_path: Path) -> None:
    assert isinstance(make_storage(str(tmp_path / "f")), LocalStorage)
    assert isinstance(make_storage(f"file://{tmp_path}/g"), LocalStorage)
    assert isinstance(make_storage("s3://bucket/prefix"), S3Storage)


def test_s3_drafts_are_tagged_for_the_lifecycle_rule(aws: str) -> None:
    bucket = f"worn-{uuid.uuid4().hex[:8]}"
    client = boto3.client("s3", endpoint_url=aws)
    client.create_bucket(Bucket=bucket)
    storage = make_storage(f"s3://{bucket}/worn?endpoint={aws}")
    storage.put("shops/1/drafts/9/grace.jpg", b"draft")
    storage.put("shops/1/plates/grace.jpg", b"plate")
    tags = client.get_object_tagging(Bucket=bucket, Key="worn/shops/1/drafts/9/grace.jpg")["TagSet"]
    assert tags == [{"Key": "worn-retention", "Value": "draft"}]
    assert client.get_object_tagging(Bucket=bucket, Key="worn/shops/1/plates/grace.jpg")["TagSet"] == []
