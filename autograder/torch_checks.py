"""What the hidden checks of PyTorch assignments share: seeded float64 tensors, cases shown by a
label, and gradients compared (a probe runs the backward pass in the worker; the reference runs the
same function here; `expect_same_gradients` compares the two)."""
from dataclasses import dataclass

import torch

from autograder.checking import Case, CheckFailed, ProvenBug, expect, expect_close, expect_equal, judged_only_if_right
from autograder.remote import probe


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=gen(seed), dtype=dtype)


@dataclass(frozen=True)
class Shown(Case):
    """A case printed as its label (shapes, dtypes, options), not as the tensors' values."""
    label: str = ""

    def __str__(self):
        return self.label


def gradients(function, args, output_weights, kwargs=None):
    """(Runs in the worker, and here for the reference.) Backward of sum(out_i * w_i) over the
    floating tensors function(*args, **kwargs) returns: the gradients of the floating tensor
    arguments, and of a module's parameters by name (None where none arrived); None when the result
    carries no gradient at all."""
    import torch
    inputs = [a.detach().clone().requires_grad_(True) if isinstance(a, torch.Tensor) and a.is_floating_point()
              else a for a in args]
    parameters = dict(function.named_parameters()) if isinstance(function, torch.nn.Module) else {}
    for parameter in parameters.values():
        parameter.grad = None
    out = function(*inputs, **(kwargs or {}))
    outs = out if isinstance(out, tuple) else (out,)
    floating = [o for o in outs if isinstance(o, torch.Tensor) and o.is_floating_point()]
    total = sum((o * w).sum() for o, w in zip(floating, output_weights))
    if not (isinstance(total, torch.Tensor) and total.requires_grad):
        return None
    total.backward()
    return ([a.grad for a in inputs if isinstance(a, torch.Tensor) and a.is_floating_point()],
            {name: p.grad for name, p in parameters.items()})


def expect_same_gradients(got, expected, atol: float, what: str):
    """`gradients(...)` of the learner's code against the reference's: every argument's and every
    parameter's gradient, by name; a parameter that gets none in the reference's (frozen) must get
    none in the learner's."""
    expect(got is not None, f"{what}: the result carries no gradient (detached, or computed without autograd)")
    got_inputs, got_params = got
    expected_inputs, expected_params = expected
    for i, (g, e) in enumerate(zip(got_inputs, expected_inputs)):
        expect(g is not None, f"{what}: no gradient reached argument {i + 1}")
        expect_close(g, e, atol, what=f"{what}: the gradient of argument {i + 1}")
    expect_equal(sorted(got_params), sorted(expected_params), f"{what}: the parameters' names")
    for name, e in expected_params.items():
        if e is None:  # a frozen parameter (requires_grad False)
            expect(got_params[name] is None, f"{what}: a gradient reached {name}, which should be frozen")
            continue
        expect(got_params[name] is not None, f"{what}: no gradient reached {name}")
        expect_close(got_params[name], e, atol, what=f"{what}: the gradient of {name}")


def expect_gradients_like_reference(got, expected, names, what):
    """`gradients(...)` of the learner's call against the reference's, for the arguments named in `names`: the same
    gradient (1e-9) where the reference has one, none where the reference has none (targets such as a teacher's
    outputs, detached)."""
    expect(got is not None, f"{what}: the loss carries no gradient (detached, or computed without autograd)")
    for name, g, e in zip(names, got[0], expected[0]):
        if e is None:
            expect(g is None, f"{what}: a gradient reached {name}; the teacher's outputs are targets: detach them")
            continue
        expect(g is not None, f"{what}: no gradient reached {name}")
        expect_close(g, e, 1e-9, 1e-9, what=f"{what}: the gradient of {name}")


def expect_loss_gradients_like_reference(student, reference, name: str, args: tuple, names: list[str], what=None):
    """The learner's loss `name` and the reference's, backward from the loss on `args`: the gradients of the
    arguments named in `names` compared by `expect_gradients_like_reference`."""
    got = probe(student, gradients, getattr(student, name), args, (1.0,))
    expect_gradients_like_reference(got, gradients(getattr(reference, name), args, (1.0,)), names, what or name)


def expect_same_module_gradients(student, mine, ref, args, output_weight, what: str):
    """The gradients of a backward pass through the learner's module (in the worker) against the
    reference's: of sum(output * output_weight), plus the loss where one is returned beside it."""
    weights = (output_weight, 1.0)
    expect_same_gradients(probe(student, gradients, mine, args, weights), gradients(ref, args, weights), 1e-9, what)


def child_names(module):
    """(Runs in the worker.) The names of a module's direct submodules, in order."""
    return [name for name, _ in module.named_children()]


def buffer_names(module):
    """(Runs in the worker.) Every buffer of a module, persistent or not."""
    return [name for name, _ in module.named_buffers()]


def expect_same_in_train_and_eval(module, reference_module, cases, what: str, *, compare):
    """The learner's module gives the same outputs in train mode as in eval mode (no dropout): a
    difference proves something depends on self.training, whatever the rest computes. Credited only
    where eval mode gives the reference's outputs (a module that returns zeros has no dropout
    either). `compare(got, expected, what)`: the assignment's comparison of outputs."""
    for case in cases:
        module.train()
        in_train = module(*case.args, **case.kwargs)
        module.eval()
        in_eval = module(*case.args, **case.kwargs)
        try:
            compare(in_train, in_eval, f"{what}{case}: train mode vs eval mode")
        except CheckFailed as difference:
            raise ProvenBug(str(difference)) from None
        with judged_only_if_right():
            compare(in_eval, reference_module(*case.args, **case.kwargs), f"{what}{case} in eval mode")
