"""The Mastodon client API over HTTP: routes, request models, entity serializers."""
