"""Makes ``demo_support`` importable by the demo tests (pytest's importlib mode does not add test folders)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
