"""Visible checks: the quick public subset of an exercise's checks, run in its grade cell.

Each check runs at once and prints one line. Nothing raises and nothing is written to stderr
(nbgrader scores a grade cell that writes to stderr as 0), so a failing or unfinished exercise
never stops "Run all". The hidden checks that score your work test more cases and other shapes.

Like the grader, a check may run CHECK_SECONDS at most; a check that runs out of time, or that you
interrupt (Kernel > Interrupt), stops the cell: its later checks are skipped, so one infinite loop
costs one wait and one interrupt.

When a check fails or the exercise is unfinished, `report()` returns a `NotPassed` value, the grade
cell's result: nbgrader's Validate reads its plain text, "0", as the cell's score and names the
exercise as failing; Jupyter shows its summary. When every check passes it returns None (full marks).

    checks = VisibleChecks("merge")
    checks.equal("merges left to right", lambda: merge([1, 1, 1], (1, 1), 256), [256, 1])
    checks.report()
"""
import contextlib
import html
import io
import math
import signal
import threading
import traceback
import warnings

CHECK_SECONDS = 10  # the grader's limit for one check


class VisibleChecks:
    def __init__(self, exercise: str):
        self.exercise = exercise
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.unfinished = False
        self.stopped_because = None  # why the remaining checks are skipped

    def equal(self, description, compute, expected):
        """Passes when `compute()` == `expected` (lists, dicts, strings, ints, bytes...)."""
        self._run(description, compute, lambda got: _explain_mismatch(got, expected))

    def close(self, description, compute, expected, atol=1e-6):
        """Passes when every number of `compute()` is within `atol` of `expected` (tensors too)."""
        self._run(description, compute, lambda got: _explain_far(got, expected, atol))

    def true(self, description, compute, why_not="the condition is False"):
        """Passes when `compute()` is truthy."""
        self._run(description, compute, lambda got: None if got else why_not)

    def report(self):
        total = self.passed + self.failed + self.skipped
        if self.unfinished:
            print(f"… {self.exercise}: not implemented yet.")
            return NotPassed(f"{self.exercise}: not implemented yet")
        if self.failed:
            skipped = f" ({self.skipped} skipped: {self.stopped_because})" if self.skipped else ""
            print(f"✗ {self.exercise}: {self.passed}/{total} visible checks passed{skipped}.")
            return NotPassed(f"{self.exercise}: {total - self.passed} of {total} visible checks failed{skipped}")
        print(f"✓ {self.exercise}: all {total} visible checks passed. "
              "The hidden checks will test more cases.")
        return None

    def _run(self, description, compute, explain):
        if self.unfinished:
            return
        if self.stopped_because:
            self.skipped += 1
            print(f"  · {description}: skipped: {self.stopped_because}")
            return
        try:
            with time_limit(CHECK_SECONDS, _OutOfTime), _quiet():
                got = compute()
            problem = explain(got)
        except NotImplementedError:
            self.unfinished = True
            return
        except KeyboardInterrupt:
            self.stopped_because = "interrupted"
            problem = "interrupted (KeyboardInterrupt)"
        except _OutOfTime:
            self.stopped_because = f"an earlier check of `{self.exercise}` ran out of time"
            problem = f"ran too long (over {CHECK_SECONDS} s: an infinite loop?)"
        except BaseException as error:  # a learner's bug must not stop "Run all"
            problem = _describe_exception(error)
        if problem is None:
            self.passed += 1
            print(f"  ✓ {description}")
        else:
            self.failed += 1
            print(f"  ✗ {description}: {problem}")


class NotPassed:
    """The result of an unfinished or failing grade cell: 0 for nbgrader's Validate, a sentence for people."""

    def __init__(self, summary: str):
        self.summary = summary

    def __repr__(self):
        return "0"

    def _repr_html_(self):
        return f"<pre>not passed yet: {html.escape(self.summary)}</pre>"


class _OutOfTime(BaseException):
    """Raised inside a check that runs past its time limit (a BaseException: `except Exception` in
    learner code does not swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float, error: type[BaseException]):
    """Raise `error` in the body after `seconds` where the platform allows (SIGALRM, main thread).
    Also the grader's worker's courtesy limit per statement (learnerbox.definitions)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def out_of_time(signum, frame):
        raise error()

    previous = signal.signal(signal.SIGALRM, out_of_time)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _quiet():
    """Send warnings and stderr writes from learner code to stdout instead."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stderr(io.StringIO()) as captured:
            yield
    if captured.getvalue():
        print(captured.getvalue(), end="")


def _describe_exception(error):
    frames = traceback.extract_tb(error.__traceback__)
    own = [f for f in frames if f.filename != __file__]
    where = f" (line {own[-1].lineno}: {own[-1].line})" if own and own[-1].line else ""
    return f"raised {type(error).__name__}: {error}{where}"


def _short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _explain_mismatch(got, expected):
    if got == expected:
        return None
    if isinstance(got, (list, tuple)) and isinstance(expected, (list, tuple)):
        for i, (g, e) in enumerate(zip(got, expected)):
            if g != e:
                return f"first difference at index {i}: expected {_short(e)}, got {_short(g)}"
        return f"expected length {len(expected)}, got length {len(got)}"
    return f"expected {_short(expected)}, got {_short(got)}"


def _explain_far(got, expected, atol):
    got_values, expected_values = _flatten(got), _flatten(expected)
    if got_values is None:
        return f"expected numbers, got {_short(got)}"
    if len(got_values) != len(expected_values):
        return f"expected {len(expected_values)} numbers, got {len(got_values)}"
    worst = max((abs(g - e) for g, e in zip(got_values, expected_values)), default=0.0)
    if math.isnan(worst) or worst > atol:
        return f"max abs difference {worst:.3g} > {atol:g}"
    return None


def _flatten(value):
    if hasattr(value, "detach"):
        value = value.detach().reshape(-1).tolist()
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, (list, tuple)):
        flat = [_flatten(v) for v in value]
        return None if any(f is None for f in flat) else [x for f in flat for x in f]
    return None
