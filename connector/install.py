"""Install Worn in a shop on the admin's first page load: exchange the session token, add a style."""

from __future__ import annotations

import logging

import httpx
from shopify_app import IdTokenDetails

from connector import auth
from connector.models import Shop, utcnow
from connector.services import Services
from connector.shops import get_or_create_shop
from connector.shopstyle import assign_style, freeze
from connector.tokens import TokenStore

log = logging.getLogger(__name__)


def install_from_session_token(
    services: Services,
    id_token: IdTokenDetails | str,
    *,
    http: httpx.Client | None = None,
    clock: auth.Clock = auth.utcnow,
) -> Shop:
    """Return the shop the session token is for, installed: with a live expiring token and a house style.

    A shop that already holds a live expiring token keeps it (the page loads often; exchanging each time
    would only churn tokens); a legacy token is migrated; anything else is exchanged for a new one.
    `id_token`: the IdTokenDetails shopifyapp's verify_app_home_req returned, or the raw session token.
    """
    details = (
        auth.verify_session_token(services.settings, id_token) if isinstance(id_token, str) else id_token
    )
    domain = str(details.claims.get("dest", "")).removeprefix("https://").removeprefix("http://")
    store = TokenStore(services.cipher)
    with services.db.session() as session:
        shop = get_or_create_shop(session, domain)
        tokens = store.load(shop)
        live = (
            shop.active
            and tokens is not None
            and tokens.expiring
            and not tokens.expires_within(services.settings.TOKEN_REFRESH_MARGIN_SECONDS, clock())
        )
        shop_id = shop.id
    if not live:
        if shop.active and tokens is not None and not tokens.expiring:
            auth.access_token(services, shop_id, http=http, clock=clock)  # migrates the legacy token
        else:
            _, fresh = auth.exchange_session_token(services.settings, details, http=http, clock=clock)
            with services.db.session() as session:
                row = session.get(Shop, shop_id)
                assert row is not None
                store.save(row, fresh)
                if not row.active or row.uninstalled_at is not None:
                    row.installed_at = utcnow()
                row.active, row.uninstalled_at = True, None
            log.info("installed Worn in %s", domain)
    with services.db.session() as session:
        row = session.get(Shop, shop_id)
        assert row is not None
        if row.style_version_id is None:
            style = freeze(services.default_style, services.settings.STYLES_DIR, services.storage)
            assign_style(session, row, style)
            log.info("gave %s the house style %r", domain, style.name)
    if row.name is None:
        _fetch_name(services, shop_id, domain, http)
    with services.db.session() as session:
        final = session.get(Shop, shop_id)
        assert final is not None
        return final


def _fetch_name(services: Services, shop_id: int, domain: str, http: httpx.Client | None) -> None:
    """Record the shop's display name (used in alt text); a failure here does not undo the install."""
    from connector.admin import AdminClient, AdminError

    try:
        data = AdminClient(services, shop_id, domain, http=http).query("shop_info")
    except AdminError as exc:
        log.warning("could not read the name of %s: %s", domain, exc)
        return
    with services.db.session() as session:
        row = session.get(Shop, shop_id)
        if row is not None:
            row.name = str((data.get("shop") or {}).get("name") or "")[:255] or None
