"""Reflex configuration. Guildhall's own settings live in app/settings.py."""

import reflex as rx

from app.settings import Settings
from app.supervision import install_respawning_workers

_settings = Settings()
# A crashed backend worker is replaced instead of stopping the app (app/supervision.py).
install_respawning_workers()

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
