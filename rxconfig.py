"""Reflex configuration. Guildhall's own settings live in app/settings.py."""

import reflex as rx

from app.settings import Settings

_settings = Settings()

config = rx.Config(
    app_name="app",
    telemetry_enabled=False,
    frontend_port=_settings.port,
    # socket.io refuses a websocket from any other origin (the default is "*").
    cors_allowed_origins=list(_settings.allowed_origins),
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="indigo", radius="medium", appearance="inherit")
        ),
        rx.plugins.SitemapPlugin(),
    ],
    show_built_with_reflex=False,
)
