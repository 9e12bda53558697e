"""Run the definitions of a notebook, never its experiments.

Grading executes only a notebook's top-level imports, `def`s, `class`es and assignments to
UPPER_CASE names, statement by statement, each under a time limit. A statement that fails is
recorded with the learner's own cell and line, and loading goes on: one broken cell costs only
the names it would have defined.
"""
import ast
import contextlib
import io
import json
import linecache
import re
import signal
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import source_notebook

STATEMENT_SECONDS = 20
CONSTANT_NAME = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
DEFINITION_NODES = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class NotebookError(Exception):
    """The file cannot be read as a notebook at all."""


class GradingTimeout(Exception):
    """Learner code ran past its time limit."""


@dataclass
class Problem:
    """Something in the learner's notebook that could not be defined."""
    cell: int
    line: int
    message: str
    names: set[str] = field(default_factory=set)

    def __str__(self):
        return f"cell {self.cell}, line {self.line}: {self.message}"


class Namespace:
    """A notebook's definitions, reached as attributes: `student.merge`, `reference.MiniGPT`."""

    def __init__(self, label: str, values: dict, problems: list[Problem]):
        self._label = label
        self._values = values
        self.problems = problems

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise MissingDefinition(self._explain_missing(name)) from None

    def __contains__(self, name):
        return name in self._values

    def replace(self, name: str, value):
        """Rebind a name for every function of the notebook (they look names up at call time)."""
        self._values[name] = value

    def _explain_missing(self, name):
        causes = [p for p in self.problems if name in p.names]
        if causes:
            return f"`{name}` could not be defined: " + "; ".join(map(str, causes))
        return (f"{self._label} defines no `{name}`: was it renamed or deleted? "
                "Keep the name and signature given in the notebook.")


class MissingDefinition(AssertionError, AttributeError):
    """A name the checks need is not defined by the notebook (an AttributeError too, for hasattr)."""


def read_code_cells(path: Path) -> list[tuple[int, str, dict]]:
    """(1-based cell number, source, nbgrader metadata) of every code cell."""
    if not Path(path).is_file():
        raise NotebookError(f"{path} does not exist")
    try:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
        cells = notebook["cells"]
        return [(number, _joined(cell.get("source", "")), cell.get("metadata", {}).get("nbgrader", {}))
                for number, cell in enumerate(cells, start=1) if cell.get("cell_type") == "code"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise NotebookError(f"{path} is not a readable Jupyter notebook ({type(error).__name__}: {error})")


def exercise_points(assignment: str) -> dict[str, float]:
    """grade_id → points of every grade cell in the instructor notebook, in notebook order."""
    return {meta["grade_id"]: float(meta["points"])
            for _, _, meta in read_code_cells(source_notebook(assignment)) if meta.get("grade")}


def load_definitions(path: Path, label: str = "your notebook") -> Namespace:
    values = {"__name__": "__notebook__", "__builtins__": __builtins__}
    problems = []
    for number, source, nbgrader in read_code_cells(path):
        if nbgrader.get("grade") and not nbgrader.get("solution"):
            continue  # a grade cell holds visible checks, not definitions
        filename = f"<cell {number}>"
        code = _without_magics(source)
        linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
        try:
            tree = ast.parse(code, filename=filename)
        except SyntaxError as error:
            problems.append(Problem(number, error.lineno or 0, f"SyntaxError: {error.msg}",
                                    _names_in_text(code)))
            continue
        for node in tree.body:
            if _is_definition(node):
                problem = _run_statement(node, filename, values)
                if problem:
                    problems.append(Problem(number, node.lineno, problem, _names_bound(node)))
    return Namespace(label, values, problems)


_reference_cache: dict[str, Namespace] = {}


def load_reference(assignment: str) -> Namespace:
    """The instructor notebook's definitions (solutions included); it must load cleanly."""
    if assignment not in _reference_cache:
        namespace = load_definitions(source_notebook(assignment), label="the reference notebook")
        if namespace.problems:
            raise RuntimeError(f"the reference for {assignment} does not load: "
                               + "; ".join(map(str, namespace.problems)))
        _reference_cache[assignment] = namespace
    return _reference_cache[assignment]


def describe_learner_error(error: BaseException) -> str:
    """One line naming the exception and the learner's own line that raised it."""
    if isinstance(error, NotImplementedError):
        return "not implemented yet (raises NotImplementedError)"
    text = f"raised {type(error).__name__}: {error}".rstrip(": ")
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith("<cell ")]
    if frames:
        last = frames[-1]
        text += f" — at {last.filename[1:-1]}, line {last.lineno}: `{(last.line or '').strip()}`"
    return text


@contextlib.contextmanager
def time_limit(seconds: float, what: str):
    """Raise GradingTimeout in the main thread after `seconds` (pure-Python loops included)."""
    def expire(signum, frame):
        raise GradingTimeout(f"{what} ran for more than {seconds:g} s (an infinite loop?)")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _run_statement(node, filename, values) -> str | None:
    code = compile(ast.Module(body=[node], type_ignores=[]), filename, "exec")
    try:
        with time_limit(STATEMENT_SECONDS, "this statement"), _silenced():
            exec(code, values)
    except BaseException as error:  # SystemExit and KeyboardInterrupt too: loading goes on
        return describe_learner_error(error)
    return None


@contextlib.contextmanager
def _silenced():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def _is_definition(node) -> bool:
    if isinstance(node, DEFINITION_NODES):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return all(isinstance(t, ast.Name) and CONSTANT_NAME.match(t.id) for t in targets)
    return False


def _names_bound(node) -> set[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {t.id for t in targets}


def _names_in_text(code: str) -> set[str]:
    """Names a cell that does not parse would probably have defined."""
    return set(re.findall(r"^(?:async\s+)?(?:def|class)\s+(\w+)", code, re.MULTILINE)) | \
        set(re.findall(r"^([A-Z_][A-Z0-9_]*)\s*=", code, re.MULTILINE))


def _without_magics(source: str) -> str:
    """IPython magics and shell escapes are not Python: blank them, keeping line numbers."""
    lines = source.splitlines()
    if lines and lines[0].startswith("%%"):
        return "" if lines[0].split()[0] not in ("%%time", "%%timeit", "%%capture") else \
            "\n".join([""] + lines[1:])
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def _joined(source) -> str:
    return "".join(source) if isinstance(source, list) else source
