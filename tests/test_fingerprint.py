"""The source-photo fingerprint ignores Worn's own images and agrees across REST and GraphQL URL forms."""

from __future__ import annotations

from connector.fingerprint import WORN_ALT_MARKER, MediaItem, source_fingerprint, source_media

PHOTO = MediaItem(
    "gid://shopify/MediaImage/1",
    "IMAGE",
    "READY",
    "https://cdn.shopify.com/s/files/1/p/chain.jpg?v=1",
    "Chain",
)


def test_worn_images_do_not_change_the_fingerprint() -> None:
    ours = MediaItem(
        "gid://shopify/MediaImage/9", "IMAGE", "READY", "https://cdn.shopify.com/s/files/1/p/w.jpg", "x"
    )
    marked = MediaItem(
        "gid://shopify/MediaImage/10",
        "IMAGE",
        "READY",
        "https://cdn.shopify.com/s/files/1/p/m.jpg",
        "y" + WORN_ALT_MARKER,
    )
    before = source_fingerprint([PHOTO], set())
    assert before is not None
    assert source_fingerprint([PHOTO, ours], {ours.gid}) == before  # known by GID
    assert source_fingerprint([PHOTO, marked], set()) == before  # known by the alt-text marker
    assert source_media([PHOTO, ours, marked], {ours.gid}) == [PHOTO]


def test_changes_that_matter_change_it() -> None:
    base = source_fingerprint([PHOTO], set())
    replaced = MediaItem(
        PHOTO.gid, "IMAGE", "READY", "https://cdn.shopify.com/s/files/1/p/chain_v2.jpg?v=2", "Chain"
    )
    other = MediaItem(
        "gid://shopify/MediaImage/2", "IMAGE", "READY", "https://cdn.shopify.com/s/files/1/p/b.jpg", None
    )
    assert source_fingerprint([replaced], set()) != base
    assert source_fingerprint([PHOTO, other], set()) != source_fingerprint(
        [other, PHOTO], set()
    )  # new first photo


def test_only_ready_images_count_and_query_strings_do_not() -> None:
    processing = MediaItem("gid://shopify/MediaImage/3", "IMAGE", "PROCESSING", None, None)
    video = MediaItem("gid://shopify/Video/4", "VIDEO", "READY", "https://cdn.shopify.com/v.mp4", None)
    assert source_fingerprint([processing, video], set()) is None
    assert source_fingerprint([PHOTO, processing], set()) == source_fingerprint([PHOTO], set())
    same_file = MediaItem(
        PHOTO.gid, "IMAGE", "READY", "https://cdn.shopify.com/s/files/1/p/chain.jpg?v=999&width=100", None
    )
    assert source_fingerprint([same_file], set()) == source_fingerprint([PHOTO], set())
