"""The tests' own layout (tests/README.md), checked so that it stays findable.

- A test module never imports another test module or a conftest: what two places share lives in
  ``tests/support/``.
- tests/unit is pure: no AWS client library, no moto, no handlers, no local mode server (the
  fixtures that give them live in tests/integration/conftest.py), no network (its conftest).
- No hedge: a test does not ask ``getattr(module, "rule", None)`` or ``hasattr(module, "rule")``
  of a module it imported and carry on when the answer is no; it imports the rule, and fails
  when the rule is gone. (Inside an ``assert``, asking is the check itself.)
- Every folder of tests/ is in tests/README.md, and no test module sits loose in tests/.
"""

from __future__ import annotations

import ast
import socket
from pathlib import Path

import pytest

from tests.support.environment import ROOT

TESTS = ROOT / "tests"
TEST_ROOTS = [TESTS, ROOT / "local" / "tests"]
# What only integration or e2e tests may use: AWS clients and moto, the handlers, a running local mode.
NOT_IN_UNIT = (
    "boto3",
    "botocore",
    "moto",
    "requests",
    "localapi.app",
    "localapi.aws_backend",
    "tests.support.functions",
    "tests.support.faults",
    "tests.support.storage",
    "tests.support.local_mode",
)


def python_files() -> list[Path]:
    return sorted(
        path
        for root in TEST_ROOTS
        for path in root.rglob("*.py")
        if "fixture" not in path.relative_to(root).parts  # the local mode's sample functions
    )


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, ``from a.b import c`` giving ``a.b.c`` too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def is_test_module(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def test_no_test_module_imports_another_test_module_or_a_conftest() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files()
        for line, module in imported_modules(path)
        if is_test_module(module) or (module.startswith("tests.") and not module.startswith("tests.support"))
    ]
    assert wrong == [], "shared helpers belong in tests/support/:\n" + "\n".join(wrong)


def test_unit_tests_use_no_aws_client_moto_handler_or_server() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((TESTS / "unit").rglob("*.py"))
        for line, module in imported_modules(path)
        if any(module == banned or module.startswith(banned + ".") for banned in NOT_IN_UNIT)
    ]
    assert wrong == [], "these belong in tests/integration (or tests/e2e):\n" + "\n".join(wrong)


def test_unit_tests_cannot_ask_for_the_moto_fixtures() -> None:
    """The ``aws``/``service``/``snapshot`` fixtures are defined where only integration tests see them."""
    defined_at = {
        path.parent.relative_to(TESTS).as_posix()
        for path in TESTS.rglob("conftest.py")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name in {"aws", "service", "snapshot"}
    }
    assert defined_at == {"integration"}


def test_a_unit_test_cannot_open_a_connection() -> None:
    with pytest.raises(AssertionError, match="network"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def hedges_in(source: str, name: str) -> list[str]:
    tree = ast.parse(source, name)
    imported = {
        (alias.asname or alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    asserted = {id(call) for node in ast.walk(tree) if isinstance(node, ast.Assert) for call in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and id(node) not in asserted):
            continue
        asks = (node.func.id == "getattr" and len(node.args) == 3) or node.func.id == "hasattr"
        target = node.args[0] if node.args else None
        while isinstance(target, ast.Attribute):
            target = target.value
        if asks and isinstance(target, ast.Name) and target.id in imported:
            found.append(f"{name}:{node.lineno} {ast.unparse(node)}")
    return found


def test_no_test_hedges_on_a_rule_that_may_be_missing() -> None:
    found = [hedge for path in python_files() for hedge in hedges_in(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == [], "import the rule instead, so the test fails when it goes:\n" + "\n".join(found)


def test_the_hedge_check_sees_a_hedge() -> None:
    """The check above can fail: a module asked for a rule with a default is a hedge."""
    sample = (
        "from image_service import service\n"
        "keys_of = getattr(service, 'keys_of', None)\n"
        "assert hasattr(service, 'UPLOAD_PREFIX')\n"
    )
    assert hedges_in(sample, "sample.py") == ["sample.py:2 getattr(service, 'keys_of', None)"]


def test_every_test_folder_is_in_the_readme_and_none_sits_loose() -> None:
    readme = (TESTS / "README.md").read_text()
    folders = sorted(p.name for p in TESTS.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert [name for name in folders if f"`tests/{name}/`" not in readme] == []
    assert sorted(p.name for p in TESTS.glob("test_*.py")) == []
