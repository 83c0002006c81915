"""Fingerprint a product's source photos: its ready images minus every image Worn itself created.

The webhook receiver (REST-shaped payloads) and reconciliation (GraphQL) must compute the same fingerprint for
the same product, or an unchanged product would be rendered again; both go through `source_fingerprint`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

# Appended to the alt text of every image Worn writes: the second line of defence of the loop guard
# (the first is the MediaImage GID Worn records). U+2063 INVISIBLE SEPARATOR: screen readers skip it.
WORN_ALT_MARKER = "\u2063"


@dataclass(frozen=True)
class MediaItem:
    """One product media entry, the same whether it came from a webhook payload or from GraphQL."""

    gid: str
    content_type: str  # IMAGE, VIDEO, MODEL_3D, EXTERNAL_VIDEO
    status: str  # UPLOADED, PROCESSING, READY, FAILED
    url: str | None
    alt: str | None
    width: int | None = None
    height: int | None = None

    def made_by_worn(self, worn_gids: frozenset[str] | set[str]) -> bool:
        """Say whether Worn created this media (by its recorded GID, or by the alt-text marker)."""
        return self.gid in worn_gids or (self.alt or "").endswith(WORN_ALT_MARKER)


def source_media(media: Iterable[MediaItem], worn_gids: frozenset[str] | set[str]) -> list[MediaItem]:
    """Return the product's own ready images, in the shop's order, without Worn's."""
    return [
        item
        for item in media
        if item.content_type == "IMAGE"
        and item.status == "READY"
        and item.url
        and not item.made_by_worn(worn_gids)
    ]


def source_fingerprint(media: Iterable[MediaItem], worn_gids: frozenset[str] | set[str]) -> str | None:
    """Return the SHA-256 over the source images' GIDs and file paths in order, or None without any."""
    sources = source_media(media, worn_gids)
    if not sources:
        return None
    # The CDN path changes when a file is replaced; the query (?v=...) and host are left out so REST and
    # GraphQL forms of the same URL agree.
    parts = [f"{item.gid}|{urlsplit(item.url or '').path}" for item in sources]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
