"""``python -m nnvisual`` runs the command line."""

from nnvisual.cli import main

main()
