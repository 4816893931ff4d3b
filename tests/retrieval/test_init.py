"""hf_hybrid.retrieval: every public name resolves lazily, and no name is shadowed by a submodule's name."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import hf_hybrid.retrieval as retrieval


@pytest.mark.parametrize("name", retrieval.__all__)
def test_public_names_resolve(name):
    value = getattr(retrieval, name)
    assert getattr(value, "__name__", name) == name and name in dir(retrieval)


def test_no_public_name_is_also_a_submodule():
    """``import hf_hybrid.retrieval.X`` rebinds the package attribute X to the module: a function X would vanish."""
    submodules = {m.name for m in pkgutil.iter_modules(retrieval.__path__)}
    assert submodules >= {"corpus", "shards", "encode_corpus"} and not set(retrieval.__all__) & submodules


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'hf_hybrid.retrieval' has no attribute 'nope'"):
        importlib.import_module("hf_hybrid.retrieval").nope
