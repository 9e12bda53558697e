"""Hidden checks for 13-generation. Inputs differ from the visible checks: logits of 1 to 3 dimensions
(vocabularies of 1 to 40 tokens), float32, float64 and bfloat16, ties at the k-th value and among equal
probabilities, logits that are already -inf, k = 1 and k above the vocabulary, p from 1e-9 to 1,
temperatures from 1e-3 to 100, and small random course models (coursekit.models.LlamaForCausalLM, 2 layers,
vocabularies of 29 and 41) built in the worker by a probe from the same seed as the reference's here, with
large weights so that the next-token distributions are peaked, end-of-sequence tokens are hit and greedy
text repeats. Filters are compared exactly where no arithmetic is involved (-inf positions, kept values);
temperature to a relative 1e-6 (float32), 1e-12 (float64), 1e-2 (bfloat16); decoders token for token.

Every promise of the text and docstrings, and the check that exercises it:

apply_temperature
- logits / T: test_temperature_divides; tiny and large T, -inf kept, float64/float32/bfloat16, 1-D to 3-D,
  caller's logits unchanged, a new tensor: test_temperature_matches_reference_on_random_inputs
- a new tensor at T = 1: test_temperature_returns_a_new_tensor_at_one
- dtype kept: test_temperature_keeps_the_dtype
- ValueError for T <= 0: test_temperature_raises_unless_positive
top_k_filter
- ties at the k-th value kept: test_top_k_keeps_ties; exactly k without ties: test_top_k_keeps_exactly_k
- k = 1: test_top_k_one_keeps_the_maximum; k >= vocab keeps all: test_top_k_above_the_vocabulary_keeps_all
- last dimension, each row its own threshold, any leading dimensions: test_top_k_each_row_on_its_own
- -inf already present: test_top_k_with_minus_inf
- caller's logits unchanged: test_top_k_leaves_the_logits_unchanged; dtype kept: test_top_k_keeps_the_dtype
- ValueError for k < 1: test_top_k_raises_below_one
- everything combined: test_top_k_matches_reference_on_random_inputs
top_p_filter
- the token that crosses p kept: test_top_p_keeps_the_token_that_crosses_p
- cumulative <= 1 - p removed (the boundary removed): test_top_p_removes_the_boundary
- stable ascending sort, lower index removed first among ties: test_top_p_tie_order
- at least one token kept: test_top_p_keeps_at_least_one
- p = 1 keeps every token of non-zero probability: test_top_p_one_keeps_all
- last dimension, any leading dimensions: test_top_p_each_row_on_its_own; -inf present: test_top_p_with_minus_inf
- caller's logits unchanged: test_top_p_leaves_the_logits_unchanged; dtype kept: test_top_p_keeps_the_dtype
- ValueError unless 0 < p <= 1: test_top_p_raises_outside_the_range
- everything combined: test_top_p_matches_reference_on_random_inputs
generate
- greedy: argmax of the last position's logits: test_generate_greedy; options ignored with greedy:
  test_generate_greedy_ignores_the_sampling_options
- prompt first, then max_new_tokens tokens, 1-D long, the prompt unchanged: test_generate_output_layout;
  max_new_tokens = 0: test_generate_zero_new_tokens
- the RNG stream (one Generator seeded with seed, multinomial of the softmax): test_generate_sampling_stream
- temperature, top-k, top-p applied, in that order: test_generate_temperature, test_generate_top_k_and_top_p,
  test_generate_processor_order
- the same seed gives the same tokens on every call: test_generate_is_deterministic
- stops right after eos_id, kept: test_generate_stops_after_eos; eos_id None never stops:
  test_generate_without_eos_runs_to_the_end
- many configurations: test_generate_matches_reference
beam_search
- one beam, length_penalty 0: greedy: test_beam_search_one_beam_is_greedy
- prompt first, 1-D long, prompt unchanged: test_beam_search_output_layout
- sum / t ** length_penalty: test_beam_search_length_penalty
- eos_id finishes a beam (kept in the output, not continued): test_beam_search_eos_finishes_a_beam
- log-probabilities, 2 * num_beams candidates, only the first num_beams may finish: test_beam_search_candidates
- the stopping rule: test_beam_search_stops_early
- many configurations (beams 2 to 4, length penalties -0.5 to 2, with and without eos): test_beam_search_matches_reference
"""
import random

import pytest
import torch

from autograder import generators
from autograder.checking import (Case, exercise, expect, expect_close, expect_equal, expect_independent_calls,
                                 expect_proven, expect_same_as_reference, judged_only_if_right)
from autograder.remote import kind_of, observe, probe
from autograder.torch_checks import Shown, gen

INF = float("inf")
RTOL = {torch.float64: 1e-12, torch.float32: 1e-6, torch.bfloat16: 1e-2}


def same_logits(got, expected, what):
    """A tensor of the expected dtype and shape, -inf exactly where expected, the other values within RTOL."""
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, expected.dtype, f"{what}: the dtype")
    expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
    expect_equal(torch.isneginf(got).tolist(), torch.isneginf(expected).tolist(), f"{what}: which tokens are -inf")
    rtol = RTOL[expected.dtype]
    expect_close(got, expected, rtol, rtol, what=what)


def same_ids(got, expected, what):
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, torch.long, f"{what}: the dtype")
    expect_equal(got.tolist(), expected.tolist(), what)


def logits(*values, dtype=torch.float32):
    return torch.tensor(values, dtype=dtype)


def random_logits(rng, dtypes, ties=False, minus_inf=False, scale=None):
    vocab = rng.choice([1, 2, 3, 5, 8, 17, 40])
    shape = generators.leading_shape(rng, vocab)[-3:]
    dtype = rng.choice(dtypes)
    x = generators.tensor(rng, shape, torch.float64, scale or rng.choice([0.1, 1.0, 5.0]))
    if ties:
        x = x.round()
    if minus_inf and vocab > 1:
        x[..., rng.randrange(vocab)] = -INF
    return x.to(dtype)


def filter_cases(seed, dtypes, options):
    rng = random.Random(seed)
    cases = []
    for i in range(40):
        x = random_logits(rng, dtypes, ties=i % 3 == 0, minus_inf=i % 4 == 1)
        option = rng.choice(options)
        cases.append(Shown((x, option), label=f"(logits of shape {tuple(x.shape)}, {str(x.dtype)[6:]}"
                                              f"{', ties' if i % 3 == 0 else ''}{', with -inf' if i % 4 == 1 else ''}, {option})"))
    return cases


def raises(function, *args):
    """The type name of the exception the call raised, or None."""
    try:
        function(*args)
    except Exception as error:  # noqa: BLE001 - the name is the fact
        return type(error).__mro__[1].__name__ if type(error).__name__ == "LearnerError" else type(error).__name__
    return None


def raised_value_error(function, *args):
    try:
        function(*args)
    except ValueError:
        return True
    except Exception:  # noqa: BLE001
        return False
    return False


# apply_temperature --------------------------------------------------------------------------------

TEMPERATURE = "apply_temperature"


@exercise(TEMPERATURE, weight=2, hint="Divide the logits by the temperature: logits / T (T < 1 sharpens, T > 1 flattens).")
def test_temperature_divides(student):
    """[2, -1, 0.5] at T = 0.25 gives [8, -4, 2]; at T = 4, [0.5, -0.25, 0.125]."""
    for T, expected in ((0.25, logits(8.0, -4.0, 2.0)), (4.0, logits(0.5, -0.25, 0.125))):
        same_logits(student.apply_temperature(logits(2.0, -1.0, 0.5), T), expected, f"apply_temperature([2, -1, 0.5], {T})")


@exercise(TEMPERATURE, hint="Raise ValueError when temperature <= 0 (0 and negative values), before dividing.")
def test_temperature_raises_unless_positive(student):
    """T = 0 and T = -1 raise ValueError."""
    for T in (0.0, -1.0):
        expect(raised_value_error(student.apply_temperature, logits(1.0, 2.0), T),
               f"apply_temperature(logits, {T}) should raise ValueError")


@exercise(TEMPERATURE, hint="Return a new tensor, logits / T, even at T = 1, and never change the logits in place "
                         "(no div_, no /=): the caller may use them again.")
def test_temperature_returns_a_new_tensor_at_one(student):
    """T = 1: a new tensor equal to the logits; the logits unchanged."""
    call = observe(student.apply_temperature, logits(1.0, -3.0), 1.0)
    expect_proven(not call.changed, "apply_temperature changed the caller's logits in place")
    expect_proven(call.returned_argument is None, "apply_temperature(logits, 1.0) returned the logits tensor itself")
    with judged_only_if_right():
        same_logits(call.result, logits(1.0, -3.0), "apply_temperature([1, -3], 1.0)")


@exercise(TEMPERATURE, hint="Keep the logits' dtype: logits / T does (no .float(), no torch.tensor(...) of a new dtype).")
def test_temperature_keeps_the_dtype(student, reference):
    """float64 and bfloat16 logits give float64 and bfloat16 results."""
    for dtype in (torch.float64, torch.bfloat16):
        x = logits(1.5, -2.0, 0.25, dtype=dtype)
        same_logits(student.apply_temperature(x, 0.5), reference.apply_temperature(x, 0.5), f"{str(dtype)[6:]} logits")


@exercise(TEMPERATURE, weight=2, broad=True, hint="logits / T for any shape and dtype; -inf stays -inf.")
def test_temperature_matches_reference_on_random_inputs(student, reference):
    """40 random logits (1-D to 3-D, three dtypes, -inf), T from 1e-3 to 100."""
    cases = filter_cases(1, [torch.float32, torch.float64, torch.bfloat16], [1e-3, 0.3, 0.7, 1.0, 1.5, 100.0])
    expect_same_as_reference(student.apply_temperature, reference.apply_temperature, cases, "apply_temperature",
                             compare=same_logits)


# top_k_filter ---------------------------------------------------------------------------------------

TOP_K = "top_k_filter"


@exercise(TOP_K, weight=2, hint="Keep ties at the k-th value: remove only logits STRICTLY below the k-th largest "
                                "(logits < kth), as transformers does.")
def test_top_k_keeps_ties(student):
    """[1, 4, 2, 4, 2, 0] with k = 3: the k-th largest is 2, both 2s are kept (4 tokens)."""
    got = student.top_k_filter(logits(1.0, 4.0, 2.0, 4.0, 2.0, 0.0), 3)
    same_logits(got, logits(-INF, 4.0, 2.0, 4.0, 2.0, -INF), "top_k_filter([1, 4, 2, 4, 2, 0], 3)")


@exercise(TOP_K, weight=2, hint="Keep exactly the k largest logits: the threshold is the k-th largest, "
                                "topk(logits, k).values[..., -1:] (not the (k+1)-th, not the (k-1)-th).")
def test_top_k_keeps_exactly_k(student):
    """Distinct logits: k = 2 of 5 keeps 2, k = 4 keeps 4."""
    x = logits(0.3, -1.0, 2.5, 1.1, 0.0)
    same_logits(student.top_k_filter(x, 2), logits(-INF, -INF, 2.5, 1.1, -INF), "top_k_filter(x, 2)")
    same_logits(student.top_k_filter(x, 4), logits(0.3, -INF, 2.5, 1.1, 0.0), "top_k_filter(x, 4)")


@exercise(TOP_K, hint="k = 1 keeps only the maximum of each row.")
def test_top_k_one_keeps_the_maximum(student):
    """k = 1 on a (2, 4) batch: the maximum of each row."""
    x = logits([0.5, 3.0, -1.0, 2.0], [7.0, 1.0, 6.5, 0.0])
    same_logits(student.top_k_filter(x, 1), logits([-INF, 3.0, -INF, -INF], [7.0, -INF, -INF, -INF]), "top_k_filter(x, 1)")


@exercise(TOP_K, hint="k larger than the vocabulary keeps every token: use min(k, logits.shape[-1]).")
def test_top_k_above_the_vocabulary_keeps_all(student):
    """k = vocab and k = vocab + 5 keep everything; a vocabulary of 1 with k = 3 too."""
    x = logits(0.5, -2.0, 1.0)
    for k in (3, 8):
        same_logits(student.top_k_filter(x, k), x, f"top_k_filter(3 logits, {k})")
    same_logits(student.top_k_filter(logits(-0.5), 3), logits(-0.5), "top_k_filter(1 logit, 3)")


@exercise(TOP_K, weight=2, hint="Work along the LAST dimension, each row with its own k-th largest value "
                                "(topk(..., dim=-1), values[..., -1:] keeps the dimension for broadcasting).")
def test_top_k_each_row_on_its_own(student, reference):
    """(2, 3, 6) logits with k = 2 and 1-D logits with k = 4: each row keeps its own 2 largest."""
    for x, k in ((generators.tensor(random.Random(5), (2, 3, 6)), 2), (generators.tensor(random.Random(6), (9,)), 4)):
        same_logits(student.top_k_filter(x, k), reference.top_k_filter(x, k), f"logits of shape {tuple(x.shape)}, k = {k}")


@exercise(TOP_K, hint="-inf already in the logits stays -inf and must not break the threshold (no NaN).")
def test_top_k_with_minus_inf(student):
    """[-inf, 1, -inf, 0] with k = 3: the k-th largest is -inf, nothing more is removed."""
    x = logits(-INF, 1.0, -INF, 0.0)
    same_logits(student.top_k_filter(x, 3), x, "top_k_filter([-inf, 1, -inf, 0], 3)")


@exercise(TOP_K, weight=2, hint="Leave the caller's logits unchanged: masked_fill (not masked_fill_ or "
                                "logits[mask] = -inf) returns a new tensor.")
def test_top_k_leaves_the_logits_unchanged(student):
    """The logits passed are unchanged after the call, and the result is a new tensor."""
    call = observe(student.top_k_filter, logits(0.5, 2.0, -1.0, 1.0), 2)
    expect_proven(not call.changed, "top_k_filter changed the caller's logits in place")
    expect_proven(call.returned_argument is None, "top_k_filter returned the logits tensor itself")
    with judged_only_if_right():
        same_logits(call.result, logits(-INF, 2.0, -INF, 1.0), "top_k_filter([0.5, 2, -1, 1], 2)")


@exercise(TOP_K, hint="Keep the logits' dtype (masked_fill keeps it).")
def test_top_k_keeps_the_dtype(student, reference):
    """float64 and bfloat16 logits."""
    for dtype in (torch.float64, torch.bfloat16):
        x = logits(1.5, -2.0, 0.25, 3.0, dtype=dtype)
        same_logits(student.top_k_filter(x, 2), reference.top_k_filter(x, 2), f"{str(dtype)[6:]} logits")


@exercise(TOP_K, hint="Raise ValueError when k < 1 (k = 0 would remove every token).")
def test_top_k_raises_below_one(student):
    """k = 0 and k = -2 raise ValueError."""
    for k in (0, -2):
        expect(raised_value_error(student.top_k_filter, logits(1.0, 2.0), k), f"top_k_filter(logits, {k}) should raise ValueError")


@exercise(TOP_K, weight=2, broad=True, hint="Keep the logits >= the k-th largest of their row, the others -inf.")
def test_top_k_matches_reference_on_random_inputs(student, reference):
    """40 random logits (1-D to 3-D, three dtypes, ties, -inf), k from 1 to 50."""
    cases = filter_cases(2, [torch.float32, torch.float64, torch.bfloat16], [1, 2, 3, 5, 16, 50])
    expect_same_as_reference(student.top_k_filter, reference.top_k_filter, cases, "top_k_filter", compare=same_logits)


# top_p_filter ---------------------------------------------------------------------------------------

TOP_P = "top_p_filter"


def probs(*values):
    return torch.tensor(values, dtype=torch.float64).log()


@exercise(TOP_P, weight=2, hint="Keep the token whose probability crosses p: remove only the tokens whose ascending "
                                "cumulative probability is <= 1 - p (not the descending cumulative > p).")
def test_top_p_keeps_the_token_that_crosses_p(student):
    """Probabilities [0.1, 0.5, 0.15, 0.25], p = 0.7: 0.5 + 0.25 crosses 0.7, so 0.5 and 0.25 are kept."""
    x = probs(0.1, 0.5, 0.15, 0.25)
    same_logits(student.top_p_filter(x, 0.7), torch.where(torch.tensor([False, True, False, True]), x, -INF),
                "top_p_filter(log [0.1, 0.5, 0.15, 0.25], 0.7)")


@exercise(TOP_P, weight=2, hint="The boundary is removed: a token whose ascending cumulative probability EQUALS 1 - p "
                                "goes (<=, not <).")
def test_top_p_removes_the_boundary(student):
    """Four equal logits (probabilities 0.25, exact) with p = 0.5: cumulative [0.25, 0.5, ...]; 0.5 <= 1 - p, so two go."""
    same_logits(student.top_p_filter(torch.zeros(4, dtype=torch.float64), 0.5),
                torch.tensor([-INF, -INF, 0.0, 0.0], dtype=torch.float64), "top_p_filter([0, 0, 0, 0], 0.5)")


@exercise(TOP_P, hint="Sort ascending with torch.sort(logits, dim=-1, stable=True): among equal logits the one with "
                      "the lower index comes first, so it is removed first.")
def test_top_p_tie_order(student):
    """Five equal logits, p = 0.7: only the token of index 0 is removed; p = 0.3: indices 0 to 2."""
    x = torch.zeros(5, dtype=torch.float64)
    same_logits(student.top_p_filter(x, 0.7), torch.tensor([-INF, 0, 0, 0, 0], dtype=torch.float64), "top_p_filter(5 zeros, 0.7)")
    same_logits(student.top_p_filter(x, 0.3), torch.tensor([-INF, -INF, -INF, 0, 0], dtype=torch.float64), "top_p_filter(5 zeros, 0.3)")


@exercise(TOP_P, weight=2, hint="Always keep at least one token: never remove the last (most likely) token of the "
                                "ascending order, even when its cumulative probability is <= 1 - p.")
def test_top_p_keeps_at_least_one(student):
    """p = 1e-9 keeps only the most likely token; with equal logits, the one of the highest index."""
    x = probs(0.2, 0.7, 0.1)
    same_logits(student.top_p_filter(x, 1e-9), torch.where(torch.tensor([False, True, False]), x, -INF), "top_p_filter(x, 1e-9)")
    same_logits(student.top_p_filter(torch.zeros(3), 1e-9), torch.tensor([-INF, -INF, 0.0]), "top_p_filter(3 zeros, 1e-9)")


@exercise(TOP_P, hint="p = 1 keeps every token (1 - p = 0: no cumulative probability of a real token is <= 0).")
def test_top_p_one_keeps_all(student):
    """p = 1 on logits with a very unlikely token keeps them all."""
    x = logits(3.0, -2.0, 0.0, -9.0)
    same_logits(student.top_p_filter(x, 1.0), x, "top_p_filter(x, 1.0)")


@exercise(TOP_P, weight=2, hint="Work along the LAST dimension: sort, softmax and cumsum with dim=-1, and put the "
                                "mask back in the original order with scatter(-1, order, mask) (any leading dimensions).")
def test_top_p_each_row_on_its_own(student, reference):
    """(2, 3, 7) logits with p = 0.6, 1-D with p = 0.8."""
    for x, p in ((generators.tensor(random.Random(7), (2, 3, 7), scale=2.0), 0.6),
                 (generators.tensor(random.Random(8), (9,), scale=2.0), 0.8)):
        same_logits(student.top_p_filter(x, p), reference.top_p_filter(x, p), f"logits of shape {tuple(x.shape)}, p = {p}")


@exercise(TOP_P, hint="-inf already in the logits has probability 0: it stays -inf and must not give NaN.")
def test_top_p_with_minus_inf(student, reference):
    """[-inf, 2, 0, -inf, 1] with p = 0.9 and p = 1."""
    x = logits(-INF, 2.0, 0.0, -INF, 1.0)
    for p in (0.9, 1.0):
        same_logits(student.top_p_filter(x, p), reference.top_p_filter(x, p), f"top_p_filter([-inf, 2, 0, -inf, 1], {p})")


@exercise(TOP_P, weight=2, hint="Leave the caller's logits unchanged: sort returns new tensors, and masked_fill "
                                "(not masked_fill_ or logits[mask] = -inf) returns a new one.")
def test_top_p_leaves_the_logits_unchanged(student):
    """The logits passed are unchanged after the call, and the result is a new tensor."""
    x = probs(0.1, 0.6, 0.3)
    call = observe(student.top_p_filter, x, 0.5)
    expect_proven(not call.changed, "top_p_filter changed the caller's logits in place")
    expect_proven(call.returned_argument is None, "top_p_filter returned the logits tensor itself")
    with judged_only_if_right():
        same_logits(call.result, torch.where(torch.tensor([False, True, False]), x, -INF), "top_p_filter(x, 0.5)")


@exercise(TOP_P, hint="Keep the logits' dtype (masked_fill keeps it).")
def test_top_p_keeps_the_dtype(student, reference):
    """float64 and bfloat16 logits with clear margins."""
    for dtype in (torch.float64, torch.bfloat16):
        x = logits(4.0, 2.0, 0.0, -2.0, dtype=dtype)
        same_logits(student.top_p_filter(x, 0.5), reference.top_p_filter(x, 0.5), f"{str(dtype)[6:]} logits")


@exercise(TOP_P, hint="Raise ValueError unless 0 < p <= 1 (p = 0, p < 0 and p > 1 raise).")
def test_top_p_raises_outside_the_range(student):
    """p = 0, -0.1 and 1.5 raise ValueError."""
    for p in (0.0, -0.1, 1.5):
        expect(raised_value_error(student.top_p_filter, logits(1.0, 2.0), p), f"top_p_filter(logits, {p}) should raise ValueError")


@exercise(TOP_P, weight=2, broad=True, hint="Follow the five steps of the text exactly (ascending stable sort, "
                                            "cumulative <= 1 - p removed, the last one kept, scattered back).")
def test_top_p_matches_reference_on_random_inputs(student, reference):
    """40 random logits (1-D to 3-D, float32 and float64, ties, -inf), p from 0.05 to 1."""
    cases = filter_cases(3, [torch.float32, torch.float64], [0.05, 0.3, 0.5, 0.9, 0.99, 1.0])
    expect_same_as_reference(student.top_p_filter, reference.top_p_filter, cases, "top_p_filter", compare=same_logits)


# generate -------------------------------------------------------------------------------------------

GENERATE = "generate"


def peaked_model(seed, vocab_size):
    """(Runs in the worker, and here.) A small course model with large random weights: peaked next-token
    distributions, so that greedy text repeats and a frequent token can serve as end of sequence."""
    import torch
    from coursekit.models import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() > 1:
                parameter.normal_(0.0, 0.5)
    return model


def twin_models(student, seed, vocab_size=29):
    return probe(student, peaked_model, seed, vocab_size), peaked_model(seed, vocab_size)


def prompt(seed, length=4, vocab_size=29):
    return torch.randint(0, vocab_size, (length,), generator=gen(seed))


def same_generation(student, reference, name, seed, args, kwargs, what, vocab_size=29):
    mine, ref = twin_models(student, seed, vocab_size)
    same_ids(getattr(student, name)(mine, *args, **kwargs), getattr(reference, name)(ref, *args, **kwargs), what)


@exercise(GENERATE, weight=2, hint="Greedy: the next token is logits[:, -1, :].argmax(dim=-1), the LAST position's "
                                   "logits, over the vocabulary (dim=-1).")
def test_generate_greedy(student, reference):
    """Greedy, 10 new tokens, prompts of length 1 and 5."""
    for length in (1, 5):
        same_generation(student, reference, "generate", 11, (prompt(length, length), 10), dict(greedy=True),
                        f"generate(model, prompt of length {length}, 10, greedy=True)")


@exercise(GENERATE, hint="With greedy=True take the argmax of the raw logits: ignore temperature, top_k and top_p, "
                         "and draw no random number.")
def test_generate_greedy_ignores_the_sampling_options(student, reference):
    """greedy=True with temperature 3, top_k 5, top_p 0.5 is plain greedy."""
    same_generation(student, reference, "generate", 12, (prompt(2), 8),
                    dict(greedy=True, temperature=3.0, top_k=5, top_p=0.5, seed=4), "generate(..., greedy=True, temperature=3, ...)")


def generate_facts(generate, model, ids, steps):
    """(Runs in the worker.) The result's type, dtype and dimensions, and the prompt after the call."""
    import torch
    before = ids.clone()
    out = generate(model, ids, steps, seed=1)
    return (type(out).__name__, str(getattr(out, "dtype", None)), getattr(out, "dim", lambda: None)(),
            out[:len(ids)].tolist() if isinstance(out, torch.Tensor) else None, len(out), torch.equal(ids, before))


@exercise(GENERATE, hint="Return torch.cat((ids, new tokens)): a 1-D torch.long tensor, the prompt first, "
                         "max_new_tokens new tokens after it, the caller's ids unchanged.")
def test_generate_output_layout(student):
    """A 1-D long tensor: the prompt (unchanged), then 6 new tokens."""
    ids = prompt(13, 3)
    facts = probe(student, generate_facts, student.generate, probe(student, peaked_model, 13, 29), ids, 6)
    expect_equal(facts, ("Tensor", "torch.int64", 1, ids.tolist(), 9, True),
                 "(type, dtype, dimensions, the first 3 tokens, length, the prompt unchanged)")


@exercise(GENERATE, hint="max_new_tokens = 0 returns the prompt, as a new tensor.")
def test_generate_zero_new_tokens(student):
    """max_new_tokens = 0 gives the prompt."""
    mine = probe(student, peaked_model, 14, 29)
    same_ids(student.generate(mine, prompt(14), 0), prompt(14), "generate(model, prompt, 0)")


@exercise(GENERATE, weight=3, hint="Draw with ONE torch.Generator().manual_seed(seed) made at the start: each step "
                                   "torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator) on the "
                                   "probabilities (not the logits), no other random numbers.")
def test_generate_sampling_stream(student, reference):
    """Plain sampling (T = 1) with seeds 0, 5 and 123: the reference's tokens."""
    for seed in (0, 5, 123):
        same_generation(student, reference, "generate", 15, (prompt(15), 12), dict(seed=seed), f"generate(..., seed={seed})")


@exercise(GENERATE, weight=2, hint="Divide the logits by the temperature (apply_temperature) before the softmax.")
def test_generate_temperature(student, reference):
    """Sampling at T = 0.3 and T = 3."""
    for T in (0.3, 3.0):
        same_generation(student, reference, "generate", 16, (prompt(16), 12), dict(temperature=T, seed=2),
                        f"generate(..., temperature={T}, seed=2)")


@exercise(GENERATE, weight=2, hint="Apply top_k_filter when top_k > 0 and top_p_filter when top_p < 1 before the softmax.")
def test_generate_top_k_and_top_p(student, reference):
    """top_k = 3 alone, top_p = 0.6 alone."""
    for options in (dict(top_k=3), dict(top_p=0.6)):
        same_generation(student, reference, "generate", 17, (prompt(17), 12), dict(options, seed=3),
                        f"generate(..., {', '.join(f'{k}={v}' for k, v in options.items())}, seed=3)")


@exercise(GENERATE, hint="Apply the processors in transformers' order: temperature, then top-k, then top-p.")
def test_generate_processor_order(student, reference):
    """temperature 2 with top_p 0.5, and all three together."""
    for options in (dict(temperature=2.0, top_p=0.5), dict(temperature=0.5, top_k=6, top_p=0.7)):
        same_generation(student, reference, "generate", 18, (prompt(18), 12), dict(options, seed=9),
                        f"generate(..., {', '.join(f'{k}={v}' for k, v in options.items())}, seed=9)")


@exercise(GENERATE, weight=2, hint="Seed a generator inside the call (torch.Generator().manual_seed(seed)) so that "
                                   "the same seed gives the same tokens whatever ran before.")
def test_generate_is_deterministic(student, reference):
    """The same call three times in a row, another seed in between: the same tokens each time."""
    mine, ref = twin_models(student, 19)
    ids = prompt(19)
    calls = [Case((mine, ids, 10), dict(seed=7)), Case((mine, ids, 10), dict(seed=8)), Case((mine, ids, 10), dict(seed=7))]
    results = [student.generate(*case.args, **case.kwargs).tolist() for case in calls]
    expect_proven(results[0] == results[2], f"generate(..., seed=7) gave {results[0]}, then {results[2]} after a call "
                                            "with seed=8: the result depends on earlier calls")
    with judged_only_if_right():
        expect_equal(results[0], reference.generate(ref, ids, 10, seed=7).tolist(), "generate(..., seed=7)")


def eos_of(reference, model, ids, steps, position, **options):
    """The token the reference generates at `position` (0-based; it may come earlier too): an end of sequence
    that is hit."""
    return reference.generate(model, ids, steps, **options)[len(ids) + position].item()


@exercise(GENERATE, weight=2, hint="Stop right after appending eos_id (check the new token, after torch.cat): the "
                                   "end-of-sequence token is kept in the output.")
def test_generate_stops_after_eos(student, reference):
    """Greedy and sampled runs with an end-of-sequence token that the run generates (at the 3rd step or before)."""
    for seed, options in ((20, dict(greedy=True)), (21, dict(seed=4)), (22, dict(temperature=0.7, top_k=5, seed=1))):
        mine, ref = twin_models(student, seed)
        eos = eos_of(reference, ref, prompt(seed), 15, 2, **options)
        same_ids(student.generate(mine, prompt(seed), 15, eos_id=eos, **options),
                 reference.generate(ref, prompt(seed), 15, eos_id=eos, **options), f"generate(..., eos_id={eos}, {options})")


@exercise(GENERATE, hint="eos_id=None never stops early: compare the new token with eos_id only when it is given.")
def test_generate_without_eos_runs_to_the_end(student, reference):
    """eos_id=None: 15 new tokens."""
    mine, _ = twin_models(student, 23)
    expect_equal(len(student.generate(mine, prompt(23), 15, eos_id=None, seed=2)), 19, "the length with eos_id=None")


@exercise(GENERATE, weight=2, broad=True, hint="Follow the four steps of the text exactly.")
def test_generate_matches_reference(student, reference):
    """10 configurations: vocabularies 29 and 41, greedy and sampled, options combined, with and without eos."""
    rng = random.Random(24)
    for i in range(10):
        vocab = rng.choice([29, 41])
        options = dict(temperature=rng.choice([1.0, 0.6, 1.4]), top_k=rng.choice([0, 1, 4, 50]), top_p=rng.choice([1.0, 0.8, 0.3]),
                       greedy=i % 4 == 0, seed=rng.randrange(1000))
        mine, ref = twin_models(student, 100 + i, vocab)
        ids = prompt(100 + i, rng.randint(1, 6), vocab)
        options["eos_id"] = eos_of(reference, ref, ids, 12, 3, **options) if i % 2 else None
        same_ids(student.generate(mine, ids, 12, **options), reference.generate(ref, ids, 12, **options),
                 f"generate(model of vocabulary {vocab}, prompt of length {len(ids)}, 12, {options})")


# beam_search ----------------------------------------------------------------------------------------

BEAM = "beam_search"


def beam_case(student, reference, seed, steps, beams, length_penalty, eos_position=None, vocab=29, length=3):
    """The learner's and the reference's beam search on the same model; eos: a token the reference's greedy
    run generates at eos_position."""
    mine, ref = twin_models(student, seed, vocab)
    ids = prompt(seed, length, vocab)
    eos = None if eos_position is None else eos_of(reference, ref, ids, steps, eos_position, greedy=True)
    what = f"beam_search(model {seed}, prompt {ids.tolist()}, {beams}, {steps}, length_penalty={length_penalty}, eos_id={eos})"
    same_ids(student.beam_search(mine, ids, beams, steps, length_penalty, eos),
             reference.beam_search(ref, ids, beams, steps, length_penalty, eos), what)


@exercise(BEAM, weight=2, hint="One beam with length_penalty 0 is greedy: the best of the 2 candidates of the one "
                               "running beam each step (log_softmax of the last position's logits).")
def test_beam_search_one_beam_is_greedy(student, reference):
    """num_beams = 1, length_penalty 0, no eos: the greedy tokens."""
    mine, ref = twin_models(student, 30)
    same_ids(student.beam_search(mine, prompt(30), 1, 8, 0.0, None),
             reference.generate(ref, prompt(30), 8, greedy=True), "beam_search(..., 1 beam, 8, 0.0) against greedy")


def beam_facts(beam_search, model, ids):
    """(Runs in the worker.) The result's type, dtype, dimensions and first tokens, and whether ids is unchanged."""
    import torch
    before = ids.clone()
    out = beam_search(model, ids, 3, 5, 1.0, None)
    return (type(out).__name__, str(getattr(out, "dtype", None)), getattr(out, "dim", lambda: None)(),
            out[:len(ids)].tolist() if isinstance(out, torch.Tensor) else None, torch.equal(ids, before))


@exercise(BEAM, hint="Return the best finished sequence as a 1-D torch.long tensor, prompt first; leave ids unchanged.")
def test_beam_search_output_layout(student):
    """A 1-D long tensor starting with the prompt; the prompt unchanged."""
    ids = prompt(31)
    facts = probe(student, beam_facts, student.beam_search, probe(student, peaked_model, 31, 29), ids)
    expect_equal(facts, ("Tensor", "torch.int64", 1, ids.tolist(), True),
                 "(type, dtype, dimensions, the first tokens, the prompt unchanged)")


@exercise(BEAM, weight=2, hint="A candidate's score is its beam's sum plus the token's F.log_softmax (log-probabilities, "
                               "not logits); keep the 2 * num_beams best (topk of the flattened (beams, vocab) "
                               "scores); an eos candidate finishes only if it is among the first num_beams of them.")
def test_beam_search_candidates(student, reference):
    """2 and 3 beams, length_penalty 0, models where an eos candidate below the first num_beams would win."""
    for seed, beams, eos_position in ((505, 2, 2), (508, 3, 2), (515, 2, 1)):
        beam_case(student, reference, seed, 8, beams, 0.0, eos_position=eos_position)


@exercise(BEAM, weight=2, hint="A candidate ending with eos_id finishes: move it to the finished sequences (the eos "
                               "kept) and do not extend it; the running beams are the best candidates that did not end.")
def test_beam_search_eos_finishes_a_beam(student, reference):
    """2 and 4 beams, length_penalty 0, an eos hit early."""
    for seed, beams in ((35, 2), (36, 4)):
        beam_case(student, reference, seed, 10, beams, 0.0, eos_position=1)


@exercise(BEAM, weight=2, hint="Stop once num_beams sequences have finished and the best running sum / t ** "
                               "length_penalty is <= the worst kept finished score (t: the generated tokens, the prompt not "
                               "counted); else run to max_new_tokens, where the first num_beams candidates finish.")
def test_beam_search_stops_early(student, reference):
    """2 and 3 beams, length_penalty 1 and 2, runs of 14 tokens with an eos, where stopping late changes the result."""
    for seed, beams, penalty, eos_position in ((303, 2, 2.0, 1), (305, 2, 1.0, 0), (309, 3, 2.0, 0), (301, 3, 1.0, 0)):
        beam_case(student, reference, seed, 14, beams, penalty, eos_position=eos_position)


@exercise(BEAM, weight=2, hint="A finished sequence scores sum_logprob / t ** length_penalty, t the number of "
                               "generated tokens (the end-of-sequence token included, the prompt not).")
def test_beam_search_length_penalty(student, reference):
    """3 beams with an eos, length_penalty 2, 1 and -0.5: sequences of different lengths compete."""
    for seed, penalty in ((32, 2.0), (33, -0.5), (34, 1.0)):
        beam_case(student, reference, seed, 10, 3, penalty, eos_position=2)


@exercise(BEAM, weight=3, broad=True, hint="Follow the five steps of the text exactly.")
def test_beam_search_matches_reference(student, reference):
    """12 configurations: beams 2 to 4, length penalties -0.5 to 2, with and without eos, vocabularies 29 and 41."""
    rng = random.Random(43)
    for i in range(12):
        beam_case(student, reference, 200 + i, rng.choice([4, 9]), rng.choice([2, 3, 4]), rng.choice([1.0, 0.0, 2.0, -0.5]),
                  eos_position=rng.choice([None, 0, 2]), vocab=rng.choice([29, 41]), length=rng.randint(1, 5))
