"""Puts the real `gateway` package back before any gateway test imports it.

With `--import-mode=importlib` pytest names these modules by their path from the
repository root (`gateway.tests.unit.test_x`) and, on the way, registers the
repository's `gateway/` folder as an empty namespace package called `gateway`,
which hides the installed package of that name. Dropping the stand-in lets the
next import find the real one (a regular package wins over a namespace folder).
"""

import importlib
import sys

if getattr(sys.modules.get("gateway"), "__file__", "") is None:
    del sys.modules["gateway"]
    importlib.import_module("gateway")
