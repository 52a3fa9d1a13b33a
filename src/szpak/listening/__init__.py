"""Brand listening: organisations' tracked queries matched against the post stream,
mentions with sentiment, storm alerts, webhooks and e-mail. See docs/listening.md.

Consumes domain events and durable jobs; never imports ``szpak.api`` or ``szpak.web``.
"""
