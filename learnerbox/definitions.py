"""Run the definitions of a notebook's code cells, never its experiments.

Only top-level imports, `def`s, `class`es and assignments to UPPER_CASE names run, statement by
statement. A statement that fails is recorded with its own cell and line, and loading goes on:
one broken cell costs only the names it would have defined.

`import matplotlib.pyplot as plt` (or any `import matplotlib...`) binds a module that is imported
when it is first used: only experiments plot, and the import takes about a second.
"""
import ast
import contextlib
import importlib
import io
import linecache
import re
import sys
import traceback
import types
from dataclasses import dataclass, field

from coursekit.visible import time_limit

STATEMENT_SECONDS = 10
CONSTANT_NAME = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
DEFINITION_NODES = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
LAZY_PACKAGES = ("matplotlib",)


@dataclass
class Problem:
    """Something in a notebook that could not be defined."""
    cell: int
    line: int
    message: str
    names: set[str] = field(default_factory=set)

    def __str__(self):
        return f"cell {self.cell}, line {self.line}: {self.message}"


def load_definitions(cells: list[tuple[int, str]], label: str,
                     statement_seconds: int | None = STATEMENT_SECONDS) -> tuple[dict, list[Problem]]:
    """Run the definitions of (cell number, source) pairs; returns (namespace, problems).
    `label` tells notebooks apart in tracebacks: its cells are files named `<label cell N>`.
    `statement_seconds`: the time limit of each statement; None for the trusted reference, whose
    `import torch` may take longer on a busy machine (interrupted, it leaves torch half imported)."""
    values = {"__name__": "__notebook__", "__builtins__": __builtins__}
    problems = []
    for number, source in cells:
        filename = f"<{label}cell {number}>"
        code = without_magics(source)
        linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
        try:
            tree = ast.parse(code, filename=filename)
        except SyntaxError as error:
            problems.append(Problem(number, error.lineno or 0, f"SyntaxError: {error.msg}", names_in_text(code)))
            continue
        except (ValueError, RecursionError, MemoryError) as error:
            problems.append(Problem(number, 0, f"the cell cannot be parsed ({type(error).__name__})",
                                    names_in_text(code)))
            continue
        for node in tree.body:
            if is_lazy_import(node):
                values.update(lazy_modules(node))
            elif is_definition(node):
                problem = _run_statement(node, filename, values, statement_seconds)
                if problem:
                    problems.append(Problem(number, node.lineno, problem, names_bound(node)))
    return values, problems


class LazyModule(types.ModuleType):
    """Stands for `bound` (a module or the package that holds it) until an attribute is read; then
    imports `name` and reads the attribute from the real module."""

    def __init__(self, name: str, bound: str):
        super().__init__(bound)
        self.__dict__["_lazy_import"] = name

    def __getattr__(self, attribute):
        importlib.import_module(self.__dict__["_lazy_import"])
        return getattr(sys.modules[self.__name__], attribute)


def is_lazy_import(node) -> bool:
    return isinstance(node, ast.Import) and all(a.name.split(".")[0] in LAZY_PACKAGES for a in node.names)


def lazy_modules(node: ast.Import) -> dict[str, LazyModule]:
    """What `import a.b as c` (c: a.b) or `import a.b` (a: the package a) binds, imported later."""
    bound = {}
    for alias in node.names:
        module = alias.name if alias.asname else alias.name.split(".")[0]
        bound[alias.asname or module] = LazyModule(alias.name, module)
    return bound


def describe_learner_error(error: BaseException) -> str:
    """One line naming the exception and the learner's own line that raised it."""
    if isinstance(error, NotImplementedError):
        return "not implemented yet (raises NotImplementedError)"
    text = f"raised {type(error).__name__}: {_message(error)}".rstrip(": ")
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith("<cell ")]
    if frames:
        last = frames[-1]
        text += f" — at {last.filename[1:-1]}, line {last.lineno}: `{(last.line or '').strip()}`"
    return text[:1000]


def _message(error: BaseException) -> str:
    try:
        return str(error)[:500]
    except Exception:  # a learner's exception whose __str__ itself fails
        return ""


def _run_statement(node, filename, values, seconds: int | None) -> str | None:
    code = compile(ast.Module(body=[node], type_ignores=[]), filename, "exec")
    try:
        # a courtesy limit, so that one slow cell costs only its names (the grader's own deadline,
        # which learner code cannot cancel, still holds if this one is defeated)
        with _silenced(), (time_limit(seconds, StatementTimeout) if seconds else contextlib.nullcontext()):
            exec(code, values)
    except StatementTimeout:
        return f"this statement ran for more than {seconds} s"
    except BaseException as error:  # SystemExit and KeyboardInterrupt too: loading goes on
        return describe_learner_error(error)
    return None


class StatementTimeout(BaseException):
    pass


@contextlib.contextmanager
def _silenced():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def is_definition(node) -> bool:
    if isinstance(node, DEFINITION_NODES):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return all(isinstance(t, ast.Name) and CONSTANT_NAME.match(t.id) for t in targets)
    return False


def names_bound(node) -> set[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {t.id for t in targets}


def names_in_text(code: str) -> set[str]:
    """Names a cell that does not parse would probably have defined."""
    return set(re.findall(r"^(?:async\s+)?(?:def|class)\s+(\w+)", code, re.MULTILINE)) | \
        set(re.findall(r"^([A-Z_][A-Z0-9_]*)\s*=", code, re.MULTILINE))


def without_magics(source: str) -> str:
    """IPython magics and shell escapes are not Python: blank them, keeping line numbers."""
    lines = source.splitlines()
    if lines and lines[0].startswith("%%"):
        return "" if lines[0].split()[0] not in ("%%time", "%%timeit", "%%capture") else \
            "\n".join([""] + lines[1:])
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)
