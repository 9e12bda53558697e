"""Let "Run All" pass over experiments whose exercises are not written yet.

An experiment cell that uses exercises starts with `if finished(...)`, naming what it calls:

    if finished(train_bpe, BPETokenizer):
        merges = train_bpe(text, 300)
        ...

When everything it needs is written, `finished` returns True and the experiment runs. Otherwise it
prints one line naming the exercises still to write and returns False, so the cell does nothing
and "Run All" moves on to the next cell instead of stopping at a NotImplementedError.

What it needs includes what the named functions and classes call in turn, as long as those are
defined in the notebook too: `finished(BPETokenizer)` also asks for `apply_merges`.
An exercise counts as unfinished while one of its functions (or methods) still reaches a
`raise NotImplementedError` statement: the stub's `raise NotImplementedError()` before any
`return` or other `raise` of the function's own.
"""
import ast
import dis
import inspect
import textwrap
import types


def finished(*needed) -> bool:
    """True when every function and class in `needed` is written; else print which are not."""
    todo = _unfinished(needed)
    if todo:
        names = [f"`{name}`" for name in todo]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        print(f"⏭ Skipped: finish {listed} above, then run this cell again.")
    return not todo


def _unfinished(needed) -> list[str]:
    todo, seen = [], set()
    pending = list(needed)
    while pending:
        item = pending.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        functions = _functions_of(item)
        if any(_is_stub(function) for function in functions):
            todo.append(item.__name__)
        pending.extend(used for function in functions for used in _notebook_names_used(function))
    return todo


def _functions_of(item) -> list[types.FunctionType]:
    """A function itself; a class's own methods (the ones the notebook wrote, not inherited ones)."""
    members = list(vars(item).values()) if isinstance(item, type) else [item]
    members = [getattr(m, "__func__", getattr(m, "fget", m)) for m in members]  # class/static methods, properties
    return [inspect.unwrap(m) for m in members if isinstance(m, types.FunctionType)]  # unwrap decorators


def _notebook_names_used(function) -> list:
    """The functions and classes of the same notebook that `function` reads as global names."""
    found = []
    for name in _global_names(function.__code__):
        value = function.__globals__.get(name)
        if isinstance(value, (type, types.FunctionType)) and value.__module__ == function.__module__:
            found.append(value)
    return found


def _global_names(code) -> set[str]:
    names = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for constant in code.co_consts:  # nested functions, lambdas and comprehensions
        if isinstance(constant, types.CodeType):
            names |= _global_names(constant)
    return names


def _is_stub(function) -> bool:
    """Whether the function's own statements reach `raise NotImplementedError` (unknown source: no)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return False
    for statement in tree.body[0].body:
        if isinstance(statement, ast.Raise):
            return _names_not_implemented(statement.exc)
        if isinstance(statement, ast.Return):
            return False
    return False


def _names_not_implemented(exception) -> bool:
    if isinstance(exception, ast.Call):
        exception = exception.func
    return isinstance(exception, ast.Name) and exception.id == "NotImplementedError"
