"""Reflex configuration. Guildhall's own settings live in app/settings.py."""

import os

import reflex as rx

_port = int(os.environ.get("GUILDHALL_PORT", "3000"))
_origin = os.environ.get("GUILDHALL_BASE_URL", f"http://localhost:{_port}")

config = rx.Config(
    app_name="app",
    telemetry_enabled=False,
    frontend_port=_port,
    cors_allowed_origins=[_origin, _origin.replace("localhost", "127.0.0.1")],
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="indigo", radius="medium", appearance="inherit")
        ),
        rx.plugins.SitemapPlugin(),
    ],
    show_built_with_reflex=False,
)
