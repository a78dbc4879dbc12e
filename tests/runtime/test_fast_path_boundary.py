"""The fast replay talks to the emulator through its public methods only: the delivery rule and
the registration state are the emulator's, so nothing on the fast side may read a private
attribute of another object (only its own, through ``self``)."""
from __future__ import annotations

import ast
import inspect

import pytest

from kxrules.broker.emulator import fastpath
from kxrules.runtime import fast


@pytest.mark.parametrize("module", [fastpath, fast], ids=lambda m: m.__name__)
def test_no_private_attribute_of_another_object_is_read(module):
    tree = ast.parse(inspect.getsource(module))
    private = [f"line {node.lineno}: .{node.attr}" for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and node.attr.startswith("_")
               and not node.attr.startswith("__")
               and not (isinstance(node.value, ast.Name) and node.value.id == "self")]
    assert private == []
