"""Tests for porch.providers, against fake vendors over real HTTP."""
