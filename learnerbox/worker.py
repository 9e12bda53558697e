"""The process that runs learner code, and the zygote that forks one such worker per exercise.

    python -m learnerbox.worker CONTROL_FD SCRATCH [MODULE ...]

The zygote imports the heavy modules a notebook uses (MODULE: only from PRELOADABLE), says
"ready" on fd 1 and waits on fd 0. For each {"op": "start"} it forks a worker that loads the
learner's definitions (and a copy of the other exercises' reference, built without the graded
exercise), then answers the trusted grader's requests on the same pipes until {"op": "end"}.
When the worker has ended, the zygote kills whatever it left running, empties SCRATCH, and
reports {"ended": how}. A byte on CONTROL_FD kills the running worker (the grader's time limit).
The zygote itself never runs learner code.

Every reply is inert data (learnerbox.wire); anything else stays here behind a handle.
"""
import ctypes
import importlib
import os
import pickle
import random
import resource
import shutil
import signal
import sys
import textwrap
import threading
from pathlib import Path

from learnerbox import wire
from learnerbox.definitions import describe_learner_error, load_definitions

PRELOADABLE = ("torch", "torch._dynamo", "numpy", "matplotlib", "matplotlib.pyplot", "regex")
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


class Channel:
    """Frames over a pair of file descriptors."""

    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd = read_fd
        self.write_fd = write_fd

    def receive(self):
        return wire.decode(wire.read_frame(self.read_fd))

    def send(self, value, handle_of=None):
        data = wire.encode(value, handle_of)
        view = memoryview(data)
        while view:
            view = view[os.write(self.write_fd, view):]


# the zygote ----------------------------------------------------------------------------------

def zygote(control_fd: int, scratch: Path, preload: list[str]):
    for module in preload:
        if module in PRELOADABLE:
            importlib.import_module(module)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the grader gone, the zygote goes too
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # workers cannot ptrace or read the zygote's memory
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # whatever a worker leaves running is ours to kill
    channel = Channel(0, 1)
    running = []  # the worker's pid while one runs
    threading.Thread(target=_kill_on_request, args=(control_fd, running), daemon=True).start()
    channel.send({"ready": True})
    while True:
        try:
            request = channel.receive()
        except EOFError:
            return
        pid = os.fork()
        if pid == 0:
            os.close(control_fd)
            worker_main(channel, request)
        running.append(pid)
        _, status = os.waitpid(pid, 0)
        running.clear()
        kill_descendants()
        empty(scratch)
        channel.send({"ended": describe_status(status)})


def _kill_on_request(control_fd: int, running: list):
    while os.read(control_fd, 1):
        for pid in list(running):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def kill_descendants():
    """Kill every child (orphans are reparented here, the subreaper) until none is left."""
    while True:
        for pid in children():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def children() -> list[int]:
    me = str(os.getpid())
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[1] == me:
                found.append(int(entry.name))
    return found


def empty(folder: Path):
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def describe_status(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return f"the process was killed by signal {name}" + (" (out of memory?)" if -code == 9 else "")
    return f"the process exited with code {code}"


# the worker ----------------------------------------------------------------------------------

def worker_main(channel: Channel, start: dict):
    """Load the definitions, then serve requests; never returns."""
    code = 0
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        channel = _isolate(channel, start["limits"])
        served = Served.load(start)
        channel.send({"loaded": served.problems})
        served.serve(channel)
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def _isolate(channel: Channel, limits: dict) -> Channel:
    """Cap this process and put stdin, stdout and stderr on /dev/null, so that learner output never
    reaches the channel; returns the channel on descriptors of its own."""
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))
    moved = Channel(os.dup(channel.read_fd), os.dup(channel.write_fd))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stdout = sys.stderr = open(os.devnull, "w")
    return moved


class Served:
    """A learner namespace and the objects handed out from it, by number."""

    def __init__(self, namespace: dict, problems: list[dict]):
        self.namespace = namespace
        self.problems = problems
        self.objects: dict[int, object] = {}
        self.numbers: dict[int, int] = {}  # id(object) -> its number; objects are kept alive

    @classmethod
    def load(cls, start: dict) -> "Served":
        sys.path.insert(0, os.getcwd())
        learner, problems = load_definitions(start["cells"], "")
        if start["reference_cells"]:
            # the other exercises from the reference (its graded exercise removed): each exercise
            # is scored on its own; where the reference calls the graded exercise, it gets the learner's
            others, _ = load_definitions(start["reference_cells"], "reference ")
            graded = start["exercise"]
            if graded in learner:
                others[graded] = learner[graded]
            for name in start["other_exercises"]:
                if name in others:
                    learner[name] = others[name]
        described = [{"cell": p.cell, "line": p.line, "message": p.message, "names": sorted(p.names)}
                     for p in problems]
        return cls(learner, described)

    def serve(self, channel: Channel):
        while True:
            request = channel.receive()
            if request.get("op") == "end":
                return
            try:
                reply = {"value": getattr(self, "op_" + request["op"])(**request["args"])}
            except Missing as missing:
                reply = {"missing": str(missing)}
            except BaseException as error:  # the learner's exception, described here
                reply = {"raised": _raised(error)}
            try:
                channel.send(reply, self.handle_of)
            except wire.WireError as error:
                channel.send({"unsendable": str(error)})

    # handles

    def handle_of(self, value) -> wire.Handle:
        number = self.numbers.get(id(value))
        if number is None:
            number = len(self.objects) + 1
            self.objects[number] = value
            self.numbers[id(value)] = number
        return wire.Handle(number, type(value).__name__[:100])

    def resolve(self, value):
        """Replace the handles in a decoded value by their objects."""
        if isinstance(value, wire.Handle):
            if value.number not in self.objects:
                raise LookupError(f"unknown handle {value.number}")
            return self.objects[value.number]
        if type(value) is list:
            return [self.resolve(v) for v in value]
        if type(value) is tuple:
            return tuple(self.resolve(v) for v in value)
        if type(value) is dict:
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    # operations: each returns the value to send back

    def op_lookup(self, name: str):
        if name.startswith("__") or name not in self.namespace:
            raise Missing(name)
        return self.namespace[name]

    def op_getattr(self, target, name: str):
        return getattr(self.resolve(target), name)

    def op_setattr(self, target, name: str, value):
        setattr(self.resolve(target), name, self.resolve(value))

    def op_call(self, target, args: list, kwargs: dict):
        values = self.resolve(args)
        before = [None if _holds_handle(raw) else _snapshot(value) for raw, value in zip(args, values)]
        result = self.resolve(target)(*values, **self.resolve(kwargs))
        changed = [i for i, (value, old) in enumerate(zip(values, before)) if old is not None and _snapshot(value) != old]
        same = next((i for i, value in enumerate(values) if value is result and before[i] is not None), None)
        return {"result": result, "changed": changed, "returned_argument": same}

    def op_call_each(self, target, calls: list):
        """op_call for each [args, kwargs] in turn; a call that raises gives {"raised": ...} and the
        next one runs."""
        results = []
        for args, kwargs in calls:
            try:
                results.append(self.op_call(target, args, kwargs))
            except BaseException as error:
                results.append({"raised": _raised(error)})
        return results

    def op_getitem(self, target, key):
        return self.resolve(target)[self.resolve(key)]

    def op_len(self, target):
        return len(self.resolve(target))

    def op_items(self, target):
        return list(self.resolve(target))

    def op_isinstance(self, target, cls):
        return isinstance(self.resolve(target), self.resolve(cls))

    def op_mro(self, target):
        return [f"{cls.__module__}.{cls.__qualname__}"[:200] for cls in type(self.resolve(target)).__mro__]

    def op_probe(self, source: str, name: str, args: list, kwargs: dict):
        """Run a check's helper here (its source, self-contained), on handles and values."""
        scope = {"__name__": "__probe__"}
        exec(compile(textwrap.dedent(source), f"<probe {name}>", "exec"), scope)
        return scope[name](*self.resolve(args), **self.resolve(kwargs))

    def op_seed(self, seed: int):
        random.seed(seed)
        if "torch" in sys.modules:
            sys.modules["torch"].manual_seed(seed)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed(seed)


class Missing(Exception):
    """A name the checks asked for that the notebook does not define."""


def _holds_handle(value) -> bool:
    if isinstance(value, wire.Handle):
        return True
    if type(value) in (list, tuple):
        return any(map(_holds_handle, value))
    if type(value) is dict:
        return any(map(_holds_handle, value.values()))
    return False


def _snapshot(value):
    """A copy of an argument as bytes, to see whether a call changed it; None for a handle."""
    if type(value) in (str, int, float, bool, bytes, type(None)):
        return None
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return None


def _raised(error: BaseException) -> dict:
    return {"type": type(error).__name__[:100], "message": _message(error),
            "description": describe_learner_error(error), "from_learner": _raised_by_learner(error)}


def _message(error: BaseException) -> str:
    try:
        return str(error)[:500]
    except Exception:
        return ""


def _raised_by_learner(error: BaseException) -> bool:
    """Whether the exception was raised in the learner's own cells (not by a library they called)."""
    tb = error.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return bool(last) and last.startswith("<cell ")


if __name__ == "__main__":
    zygote(int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
