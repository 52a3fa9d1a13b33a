"""Szpak: a real-time microblog for Polish and English speakers, speaking the Mastodon client API."""

__version__ = "0.1.0"
