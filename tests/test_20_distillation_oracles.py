"""Oracle tests for notebook 20 (distillation): the reference solutions against implementations nobody on this
project wrote:

- `kd_loss` against PyTorch's `F.kl_div(student_logps, teacher_probs, reduction="batchmean")` on the kept
  positions flattened to (N, V), times T^2, and against `torch.distributions.kl_divergence` of two Categoricals;
  the two reductions the notebook warns about ("mean", and "batchmean" on (B, L, V)) are off by exactly V and L;
- Hinton et al.'s gradient: d(T^2 KL)/d z_student = T (q_T - p_T) per position, exactly (autograd); and the
  large-T limit, T^2 KL -> sum (z_s - z_t)^2 / (2V) for centred logits (to 1e-3 relative at T = 1000);
- `distillation_loss` against `F.kl_div` and `F.cross_entropy(ignore_index=-100)`;
- `generalized_jsd` against trl 1.16.0's `GKDTrainer.generalized_jsd_loss` (a static method: no trainer, no
  model), with labels for every beta including trl's two special cases 0 and 1, temperatures 1 and 2, and on 2-D
  logits without labels; the one documented difference, trl's no-label reduction on (B, L, V), is L times ours;
  at beta = 0.5 the divergence is symmetric and at most log 2;
- `FeatureDistiller` against `F.mse_loss`.

Traps (../shared/notes/oracles.md): F.kl_div's first argument is the student's LOG-probabilities; trl's loss
has no T^2 factor; GKDTrainer lives in trl.experimental.gkd in 1.16.
"""
import math
import pytest
import torch
import torch.nn.functional as F

from autograder.notebook import load_reference
from tests.hf_oracles import random_logits, trl_generalized_jsd


@pytest.fixture(scope="module")
def ref():
    return load_reference("20-distillation")


@pytest.fixture(scope="module")
def trl_jsd():
    return trl_generalized_jsd()


logits = random_logits


def kept_mask(seed, *shape):
    mask = torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) < 0.6
    mask.view(-1)[0] = True
    return mask


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0, 7.0])
def test_kd_loss_equals_kl_div_batchmean(ref, temperature):
    s, t = logits(1, 3, 4, 11), logits(2, 3, 4, 11)
    mask = kept_mask(3, 3, 4)
    for m in (None, mask):
        rows = torch.ones(3, 4, dtype=torch.bool) if m is None else m
        oracle = F.kl_div(F.log_softmax(s[rows] / temperature, -1), F.softmax(t[rows] / temperature, -1),
                          reduction="batchmean") * temperature ** 2
        torch.testing.assert_close(ref.kd_loss(s, t, temperature, m), oracle, atol=1e-12, rtol=1e-12)


def test_kd_loss_equals_torch_distributions(ref):
    from torch.distributions import Categorical, kl_divergence
    s, t = logits(4, 2, 5, 9), logits(5, 2, 5, 9)
    for temperature in (1.0, 3.0):
        oracle = kl_divergence(Categorical(logits=t / temperature), Categorical(logits=s / temperature)).mean() * temperature ** 2
        torch.testing.assert_close(ref.kd_loss(s, t, temperature), oracle, atol=1e-12, rtol=1e-12)


@pytest.mark.filterwarnings("ignore:reduction")
def test_the_reductions_the_notebook_warns_about(ref):
    """reduction='mean' divides by the vocabulary too; 'batchmean' on (B, L, V) divides by B only."""
    B, L, V = 2, 5, 13
    s, t = logits(6, B, L, V), logits(7, B, L, V)
    student_logps, teacher_probs = F.log_softmax(s / 2, -1), F.softmax(t / 2, -1)
    ours = ref.kd_loss(s, t, 2.0)
    torch.testing.assert_close(F.kl_div(student_logps, teacher_probs, reduction="mean") * 4, ours / V)
    torch.testing.assert_close(F.kl_div(student_logps, teacher_probs, reduction="batchmean") * 4, ours * L)


def test_kd_gradient_is_t_times_q_minus_p(ref):
    s, t = logits(8, 3, 2, 7), logits(9, 3, 2, 7)
    for temperature in (1.0, 2.5, 10.0):
        z = s.clone().requires_grad_(True)
        teacher = t.clone().requires_grad_(True)
        ref.kd_loss(z, teacher, temperature).backward()
        expected = temperature * (F.softmax(s / temperature, -1) - F.softmax(t / temperature, -1)) / 6
        torch.testing.assert_close(z.grad, expected, atol=1e-14, rtol=1e-12)
        assert teacher.grad is None  # the teacher's logits are detached


def test_kd_large_temperature_matches_logit_matching(ref):
    """Hinton et al.: for centred logits, T^2 KL -> (1/(2V)) sum_v (z_s - z_t)^2 as T grows."""
    V = 20
    s, t = logits(10, 4, V), logits(11, 4, V)
    s, t = s - s.mean(-1, keepdim=True), t - t.mean(-1, keepdim=True)
    limit = ((s - t) ** 2).sum(-1).mean() / (2 * V)
    got = ref.kd_loss(s, t, 1000.0)
    assert abs(got.item() - limit.item()) < 1e-3 * limit.item()


def test_distillation_loss_equals_kl_div_and_cross_entropy(ref):
    s, t = logits(12, 2, 6, 10), logits(13, 2, 6, 10)
    labels = torch.randint(0, 10, (2, 6), generator=torch.Generator().manual_seed(14))
    labels[0, :2] = -100
    labels[1, 4] = -100
    keep = labels != -100
    for temperature, alpha in ((2.0, 0.5), (4.0, 0.9), (1.0, 0.0)):
        soft = F.kl_div(F.log_softmax(s[keep] / temperature, -1), F.softmax(t[keep] / temperature, -1),
                        reduction="batchmean") * temperature ** 2
        hard = F.cross_entropy(s.reshape(-1, 10), labels.reshape(-1), ignore_index=-100)
        torch.testing.assert_close(ref.distillation_loss(s, t, labels, temperature, alpha),
                                   alpha * soft + (1 - alpha) * hard, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("beta", [0.0, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_generalized_jsd_equals_trl(ref, trl_jsd, beta, temperature):
    s, t = logits(15, 2, 5, 12, scale=3.0), logits(16, 2, 5, 12, scale=3.0)
    labels = torch.randint(0, 12, (2, 5), generator=torch.Generator().manual_seed(17))
    labels[0, 0] = labels[1, 3] = -100
    oracle = trl_jsd(s, t, labels=labels, beta=beta, temperature=temperature)
    torch.testing.assert_close(ref.generalized_jsd(s, t, labels, beta=beta, temperature=temperature), oracle,
                               atol=1e-12, rtol=1e-10)
    flat_s, flat_t = s.reshape(-1, 12), t.reshape(-1, 12)  # 2-D without labels: both average over the rows
    torch.testing.assert_close(ref.generalized_jsd(flat_s, flat_t, beta=beta, temperature=temperature),
                               trl_jsd(flat_s, flat_t, beta=beta, temperature=temperature), atol=1e-12, rtol=1e-10)


def test_generalized_jsd_float32_and_large_logits_equal_trl(ref, trl_jsd):
    s, t = logits(18, 3, 8, scale=300.0).float(), logits(19, 3, 8, scale=300.0).float()
    for beta in (0.0, 0.3, 1.0):
        torch.testing.assert_close(ref.generalized_jsd(s, t, beta=beta), trl_jsd(s, t, beta=beta), atol=1e-3, rtol=1e-5)


def test_trl_without_labels_sums_over_positions(ref, trl_jsd):
    """The one difference the notebook names: trl's no-label 'batchmean' divides (B, L, V) by B only."""
    s, t = logits(20, 2, 4, 6), logits(21, 2, 4, 6)
    torch.testing.assert_close(trl_jsd(s, t, beta=0.5), ref.generalized_jsd(s, t, beta=0.5) * 4, atol=1e-12, rtol=1e-10)


def test_jsd_half_is_symmetric_and_at_most_log_2(ref):
    s, t = logits(22, 5, 9, scale=5.0), logits(23, 5, 9, scale=5.0)
    forward, backward = ref.generalized_jsd(s, t, beta=0.5), ref.generalized_jsd(t, s, beta=0.5)
    torch.testing.assert_close(forward, backward, atol=1e-12, rtol=1e-12)
    far = torch.tensor([[0.0, -200.0]], dtype=torch.float64)
    assert ref.generalized_jsd(far, far.flip(-1), beta=0.5).item() == pytest.approx(math.log(2), abs=1e-12)
    assert forward.item() <= math.log(2)


def test_feature_distiller_equals_mse_loss(ref):
    distiller = ref.FeatureDistiller(5, 8).double()
    h_s, h_t = logits(24, 2, 3, 5), logits(25, 2, 3, 8)
    with torch.no_grad():
        torch.testing.assert_close(distiller(h_s, h_t), F.mse_loss(distiller.proj(h_s), h_t), atol=1e-12, rtol=1e-12)
        mask = torch.tensor([[True, False, True], [False, False, True]])
        torch.testing.assert_close(distiller(h_s, h_t, mask), F.mse_loss(distiller.proj(h_s)[mask], h_t[mask]),
                                   atol=1e-12, rtol=1e-12)
