"""What hidden check files use: the `exercise` marker and comparisons that explain a mismatch.

    @exercise("merge", weight=2, hint="Scan left to right and skip past a merged pair.")
    def test_merges_overlapping_run_once(student, reference):
        '''"aaa" merges to [aa, a]: pairs never overlap.'''
        expect_equal(student.merge([97, 97, 97], (97, 97), 256), [256, 97])

A check's docstring is its name in the feedback; its hint is shown when it fails.
"""

import copy
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from autograder.grade import NOT_JUDGED


def exercise(name: str, weight: float = 1.0, hint: str = "", broad: bool = False):
    """Tie a check to the exercise (= grade cell id) it scores, with a weight and a hint.
    broad: the check compares with the reference over many inputs, so many different bugs fail
    it; the feedback then leads with a failed check that names one bug, if there is one."""
    return pytest.mark.exercise(name=name, weight=weight, hint=hint, broad=broad)


class CheckFailed(AssertionError):
    """A learner's result is wrong; the message says how."""


class ProvenBug(CheckFailed):
    """A failure that by itself proves one bug (an argument changed in place, an argument returned
    as the result, a result that depends on earlier calls): the feedback leads with it, since the
    same bug makes other checks fail in ways that point elsewhere."""


def short(value, limit: int = 100) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def expect(condition: bool, message: str):
    if not condition:
        raise CheckFailed(message)


def expect_proven(condition: bool, message: str):
    """`expect` for a guard whose failure proves one bug (ProvenBug)."""
    if not condition:
        raise ProvenBug(message)


@contextmanager
def judged_only_if_right():
    """The comparisons inside decide whether a guard may credit the call it watched: a guard (the
    arguments are left alone, train mode equals eval mode) earns nothing for a wrong result. A wrong
    result fails the guard as "not judged", listed after every other failure and without the
    guard's hint, which names a bug the learner need not have."""
    try:
        yield
    except CheckFailed as wrong:
        raise CheckFailed(f"{NOT_JUDGED}: the result is wrong ({wrong})") from None


def expect_type(got, expected_type, what: str = "the result"):
    expect(isinstance(got, expected_type),
           f"{what} should be a {expected_type.__name__}, got {type(got).__name__}: {short(got)}")


def expect_equal(got, expected, what: str = "the result"):
    """Exact equality, explained: the type, first mismatching index or key, lengths, missing/extra keys."""
    if type(got) is type(expected) and got == expected:
        return
    if type(got) is not type(expected) and _inert(got) and _inert(expected):
        kinds = {type(got), type(expected)}
        if kinds <= {int, float, bool} and got == expected and bool not in kinds:
            return  # 3 == 3.0: a number is a number
        raise CheckFailed(f"{what}: expected {type(expected).__name__}, got {type(got).__name__}: {short(got)}")
    if isinstance(expected, dict) and isinstance(got, dict):
        raise CheckFailed(f"{what}: {_dict_difference(got, expected)}")
    if isinstance(expected, (list, tuple, str, bytes)) and isinstance(got, (list, tuple, str, bytes)):
        raise CheckFailed(f"{what}: {_sequence_difference(got, expected)}")
    raise CheckFailed(f"{what}: expected {short(expected)}, got {short(got)}")


def expect_close(got, expected, atol: float = 1e-6, rtol: float = 0.0, what: str = "the result"):
    """Numbers or tensors within atol + rtol·|expected|, with the worst element named. Where the
    expected value is NaN or ±inf, the learner's must be the same (NaN where NaN, the same inf)."""
    import torch
    got_t, expected_t = _float64(got), _float64(expected)
    expect(tuple(got_t.shape) == tuple(expected_t.shape),
           f"{what}: expected shape {tuple(expected_t.shape)}, got {tuple(got_t.shape)}")
    finite = torch.isfinite(expected_t)
    expect(bool(torch.isfinite(got_t)[finite].all()), f"{what} contains NaN or inf")
    same_special = (got_t == expected_t) | (torch.isnan(got_t) & torch.isnan(expected_t))
    wrong_special = (~finite & ~same_special).nonzero()
    if len(wrong_special):
        index = tuple(int(i) for i in wrong_special[0])
        raise CheckFailed(f"{what}: at index {index} expected {expected_t[index].item()}, got {got_t[index].item()}")
    got_t, expected_t = torch.where(finite, got_t, 0.0), torch.where(finite, expected_t, 0.0)
    error = (got_t - expected_t).abs()
    allowed = atol + rtol * expected_t.abs()
    if error.numel() and bool((error > allowed).any()):
        worst = int(torch.argmax(error - allowed))
        index = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), error.shape))
        raise CheckFailed(f"{what}: max abs difference {error.max().item():.3g} (allowed {atol:g}); "
                          f"at index {index} expected {expected_t.reshape(-1)[worst].item():.6g}, "
                          f"got {got_t.reshape(-1)[worst].item():.6g}")


def _float64(value):
    """A tensor of float64 values; Python numbers are read as float64 directly (torch.as_tensor
    would read a float through float32 and round away what the tolerance looks at)."""
    import torch
    return value.double() if isinstance(value, torch.Tensor) else torch.as_tensor(value, dtype=torch.float64)


def _inert(value) -> bool:
    return type(value) in (list, tuple, dict, set, frozenset, str, bytes, int, float, bool, type(None))


@dataclass(frozen=True)
class Case:
    """One input of a differential check: positional and keyword arguments."""
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def __str__(self):
        parts = [short(a, 60) for a in self.args] + [f"{k}={short(v, 60)}" for k, v in self.kwargs.items()]
        return f"({', '.join(parts)})"


def expect_same_as_reference(student_function, reference_function, cases, what: str,
                             compare=expect_equal, guard: bool = True):
    """Differential check: the learner's function agrees with the reference on every case, the
    smallest case first, so a failure shows the smallest input that exposes it. Where the reference
    raises, the learner must raise the same type. With `guard`, the learner's call must also leave
    its arguments unchanged and return a new object, not one of its arguments."""
    from autograder.remote import observe_each
    ordered = sorted((c if isinstance(c, Case) else Case(tuple(c)) for c in cases), key=lambda c: len(str(c)))
    for batch in growing_batches(ordered):  # few trips to the worker, yet a small failing case stops early
        calls = observe_each(student_function, [(case.args, case.kwargs) for case in batch])
        for case, call in zip(batch, calls):
            _expect_same_call(call, reference_function, case, f"{what}{case}", compare, guard)


def growing_batches(items: list) -> list[list]:
    """items in batches of 1, 2, 4, 8, ... in order."""
    batches, size = [], 1
    while items:
        batches.append(items[:size])
        items, size = items[size:], size * 2
    return batches


def _expect_same_call(call, reference_function, case: Case, shown: str, compare, guard: bool):
    from autograder.remote import LearnerError
    try:
        expected, raised = reference_function(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs)), None
    except Exception as error:
        expected, raised = None, type(error)
    if isinstance(call, LearnerError):
        if raised is not None and isinstance(call, raised):
            return
        raise CheckFailed(f"{shown}: {call.description}") from None
    expect(raised is None, f"{shown} should raise {getattr(raised, '__name__', '')}, returned {short(call.result)}")
    if guard:
        changed, returned = call.changed[0] + 1 if call.changed else "", (call.returned_argument or 0) + 1
        expect_proven(not call.changed,
                      f"{shown} changed its argument {changed} in place; leave the caller's data as it was")
        expect_proven(call.returned_argument is None,
                      f"{shown} returned its argument {returned} itself; return a new object")
    compare(call.result, expected, shown)


def expect_independent_calls(student, reference, name: str, calls, compare=expect_equal, ordered=False):
    """The learner's `name` called several times in a row in one worker (results kept, as a caller
    would keep them): a repeated call gives what it gave the first time (else a ProvenBug: the
    result depends on earlier calls), no two calls return one mutable object, and each result is
    what the reference gives for that call alone. `calls`: Case or tuples of positional arguments.
    `ordered`: a dict result must list its items in the reference's order too."""
    from autograder.remote import probe
    cases = [c if isinstance(c, Case) else Case(tuple(c)) for c in calls]
    results, shared = probe(student, calls_in_a_row, getattr(student, name),
                            [[list(c.args), c.kwargs] for c in cases])
    shown = "; ".join(f"{name}{c}" for c in cases)
    for j, later in enumerate(cases):
        i = next(i for i, earlier in enumerate(cases) if _same_call(earlier, later))
        if i < j and not _agree(compare, results[j], results[i]):
            raise ProvenBug(f"{name}{later} returned {short(results[i])} as call {i + 1} of {shown}, but "
                            f"{short(results[j])} as call {j + 1}: its result depends on earlier calls")
    expect_proven(not shared, f"calls {shared[0][0] + 1 if shared else ''} and {shared[0][1] + 1 if shared else ''}"
                              f" of {shown} returned the same mutable object: a caller that changes one result "
                              "changes the other")
    for number, (case, got) in enumerate(zip(cases, results), 1):
        expected = getattr(reference, name)(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        if ordered and type(got) is dict and type(expected) is dict:
            got, expected = list(got.items()), list(expected.items())
        compare(got, expected, f"after the calls {shown}, the result of call {number} (as the caller holds it)")


def calls_in_a_row(function, calls):
    """(Runs in the worker.) function(*args, **kwargs) for each [args, kwargs] in turn, on copies; returns
    every result as it is AFTER the last call, and the pairs of calls that returned one mutable object."""
    import copy

    results = [function(*copy.deepcopy(args), **copy.deepcopy(kwargs)) for args, kwargs in calls]

    def parts(value):
        return list(value) if type(value) is tuple else [value]

    def mutable(value):
        return not isinstance(value, (str, bytes, int, float, bool, type(None)))

    shared = [[j, i] for i in range(len(results)) for j in range(i)
              if any(mutable(a) and any(a is b for b in parts(results[j])) for a in parts(results[i]))]
    return [copy.deepcopy(result) for result in results], shared


def _same_call(a: Case, b: Case) -> bool:
    return repr((a.args, sorted(a.kwargs.items()))) == repr((b.args, sorted(b.kwargs.items())))


def _agree(compare, got, expected) -> bool:
    try:
        compare(got, expected, "")
    except CheckFailed:
        return False
    return True


def _sequence_difference(got, expected) -> str:
    for i, (g, e) in enumerate(zip(got, expected)):
        if g != e:
            return (f"first difference at index {i} of {len(expected)}: expected {short(e)}, got {short(g)}"
                    f" (expected {short(expected[max(0, i - 3):i + 4])} around it, got {short(got[max(0, i - 3):i + 4])})")
    return f"expected length {len(expected)}, got length {len(got)}"


def _dict_difference(got, expected) -> str:
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    wrong = [k for k in expected if k in got and got[k] != expected[k]]
    parts = []
    if wrong:
        parts.append(f"{len(wrong)} wrong value(s), e.g. [{short(wrong[0])}] expected "
                     f"{short(expected[wrong[0]])}, got {short(got[wrong[0]])}")
    if missing:
        parts.append(f"{len(missing)} missing key(s), e.g. {short(missing[0])}")
    if extra:
        parts.append(f"{len(extra)} unexpected key(s), e.g. {short(extra[0])}")
    if not parts and list(got) != list(expected):
        first = next(i for i, (g, e) in enumerate(zip(got, expected)) if g != e)
        parts.append(f"same items in another order: entry {first} is {short(list(got)[first])}, "
                     f"expected {short(list(expected)[first])}")
    return "; ".join(parts)
