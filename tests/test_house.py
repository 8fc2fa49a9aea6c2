"""The house rules of issue 26, checked over the package's source: functions a reader can hold, parameter lists
that fit on a line, and no private name imported from another module."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pono_gan"
MAX_LINES, MAX_PARAMETERS = 80, 10


def _functions():
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.relative_to(PACKAGE.parent), node


def _parameters(node) -> int:
    args = node.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    return len(names) - (names[:1] in (["self"], ["cls"])) + (args.vararg is not None) + (args.kwarg is not None)


def test_no_function_is_longer_than_80_lines():
    long = [f"{path}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path, node in _functions() if node.end_lineno - node.lineno + 1 > MAX_LINES]
    assert not long, "split these into named steps: " + "; ".join(long)


def test_no_function_but_a_constructor_takes_more_than_10_parameters():
    wide = [f"{path}:{node.lineno} {node.name} ({_parameters(node)})" for path, node in _functions()
            if node.name != "__init__" and _parameters(node) > MAX_PARAMETERS]
    assert not wide, "group the parameters that travel together into an options object: " + "; ".join(wide)


@pytest.mark.parametrize("root", ["pono_gan", "benchmarks"])
def test_no_private_name_is_imported_from_another_module(root):
    imports = []
    for path in sorted((PACKAGE.parent / root).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pono_gan"):
                imports += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                            if a.name.startswith("_") and not a.name.startswith("__")]
    assert not imports, "make these public in their one home: " + "; ".join(imports)
