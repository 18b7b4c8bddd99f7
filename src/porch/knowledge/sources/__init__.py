"""An owner's sources and context rules: add, list, change, re-sync, delete."""
