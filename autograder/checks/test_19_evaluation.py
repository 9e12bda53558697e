"""Hidden checks for 19-evaluation. Inputs differ from the visible checks: small random course models
(coursekit.models.LlamaForCausalLM, 2 layers, vocabularies of 23 and 37, float32 and float64, large weights so
that the log-probabilities are far apart) built in the worker by a probe from the same seed as the reference's
here; contexts of 1 to 9 tokens, continuations of 0 to 8, as lists and as tensors; choices with characters of
every Unicode plane (1 to 4 UTF-8 bytes), ties after each normalisation; texts with leading, trailing and only
whitespace; up to 3,000 bootstrap iterations; judgments in both orientations, with every verdict combination.
Log-likelihoods are compared to 1e-9 (float64 models) and 1e-5 (float32); perplexities and standard errors to
a relative 1e-12; accuracies and win rates exactly (NaN where NaN).

Every promise of the text and docstrings, and the check that exercises it:

choice_logprob
- the shift (logits at t - 1 score token t): test_logprob_shift
- only the continuation's tokens count: test_logprob_counts_only_the_continuation
- a sum over the continuation's tokens: test_logprob_sums_the_tokens
- float64 log_softmax (float32 logits): test_logprob_in_float64
- empty continuation 0.0: test_logprob_empty_continuation; empty context ValueError: test_logprob_empty_context
- lists of int and 1-D tensors: test_logprob_accepts_lists_and_tensors
- the ids unchanged: test_logprob_leaves_the_ids_unchanged
- a Python float: test_logprob_returns_a_float
- the model run once: test_logprob_runs_the_model_once
- many models, contexts and continuations: test_logprob_matches_reference
multiple_choice_metrics
- acc: the largest raw log-likelihood: test_mc_acc_is_the_raw_argmax
- acc_norm per character (not per token or byte): test_mc_acc_norm_divides_by_characters
- acc_bytes per UTF-8 byte: test_mc_acc_bytes_divides_by_bytes
- ties go to the first index, for each metric: test_mc_ties_go_to_the_first
- a dict of the three keys, values the floats 1.0 and 0.0: test_mc_returns_floats
- inputs unchanged, many questions with Unicode choices and ties: test_mc_matches_reference
perplexity_metrics
- weighted means (total over total), not the mean of ratios: test_ppl_weighted_not_averaged
- the word count len(re.split(r"\\s+", text)): test_ppl_counts_words_as_lm_eval
- UTF-8 bytes: test_ppl_counts_bytes
- bits per byte in base 2: test_ppl_bits_per_byte
- token perplexity from the token counts: test_ppl_token_perplexity
- Python floats, the four keys: test_ppl_returns_floats
- inputs unchanged, many corpora: test_ppl_matches_reference
bootstrap_stderr
- chunk c drawn by random.Random(c), chunks of min(1000, iterations): test_bootstrap_chunks
- iterations // chunk chunks, the remainder dropped: test_bootstrap_drops_the_remainder
- draws with replacement by rng.choices(values, k=len(values)): test_bootstrap_draws_with_choices
- the sample standard deviation (n - 1): test_bootstrap_sample_std
- a Python float: test_bootstrap_returns_a_float
- values unchanged, many inputs: test_bootstrap_matches_reference
win_rate_matrix
- a win only in both orders, else a tie: test_win_needs_both_orders
- a tie counts 0.5 each: test_win_tie_counts_half
- both orientations of a pair counted: test_win_counts_both_orientations
- NaN on the diagonal and for pairs that never met (no judgment at all included): test_win_nan_where_no_game
- a float64 tensor of shape (n, n): test_win_returns_float64
- judgments unchanged, many random tournaments: test_win_matches_reference
"""
import math
import random
import re

import torch

from autograder import generators
from autograder.checking import (Case, exercise, expect, expect_close, expect_equal, expect_proven,
                                 expect_same_as_reference, judged_only_if_right)
from autograder.remote import kind_of, observe, probe

TOL = {"float64": 1e-9, "float32": 1e-5}


def course_model(seed, vocab_size=23, dtype_name="float64"):
    """(Runs in the worker, and here.) A small random coursekit model with large weights, in eval mode."""
    import torch
    from coursekit.models import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() > 1:
                parameter.normal_(0.0, 0.4)
    return model.to(getattr(torch, dtype_name)).eval()


def counted_logprob(choice_logprob, seed, context, continuation):
    """(Runs in the worker.) choice_logprob on a model that counts its calls; (result, number of calls)."""
    import torch

    from coursekit.models import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=23, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32)
    inner = LlamaForCausalLM(config).double().eval()

    class Counted(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = inner
            self.calls = 0

        def forward(self, idx):
            self.calls += 1
            return self.inner(idx)

    model = Counted()
    result = choice_logprob(model, context, continuation)
    return float(result), model.calls


class Models:
    """The learner's model (built in the worker) and the reference's (built here) from one seed."""

    def __init__(self, student, seed, vocab_size=23, dtype_name="float64"):
        self.mine = probe(student, course_model, seed, vocab_size, dtype_name)
        self.ref = course_model(seed, vocab_size, dtype_name)
        self.label = f"model {seed} ({dtype_name}, vocabulary {vocab_size})"
        self.tol = TOL[dtype_name]


def token_logprobs(model, ids):
    """log P(ids[t] | ids[:t]) for t >= 1, from one forward pass, in float64."""
    with torch.no_grad():
        logprobs = model(torch.tensor([ids[:-1]]))[0][0].double().log_softmax(-1)
    return [logprobs[t - 1, ids[t]].item() for t in range(1, len(ids))]


def close_float(got, expected, what, tol):
    expect(isinstance(got, (int, float)) and not isinstance(got, bool),
           f"{what}: expected a Python float, got {kind_of(got)}: {got!r}")
    expect_close(float(got), expected, tol, what=what)


# choice_logprob -----------------------------------------------------------------------------------

LOGPROB = "choice_logprob"


@exercise(LOGPROB, weight=2, hint="The logits at position t - 1 score the token at position t: the first continuation "
                                  "token is scored by the logits at the LAST CONTEXT position (len(context) - 1), not "
                                  "by its own position, and each later token by the position just before it.")
def test_logprob_shift(student):
    """One continuation token: log_softmax of the last context position's logits at that token; then 3 tokens."""
    models = Models(student, 3)
    for context, continuation in (([4, 9, 1], [7]), ([12], [3]), ([2, 2], [17, 5, 17])):
        expected = sum(token_logprobs(models.ref, context + continuation)[-len(continuation):])
        close_float(student.choice_logprob(models.mine, context, continuation), expected,
                    f"choice_logprob({models.label}, {context}, {continuation})", models.tol)


@exercise(LOGPROB, hint="Add only the continuation's tokens: the log-probabilities of the context's own tokens are not "
                        "part of log P(continuation | context).")
def test_logprob_counts_only_the_continuation(student):
    """A context of 6 tokens and a continuation of 2: the sum of the last 2 token log-probabilities only."""
    models = Models(student, 4)
    ids = [5, 1, 18, 2, 2, 9, 14, 0]
    expected = sum(token_logprobs(models.ref, ids)[-2:])
    close_float(student.choice_logprob(models.mine, ids[:6], ids[6:]), expected,
                f"choice_logprob({models.label}, {ids[:6]}, {ids[6:]})", models.tol)


@exercise(LOGPROB, hint="Sum the log-probabilities of EVERY continuation token (not the mean, not only the first or "
                        "the last).")
def test_logprob_sums_the_tokens(student):
    """A continuation of 5 tokens: the sum of their 5 log-probabilities."""
    models = Models(student, 5)
    ids = [3, 3, 20, 11, 6, 1, 19]
    expected = sum(token_logprobs(models.ref, ids)[-5:])
    close_float(student.choice_logprob(models.mine, ids[:2], ids[2:]), expected,
                f"choice_logprob({models.label}, {ids[:2]}, {ids[2:]})", models.tol)


def position_model(table):
    """(Runs in the worker, and here.) A causal "model" whose float32 logits depend only on the position:
    row t of `table` (large values, so that a float32 log_softmax loses about 1e-5 per token)."""
    import torch

    class PositionModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("table", table.float())

        def forward(self, idx):
            return self.table[:idx.shape[1]][None].expand(idx.shape[0], -1, -1), None

    return PositionModel().eval()


@exercise(LOGPROB, hint="Convert the logits to float64 BEFORE log_softmax (logits.double().log_softmax(-1)); a float32 "
                        "log_softmax converted afterwards is off by about 1e-5 per token here.")
def test_logprob_in_float64(student, reference):
    """float32 logits of size ~300 (a model whose logits depend only on the position), 8 continuation tokens: the
    float64 log_softmax of these float32 logits, to 1e-9."""
    table = torch.randn(12, 37, generator=torch.Generator().manual_seed(24), dtype=torch.float64) * 300
    context, continuation = [30, 2, 17], [36, 5, 5, 21, 0, 33, 8, 12]
    expected = reference.choice_logprob(position_model(table), context, continuation)
    close_float(student.choice_logprob(probe(student, position_model, table), context, continuation), expected,
                f"choice_logprob(float32 logits of size ~300, {context}, {continuation})", 1e-9)


@exercise(LOGPROB, hint="An empty continuation has log-likelihood 0.0 (an empty sum): return 0.0 before running the "
                        "model, without indexing an empty tensor.")
def test_logprob_empty_continuation(student):
    """An empty continuation, as a list and as a tensor, after contexts of 3 tokens and of 1: 0.0."""
    models = Models(student, 7)
    for context in ([1, 2, 3], [5]):
        for continuation in ([], torch.tensor([], dtype=torch.long)):
            close_float(student.choice_logprob(models.mine, context, continuation), 0.0,
                        f"choice_logprob(model, {context}, {continuation!r})", 0.0)


@exercise(LOGPROB, hint="An empty context has no position whose logits could score the first token: raise ValueError.")
def test_logprob_empty_context(student):
    """An empty context raises ValueError."""
    import pytest
    models = Models(student, 8)
    with pytest.raises(ValueError):
        student.choice_logprob(models.mine, [], [1, 2])


@exercise(LOGPROB, hint="Accept lists of int and 1-D integer tensors alike: convert with [int(i) for i in ids] or "
                        "torch.as_tensor before concatenating.")
def test_logprob_accepts_lists_and_tensors(student):
    """The same ids as lists, as tensors, and mixed: the same log-likelihood."""
    models = Models(student, 9)
    context, continuation = [8, 0, 21], [4, 13]
    expected = sum(token_logprobs(models.ref, context + continuation)[-2:])
    for c, k in ((torch.tensor(context), torch.tensor(continuation)), (context, torch.tensor(continuation)),
                 (torch.tensor(context), continuation)):
        close_float(student.choice_logprob(models.mine, c, k), expected,
                    f"choice_logprob(model, {kind_of(c)} {context}, {kind_of(k)} {continuation})", models.tol)


@exercise(LOGPROB, hint="Leave the caller's ids as they were: build a new list (context + continuation) or a new "
                        "tensor, never context_ids.extend(...), append or an in-place tensor operation.")
def test_logprob_leaves_the_ids_unchanged(student):
    """The context and continuation lists and tensors are unchanged after the call."""
    models = Models(student, 17)
    context, continuation = [3, 14, 15], [9, 2, 6]
    expected = sum(token_logprobs(models.ref, context + continuation)[-3:])
    for c, k in ((list(context), list(continuation)), (torch.tensor(context), torch.tensor(continuation))):
        call = observe(student.choice_logprob, models.mine, c, k)
        expect_proven(not call.changed, f"choice_logprob(model, {kind_of(c)} {context}, {kind_of(k)} {continuation}) "
                                        f"changed its argument {(call.changed or [0])[0] + 1} in place")
        with judged_only_if_right():
            close_float(call.result, expected, f"choice_logprob(model, {context}, {continuation})", models.tol)


@exercise(LOGPROB, hint="Return a Python float (.item()), not a tensor.")
def test_logprob_returns_a_float(student):
    """The result is a float."""
    models = Models(student, 10)
    got = student.choice_logprob(models.mine, [1, 2], [3])
    expect(type(got) is float, f"choice_logprob should return a float, got {kind_of(got)}: {got!r}")


@exercise(LOGPROB, hint="Run the model once on the whole sequence (context + continuation, without its last token) "
                        "and read every continuation token's log-probability from that one pass.")
def test_logprob_runs_the_model_once(student):
    """A continuation of 6 tokens: one call of the model."""
    result, calls = probe(student, counted_logprob, student.choice_logprob, 11, [2, 7], [1, 9, 9, 4, 0, 16])
    expect_equal(calls, 1, "the number of model calls for a continuation of 6 tokens")


@exercise(LOGPROB, weight=2, broad=True, hint="Sum log_softmax(logits.double()) at the continuation tokens, reading "
                                               "each token at the position before it.")
def test_logprob_matches_reference(student, reference):
    """24 contexts and continuations on 4 models (float32 and float64, vocabularies 23 and 37)."""
    rng = random.Random(12)
    for seed, vocab, dtype in ((13, 23, "float64"), (14, 37, "float64"), (15, 23, "float32"), (16, 37, "float32")):
        models = Models(student, seed, vocab, dtype)
        cases = []
        for _ in range(6):
            context = [rng.randrange(vocab) for _ in range(rng.randint(1, 9))]
            continuation = [rng.randrange(vocab) for _ in range(rng.randint(0, 8))]
            if rng.random() < 0.3:
                continuation = torch.tensor(continuation, dtype=torch.long)
            cases.append(Case((context, continuation)))
        for case in cases:
            expected = reference.choice_logprob(models.ref, *case.args)
            close_float(student.choice_logprob(models.mine, *case.args), expected,
                        f"choice_logprob({models.label}, {case.args[0]}, {case.args[1]!r})", models.tol)


# multiple_choice_metrics --------------------------------------------------------------------------

MC = "multiple_choice_metrics"


def metrics(acc, norm, nbytes):
    return {"acc": acc, "acc_norm": norm, "acc_bytes": nbytes}


@exercise(MC, hint="acc picks the choice with the largest RAW log-likelihood, before any division.")
def test_mc_acc_is_the_raw_argmax(student):
    """Log-likelihoods -9, -3, -4 over choices of 9, 1 and 8 characters: acc picks choice 1."""
    choices = ["abcdefghi", "x", "abcdefgh"]
    got = [student.multiple_choice_metrics([-9.0, -3.0, -4.0], choices, gold)["acc"] for gold in range(3)]
    expect_equal(got, [0.0, 1.0, 0.0], "acc for gold = 0, 1, 2")


@exercise(MC, weight=2, hint="acc_norm divides by the number of CHARACTERS, len(choice) (not tokens, not "
                             "len(choice.encode('utf-8')) which is acc_bytes).")
def test_mc_acc_norm_divides_by_characters(student):
    """'ab' at -3.0, ' ééé' (4 characters, 7 bytes) at -5.4, ' cafe' at -5.0: per character choice 2, per byte 1."""
    got = student.multiple_choice_metrics([-3.0, -5.4, -5.0], ["ab", " ééé", " cafe"], 1)
    # per character: -1.5, -1.35, -1.0 -> 2; per byte: -1.5, -0.771, -1.0 -> 1
    expect_equal(got["acc_norm"], 0.0, "acc_norm (per character: -1.5, -1.35, -1.0, so choice 2)")
    got = student.multiple_choice_metrics([-3.0, -5.4, -5.0], ["ab", " ééé", " cafe"], 2)
    expect_equal(got["acc_norm"], 1.0, "acc_norm with gold 2 (per character: -1.5, -1.35, -1.0)")
    got = student.multiple_choice_metrics([-1.8, -3.0], [" a", "bcd"], 0)
    expect_equal(got["acc_norm"], 1.0, "acc_norm for ' a' at -1.8 (2 characters, the space counts) and 'bcd' at -3.0")


@exercise(MC, weight=2, hint="acc_bytes divides by the number of UTF-8 BYTES, len(choice.encode('utf-8')): 'é' is 2 "
                             "bytes, an emoji 4.")
def test_mc_acc_bytes_divides_by_bytes(student):
    """' ééé' (4 characters, 7 bytes) at -5.4, ' 😀' (2 and 5) at -4.0, ' cafe' at -5.0."""
    got = student.multiple_choice_metrics([-5.4, -4.0, -5.0], [" ééé", " 😀", " cafe"], 0)
    # per byte: -0.771, -0.8, -1.0 -> 0; per character: -1.35, -2.0, -1.0 -> 2
    expect_equal(got, metrics(0.0, 0.0, 1.0), "multiple_choice_metrics([-5.4, -4.0, -5.0], [' ééé', ' 😀', ' cafe'], 0)")


@exercise(MC, weight=2, hint="On a tie, pick the FIRST index with the largest score (numpy.argmax's rule): compare "
                             "with >, not >=, when scanning, and do not sort.")
def test_mc_ties_go_to_the_first(student):
    """Raw tie between 1 and 2; per-character tie between 0 and 2; per-byte tie: each is a miss for the later gold."""
    expect_equal(student.multiple_choice_metrics([-9.0, -2.0, -2.0], ["a", "bb", "cc"], 2)["acc"], 0.0,
                 "acc with a raw tie between choices 1 and 2, gold 2")
    expect_equal(student.multiple_choice_metrics([-2.0, -9.0, -4.0], ["ab", "c", "abcd"], 2)["acc_norm"], 0.0,
                 "acc_norm with a per-character tie (-1.0) between choices 0 and 2, gold 2")
    expect_equal(student.multiple_choice_metrics([-3.0, -6.0, -9.0], ["abc", "é", "abcdefghi"], 0)["acc_bytes"], 1.0,
                 "acc_bytes with a per-byte tie (-1.0 and -3.0, -1.0) between choices 0 and 2, gold 0")
    expect_equal(student.multiple_choice_metrics([-3.0, -6.0, -9.0], ["abc", "é", "abcdefghi"], 2)["acc_bytes"], 0.0,
                 "acc_bytes with a per-byte tie between choices 0 and 2, gold 2")


@exercise(MC, hint="Return a dict with exactly the keys 'acc', 'acc_norm', 'acc_bytes' and the floats 1.0 or 0.0 "
                   "(float(pick == gold)), not bools or ints.")
def test_mc_returns_floats(student):
    """The three keys, float values."""
    got = student.multiple_choice_metrics([-1.0, -2.0], ["a", "b"], 0)
    expect(type(got) is dict, f"expected a dict, got {kind_of(got)}")
    expect_equal(sorted(got), ["acc", "acc_bytes", "acc_norm"], "the keys")
    for key, value in got.items():
        expect(type(value) is float, f"{key}: expected a float, got {kind_of(value)}: {value!r}")


def mc_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        n = rng.randint(1, 6)
        choices = []
        while len(choices) < n:
            choice = generators.text(rng, 6)
            if choice:
                choices.append(choice)
        logprobs = [-round(rng.uniform(0, 30), rng.choice([0, 1, 3])) for _ in range(n)]
        if i % 3 == 0 and n > 1:  # a tie after one of the normalisations
            a, b = rng.sample(range(n), 2)
            kind = rng.choice(["raw", "chars", "bytes"])
            if kind == "raw":
                logprobs[b] = logprobs[a]
            elif kind == "chars":
                logprobs[b] = logprobs[a] / len(choices[a]) * len(choices[b])
            else:
                logprobs[b] = logprobs[a] / len(choices[a].encode("utf-8")) * len(choices[b].encode("utf-8"))
        cases.append(Case((logprobs, choices, rng.randrange(n))))
    return cases


@exercise(MC, weight=2, broad=True, hint="Compare raw, per-character and per-UTF-8-byte log-likelihoods; the first "
                                         "index wins ties; leave the lists unchanged.")
def test_mc_matches_reference(student, reference):
    """60 questions of 1 to 6 Unicode choices, ties after each normalisation."""
    expect_same_as_reference(student.multiple_choice_metrics, reference.multiple_choice_metrics, mc_cases(20, 60), MC)


# perplexity_metrics -------------------------------------------------------------------------------

PPL = "perplexity_metrics"


def close_metrics(got, expected, what):
    expect(type(got) is dict, f"{what}: expected a dict, got {kind_of(got)}")
    expect_equal(sorted(got), sorted(expected), f"{what}: the keys")
    for key in expected:
        expect(isinstance(got[key], (int, float)) and not isinstance(got[key], bool),
               f"{what}[{key!r}]: expected a float, got {kind_of(got[key])}")
        expect_close(float(got[key]), expected[key], 0.0, 1e-12, what=f"{what}[{key!r}]")


@exercise(PPL, weight=2, hint="Divide the TOTAL log-likelihood by the TOTAL count (a weighted mean, as lm-eval's "
                              "weighted_perplexity), not the mean of each document's ratio.")
def test_ppl_weighted_not_averaged(student):
    """Two documents of 1 and 3 tokens, log-likelihoods -4 and -2: token perplexity exp(6 / 4)."""
    got = student.perplexity_metrics([-4.0, -2.0], ["a", "bcd"], [1, 3])
    expect_close(got["token_perplexity"], math.exp(1.5), 0.0, 1e-12, what="token_perplexity")
    expect_close(got["byte_perplexity"], math.exp(1.5), 0.0, 1e-12, what="byte_perplexity (4 bytes)")


@exercise(PPL, weight=2, hint="Count words as lm-eval does: len(re.split(r'\\s+', text)), so leading or trailing "
                              "whitespace adds an empty word and an empty text counts 1 (not len(text.split())).")
def test_ppl_counts_words_as_lm_eval(student):
    """Texts ' a b', 'c\\n', '' and 'd  e\\tf': 3 + 2 + 1 + 3 = 9 words."""
    texts = [" a b", "c\n", "", "d  e\tf"]
    got = student.perplexity_metrics([-9.0, -9.0, -9.0, -9.0], texts, [1, 1, 1, 1])
    expect_close(got["word_perplexity"], math.exp(36 / 9), 0.0, 1e-12, what=f"word_perplexity of {texts}")


@exercise(PPL, hint="Count UTF-8 bytes, len(text.encode('utf-8')), not characters: 'é' is 2 bytes, '😀' 4.")
def test_ppl_counts_bytes(student):
    """'é😀' is 2 characters and 6 bytes."""
    got = student.perplexity_metrics([-6.0], ["é😀"], [2])
    expect_close(got["byte_perplexity"], math.e, 0.0, 1e-12, what="byte_perplexity of 'é😀' at log-likelihood -6")


@exercise(PPL, hint="bits_per_byte = -L / (bytes * ln 2): nats per byte divided by ln 2 (log base 2 of the byte "
                    "perplexity), positive.")
def test_ppl_bits_per_byte(student):
    """L = -10 over 5 bytes: 2 / ln 2 bits per byte."""
    got = student.perplexity_metrics([-10.0], ["hello"], [3])
    expect_close(got["bits_per_byte"], 2 / math.log(2), 0.0, 1e-12, what="bits_per_byte")


@exercise(PPL, hint="token_perplexity divides by the sum of token_counts, not by the bytes or the number of texts.")
def test_ppl_token_perplexity(student):
    """L = -12 over 4 tokens in 2 texts: exp(3)."""
    got = student.perplexity_metrics([-5.0, -7.0], ["abcdef", "gh"], [3, 1])
    expect_close(got["token_perplexity"], math.exp(3), 0.0, 1e-12, what="token_perplexity")


@exercise(PPL, hint="Return a dict with the keys token_perplexity, word_perplexity, byte_perplexity, bits_per_byte "
                    "and Python floats (math.exp), not tensors.")
def test_ppl_returns_floats(student):
    """The four keys, float values."""
    got = student.perplexity_metrics([-1.0], ["ab"], [1])
    expect(type(got) is dict, f"expected a dict, got {kind_of(got)}")
    expect_equal(sorted(got), ["bits_per_byte", "byte_perplexity", "token_perplexity", "word_perplexity"], "the keys")
    for key, value in got.items():
        expect(type(value) is float, f"{key}: expected a float, got {kind_of(value)}: {value!r}")


def ppl_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        n = rng.randint(1, 5)
        texts = [generators.text(rng, 10) for _ in range(n)]
        if not "".join(texts):
            texts[0] = "x"
        counts = [rng.randint(1, 12) for _ in range(n)]
        lls = [-rng.uniform(0.0, 40.0) for _ in range(n)]
        cases.append(Case((lls, texts, counts)))
    return cases


@exercise(PPL, weight=2, broad=True, hint="Total log-likelihood over total tokens, lm-eval words and UTF-8 bytes; "
                                          "bits per byte in base 2; leave the lists unchanged.")
def test_ppl_matches_reference(student, reference):
    """40 corpora of 1 to 5 Unicode texts with whitespace at the edges."""
    expect_same_as_reference(student.perplexity_metrics, reference.perplexity_metrics, ppl_cases(21, 40), PPL,
                             compare=close_metrics)


# bootstrap_stderr ---------------------------------------------------------------------------------

BOOT = "bootstrap_stderr"


def close_relative(got, expected, what):
    expect(isinstance(got, (int, float)) and not isinstance(got, bool), f"{what}: expected a float, got {kind_of(got)}")
    expect_close(float(got), expected, 1e-15, 1e-12, what=what)


@exercise(BOOT, weight=2, hint="Chunks of min(1000, iterations) draws, chunk c drawn by its own random.Random(c): "
                               "2,000 iterations are Random(0)'s 1,000 draws, then Random(1)'s 1,000.")
def test_bootstrap_chunks(student, reference):
    """2,000 iterations of 30 values: two chunks, Random(0) then Random(1)."""
    values = [float(i % 7) for i in range(30)]
    close_relative(student.bootstrap_stderr(values, 2000), reference.bootstrap_stderr(values, 2000),
                   "bootstrap_stderr(30 values, 2000)")


@exercise(BOOT, hint="Make iterations // chunk chunks of chunk draws: 2,500 iterations are 2 chunks of 1,000, the "
                     "last 500 dropped (lm-eval's rule).")
def test_bootstrap_drops_the_remainder(student, reference):
    """2,500 iterations: 2,000 draws."""
    values = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    close_relative(student.bootstrap_stderr(values, 2500), reference.bootstrap_stderr(values, 2000),
                   "bootstrap_stderr(7 values, 2500)")


@exercise(BOOT, weight=2, hint="Draw each resample with rng.choices(values, k=len(values)): with replacement, the "
                               "same generator calls as lm-eval (not rng.sample, randrange or numpy).")
def test_bootstrap_draws_with_choices(student):
    """[0, 1, 4], 2 draws: Random(0) draws [4, 4, 1] then [0, 1, 1]: means 3 and 2/3."""
    means = [3.0, 2 / 3]
    center = sum(means) / 2
    expected = math.sqrt(sum((m - center) ** 2 for m in means) / 1)
    close_relative(student.bootstrap_stderr([0.0, 1.0, 4.0], 2), expected, "bootstrap_stderr([0, 1, 4], 2)")


@exercise(BOOT, hint="The sample standard deviation divides by (number of draws - 1), not by the number of draws.")
def test_bootstrap_sample_std(student, reference):
    """10 draws: the n - 1 divisor changes the result by 5%."""
    values = [3.0, -1.0, 2.5, 0.0]
    close_relative(student.bootstrap_stderr(values, 10), reference.bootstrap_stderr(values, 10),
                   "bootstrap_stderr([3, -1, 2.5, 0], 10)")


@exercise(BOOT, hint="Return a Python float (math.sqrt), not a tensor or a numpy number.")
def test_bootstrap_returns_a_float(student):
    """The result is a float."""
    got = student.bootstrap_stderr([1.0, 2.0], 5)
    expect(type(got) is float, f"bootstrap_stderr should return a float, got {kind_of(got)}: {got!r}")


def boot_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        n = rng.choice([1, 2, 5, 13, 40])
        if rng.random() < 0.5:
            values = [float(rng.random() < 0.6) for _ in range(n)]
        else:
            values = [rng.uniform(-5, 5) for _ in range(n)]
        cases.append(Case((values, rng.choice([2, 3, 17, 999, 1000, 1001, 2999]))))
    return cases


@exercise(BOOT, weight=2, broad=True, hint="lm-eval's draws: chunks of min(1000, iterations), random.Random(c) per "
                                           "chunk, rng.choices(values, k=len(values)), then the sample std of the means.")
def test_bootstrap_matches_reference(student, reference):
    """16 inputs: 1 to 40 values, 0/1 and real, 2 to 2,999 iterations."""
    expect_same_as_reference(student.bootstrap_stderr, reference.bootstrap_stderr, boot_cases(22, 16), BOOT,
                             compare=close_relative)


# win_rate_matrix ----------------------------------------------------------------------------------

WIN = "win_rate_matrix"


def same_matrix(got, expected, what):
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
    expect_close(got, expected, 1e-12, what=what)


@exercise(WIN, weight=2, hint="i wins only when first == 'first' AND swapped == 'second' (preferred in both "
                              "positions); j only when first == 'second' and swapped == 'first'; anything else is a tie.")
def test_win_needs_both_orders(student):
    """Every combination of the two verdicts, one judgment each, models 0 and 1: W[0, 1]."""
    verdicts = ["first", "second", "tie"]
    expected = {("first", "second"): 1.0, ("second", "first"): 0.0}
    for first in verdicts:
        for swapped in verdicts:
            got = student.win_rate_matrix([(0, 1, first, swapped)], 2)
            expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
            expect_close(got[0, 1].item(), expected.get((first, swapped), 0.5), 1e-12,
                         what=f"W[0, 1] after one judgment (0, 1, {first!r}, {swapped!r})")


@exercise(WIN, hint="A tie (or an inconsistent pair of verdicts) gives 0.5 to EACH model, so it counts as a game for "
                    "both: W[a, b] = (wins + 0.5 ties) / games.")
def test_win_tie_counts_half(student):
    """Model 1 wins once over 2, then two ties: W[1, 2] = 2/3 and W[2, 1] = 1/3."""
    got = student.win_rate_matrix([(1, 2, "first", "second"), (1, 2, "tie", "tie"), (2, 1, "first", "first")], 3)
    expect_close(got[1, 2].item(), 2 / 3, 1e-12, what="W[1, 2]")
    expect_close(got[2, 1].item(), 1 / 3, 1e-12, what="W[2, 1]")


@exercise(WIN, weight=2, hint="A judgment (b, a, ...) is a game between a and b too: count it for W[a, b] and W[b, a], "
                              "with the winner read from b's side.")
def test_win_counts_both_orientations(student):
    """(0, 2, 0 wins), (2, 0, 2 wins), (2, 0, 2 wins): W[0, 2] = 1/3, W[2, 0] = 2/3."""
    got = student.win_rate_matrix([(0, 2, "first", "second"), (2, 0, "first", "second"), (2, 0, "first", "second")], 3)
    expect_close(got[0, 2].item(), 1 / 3, 1e-12, what="W[0, 2]")
    expect_close(got[2, 0].item(), 2 / 3, 1e-12, what="W[2, 0]")


@exercise(WIN, hint="Put NaN on the diagonal and where two models never met (0 games: 0 / 0), not 0 or 0.5.")
def test_win_nan_where_no_game(student):
    """4 models, games only between 0 and 3; and no judgment at all."""
    got = student.win_rate_matrix([(3, 0, "second", "first")], 4)
    nan = float("nan")
    expected = torch.full((4, 4), nan, dtype=torch.float64)
    expected[0, 3], expected[3, 0] = 1.0, 0.0
    same_matrix(got, expected, "win_rate_matrix([(3, 0, 'second', 'first')], 4)")
    same_matrix(student.win_rate_matrix([], 2), torch.full((2, 2), nan, dtype=torch.float64), "win_rate_matrix([], 2)")


@exercise(WIN, hint="Return a float64 tensor of shape (n_models, n_models): torch.zeros(n, n, dtype=torch.float64).")
def test_win_returns_float64(student):
    """A (3, 3) float64 tensor."""
    got = student.win_rate_matrix([(0, 1, "tie", "tie")], 3)
    expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
    expect_equal((tuple(got.shape), got.dtype), ((3, 3), torch.float64), "(shape, dtype)")


def win_cases(seed, count):
    rng = random.Random(seed)
    verdicts = ["first", "second", "tie"]
    cases = []
    for _ in range(count):
        n = rng.randint(1, 5)
        judgments = []
        if n > 1:
            for _ in range(rng.randint(0, 12)):
                i, j = rng.sample(range(n), 2)
                judgments.append((i, j, rng.choice(verdicts), rng.choice(verdicts)))
        cases.append(Case((judgments, n)))
    return cases


@exercise(WIN, weight=2, broad=True, hint="Consistent verdicts in both orders, ties 0.5, both orientations counted, "
                                          "NaN where no game; leave the list unchanged.")
def test_win_matches_reference(student, reference):
    """30 random tournaments of 1 to 5 models and 0 to 12 judgments."""
    expect_same_as_reference(student.win_rate_matrix, reference.win_rate_matrix, win_cases(23, 30), WIN,
                             compare=same_matrix)
