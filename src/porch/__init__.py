"""porch: a self-hostable AI support chat for websites."""

__version__ = "0.1.0"
