"""Tests of the assistant before visitors see it: cases, runs, regressions, the playground."""
