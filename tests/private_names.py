"""The private names a module defines, read from its syntax tree (for the
architecture checks: who may reach which private member)."""

from __future__ import annotations

import ast


def private_names(tree: ast.AST, globals_too: bool = True) -> set[str]:
    """Private functions, classes and attributes the module defines, and with
    ``globals_too`` its private module or local names as well."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif (
            globals_too
            and isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Store)
        ):
            names.add(node.id)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}
