"""Loaded before every test folder's modules: puts the layers and the local mode on the import path
and gives the process the template's environment (``tests/support/environment.py``)."""

import tests.support.environment  # noqa: F401
