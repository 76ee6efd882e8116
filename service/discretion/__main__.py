"""`python -m discretion …` is the `discretion` command."""

from .cli import main

main()
