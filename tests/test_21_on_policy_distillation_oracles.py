"""Oracle tests for notebook 21 (on-policy distillation): the reference solutions against implementations nobody on
this project wrote, and against the statistics the notebook states:

- `per_token_reverse_kl` against `torch.distributions.kl_divergence(Categorical(student), Categorical(teacher))`
  (masked mean), and against trl 1.16.0's `GKDTrainer.generalized_jsd_loss` at beta = 1 (the reverse KL; the
  mask passed as labels, -100 where it is False);
- `kl_estimators` by Monte Carlo: 200,000 tokens sampled from the student (torch.distributions.Categorical); the
  means of k1 and k3 converge to the exact KL(q || p) (within 5 standard errors), k2's mean does not on a pair of
  distant distributions (its bias is over 20 standard errors); and k2, k3 >= 0 on every sample;
- `on_policy_distillation_loss`: its expected gradient under the student, summed exactly over the vocabulary
  (each token's loss weighted by q, detached), equals autograd's gradient of the exact reverse KL (1e-12);
  and a Monte-Carlo average of the sampled gradient agrees with it to the sampling error.

Trap (../shared/notes/oracles.md): GKDTrainer lives in trl.experimental.gkd in 1.16; trl's loss at beta = 1 is
KL(student || teacher), with the labels' -100 positions left out of the mean.
"""
import pytest
import torch
from torch.distributions import Categorical, kl_divergence

from autograder.notebook import load_reference
from tests.hf_oracles import random_logits, trl_generalized_jsd


@pytest.fixture(scope="module")
def ref():
    return load_reference("21-on-policy-distillation")


@pytest.fixture(scope="module")
def trl_jsd():
    return trl_generalized_jsd()


logits = random_logits


def test_reverse_kl_equals_torch_distributions(ref):
    s, t = logits(1, 3, 4, 11), logits(2, 3, 4, 11)
    mask = torch.rand(3, 4, generator=torch.Generator().manual_seed(3)) < 0.6
    exact = kl_divergence(Categorical(logits=s), Categorical(logits=t))
    torch.testing.assert_close(ref.per_token_reverse_kl(s, t), exact.mean(), atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(ref.per_token_reverse_kl(s, t, mask), exact[mask].mean(), atol=1e-12, rtol=1e-10)


def test_reverse_kl_equals_trl_generalized_jsd_at_beta_one(ref, trl_jsd):
    s, t = logits(4, 2, 5, 9, scale=3.0), logits(5, 2, 5, 9, scale=3.0)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[0, 1] = mask[1, 4] = False
    labels = torch.where(mask, torch.zeros(2, 5, dtype=torch.long), torch.full((2, 5), -100))
    torch.testing.assert_close(ref.per_token_reverse_kl(s, t, mask), trl_jsd(s, t, labels=labels, beta=1.0),
                               atol=1e-12, rtol=1e-10)


def test_estimators_monte_carlo(ref):
    """k1 and k3 unbiased for KL(q || p) under sampling from q; k2 biased where q and p are far apart."""
    q_logits, p_logits = logits(6, 10, scale=1.5), logits(7, 10, scale=1.5)
    q, p = Categorical(logits=q_logits), Categorical(logits=p_logits)
    exact = kl_divergence(q, p).item()
    assert exact > 0.5  # distant enough for k2's bias to show
    x = torch.multinomial(q.probs, 200_000, replacement=True, generator=torch.Generator().manual_seed(8))
    k1, k2, k3 = ref.kl_estimators(q.log_prob(x), p.log_prob(x))
    for name, k in (("k1", k1), ("k3", k3)):
        error = 5 * k.std().item() / len(x) ** 0.5
        assert abs(k.mean().item() - exact) < error, (name, k.mean().item(), exact, error)
    assert abs(k2.mean().item() - exact) > 20 * k2.std().item() / len(x) ** 0.5
    assert (k2 >= 0).all() and (k3 >= -1e-12).all() and (k1 < 0).any()
    # the exact means under q, summed over the vocabulary: k1 and k3 equal the KL
    all_tokens = torch.arange(10)
    e1, e2, e3 = [(q.probs * k).sum().item() for k in ref.kl_estimators(q.log_prob(all_tokens), p.log_prob(all_tokens))]
    assert abs(e1 - exact) < 1e-12 and abs(e3 - exact) < 1e-12 and abs(e2 - exact) > 1e-3


def test_policy_gradient_equals_reverse_kl_gradient_in_expectation(ref):
    """sum_v q(v) * grad(-A_v log q_v), A detached, is grad KL(q || p), exactly; a sampled average agrees."""
    z, t = logits(9, 12).requires_grad_(True), logits(10, 12)
    exact_grad, = torch.autograd.grad(ref.per_token_reverse_kl(z, t), z)
    log_q, log_p = torch.log_softmax(z, -1), torch.log_softmax(t, -1)
    per_token = torch.stack([ref.on_policy_distillation_loss(log_q[v:v + 1], log_p[v:v + 1]) for v in range(12)])
    expected_grad, = torch.autograd.grad((log_q.exp().detach() * per_token).sum(), z, retain_graph=True)
    torch.testing.assert_close(expected_grad, exact_grad, atol=1e-12, rtol=1e-10)
    x = torch.multinomial(log_q.exp().detach(), 50_000, replacement=True, generator=torch.Generator().manual_seed(11))
    sampled_grad, = torch.autograd.grad(ref.on_policy_distillation_loss(log_q[x], log_p[x]), z)
    assert (sampled_grad - exact_grad).abs().max().item() < 0.02
