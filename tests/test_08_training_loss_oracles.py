"""Oracle tests for notebook 08 (training): the reference solutions against PyTorch's own built-ins.

* `cross_entropy` equals `F.cross_entropy(..., ignore_index=-100)` with logits scaled x1000 and shifted
  by +100 (float64 and float32), and with another ignore_index.
* `AdamW` equals `torch.optim.AdamW` over 1,000 float64 steps with three parameter groups of their own
  lr, betas, eps and weight decay, and gradients that are sometimes missing.
* `clip_grad_norm` equals `torch.nn.utils.clip_grad_norm_` on a model with a frozen parameter and a
  parameter without grad (returned norm and clipped gradients).
* `lr_schedule` equals `torch.optim.lr_scheduler` compositions: `LambdaLR` warmup then
  `CosineAnnealingLR` (in `SequentialLR`), with a constant `LambdaLR` stable phase for WSD.
* `save_checkpoint` / `load_checkpoint` round-trip through `torch.save` / `torch.load(weights_only=True)`
  and training resumes bit for bit.
"""
import math
import os

import pytest
import torch
import torch.nn.functional as F

from autograder.notebook import load_reference


@pytest.fixture(scope="module")
def ref():
    return load_reference("08-training-loss")


def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-9), (torch.float32, 2e-3)])
def test_cross_entropy_equals_f_cross_entropy_on_large_shifted_logits(ref, dtype, atol):
    logits = (torch.randn(4, 9, 50, generator=gen(0), dtype=torch.float64) * 1000 + 100).to(dtype)
    targets = torch.randint(50, (4, 9), generator=gen(1))
    targets[torch.rand(4, 9, generator=gen(2)) < 0.3] = -100
    got = ref.cross_entropy(logits, targets)
    expected = F.cross_entropy(logits.reshape(-1, 50), targets.reshape(-1), ignore_index=-100)
    assert torch.isfinite(expected) and abs(got.item() - expected.item()) <= atol  # the loss is ~1e3


def test_cross_entropy_equals_f_cross_entropy_with_another_ignore_index(ref):
    logits = torch.randn(30, 7, generator=gen(3), dtype=torch.float64)
    targets = torch.randint(7, (30,), generator=gen(4))
    got, expected = ref.cross_entropy(logits, targets, ignore_index=2), F.cross_entropy(logits, targets, ignore_index=2)
    assert abs(got.item() - expected.item()) < 1e-14


def test_cross_entropy_gradient_equals_f_cross_entropy(ref):
    logits = torch.randn(5, 11, generator=gen(5), dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([3, -100, 10, 0, -100])
    ref.cross_entropy(logits, targets).backward()
    ours = logits.grad.clone()
    logits.grad = None
    F.cross_entropy(logits, targets).backward()
    assert (ours - logits.grad).abs().max() < 1e-15


def test_adamw_equals_torch_adamw_over_1000_steps_with_parameter_groups(ref):
    shapes = [(6, 4), (4,), (3, 3, 2), (5,)]
    initial = [torch.randn(s, generator=gen(10 + i), dtype=torch.float64) for i, s in enumerate(shapes)]
    mine = [torch.nn.Parameter(t.clone()) for t in initial]
    theirs = [torch.nn.Parameter(t.clone()) for t in initial]

    def groups(params):
        return [{"params": params[:2]},
                {"params": [params[2]], "lr": 3e-3, "weight_decay": 0.0},
                {"params": [params[3]], "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.3}]

    defaults = dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
    ours, torchs = ref.AdamW(groups(mine), **defaults), torch.optim.AdamW(groups(theirs), **defaults)
    g = gen(20)
    worst = 0.0
    for step in range(1000):
        for a, b, s in zip(mine, theirs, shapes):
            grad = None if torch.rand((), generator=g) < 0.1 else torch.randn(s, generator=g, dtype=torch.float64)
            a.grad = b.grad = grad
        ours.step()
        torchs.step()
        worst = max(worst, max((a - b).abs().max().item() for a, b in zip(mine, theirs)))
    assert worst < 1e-12, worst


def test_clip_grad_norm_equals_torch_with_frozen_and_gradless_parameters(ref):
    def model_with_grads():
        torch.manual_seed(0)
        model = torch.nn.ModuleDict({"used": torch.nn.Linear(5, 3), "frozen": torch.nn.Linear(5, 3),
                                     "unused": torch.nn.Linear(5, 3)}).double()
        model["frozen"].weight.requires_grad_(False)
        x = torch.randn(8, 5, dtype=torch.float64)
        (model["used"](x).pow(2).sum() * 10 + model["frozen"](x).sum()).backward()
        return model

    ours, theirs = model_with_grads(), model_with_grads()
    assert ours["unused"].weight.grad is None and ours["frozen"].weight.grad is None
    norm = ref.clip_grad_norm(ours.parameters(), 1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 1.0)
    assert norm.item() > 1.0 and abs(norm.item() - expected.item()) < 1e-12
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters()):
        assert (a.grad is None) == (b.grad is None), name
        if a.grad is not None:
            assert (a.grad - b.grad).abs().max() < 1e-15, name


def torch_schedule(max_lr, min_lr, warmup, total, stable):
    """The learning rates torch.optim.lr_scheduler gives at steps 0 .. total - 1: LambdaLR warmup,
    a constant LambdaLR stable phase (WSD), then CosineAnnealingLR, composed by SequentialLR."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=max_lr)
    phases = [torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: (s + 1) / warmup)]
    milestones = [warmup]
    if stable:
        phases.append(torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0))
        milestones.append(warmup + stable)
    phases.append(torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total - warmup - stable, eta_min=min_lr))
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, phases, milestones=milestones)
    rates = []
    for _ in range(total):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize("stable", [0, 300])
def test_lr_schedule_equals_lambdalr_then_cosine_annealing(ref, stable):
    max_lr, min_lr, warmup, total = 3e-3, 3e-4, 50, 1000
    expected = torch_schedule(max_lr, min_lr, warmup, total, stable)
    got = [ref.lr_schedule(s, max_lr, min_lr, warmup, total, stable_steps=stable) for s in range(total)]
    assert max(abs(a - b) for a, b in zip(got, expected)) < 1e-12
    assert ref.lr_schedule(total, max_lr, min_lr, warmup, total, stable_steps=stable) == pytest.approx(min_lr, abs=1e-15)


def test_checkpoint_round_trip_resumes_bit_for_bit(ref, tmp_path):
    def build(seed):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Embedding(20, 8), torch.nn.Dropout(0.1), torch.nn.Linear(8, 20))
        return model, ref.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)

    def train(model, optimizer, steps):
        for _ in range(steps):
            ids = torch.randint(20, (4, 6))
            optimizer.zero_grad()
            F.cross_entropy(model(ids).flatten(0, 1), ids.flatten()).backward()
            optimizer.step()

    model, optimizer = build(0)
    torch.manual_seed(1)
    train(model, optimizer, 10)
    straight = [p.detach().clone() for p in model.parameters()]

    model, optimizer = build(0)
    torch.manual_seed(1)
    train(model, optimizer, 4)
    path = os.fspath(tmp_path / "checkpoint.pt")
    ref.save_checkpoint(path, model, optimizer, 4)
    saved = torch.load(path, weights_only=True)
    assert set(saved) == {"model", "optimizer", "step", "rng"} and saved["step"] == 4
    torch.manual_seed(999)
    model, optimizer = build(7)
    assert ref.load_checkpoint(path, model, optimizer) == 4
    train(model, optimizer, 6)
    assert all(torch.equal(a, b) for a, b in zip(straight, model.parameters()))
    assert math.isfinite(sum(p.sum().item() for p in model.parameters()))
