"""Oracle tests for notebook 09 (scaling laws): the reference solutions against independent
implementations.

* `torch.utils.flop_counter.FlopCounterMode` on a real forward + backward pass of `LlamaForCausalLM`
  (attention on the math backend, whose `bmm`s it counts) records exactly `transformer_training_flops`,
  for multi-head, grouped-query and multi-query attention, one and several layers, widths that the heads
  do not divide.
* `scipy.optimize.minimize` (L-BFGS-B, Fortran) on the same objective written in numpy
  (`scipy.special.logsumexp`, `scipy.special.huber`) from the same starts reaches the reference fit's
  objective value and constants.
* Parameter recovery: data generated from known constants with 1% noise, fitted from a grid, give
  those constants back within the noise's reach.
* `compute_optimal` equals a numerical minimisation of the law along C = 6ND
  (`scipy.optimize.minimize_scalar` in log N); `fit_power_law` equals `scipy.stats.linregress` on the
  logarithms; `isoflop_minimum` equals `numpy.polyfit`'s parabola.
"""
import itertools
import math

import numpy as np
import pytest
import scipy.optimize
import scipy.special
import scipy.stats
import torch

from autograder.notebook import load_reference
from coursekit.models import LlamaConfig, LlamaForCausalLM

TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


@pytest.fixture(scope="module")
def ref():
    return load_reference("09-scaling-laws")


@pytest.mark.parametrize("fields, batch_size, seq_len", [
    (dict(hidden_size=64, intermediate_size=192, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1), 2, 32),
    (dict(hidden_size=48, intermediate_size=100, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4), 3, 7),
    (dict(hidden_size=50, intermediate_size=30, num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=1), 1, 9),
    (dict(hidden_size=96, intermediate_size=256, num_hidden_layers=2, num_attention_heads=6, num_key_value_heads=2), 2, 1),
])
def test_flop_count_equals_flop_counter_mode(ref, fields, batch_size, seq_len):
    config = LlamaConfig(vocab_size=300, max_position_embeddings=64, **fields)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    ids = torch.randint(config.vocab_size, (batch_size, seq_len + 1))
    with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH), \
            torch.utils.flop_counter.FlopCounterMode(display=False) as counter:
        model(ids[:, :-1], ids[:, 1:])[1].backward()
    assert ref.transformer_training_flops(config, batch_size, seq_len) == counter.get_total_flops()
    weights = sum(p.numel() for p in model.parameters() if p.dim() == 2) - model.model.embed_tokens.weight.numel()
    attention = 12 * config.num_hidden_layers * batch_size * seq_len ** 2 * config.num_attention_heads * config.head_dim
    assert counter.get_total_flops() - attention == ref.training_flops(weights, batch_size * seq_len)


def synthetic(noise, seed, count_n=6, count_d=6):
    N, D = np.meshgrid(np.logspace(7, 10, count_n), np.logspace(8, 11.5, count_d), indexing="ij")
    N, D = N.ravel(), D.ravel()
    L = TRUTH["E"] + TRUTH["A"] / N ** TRUTH["alpha"] + TRUTH["B"] / D ** TRUTH["beta"]
    L = L * np.exp(noise * np.random.default_rng(seed).standard_normal(L.shape))
    return [torch.tensor(v, dtype=torch.float64) for v in (N, D, L)]


def numpy_objective(theta, N, D, L, delta):
    a, b, e, alpha, beta = theta
    predicted = scipy.special.logsumexp([a - alpha * np.log(N), b - beta * np.log(D), np.full(len(N), e)], axis=0)
    return scipy.special.huber(delta, predicted - np.log(L)).sum()


GRID = list(itertools.product([5.0, 10.0], [5.0, 10.0], [0.0, 1.0], [0.5], [0.5]))


@pytest.mark.parametrize("noise, seed", [(0.002, 0), (0.01, 1)])
def test_scipy_minimize_finds_the_same_optimum(ref, noise, seed):
    N, D, L = synthetic(noise, seed)
    fit = ref.fit_chinchilla(N, D, L, GRID)
    theta = np.array([math.log(fit["A"]), math.log(fit["B"]), math.log(fit["E"]), fit["alpha"], fit["beta"]])
    data = [t.numpy() for t in (N, D, L)]
    best = min((scipy.optimize.minimize(numpy_objective, np.array(start), args=(*data, 1e-3), method="L-BFGS-B",
                                        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-12})
                for start in GRID), key=lambda result: result.fun)
    ours = numpy_objective(theta, *data, 1e-3)
    assert ours <= best.fun * (1 + 1e-6) + 1e-15, (ours, best.fun)   # measured: equal to 1e-9 or lower
    assert np.allclose(best.x[3:], theta[3:], atol=2e-3), (best.x, theta)
    assert np.allclose(np.exp(best.x[:3]), np.exp(theta[:3]), rtol=2e-2), (best.x, theta)


def test_fit_recovers_known_constants_from_noisy_data(ref):
    N, D, L = synthetic(0.01, 2)
    fit = ref.fit_chinchilla(N, D, L, GRID)
    assert abs(fit["alpha"] - TRUTH["alpha"]) < 0.03 and abs(fit["beta"] - TRUTH["beta"]) < 0.03, fit
    assert abs(fit["E"] - TRUTH["E"]) < 0.1, fit
    n_opt, _ = ref.compute_optimal(fit, 1e22)
    assert abs(math.log(n_opt / ref.compute_optimal(TRUTH, 1e22)[0])) < 0.5, fit


@pytest.mark.parametrize("C", [1e18, 1e21, 5.76e23])
def test_compute_optimal_minimises_the_law_along_the_budget(ref, C):
    def loss(log_n):
        n = math.exp(log_n)
        return TRUTH["A"] / n ** TRUTH["alpha"] + TRUTH["B"] / (C / (6 * n)) ** TRUTH["beta"]
    best = scipy.optimize.minimize_scalar(loss, bounds=(0, 60), method="bounded", options={"xatol": 1e-10})
    n_opt, d_opt = ref.compute_optimal(TRUTH, C)
    assert math.isclose(math.log(n_opt), best.x, abs_tol=1e-6)
    assert math.isclose(n_opt * d_opt, C / 6, rel_tol=1e-12)


def test_fit_power_law_equals_linregress(ref):
    rng = np.random.default_rng(3)
    x = np.exp(rng.uniform(5, 25, 20))
    y = 3.0 * x ** -0.2 * np.exp(0.1 * rng.standard_normal(20))
    result = scipy.stats.linregress(np.log(x), np.log(y))
    a, b = ref.fit_power_law(torch.tensor(x), torch.tensor(y))
    assert math.isclose(b, result.slope, rel_tol=1e-10) and math.isclose(math.log(a), result.intercept, rel_tol=1e-10)


def test_isoflop_minimum_equals_polyfit(ref):
    rng = np.random.default_rng(4)
    N = np.exp(np.linspace(13, 19, 7))
    L = 3 + 0.05 * (np.log(N) - 16.3) ** 2 + 0.01 * rng.standard_normal(7)
    c2, c1, c0 = np.polyfit(np.log(N), L, 2)
    n_opt, l_opt = ref.isoflop_minimum(torch.tensor(N), torch.tensor(L))
    assert math.isclose(math.log(n_opt), -c1 / (2 * c2), rel_tol=1e-9)
    assert math.isclose(l_opt, c0 - c1 ** 2 / (4 * c2), rel_tol=1e-9)
