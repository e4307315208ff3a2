"""``python -m streamcassette.cli``: the ``streamcassette`` command."""

from streamcassette.cli import main

main(prog_name="streamcassette")
