"""Cassettes bundled with streamcassette (installed as ``streamcassette.bundled``)."""
