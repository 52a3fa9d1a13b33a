"""The web UI: server-rendered pages in Polish and English."""
