"""``szpak.asgi:app`` for uvicorn and other ASGI servers (settings from the environment)."""

from szpak.app import create_app

app = create_app()
