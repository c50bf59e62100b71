"""Allow `python -m ulterior.cli`."""

from ulterior.cli import main

main()
