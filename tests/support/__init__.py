"""Helpers shared by the test folders. Tests import from here, never from another test module."""
