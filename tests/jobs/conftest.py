"""Jobs are tested against the knowledge tests' loopback site."""

from tests.knowledge.conftest import site

__all__ = ["site"]
