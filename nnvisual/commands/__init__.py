"""One module per command, each exposing a Click command named ``command``."""
