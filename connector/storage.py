"""Keep image files: a local folder by default, Amazon S3 when STORAGE_URL says s3://bucket/prefix."""

from __future__ import annotations

import mimetypes
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from renderer.errors import ConfigError, WornError

# serverless.yml's lifecycle rule expires objects with this tag: drafts nobody decided on.
DRAFT_TAG = "worn-retention=draft"
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,511}$")


class StorageError(WornError):
    """The storage backend failed; the message names the backend, the key and the cause."""


class KeyMissing(StorageError):
    """No object is stored under the key."""


def check_key(key: str) -> str:
    """Return `key` when it is a safe relative object key, else raise StorageError naming it."""
    if not _KEY.match(key) or ".." in key.split("/") or "//" in key or key.endswith("/"):
        raise StorageError(
            f"storage key {key!r} is not valid: expected letters, digits, '.', '_', '-' and '/'-separated "
            "parts, no '..', at most 512 characters"
        )
    return key


def content_type_of(key: str) -> str:
    """Guess the MIME type of an object from its key's extension."""
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


class Storage(Protocol):
    """What Worn needs from object storage; keys are relative, '/'-separated, prefixed by shop."""

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def keys(self, prefix: str = "") -> Iterator[str]: ...
    def presigned_url(self, key: str, expires: int = 3600) -> str | None: ...


class LocalStorage:
    """Objects as files under one folder; writes are atomic (temporary file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store `data` under `key`, replacing what was there."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        """Return the bytes under `key`, or raise KeyMissing."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyMissing(f"{self!r}: no object {key!r}") from None

    def exists(self, key: str) -> bool:
        """Say whether an object is stored under `key`."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the object under `key`; removing a missing one is not an error."""
        self._path(key).unlink(missing_ok=True)

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Yield the keys that start with `prefix`, sorted."""
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with `prefix`; return how many."""
        check_key(prefix.rstrip("/"))
        count = 0
        for key in list(self.keys(prefix)):
            self.delete(key)
            count += 1
        return count

    def presigned_url(self, key: str, expires: int = 3600) -> str | None:
        """Return None: local files are served by the app's own signed route."""
        return None


class S3Storage:
    """Objects in an S3 bucket under a prefix, through boto3 (any S3-compatible endpoint)."""

    def __init__(
        self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None, region: str | None = None
    ):
        from connector.aws import client

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client = client("s3", endpoint_url=endpoint_url, region=region)

    def __repr__(self) -> str:
        return f"S3Storage(s3://{self.bucket}/{self.prefix})"

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _fail(self, action: str, key: str, exc: Exception) -> StorageError:
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                return KeyMissing(f"{self!r}: no object {key!r}")
            if code == "NoSuchBucket":
                return StorageError(f"{self!r}: bucket {self.bucket!r} does not exist (setting STORAGE_URL)")
            return StorageError(f"{self!r}: {action} {key!r} failed: {code or exc}")
        return StorageError(f"{self!r}: {action} {key!r} failed: {exc}")

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store `data` under `key`, replacing it; drafts are tagged for the bucket's expiry rule."""
        extra = {"Tagging": DRAFT_TAG} if "/drafts/" in f"/{key}" else {}
        try:
            self._client.put_object(
                **extra,
                Bucket=self.bucket,
                Key=self._key(key),
                Body=data,
                ContentType=content_type or content_type_of(key),
            )
        except Exception as exc:
            raise self._fail("put", key, exc) from exc

    def get(self, key: str) -> bytes:
        """Return the bytes under `key`, or raise KeyMissing."""
        try:
            return self._client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except Exception as exc:
            raise self._fail("get", key, exc) from exc

    def exists(self, key: str) -> bool:
        """Say whether an object is stored under `key`."""
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except Exception as exc:
            error = self._fail("head", key, exc)
            if isinstance(error, KeyMissing):
                return False
            raise error from exc

    def delete(self, key: str) -> None:
        """Remove the object under `key`; removing a missing one is not an error."""
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            raise self._fail("delete", key, exc) from exc

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Yield the keys that start with `prefix`, sorted."""
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    yield item["Key"][len(self.prefix) :]
        except Exception as exc:
            raise self._fail("list", prefix, exc) from exc

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with `prefix`; return how many."""
        check_key(prefix.rstrip("/"))
        keys = list(self.keys(prefix))
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            batch = [{"Key": self.prefix + key} for key in keys[start : start + 1000]]
            try:
                result = self._client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            except Exception as exc:
                raise self._fail("delete", prefix, exc) from exc
            if result.get("Errors"):
                first = result["Errors"][0]
                raise StorageError(f"{self!r}: deleting {first.get('Key')!r} failed: {first.get('Code')}")
        return len(keys)

    def presigned_url(self, key: str, expires: int = 3600) -> str | None:
        """Return a time-limited GET URL for the object."""
        return self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=expires
        )


def make_storage(url: str) -> Storage:
    """Build the storage backend that `url` names: a folder path, file:///folder or s3://bucket/prefix."""
    if url.startswith("s3://"):
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        if not parts.netloc:
            raise ConfigError(f"setting STORAGE_URL: expected s3://bucket/prefix, got {url!r}")
        return S3Storage(
            parts.netloc,
            parts.path,
            endpoint_url=query.get("endpoint", [None])[0],
            region=query.get("region", [None])[0],
        )
    path = urlsplit(url).path if url.startswith("file://") else url
    return LocalStorage(Path(path))
