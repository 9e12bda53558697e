"""Read notebooks (as data: nothing here runs learner code) and load the trusted reference.

A submission is parsed here, in the trusted process, with limits on its size and shape; only its
code cells' text is handed to the worker that runs it (autograder.remote).
"""
import ast
import json
from pathlib import Path

from autograder.course import source_notebook
from learnerbox.definitions import load_definitions, without_magics

MAX_NOTEBOOK_BYTES = 32 << 20


class NotebookError(Exception):
    """The file cannot be read as a notebook at all."""


class Namespace:
    """The reference notebook's definitions, reached as attributes: `reference.MiniGPT`."""

    def __init__(self, values: dict):
        self._values = values

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"the reference notebook defines no `{name}`") from None

    def __contains__(self, name):
        return name in self._values


class MissingDefinition(AssertionError, AttributeError):
    """A name the checks need is not defined by the notebook (an AttributeError too, for hasattr)."""


def read_code_cells(path: Path) -> list[tuple[int, str, dict]]:
    """(1-based cell number, source, nbgrader metadata) of every code cell."""
    path = Path(path)
    if path.is_symlink():
        raise NotebookError(f"{path} is a symbolic link: submit the notebook file itself")
    if not path.is_file():
        raise NotebookError(f"{path} does not exist")
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"{path} is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB: clear its outputs")
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        return [(number, _joined(cell.get("source", "")), _nbgrader(cell))
                for number, cell in enumerate(notebook["cells"], start=1) if cell.get("cell_type") == "code"]
    except RecursionError:
        raise NotebookError(f"{path} is not a readable Jupyter notebook (its JSON nests too deeply)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError,
            ValueError) as error:
        raise NotebookError(f"{path} is not a readable Jupyter notebook ({type(error).__name__}: {error})"[:500])


def exercise_points(assignment: str) -> dict[str, float]:
    """grade_id → points of every grade cell in the instructor notebook, in notebook order."""
    return {meta["grade_id"]: float(meta["points"])
            for _, _, meta in read_code_cells(source_notebook(assignment)) if meta.get("grade")}


def learner_cells(cells: list[tuple[int, str, dict]]) -> list[tuple[int, str]]:
    """(number, source) of the cells that may hold definitions: not the visible-check grade cells."""
    return [(number, source) for number, source, meta in cells if not (meta.get("grade") and not meta.get("solution"))]


class LearnerCode:
    """The learner's code as text and syntax trees, for checks about HOW something is written
    (a banned shortcut); read here, never run."""

    def __init__(self, cells: list[tuple[int, str]]):
        self.definitions = {}
        for _, source in cells:
            try:
                tree = ast.parse(without_magics(source))
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    self.definitions[node.name] = node  # the last definition wins, as when run

    def definition(self, name: str):
        return self.definitions.get(name)

    def calls_to(self, name: str, banned: set[str]) -> list[str]:
        """The calls to any of `banned` in the code of `name` and of the learner's functions and classes it uses,
        as spelled (F.softmax, torch.nn.functional.softmax, softmax): a plain name or an attribute. Read from the
        syntax tree, so a name in a string, a comment or an error message does not count."""
        found, seen, todo = [], set(), [name]
        while todo:
            tree = self.definition(todo.pop())
            if tree is None or id(tree) in seen:
                continue
            seen.add(id(tree))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                    if callee in banned:
                        found.append(ast.unparse(node.func))
                if isinstance(node, ast.Name) and node.id not in banned and self.definition(node.id) is not None:
                    todo.append(node.id)
        return found

    @staticmethod
    def names_used(tree) -> set[str]:
        """Every name and attribute the code mentions."""
        return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | \
            {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}

    @staticmethod
    def strings(tree) -> set[str]:
        return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


_reference_cache: dict[str, Namespace] = {}


def load_reference(assignment: str) -> Namespace:
    """The instructor notebook's definitions (solutions included); it must load cleanly."""
    if assignment not in _reference_cache:
        cells = learner_cells(read_code_cells(source_notebook(assignment)))
        values, problems = load_definitions(cells, label="reference ", statement_seconds=None)
        if problems:
            raise RuntimeError(f"the reference for {assignment} does not load: " + "; ".join(map(str, problems)))
        _reference_cache[assignment] = Namespace(values)
    return _reference_cache[assignment]


def _joined(source) -> str:
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    if isinstance(source, str):
        return source
    raise TypeError("a cell's source is neither text nor a list of lines")


def _nbgrader(cell: dict) -> dict:
    metadata = cell.get("metadata") or {}
    nbgrader = metadata.get("nbgrader") or {} if isinstance(metadata, dict) else {}
    if not isinstance(nbgrader, dict):
        raise TypeError("a cell's nbgrader metadata is not an object")
    return nbgrader
