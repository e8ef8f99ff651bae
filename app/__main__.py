"""``python -m app`` is the ``bouncer`` CLI."""

from app.cli import main

main()
