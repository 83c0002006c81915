"""Build a shop's review state in the database and storage: products, render jobs, drafts with images.

The drafts' images here are stand-ins made with Pillow (the review side reads image keys and reports; it
never looks at how a draft was rendered). Session tokens are minted the way App Bridge mints them: HS256
with the app secret and Shopify's claims.
"""

from __future__ import annotations

import datetime as dt
import io
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from PIL import Image, ImageDraw

from connector.models import Draft, Product, RenderJob, Shop, utcnow
from connector.services import Services
from connector.settings import DEV_API_KEY, DEV_API_SECRET
from connector.shops import get_or_create_shop
from connector.styleedit import shop_style
from connector.tokens import TokenSet, TokenStore

SECRET = DEV_API_SECRET
API_KEY = DEV_API_KEY


def session_token(
    domain: str,
    *,
    secret: str = SECRET,
    api_key: str = API_KEY,
    ttl: int = 60,
    age: int = 0,
    sub: str = "42",
    **overrides: Any,
) -> str:
    """Return a session token for `domain` as App Bridge would give it (overrides replace claims)."""
    now = int(time.time()) - age
    claims = {
        "iss": f"https://{domain}/admin",
        "dest": f"https://{domain}",
        "aud": api_key,
        "sub": sub,
        "exp": now + ttl,
        "nbf": now,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "sid": uuid.uuid4().hex,
        **overrides,
    }
    claims = {key: value for key, value in claims.items() if value is not None}
    return jwt.encode(claims, secret, algorithm="HS256")


class Bearer(Mapping[str, str]):
    """An Authorization header whose token is minted when the request is made (tokens live 60 s, and a
    header built at import time would have expired by the time a long run reaches its test)."""

    def __init__(self, domain: str, **kwargs: Any) -> None:
        self.domain = domain
        self.kwargs = kwargs

    def __getitem__(self, key: str) -> str:
        if key != "Authorization":
            raise KeyError(key)
        return f"Bearer {session_token(self.domain, **self.kwargs)}"

    def __iter__(self) -> Iterator[str]:
        return iter(("Authorization",))

    def __len__(self) -> int:
        return 1


def bearer(domain: str, **kwargs: Any) -> Bearer:
    """Return the Authorization header of a fetch from `domain`'s admin (`session_token` options)."""
    return Bearer(domain, **kwargs)


def jpeg(
    width: int = 400, height: int = 500, color: tuple[int, int, int] = (200, 170, 150), label: str = ""
) -> bytes:
    """Return a small JPEG with a shape on it (distinct per colour and label)."""
    image = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(image)
    draw.ellipse([width * 0.3, height * 0.1, width * 0.7, height * 0.45], fill=(230, 200, 180))
    draw.rectangle([width * 0.2, height * 0.5, width * 0.8, height], fill=(60, 60, 80))
    if label:
        draw.text((10, 10), label, fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def render_report(
    *,
    ssim: float,
    delta_e: float,
    achieved_mm: float,
    confidence: float,
    stated_mm: float = 450.0,
    text: str = "45 cm",
    quantity: str = "chain_length",
    source: str = "text",
) -> dict[str, Any]:
    """Return a quality report shaped as the renderer's `QualityReport.to_dict()`."""
    error = (achieved_mm - stated_mm) / stated_mm
    return {
        "ssim": round(ssim, 4),
        "delta_e": round(delta_e, 4),
        "fidelity_pixels": 18000,
        "stated": {"quantity": quantity, "mm": stated_mm, "source": source, "text": text, "note": ""},
        "size_note": "",
        "achieved_mm": round(achieved_mm, 2),
        "scale_error": round(error, 4),
        "anchor_confidence": round(confidence, 3),
        "px_per_mm": 2.1,
        "scale_source": "iris",
        "light_gain": [1.02, 1.0, 0.97],
        "output_size": [800, 1000],
        "passed": {"fidelity": ssim >= 0.97 and delta_e <= 6, "scale": abs(error) <= 0.1,
                   "confidence": confidence >= 0.5},
        "notes": [],
        "timings": {"total": 0.9},
    }


@dataclass
class Seeded:
    """Ids of what `seed_product` made."""

    shop_id: int
    product_id: int
    job_id: int
    draft_ids: list[int]


def make_shop(services: Services, domain: str, *, token: bool = True) -> int:
    """Create an installed shop with the default house style; return its id.

    `token`: give it a live offline token (as a token exchange would), so page loads need no exchange.
    """
    with services.db.session() as session:
        shop = get_or_create_shop(session, domain)
        shop.name = domain.split(".")[0].replace("-", " ").title()
        session.flush()
        shop_style(session, services, shop)
        if token:
            expires = utcnow() + dt.timedelta(hours=1)
            TokenStore(services.cipher).save(
                shop, TokenSet("shpat_test", expires, "shprt_test", expires + dt.timedelta(days=90), "read_products")
            )
        return shop.id


def seed_product(
    services: Services,
    shop_id: int,
    *,
    title: str = "Aurora pendant necklace",
    kind: str = "necklace",
    plates: tuple[str, ...] = ("grace", "eileen"),
    number: int = 1,
    state: str = "awaiting_review",
    report: dict[str, Any] | None = None,
    source_url: str = "https://cdn.shopify.com/s/files/1/0001/products/aurora.jpg?v=1",
) -> Seeded:
    """Create a product with a finished render job and one draft per plate, images in storage."""
    with services.db.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        product = Product(
            shop_id=shop_id,
            product_gid=f"gid://shopify/Product/{number}",
            title=title,
            kind=kind,
            decision="jewelry",
            source_fingerprint=f"fp{number}",
            source_media=[
                {
                    "gid": f"gid://shopify/MediaImage/{number}",
                    "content_type": "IMAGE",
                    "status": "READY",
                    "url": source_url,
                    "alt": title,
                    "width": 1200,
                    "height": 1200,
                }
            ],
            stated_size={"label": "45 cm", "mm": 450},
        )
        session.add(product)
        session.flush()
        job = RenderJob(
            shop_id=shop_id,
            product_id=product.id,
            style_version_id=shop.style_version_id,
            idempotency_key=f"{shop_id}:{product.id}:fp{number}:{shop.style_version_id}",
            source_fingerprint=f"fp{number}",
            state="done",
        )
        session.add(job)
        session.flush()
        draft_ids = []
        for index, plate in enumerate(plates):
            key = f"shops/{shop_id}/drafts/{product.id}/{job.id}/{plate}.jpg"
            services.storage.put(key, jpeg(color=(180 + index * 30, 160, 150), label=plate), "image/jpeg")
            draft = Draft(
                shop_id=shop_id,
                product_id=product.id,
                job_id=job.id,
                style_version_id=shop.style_version_id,
                plate_id=plate,
                state=state,
                image_key=key,
                width=400,
                height=500,
                report=report
                or render_report(
                    ssim=0.991 - index * 0.004,
                    delta_e=1.8 + index,
                    achieved_mm=446.0 + index * 3,
                    confidence=0.93 - index * 0.05,
                ),
            )
            session.add(draft)
            session.flush()
            draft_ids.append(draft.id)
        return Seeded(shop_id, product.id, job.id, draft_ids)
