"""Oracle tests for notebook 15 (speculative decoding): the reference solutions against transformers (5.23.0), an
implementation nobody on this project wrote.

* Its speculative sampling step, `transformers.generation.utils._speculative_sampling` (private; in 5.23 its
  signature is (candidate_input_ids, candidate_logits, candidate_length, new_logits,
  assistant_ensemble_weight=None)), draws its acceptance uniforms with `torch.rand_like` and its final token with
  `torch.multinomial`. With both replaced by the reference's draws (the uniforms passed in, the inverse-CDF
  `sample_from`), it emits the same tokens as `speculative_step` and samples from the same distribution as
  `residual_distribution` (or p[k] for the bonus token).
* Unpatched, with its own random numbers: its first emitted token and the reference's follow the target's
  distribution (chi-square), its acceptance frequency is the reference's `acceptance_rate`, and its mean number of
  tokens per step is `expected_tokens_per_step`. The seed course's bug (resampling from p) fails the same test.
* `generate(do_sample=False, assistant_model=draft)` gives the same tokens as plain greedy and as the reference's
  `speculative_greedy`, on small random models and on the course's `small` and `tiny` checkpoints.

Traps (../shared/notes/oracles.md): transformers accepts when u <= p/q, the reference when u < p/q, so no case has
u within 1e-9 of p/q; its distributions come from logits, so the cases pass log-probabilities (float64) and compare
decisions away from the boundary; `generate` needs max_new_tokens and pad_token_id.
"""
import random

import pytest
import torch
import transformers
import transformers.generation.utils as generation_utils
from scipy.stats import chisquare
from transformers import LlamaForCausalLM

from autograder.notebook import load_reference
from coursekit.data import MODELS_DIR
from coursekit.models import load_model
from tests.hf_oracles import CourseInterface, hf_model

transformers.logging.set_verbosity_error()


DRAWS = 4_000


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Thousands of tiny steps: one thread is much faster on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ref():
    return load_reference("15-speculative-decoding")


def distribution(generator, shape, zeros=False, scale=1.5):
    logits = torch.randn(shape, generator=generator, dtype=torch.float64) * scale
    if zeros:
        logits = logits.masked_fill(torch.rand(shape, generator=generator) < 0.3, -float("inf"))
        logits[..., 0] = 0.0
    return logits.softmax(-1)


def hf_step(p, q, drafts, uniforms=None, sample=None):
    """transformers' step on the target's p (k+1, V) and the draft's q (k, V); with uniforms, its rand_like and
    multinomial replaced by them (the final token by sample(distribution, uniforms[k])). Returns the emitted tokens,
    the number accepted and the distribution the final token was drawn from."""
    k = len(drafts)
    captured = {}
    rand_like, multinomial = torch.rand_like, torch.multinomial
    if uniforms is not None:
        def fake_rand_like(x):
            return torch.tensor(uniforms[:k], dtype=x.dtype).reshape(x.shape)

        def fake_multinomial(probs, num_samples):
            captured["distribution"] = probs[0].clone()
            return torch.tensor([[sample(probs[0], uniforms[k])]])
        torch.rand_like, torch.multinomial = fake_rand_like, fake_multinomial
    try:
        tokens, n = generation_utils._speculative_sampling(
            torch.tensor([[7] + list(drafts)]), q.log()[None], k, p.log()[None])
    finally:
        torch.rand_like, torch.multinomial = rand_like, multinomial
    return tokens[0].tolist(), int(n), captured.get("distribution")


def step_cases(seed, count):
    generator, rng = torch.Generator().manual_seed(seed), random.Random(seed)
    cases = []
    while len(cases) < count:
        k, vocab = rng.choice([1, 2, 3, 5]), rng.choice([3, 8, 30])
        p = distribution(generator, (k + 1, vocab), zeros=len(cases) % 3 == 0)
        q = distribution(generator, (k, vocab), zeros=len(cases) % 4 == 1)
        drafts = [int(torch.multinomial(q[i], 1, generator=generator)) for i in range(k)]
        uniforms = [rng.random() for _ in range(k + 1)]
        ratios = [(p[i, d] / q[i, d]).item() for i, d in enumerate(drafts)]
        if all(abs(u - r) > 1e-9 for u, r in zip(uniforms, ratios)):
            cases.append((p, q, drafts, uniforms))
    return cases


def test_step_equals_transformers_with_the_same_draws(ref):
    accepted_counts = set()
    for p, q, drafts, uniforms in step_cases(0, 150):
        tokens, n, drawn_from = hf_step(p, q, drafts, uniforms, ref.sample_from)
        assert ref.speculative_step(p, q, drafts, uniforms) == tokens, (drafts, uniforms)
        k = len(drafts)
        expected = ref.residual_distribution(p[n], q[n]) if n < k else p[k]
        assert torch.allclose(drawn_from, expected, atol=1e-12, rtol=0), (n, k)
        assert all(ref.accept_draft_token(p[i], q[i], drafts[i], uniforms[i]) for i in range(n))
        accepted_counts.add((n, n == k))
    assert {(0, False), (1, True)} <= accepted_counts and any(n > 0 and not full for n, full in accepted_counts)


@pytest.fixture(scope="module")
def pair():
    """A target and a draft over 12 tokens that disagree: acceptance rate 0.52."""
    generator = torch.Generator().manual_seed(3)
    return distribution(generator, (12,), scale=1.2), distribution(generator, (12,), scale=1.2)


@pytest.fixture(scope="module")
def hf_draws(pair):
    """transformers' step with k = 1, DRAWS times, with its own random numbers: first tokens and acceptances."""
    p, q = pair
    torch.manual_seed(0)
    draws = torch.multinomial(q, DRAWS, replacement=True).tolist()
    firsts, accepted = [], 0
    for x in draws:
        tokens, n, _ = hf_step(torch.stack((p, p)), q[None], [x])
        firsts.append(tokens[0])
        accepted += n
    return torch.bincount(torch.tensor(firsts), minlength=12), accepted / len(draws)


def first_tokens(step, p, q, count, seed):
    generator = torch.Generator().manual_seed(seed)
    uniforms = torch.rand(count, 3, generator=generator, dtype=torch.float64).tolist()
    firsts = [step(torch.stack((p, p)), q[None], [ref_sample(q, a)], [b, c])[0] for a, b, c in uniforms]
    return torch.bincount(torch.tensor(firsts), minlength=len(p))


def ref_sample(probs, u):
    cumulative = probs.cumsum(0)
    return min(int(torch.searchsorted(cumulative, u * cumulative[-1], right=True)), len(probs) - 1)


def test_first_token_follows_the_target(ref, pair, hf_draws):
    p, q = pair
    for counts in (hf_draws[0], first_tokens(ref.speculative_step, p, q, DRAWS, 1)):
        assert chisquare(counts.numpy(), (counts.sum() * p).numpy()).pvalue > 1e-3
        assert 0.5 * (counts / counts.sum() - p).abs().sum() < 0.04

    def resampling_from_p(p, q, drafts, uniforms):  # the seed course's bug, as a negative control
        if ref.accept_draft_token(p[0], q[0], drafts[0], uniforms[0]):
            return [drafts[0]]
        return [ref.sample_from(p[0], uniforms[1])]
    counts = first_tokens(resampling_from_p, p, q, DRAWS, 1)
    assert chisquare(counts.numpy(), (counts.sum() * p).numpy()).pvalue < 1e-6


def test_acceptance_rate_is_transformers_acceptance_frequency(ref, pair, hf_draws):
    p, q = pair
    alpha = ref.acceptance_rate(p, q).item()
    assert 0.5 < alpha < 0.6
    assert abs(hf_draws[1] - alpha) < 4 * (alpha * (1 - alpha) / DRAWS) ** 0.5


def test_expected_tokens_per_step_is_transformers_mean(ref, pair):
    """k = 4 drafts, the same p and q at every position: the mean of n_matches + 1 over 1,500 steps."""
    p, q = pair
    k, steps = 4, 1_500
    torch.manual_seed(1)
    drafts = torch.multinomial(q, steps * k, replacement=True).reshape(steps, k).tolist()
    emitted = torch.tensor([hf_step(p.expand(k + 1, -1), q.expand(k, -1), row)[1] + 1 for row in drafts], dtype=torch.float64)
    expected = ref.expected_tokens_per_step(ref.acceptance_rate(p, q).item(), k)
    assert abs(emitted.mean().item() - expected) < 4 * emitted.std().item() / steps ** 0.5


def hf_pair(seed, vocab_size=40, noise=0.05):
    """A small random LlamaForCausalLM with large weights and a draft that is it with perturbed weights."""
    target = hf_model(seed, vocab_size)
    draft = LlamaForCausalLM(target.config).eval()
    draft.load_state_dict(target.state_dict())
    with torch.no_grad():
        for parameter in draft.parameters():
            parameter.add_(noise * torch.randn_like(parameter))
    return target, draft


@pytest.mark.parametrize("seed", range(2))
def test_greedy_equals_generate_with_an_assistant(ref, seed):
    target, draft = hf_pair(seed)
    ids = torch.randint(1, 40, (5,), generator=torch.Generator().manual_seed(seed))
    plain = target.generate(ids[None], max_new_tokens=16, do_sample=False, top_k=0, pad_token_id=0)[0]
    assisted = target.generate(ids[None], max_new_tokens=16, do_sample=False, top_k=0, pad_token_id=0,
                               assistant_model=draft)[0]
    assert torch.equal(assisted, plain)
    for k in (0, 1, 3, 5):
        assert torch.equal(ref.speculative_greedy(CourseInterface(target), CourseInterface(draft), ids, 16, k), plain), k


def test_course_models_decode_as_transformers_assisted_generation(ref):
    """The course's small (target) and tiny (draft) checkpoints, loaded by transformers and by coursekit."""
    hf_target = LlamaForCausalLM.from_pretrained(MODELS_DIR / "small", dtype=torch.float32).eval()
    hf_draft = LlamaForCausalLM.from_pretrained(MODELS_DIR / "tiny", dtype=torch.float32).eval()
    ids = torch.tensor([464, 3797, 318, 257])
    expected = hf_target.generate(ids[None], max_new_tokens=20, do_sample=False, top_k=0, pad_token_id=0,
                                  eos_token_id=None, assistant_model=hf_draft)[0]
    assert torch.equal(ref.speculative_greedy(load_model("small"), load_model("tiny"), ids, 20, 4), expected)
