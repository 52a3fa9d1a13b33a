"""Durable background work, stored in the main database (no broker needed)."""
