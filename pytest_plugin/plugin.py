"""pytest entry point for streamcassette (registered through the ``pytest11`` entry point)."""
