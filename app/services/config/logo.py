"""The org logo: checking an uploaded image and making it the org's branding logo."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from app.services.config.schema import OrgConfig
from app.services.config.writes import do_update_section, editable_org
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext

LOGO_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def check_logo(data: bytes) -> str:
    """The content type of an acceptable logo (PNG, JPEG or WebP by its bytes, at most
    1 MB; never SVG), or `ValidationFailed` on `branding.logo_url`."""
    from app.services.infra import storage

    if len(data) > storage.MAX_LOGO_BYTES:
        raise ValidationFailed(
            f"The logo is too large: at most {storage.MAX_LOGO_BYTES // 1_000_000} MB.",
            field="branding.logo_url",
        )
    content_type = storage.sniff_image(data)
    if content_type is None:
        raise ValidationFailed(
            "Upload a PNG, JPEG or WebP image (SVG is not accepted).", field="branding.logo_url"
        )
    return content_type


def set_logo(
    session: Session, ctx: OrgContext, *, org_id: uuid.UUID | str, data: bytes
) -> OrgConfig:
    """Store an uploaded logo (public: it appears in emails and certificates) and make it
    the org's `branding.logo_url`; audited and published like any change."""
    from app.services.infra import storage

    org = editable_org(session, ctx, org_id)
    content_type = check_logo(data)
    key = storage.public_key(org.id, f"logo-{uuid.uuid4().hex}.{LOGO_EXTENSIONS[content_type]}")
    storage.get_storage().put(key, data, content_type)
    return do_update_section(
        session,
        ctx,
        org_id=org.id,
        section="branding",
        values={"logo_url": storage.public_url(key)},
    )
