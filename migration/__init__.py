"""Placeholder; see the package docstring once built."""
