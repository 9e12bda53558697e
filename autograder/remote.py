"""The trusted side of the boundary: learner code reached through a worker, as if it were local.

    student.merge([1, 2, 1], (1, 2), 9)          # runs in the worker; the list comes back as data
    layer = student.TokenEmbedding(10, 4)        # a Remote: the module stays in the worker
    layer.weight is layer.weight                 # handles are interned: identity survives
    is_a(layer.weight, nn.Parameter)             # isinstance, asked in the worker
    observe(student.merge, ids, pair, 9)         # also says which arguments the call changed
    probe(student, count_parameters, layer)      # runs a check's helper in the worker

Values come back as inert data (learnerbox.wire); objects stay in the worker behind a Remote,
whose attributes, items, length and calls are requests to the worker. An exception raised there
is raised here as a LearnerError that is also an instance of the same built-in exception type
(so `pytest.raises(ValueError)` works), carrying the learner's cell and line.
"""
import builtins
import functools
import inspect
import textwrap
import time
from dataclasses import dataclass

from autograder.sandbox import Sandbox, SandboxStopped, WorkerTimeout
from learnerbox import wire

LOAD_SECONDS = 60


class LearnerError(Exception):
    """An exception raised by learner code in the worker."""

    def __init__(self, type_name: str, message: str, description: str, from_learner: bool):
        BaseException.__init__(self, message)
        self.type_name = type_name
        self.message = message
        self.description = description
        self.from_learner = from_learner

    def __str__(self):
        return self.message


@functools.cache
def learner_error_class(type_name: str) -> type:
    """LearnerError, also a subclass of the built-in exception of that name if there is one."""
    builtin = getattr(builtins, type_name, None)
    if isinstance(builtin, type) and issubclass(builtin, Exception) and builtin is not Exception:
        for bases in ((LearnerError, builtin), (builtin, LearnerError)):  # MemoryError needs its own __new__ first
            try:
                cls = type(type_name, bases, {"__str__": LearnerError.__str__, "__init__": LearnerError.__init__})
                cls.__new__(cls)
                return cls
            except TypeError:  # a built-in whose layout cannot be combined, or that cannot be made this way
                pass
    return LearnerError


def learner_error(raised: dict) -> LearnerError:
    cls = learner_error_class(str(raised["type"]))
    error = cls.__new__(cls)
    LearnerError.__init__(error, str(raised["type"]), str(raised["message"]), str(raised["description"]),
                          raised["from_learner"] is True)
    return error


class WorkerGone(AssertionError):
    """The worker crashed, was killed or ran out of time; later checks of the exercise do not run."""


class TimedOut(WorkerGone):
    pass


class ExerciseWorker:
    """One forked worker holding the learner's definitions for one exercise."""

    def __init__(self, sandbox: Sandbox, start: dict):
        self.sandbox = sandbox
        self.remotes: dict[int, Remote] = {}
        self.budget = 0.0  # seconds the current check may still wait for the worker
        self.ended = False
        try:
            sandbox.wait_ready()
            self._send(start, time.monotonic() + LOAD_SECONDS)
            reply = self._receive(time.monotonic() + LOAD_SECONDS, "loading your notebook")
            if "loaded" not in reply:
                self._gone(reply)
        except (WorkerGone, SandboxStopped) as gone:
            raise WorkerGone("loading your notebook stopped the grader: "
                             + str(gone).removeprefix("your code stopped the grader: ")) from None
        self.problems = reply["loaded"]

    def ask(self, op: str, **args):
        """Run one operation in the worker within the check's time budget; its value, decoded."""
        if self.ended:
            raise WorkerGone("the worker for this exercise has ended")
        started = time.monotonic()
        deadline = started + max(self.budget, 0.0)
        try:
            self._send({"op": op, "args": args}, deadline)
            reply = self._receive(deadline, "a check ran")
        finally:
            self.budget -= time.monotonic() - started
        if "value" in reply:
            return self.local(reply["value"])
        if "raised" in reply:
            raise learner_error(reply["raised"])
        if "missing" in reply:
            raise MissingName(str(reply["missing"]))
        if "unsendable" in reply:
            raise UnsendableResult(f"your result could not be sent to the grader: {reply['unsendable']}")
        self._gone(reply)

    def end(self):
        if not self.ended and not self.sandbox.stopped:
            self.ended = True
            try:
                self._send({"op": "end"}, time.monotonic() + 10)
                reply = self._receive(time.monotonic() + 10, "ending")
            except WorkerGone:
                return
            if "ended" not in reply:
                self.sandbox.stop("the worker did not end cleanly")
        self.ended = True

    def local(self, value):
        """A decoded value with its handles as (interned) Remotes."""
        if isinstance(value, wire.Handle):
            if value.number not in self.remotes:
                self.remotes[value.number] = Remote(self, value)
            return self.remotes[value.number]
        if type(value) is list:
            return [self.local(v) for v in value]
        if type(value) is tuple:
            return tuple(self.local(v) for v in value)
        if type(value) is dict:
            return {k: self.local(v) for k, v in value.items()}
        return value

    def _send(self, message, deadline):
        try:
            self.sandbox.send(message, deadline)
        except SandboxStopped as stopped:
            self.ended = True
            raise WorkerGone(f"your code stopped the grader: {stopped}") from None

    def _receive(self, deadline, doing):
        try:
            return self.sandbox.receive(deadline, doing)
        except WorkerTimeout:
            self.ended = True
            try:
                self.sandbox.interrupt(time.monotonic() + 10)
            except SandboxStopped:
                pass
            raise TimedOut("ran too long") from None
        except SandboxStopped as stopped:
            self.ended = True
            raise WorkerGone(f"your code stopped the grader: {stopped}") from None

    def _gone(self, reply):
        """The worker ended unasked (our request may still sit unread in the zygote's pipe) or sent
        nonsense: the whole sandbox is stopped, and the next exercise gets a fresh one."""
        self.ended = True
        why = f"{reply['ended']}" if isinstance(reply, dict) and "ended" in reply else \
            "the worker sent an unexpected reply"
        try:
            self.sandbox.stop(why)
        except SandboxStopped:
            pass
        raise WorkerGone(f"your code stopped the grader: {why}")


class MissingName(Exception):
    """The notebook does not define a name the checks need."""


class UnsendableResult(AssertionError):
    pass


def to_wire(value):
    """Remotes back to handles, for sending."""
    if isinstance(value, Remote):
        return object.__getattribute__(value, "_handle")
    if type(value) is list:
        return [to_wire(v) for v in value]
    if type(value) is tuple:
        return tuple(to_wire(v) for v in value)
    if type(value) is dict:
        return {k: to_wire(v) for k, v in value.items()}
    return value


class Remote:
    """An object that stays in the worker."""
    __slots__ = ("_worker", "_handle")

    def __init__(self, worker: ExerciseWorker, handle: wire.Handle):
        object.__setattr__(self, "_worker", worker)
        object.__setattr__(self, "_handle", handle)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._worker.ask("getattr", target=self._handle, name=name)

    def __setattr__(self, name, value):
        self._worker.ask("setattr", target=self._handle, name=name, value=to_wire(value))

    def __call__(self, *args, **kwargs):
        return observe(self, *args, **kwargs).result

    def __getitem__(self, key):
        return self._worker.ask("getitem", target=self._handle, key=to_wire(key))

    def __len__(self):
        return self._worker.ask("len", target=self._handle)

    def __iter__(self):
        return iter(self._worker.ask("items", target=self._handle))

    def __bool__(self):
        return True

    def __instancecheck__(self, instance):
        """isinstance(x, student.SomeClass): asked in the worker."""
        return isinstance(instance, Remote) and instance._worker is self._worker and \
            self._worker.ask("isinstance", target=instance._handle, cls=self._handle)

    def __repr__(self):
        return f"<{self._handle.kind} object in your notebook>"


@dataclass
class Call:
    result: object
    changed: list[int]  # positions of the arguments the call changed in place
    returned_argument: int | None  # the position of the argument returned as the result itself


def observe(function: Remote, *args, **kwargs) -> Call:
    """Call learner code and see what it did to its arguments."""
    worker = object.__getattribute__(function, "_worker")
    reply = worker.ask("call", target=object.__getattribute__(function, "_handle"),
                       args=to_wire(list(args)), kwargs=to_wire(kwargs))
    return Call(reply["result"], reply["changed"], reply["returned_argument"])


def observe_each(function: Remote, calls: list[tuple[tuple, dict]]) -> list["Call | LearnerError"]:
    """`observe` for each (args, kwargs) in turn, in one trip to the worker; a call that raised gives
    its LearnerError (not raised), and the next call runs."""
    worker = object.__getattribute__(function, "_worker")
    replies = worker.ask("call_each", target=object.__getattribute__(function, "_handle"),
                         calls=[[to_wire(list(args)), to_wire(kwargs)] for args, kwargs in calls])
    return [learner_error(reply["raised"]) if "raised" in reply else
            Call(reply["result"], reply["changed"], reply["returned_argument"]) for reply in replies]


def is_a(value, cls: type) -> bool:
    """isinstance(value, cls), for a Remote asked in the worker by the class's qualified name."""
    if isinstance(value, Remote):
        worker = object.__getattribute__(value, "_worker")
        return f"{cls.__module__}.{cls.__qualname__}" in worker.ask("mro", target=object.__getattribute__(value, "_handle"))
    return isinstance(value, cls)


def kind_of(value) -> str:
    """The name of a value's type, for messages (a Remote's is its object's type in the worker)."""
    return object.__getattribute__(value, "_handle").kind if isinstance(value, Remote) else type(value).__name__


def probe(student, helper, *args, **kwargs):
    """Run `helper` (a self-contained function of the check file: imports inside) in the worker."""
    source = textwrap.dedent(inspect.getsource(helper))
    return student.worker.ask("probe", source=source, name=helper.__name__, args=to_wire(list(args)),
                              kwargs=to_wire(kwargs))
