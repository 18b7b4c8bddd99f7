"""`python -m porch`: the same as the `porch` command."""

from porch.cli import main

main()
