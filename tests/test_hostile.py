"""Hostile submissions (issue #8): every attack of tests/hostile/catalogue.py, under both grading modes.

The mode is the runner's: `child_runner(sandbox=True)` (learner code in a bubblewrap sandbox) or
`child_runner(sandbox=False)` (the process boundary alone: learner code can read the file system
and the environment there, so the attacks that only a filesystem, network or PID sandbox can stop
are left out of their notebooks; a few slow attacks whose containment is the trusted process's
alone run in this mode only). One runner per mode serves the whole module.

The attacks are graded as submissions (catalogue.SUBMISSIONS): one notebook holds several attacks,
each in an exercise of its own, since the grader scores each exercise in a worker of its own; an
attack that stops a whole submission, or rewrites the whole notebook, is a submission alone.
For every submission, whatever the mode:
  * each attack's exercises score no more than the blank release (0), or than the honest part it
    embeds, the exercises no attack owns score 0 (or, in a notebook whose other exercises are the
    reference's, exactly their full points: killing one exercise's worker costs that exercise
    only), and the maximum stays 15 (the instructor's points, whatever the submission claims);
  * grading it does not crash and takes at most a minute; graded again (determinism), the same JSON;
  * nothing changes under source/, solutions/, release/, autograder/ or learnerbox/ (what does is
    restored, so that later attacks meet an intact course), nor the gradebook next to the
    submissions or another student's submission;
  * no process it started is alive once grading returns (hostile processes carry a per-run marker
    and their attack's number in their name or command line; the test ends those it finds, by pid);
  * the canaries (an environment variable of the grader's, a file outside the submission folder,
    what the test's loopback listeners answer, the host's name, home listing and the repo's README)
    never appear in the result, and the listeners are never reached; nor does "BREACH <marker>",
    which an attack puts in its feedback when it sees itself succeed where the test cannot look
    (4.5 GiB held at once by forked children, say);
  * it leaves no new file of 100 MB or more in the temp folders, the repo's root or the submissions.
Failures name the attack they come from where the exercise, the marker or the file tells.
The submissions come in groups (catalogue.groups); after each group the other student's honest
submission, graded by the same runner, gets 15/15, and all of the above is checked again once 3 s
have passed since the group's last submission was graded (submissions that act later come last in
their group). The gradebook and the other submission are put back after a submission changed them,
so that each is judged on its own.

HOSTILE_LOG=path appends one JSON line per graded attack (mode, submission, its points, the
submission's score and seconds, the failures that name it or its submission).
"""
import ast
import contextlib
import hashlib
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from autograder.course import REPO
from autograder.grade import grade_notebook
from autograder.runner import child_runner
from tests.hostile.catalogue import (A, ATTACKS, CANARY_VARIABLE, EXERCISES, KINDS, MODES as MODE_NAMES,
                                     PRELUDE_NAMES, SUBMISSIONS, Context, defined_names, groups)
from tests.notebooks import load, solution_cell, write

assert REPO == Path(__file__).resolve().parents[1], \
    f"the grader under test ({REPO}) must be this checkout's: attacks rewrite its files"

MODES = {"sandbox": True, "none": False}
FULL_MARKS = 15
PROTECTED = ("source", "solutions", "release", "autograder", "learnerbox")
LARGE_BYTES = 100 << 20
SLOW_SECONDS = 60
LATER_SECONDS = 3
GROUPS = groups()


# --- what the test watches -----------------------------------------------------------------------

class Listeners:
    """Loopback TCP (IPv4 and, where there is one, IPv6) and an abstract unix socket; each answers
    a secret to whoever connects, and remembers them."""

    def __init__(self, answer: bytes, unix_name: str):
        self.answer, self.hits, self.sockets = answer, [], []
        ipv4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ipv4.bind(("127.0.0.1", 0))
        self.port = ipv4.getsockname()[1]
        self.sockets.append(ipv4)
        with contextlib.suppress(OSError):
            ipv6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            try:
                ipv6.bind(("::1", self.port))
                self.sockets.append(ipv6)
            except OSError:
                ipv6.close()
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.bind("\0" + unix_name)
        self.sockets.append(unix)
        for listener in self.sockets:
            listener.listen(16)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            ready, _, _ = select.select(self.sockets, [], [], 0.2)
            for listener in ready:
                with contextlib.suppress(OSError):
                    connection, peer = listener.accept()
                    with connection:
                        connection.settimeout(1)
                        data = b""
                        with contextlib.suppress(OSError):
                            data = connection.recv(200)
                        with contextlib.suppress(OSError):
                            connection.sendall(self.answer)
                    self.hits.append(f"{listener.family.name} {peer or 'unix'}: {data[:60]!r}")

    def take_hits(self) -> list[str]:
        time.sleep(0.1)
        hits, self.hits = self.hits, []
        return hits

    def close(self):
        self.stopped.set()
        self.thread.join()
        for listener in self.sockets:
            listener.close()


def route_address() -> str | None:
    """This host's address on its route out, as an attack learns it (a UDP connect sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            return probe.getsockname()[0]
    except OSError:
        return None


def needles(env_canary: str, file_canary: str, net_canary: str) -> dict[str, str]:
    """What must never appear in a result: label -> a distinctive piece of it (40 characters at most)."""
    found = {"the canary environment variable": env_canary, "the canary file": file_canary,
             "what the loopback listeners answer": net_canary}
    with contextlib.suppress(OSError):
        found["/etc/hostname"] = "hostname=" + Path("/etc/hostname").read_text().strip()
    with contextlib.suppress(OSError):
        listing = sorted(os.listdir(Path.home()))
        if listing:
            found["the home directory's listing"] = ("home=" + ",".join(listing))[:40]
    with contextlib.suppress(OSError, IndexError):
        found["the repo's README"] = ("readme=" + (REPO / "README.md").read_text(encoding="utf-8").splitlines()[0])[:40]
    address = route_address()
    if address and not address.startswith("127."):
        found["the host's address"] = f"route={address}"
    return found


def marked_processes(marker: str) -> list[tuple[int, str]]:
    """Live processes whose name or command line carries the marker (zombies are dead already)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            name, state = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:][:1]
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        if state not in ("Z", "X") and (marker in name or marker in command):
            found.append((int(entry), f"{name}: {command[:80]}".strip()))
    return found


def leftover_processes(marker: str, patience: float = 3.0) -> list[str]:
    """Marked processes still alive after `patience` seconds; ends them (by pid) and names them."""
    deadline = time.monotonic() + patience
    while (alive := marked_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid, _ in alive:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return [f"{len(alive)} process(es), e.g. pid {pid} ({what})" for pid, what in alive[:1]]


def protected_files() -> dict[Path, bytes]:
    files = {}
    for name in PROTECTED:
        for path in sorted((REPO / name).rglob("*")) if (REPO / name).is_dir() else []:
            if "__pycache__" not in path.parts and (path.is_file() or path.is_symlink()):
                with contextlib.suppress(OSError):
                    files[path] = path.read_bytes()
    return files


def restore(before: dict[Path, bytes]) -> list[str]:
    """Put the protected files back as they were; the ones that had changed."""
    after = protected_files()
    changed = sorted({p for p in before if after.get(p) != before[p]} | (after.keys() - before.keys()))
    for path in changed:
        if path in before:
            if path.is_symlink():
                path.unlink()
            path.write_bytes(before[path])
        else:
            path.unlink()
    return [str(p.relative_to(REPO)) for p in changed]


def digest(path: Path) -> str:
    if not path.exists():
        return "missing"
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return hashlib.sha256("".join(f"{p.relative_to(path)}:{digest(p)};" for p in sorted(path.rglob("*"))
                                  if p.is_file() and not p.is_symlink()).encode()).hexdigest()


def files_under(roots: list[tuple[Path, int]]):
    """os.DirEntry of every file under each root, at most `depth` folders down (no symlinked folders)."""
    def scan(folder: Path, depth: int):
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in list(entries):
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        if depth > 0:
                            yield from scan(Path(entry.path), depth - 1)
                    else:
                        yield entry
    for root, depth in roots:
        yield from scan(root, depth)


def large_files(roots: list[tuple[Path, int]]) -> dict[str, tuple]:
    """Files of LARGE_BYTES or more: path -> (inode, size, mtime)."""
    found = {}
    for entry in files_under(roots):
        with contextlib.suppress(OSError):
            stat = entry.stat(follow_symlinks=False)
            if entry.is_file(follow_symlinks=False) and stat.st_size >= LARGE_BYTES:
                found[entry.path] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return found


def marked_files(roots: list[tuple[Path, int]], marker: str) -> list[Path]:
    return [Path(entry.path) for entry in files_under(roots) if marker in entry.name]


# --- the grader, and one mode's state ------------------------------------------------------------

class Grader:
    """One runner of a mode, restarted when an attack has left it unable to grade honestly."""

    def __init__(self, sandbox: bool):
        self.sandbox = sandbox
        self._open()

    def _open(self):
        self.manager = child_runner(sandbox=self.sandbox)
        self.runner = self.manager.__enter__()

    def grade(self, path: Path):
        return grade_notebook(path, A, self.runner)

    def close(self):
        closing = threading.Thread(target=self.manager.__exit__, args=(None, None, None), daemon=True)
        closing.start()
        closing.join(60)

    def restart(self):
        self.close()
        self._open()


class Harness:
    def __init__(self, mode: str, grader: Grader, context: Context, listeners: Listeners, tmp_factory,
                 file_canary: str, needles_: dict[str, str]):
        self.mode, self.grader, self.context, self.listeners = mode, grader, context, listeners
        self.tmp_factory, self.file_canary, self.needles = tmp_factory, file_canary, needles_
        self.numbered = re.compile(re.escape(context.marker) + r"(\d\d)")

    def scan_roots(self, root: Path) -> list[tuple[Path, int]]:
        temp = {Path(tempfile.gettempdir()), Path("/tmp")}
        return [(t, 2) for t in sorted(temp)] + [(Path("/var/tmp"), 1), (Path("/dev/shm"), 1), (REPO, 1),
                                                  (root, 8), (Path.cwd(), 1)]

    def course(self, name: str) -> tuple[Path, Path, Path]:
        """A folder laid out like nbgrader's: the gradebook, a secret, another student's submission."""
        root = self.tmp_factory.mktemp(f"{self.mode}-{name}")
        gradebook = root / "gradebook.db"
        gradebook.write_bytes(b"SQLite format 3\0" + secrets.token_bytes(4096))
        (root / "secret").mkdir()
        (root / "secret" / "canary.txt").write_text(self.file_canary + "\n", encoding="utf-8")
        alice = write(load(A), mkdirs(root / "submitted" / "alice" / A), A)
        return root, gradebook, alice

    def attack_named_in(self, text: str) -> str | None:
        """The attack whose marker (the run's nonce and the attack's number) the text carries."""
        found = self.numbered.search(text)
        return ATTACKS[int(found.group(1))].name if found and int(found.group(1)) < len(ATTACKS) else None

    def run_group(self, name: str, submissions: list) -> list[str]:
        root, gradebook, alice = self.course(name)
        others = {"the gradebook": gradebook, "another student's submission": alice}
        originals = {label: path.read_bytes() for label, path in others.items()}
        protected = protected_files()
        failures, graded, crashed = [], {}, False
        for submission in submissions:
            path = submission.build(mkdirs(root / "submitted" / submission.name / A), self.context, self.mode)
            found, crash = self.run_submission(submission, path, root, others, originals)
            failures += found
            crashed |= crash
            graded[submission.name] = (path.parent, digest(path.parent))
        graded_at = time.monotonic()
        try:
            honest = self.grader.grade(alice)
            if honest.score != FULL_MARKS or honest.max_score != FULL_MARKS:
                failures.append(f"after {name}: the honest submission graded next scored {honest.score} / "
                                f"{honest.max_score}: {summary(honest)}")
                crashed = True
            failures += [f"after {name}: {label} leaked into the honest submission's result"
                         for label, needle in self.needles.items() if needle in json.dumps(honest.to_json())]
        except Exception as error:
            failures.append(f"after {name}: grading the honest submission crashed: {type(error).__name__}: "
                            f"{str(error)[:300]}")
            crashed = True
        time.sleep(max(0.0, LATER_SECONDS - (time.monotonic() - graded_at)))  # mostly spent grading honestly
        later = f"{name}, {LATER_SECONDS} s after its last submission was graded"
        failures += [f"{later}: {text}" for text in self.aftermath(others, originals, protected)]
        failures += [f"{later}: {submission} changed its own folder after its grading had ended"
                     for submission, (folder, before) in graded.items() if digest(folder) != before]
        if crashed:  # judge the next group on a runner that grades honestly again
            self.grader.restart()
        return failures

    def run_submission(self, submission, path: Path, root: Path, others: dict, originals: dict):
        attacks = submission.attacks_in(self.mode)
        owners = submission.owners(self.mode)
        failures, crashed = [], False  # (attack name or None, text)
        protected = protected_files()
        large_before = large_files(self.scan_roots(root))
        results, start = [], time.monotonic()
        for _ in range(submission.repeat):
            try:
                results.append(self.grader.grade(path))
            except Exception as error:
                failures.append((None, f"grading crashed: {type(error).__name__}: {str(error)[:300]}"))
                crashed = True
                break
        seconds = time.monotonic() - start
        if seconds > SLOW_SECONDS * submission.repeat:
            failures.append((None, f"grading took {seconds:.0f} s (at most {SLOW_SECONDS} s a grading)"))
        points = {}
        for result in results[:1]:
            points = {e.exercise: e.points for e in result.exercises}
            full = {e.exercise: e.max_points for e in result.exercises}
            for who, exercises, most in submission.budgets(self.mode):
                scored = round(sum(points.get(exercise, 0.0) for exercise in exercises), 2)
                if most is None:  # honest exercises: whatever the attack did elsewhere, their full points
                    honest = round(sum(full.get(exercise, 0.0) for exercise in exercises), 2)
                    if abs(scored - honest) > 1e-9:
                        lost = {e: points.get(e) for e in exercises if points.get(e) != full.get(e)}
                        culprits = {attack.name for attack in owners.values()}
                        failures.append((culprits.pop() if len(culprits) == 1 else None,
                                         f"cost {who} points: {scored} of their {honest} ({lost}): "
                                         f"{first_failure(result, lost)}"))
                elif scored > most + 1e-9:
                    attack = who if who in {a.name for a in attacks} else None
                    failures.append((attack, f"{'' if attack else who + ' '}scored {scored} on {', '.join(exercises)}, "
                                             f"more than {most}: {summary(result)}"))
            if result.max_score != FULL_MARKS:
                failures.append((None, f"the maximum score became {result.max_score}, not {FULL_MARKS}"))
        texts = [json.dumps(result.to_json()) for result in results]
        if len(set(texts)) > 1:
            failures.append((None, f"{len(set(texts))} different results in {len(texts)} gradings of one "
                                   f"notebook: {first_difference(texts)}"))
        for result in results[:1]:
            for label, needle in self.needles.items():
                where = [e.exercise for e in result.exercises if needle in json.dumps(e.to_json())]
                failures += [(owners[e].name if e in owners else None, f"{label} leaked into the feedback of {e}")
                             for e in where]
                if needle in json.dumps([result.error, result.problems]):
                    failures.append((None, f"{label} leaked into the notebook's problems or error"))
        breach = f"BREACH {self.context.marker}"
        for text in texts[:1]:
            for at in (m.start() for m in re.finditer(re.escape(breach), text)):
                failures.append((self.attack_named_in(text[at:at + 60]), f"saw itself succeed: {text[at:][:120]}"))
        hits = self.listeners.take_hits()
        if hits:
            failures.append((self.attack_named_in(" ".join(hits)),
                             f"reached the test's listeners {len(hits)} time(s), e.g. {hits[0]}"))
        failures += [(self.attack_named_in(text), text)
                     for text in self.aftermath(others, originals, protected, patience=1.0)]
        new_large = {p: i for p, i in large_files(self.scan_roots(root)).items() if large_before.get(p) != i}
        for large in sorted(new_large):
            failures.append((self.attack_named_in(large), f"left a {new_large[large][1] >> 20} MB file: {large}"))
            if self.context.marker in large or Path(large).is_relative_to(root):
                Path(large).unlink(missing_ok=True)
        for leftover in marked_files(self.scan_roots(root), self.context.marker):
            leftover.unlink(missing_ok=True)
        for attack in attacks:
            log(self.mode, submission, attack, results, points, seconds,
                [text for who, text in failures if who in (attack.name, None)])
        label = f"{submission.name} ({', '.join(a.name for a in attacks)})"
        return [f"{who or label}: {text}" for who, text in failures], crashed

    def aftermath(self, others: dict, originals: dict, protected: dict, patience=0.5) -> list[str]:
        """Processes left running, the course's files and the others' files changed: ended, restored."""
        failures = [f"left {text} running" for text in leftover_processes(self.context.marker, patience)]
        changed = restore(protected)
        if changed:
            failures.append(f"changed the course's files (restored): {', '.join(changed[:5])}")
        for label, path in others.items():
            if not path.is_file() or path.is_symlink() or path.read_bytes() != originals[label]:
                failures.append(f"changed {label} (restored)")
                path.unlink(missing_ok=True)
                path.write_bytes(originals[label])
        return failures


def mkdirs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def summary(result) -> str:
    points = {e.exercise: e.points for e in result.exercises if e.points}
    error = getattr(result, "error", "")
    return f"points {points}" + (f", error {error[:100]!r}" if error else "")


def first_failure(result, exercises) -> str:
    """The first failed check's message among these exercises: what went wrong there."""
    for exercise in result.exercises:
        for check in exercise.checks if exercise.exercise in exercises else []:
            if not check.passed:
                return f"{exercise.exercise}: {check.message[:160]!r}"
    return ""


def first_difference(texts: list[str]) -> str:
    first = texts[0]
    other = next(t for t in texts if t != first)
    at = next((i for i, (a, b) in enumerate(zip(first, other)) if a != b), min(len(first), len(other)))
    return f"{first[max(0, at - 60):at + 60]!r} vs {other[max(0, at - 60):at + 60]!r}"


def log(mode, submission, attack, results, points, seconds, failures):
    if os.environ.get("HOSTILE_LOG"):
        mine = tuple(attack.cells) or EXERCISES
        with open(os.environ["HOSTILE_LOG"], "a", encoding="utf-8") as f:
            f.write(json.dumps({"mode": mode, "submission": submission.name, "attack": attack.name,
                                "kind": attack.kind, "needs_sandbox": attack.needs_sandbox,
                                "points": round(sum(points.get(e, 0.0) for e in mine), 2) if results else None,
                                "score": results[0].score if results else None,
                                "seconds": round(seconds, 1), "failures": failures}) + "\n")


# --- the tests -----------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=list(MODES))
def harness(request, tmp_path_factory):
    mode = request.param
    if MODES[mode] and shutil.which("bwrap") is None:
        pytest.fail("bubblewrap (bwrap) is not installed: the sandboxed mode cannot run")
    env_canary, file_canary, net_canary = (f"hostile-{what}-canary-{secrets.token_hex(8)}"
                                           for what in ("env", "file", "net"))
    unix = "hx-" + secrets.token_hex(6)
    listeners = Listeners(net_canary.encode(), unix)
    context = Context(marker="hx" + secrets.token_hex(5), port=listeners.port, unix=unix)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CANARY_VARIABLE, env_canary)  # before the runner starts: its workers inherit it
        grader = Grader(MODES[mode])
        try:
            yield Harness(mode, grader, context, listeners, tmp_path_factory, file_canary,
                          needles(env_canary, file_canary, net_canary))
        finally:
            grader.close()
            listeners.close()
            leftover_processes(context.marker, patience=0)


@pytest.mark.parametrize("group", GROUPS, ids=[name for name, _ in GROUPS])
def test_hostile_submissions_are_contained(harness, group):
    name, submissions = group
    submissions = [submission for submission in submissions if submission.attacks_in(harness.mode)]
    if not submissions:
        pytest.skip("only a filesystem/network/PID sandbox can stop these attacks (absolute paths, /proc, "
                    "sockets, detached processes): the unsandboxed mode does not claim to")
    failures = harness.run_group(name, submissions)
    assert not failures, "\n".join(failures)


def test_the_catalogue_covers_every_class(tmp_path):
    names = [attack.name for attack in ATTACKS]
    assert len(names) >= 30 and len(set(names)) == len(names)
    assert len(ATTACKS) < 100, "an attack's number is two digits of its marker"
    assert all(attack.kind in KINDS and attack.note for attack in ATTACKS)
    placed = [attack.name for submission in SUBMISSIONS for attack in submission.attacks]
    assert sorted(placed) == sorted(names), "every attack is in exactly one submission"
    for mode in MODE_NAMES:
        graded = [attack for submission in SUBMISSIONS for attack in submission.attacks_in(mode)]
        assert {attack.kind for attack in graded} == set(KINDS), f"a class of attack is not graded in mode {mode}"
    for name, members in groups():
        assert [s.delayed for s in members] == sorted(s.delayed for s in members), f"{name}: delayed last"
    context = Context("hx0000000000", 1, "hx-test")
    for submission in SUBMISSIONS:
        for mode in submission.modes:
            if not submission.attacks_in(mode):
                continue
            path = submission.build(tmp_path / mode / submission.name, context, mode)
            assert path.name == f"{A}.ipynb" and (path.is_file() or path.is_symlink()), submission.name
            if any(attack.make for attack in submission.attacks):
                continue
            notebook = json.loads(path.read_text(encoding="utf-8"))
            defined = {}
            for index, cell in enumerate(notebook["cells"]):
                code = cell.get("source") if cell.get("cell_type") == "code" else None
                if not isinstance(code, str):
                    continue
                assert "__MARKER__" not in code and "__PORT__" not in code, (submission.name, code[:80])
                with contextlib.suppress(RecursionError):  # the deep expression is meant to be too deep
                    ast.parse(code)
                for defined_name in defined_names(code):
                    defined.setdefault(defined_name, set()).add(index)
            clashes = {n for n, cells in defined.items() if len(cells) > 1} - PRELUDE_NAMES
            assert not clashes, f"{submission.name}: attacks would overwrite each other's {sorted(clashes)}"
            for attack in submission.attacks_in(mode):
                for exercise in attack.cells:
                    assert f"def {exercise}(" in solution_cell(notebook, exercise)["source"], (attack.name, exercise)
