"""Makes ``demo_support`` importable by the demo tests (pytest's importlib mode does not add test folders),
and serves the demo app to the modules that ask for it (one server per module)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from demo_support import running_demo  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("demo")) as info:
        yield info


@pytest.fixture(scope="module")
def client(served):
    from gradio_client import Client

    return Client(served["url"], verbose=False)
