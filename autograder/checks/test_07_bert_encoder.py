"""Hidden checks for 07-bert-encoder. Inputs differ from the visible checks: batch 1, sequence length 1,
heads of size 1, 3 and 5, float64 modules (so that float64 tolerances of 1e-10 sit far below any real
bug), [PAD] anywhere in a sequence and pad ids that are also small ordinary numbers, masks of several
broadcastable shapes, and masking on up to 100,000 tokens. Modules are compared with the reference by
loading the reference's weights, with every LayerNorm perturbed away from 1 and 0 and every bias away
from 0, so that a misplaced norm or a missing bias shows.

Every exercise has a differential check (`expect_same_as_reference` over seeded inputs, smallest
first, with the guard that the call leaves its arguments unchanged and returns a new object). The
text's promises and the checks that test them:

padding_attention_mask
- bool, shape (B, 1, T, T): test_pam_shape_and_dtype
- key j allowed iff token j is not [PAD], for every query: ..._pad_keys_never_attended,
  ..._real_keys_always_attended
- [PAD] query rows attend to the real tokens like every other row: ..._pad_query_rows_see_real_keys
- not causal: ..._is_not_causal; [PAD] anywhere, only the id decides (pad_id any id, 0 a real token):
  ..._pad_anywhere_and_any_pad_id
- batch 1, T = 1, ids of any size: the differential ..._matches_reference_on_random_batches
- a new tensor, input unchanged: the differential's guard
BertEmbeddings
- the four submodules with Hugging Face's names and shapes: test_embeddings_parameters
- LayerNorm(word + position + token type): ..._match_reference, ..._matches_reference_on_random_configs
- token_type_ids=None is segment 0: ..._default_segment_is_zero; segments used: ..._use_segments
- positions arange(T): ..._use_positions; T = 1 and T = max_position_embeddings: ..._length_one_and_full
- eps = config.layer_norm_eps (1e-12): ..._layer_norm_eps
- no dropout: ..._train_mode_has_no_dropout; gradients: ..._gradients_match_reference;
  arguments unchanged: the differential's guard
BertLayer
- submodules and their order: test_layer_submodules_in_order, ..._parameters
- Post-LN: ..._zero_branches_give_two_layer_norms, ..._attention_sublayer_is_post_ln
- the FFN reads the stream after the first LayerNorm: ..._feed_forward_after_attention_norm
- exact (erf) GELU: ..._uses_exact_gelu; eps 1e-12: ..._layer_norm_eps
- mask passed to the attention (None = everywhere, any broadcastable shape): ..._passes_the_mask,
  ..._mask_none_attends_everywhere, ..._matches_reference_on_random_configs
- input unchanged: ..._leaves_its_input_unchanged; no dropout: ..._train_mode_has_no_dropout;
  gradients: ..._gradients_match_reference
mask_tokens
- the four draws in the stated order, each over the whole shape: test_mask_tokens_matches_reference_exactly,
  ..._draw_order, ..._matches_reference_on_random_batches (shapes 1x1 to 5x40, p 0 to 1, any specials)
- labels: the token where selected, -100 elsewhere: ..._labels_minus_100_elsewhere
- specials never selected: ..._never_selects_special_tokens
- 15% / 80 / 10 / 10 on 100,000 tokens: ..._selects_15_percent, ..._80_10_10
- int64 (B, T) results: ..._returns_int64; input unchanged: the differential's guard
- uses only `generator` (not the global RNG), each call independent: ..._uses_only_the_generator,
  ..._calls_are_independent
BertMLMHead
- dense, LayerNorm, decoder tied (no bias of its own), bias (vocab,) zeros: test_mlm_head_parameters,
  ..._decoder_is_tied, ..._bias_starts_at_zero
- decoder(LayerNorm(gelu(dense(h)))) + bias: ..._matches_reference, ..._order_dense_gelu_norm
- exact GELU: ..._uses_exact_gelu; eps: ..._layer_norm_eps
- any leading dimensions: ..._any_leading_dimensions (the differential)
- gradients, the tied weight included: ..._gradients_match_reference
BertClassificationHead
- dense (d, d) and classifier (num_labels, d) with biases: test_cls_head_parameters
- classifier(tanh(dense(h[:, 0]))): ..._matches_reference, ..._reads_position_zero_only, ..._uses_tanh
- batch 1, T = 1, any number of labels: ..._matches_reference_on_random_configs (the differential)
- gradients: ..._gradients_match_reference
"""
import random
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from autograder import generators
from autograder.checking import (CheckFailed, ProvenBug, exercise, expect, expect_close, expect_equal,
                                 expect_independent_calls, expect_proven, expect_same_as_reference,
                                 judged_only_if_right)
from autograder.remote import kind_of, observe, probe
from autograder.torch_checks import (Shown, child_names, expect_same_in_train_and_eval,
                                     expect_same_module_gradients, gen, randn)

ATOL = 1e-10


def config(namespace, **sizes):
    """namespace.BertConfig with small default sizes (heads of size 3), overridden by `sizes`."""
    fields = dict(vocab_size=23, pad_token_id=5, hidden_size=9, num_hidden_layers=1, num_attention_heads=3,
                  intermediate_size=14, max_position_embeddings=10, type_vocab_size=3)
    fields.update(sizes)
    return namespace.BertConfig(**fields)


def perturb(module, seed=0):
    """LayerNorm weights away from 1, biases away from 0 (LayerNorms and Linears), in place; returns module."""
    g = gen(seed)
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, torch.nn.LayerNorm):
                sub.weight.copy_(1 + 0.5 * torch.randn(sub.weight.shape, generator=g, dtype=sub.weight.dtype))
            bias = getattr(sub, "bias", None)
            if isinstance(bias, torch.nn.Parameter):
                bias.copy_(0.3 * torch.randn(bias.shape, generator=g, dtype=bias.dtype))
    return module


def build(namespace, name, cfg, extra):
    if name == "BertMLMHead":
        return namespace.BertMLMHead(cfg, namespace.BertEmbeddings(cfg).word_embeddings)
    return getattr(namespace, name)(cfg, *extra)


def pair(student, reference, name, sizes=None, seed=0, extra=()):
    """(student module, reference module) of class `name` with the same float64 weights, in eval mode."""
    torch.manual_seed(seed)
    ref = perturb(build(reference, name, config(reference, **(sizes or {})), extra).double(), seed)
    mine = build(student, name, config(student, **(sizes or {})), extra).double()
    mine.load_state_dict(dict(ref.state_dict()))
    return mine.eval(), ref.eval()


def load_both(state, *modules):
    """Load one (edited) state dict into the learner's module and the reference's."""
    for module in modules:
        module.load_state_dict(state)


def compared(mine, ref, *args, what="the output"):
    """The learner's module and the reference's on the same arguments, without gradients: the same result."""
    with torch.no_grad():
        same_values(mine(*args), ref(*args), what)


def shapes(module):
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}


def expect_same_parameters(student, reference, name):
    """The learner's module of class `name` has the reference's parameter names and shapes."""
    expected = shapes(build(reference, name, config(reference), ()))
    expect_equal(shapes(build(student, name, config(student), ())), expected, "the state_dict's names and shapes")


def ids(*shape, vocab=23, seed=0):
    return torch.randint(vocab, shape, generator=gen(seed))


def padded(lengths, T, pad_id=5, vocab=23, seed=0):
    """A batch of ids (len(lengths), T): row b has lengths[b] real tokens (never pad_id), then pad_id."""
    batch = ids(len(lengths), T, vocab=vocab, seed=seed)
    batch[batch == pad_id] = (pad_id + 1) % vocab
    for row, n in enumerate(lengths):
        batch[row, n:] = pad_id
    return batch


def key_mask(batch, pad_id):
    """The expected padding mask, built independently: key j allowed iff batch[b, j] != pad_id."""
    B, T = batch.shape
    return (batch != pad_id).view(B, 1, 1, T).repeat(1, 1, T, 1)


def same_values(got, expected, what):
    """A tensor with the reference's shape and dtype; floating values within 1e-10 (float64) or 2e-5
    (float32), integer and bool values exactly."""
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
    expect_equal(got.dtype, expected.dtype, f"{what}: the dtype")
    if expected.is_floating_point():
        expect_close(got, expected.detach(), ATOL if expected.dtype == torch.float64 else 2e-5, what=what)
    else:
        expect(torch.equal(got, expected), f"{what}: expected {expected.tolist()}, got {got.tolist()}")


def same_pair(got, expected, what):
    expect(isinstance(got, tuple) and len(got) == 2,
           f"{what}: expected a tuple (masked_ids, labels), got {kind_of(got)}")
    same_values(got[0], expected[0], f"{what}, masked_ids")
    same_values(got[1], expected[1], f"{what}, labels")


def expect_same_over_configs(student, reference, name, configs, seed, cases_for):
    """For each (sizes, extra constructor arguments) of `configs`: the learner's module against the reference's,
    with the same weights, over cases_for(rng, sizes), smallest input first."""
    rng = random.Random(seed)
    with torch.no_grad():
        for number, (sizes, extra) in enumerate(configs):
            mine, ref = pair(student, reference, name, sizes, seed + number, extra)
            shown = ", ".join(f"{k}={v}" for k, v in sizes.items())
            expect_same_as_reference(mine, ref, cases_for(rng, sizes), f"{name}({shown})", compare=same_values)


# padding_attention_mask ------------------------------------------------------------------------

PAM = "padding_attention_mask"


@exercise(PAM, hint="Return a torch.bool tensor of shape (B, 1, T, T): one row per query, one column per "
                    "key, and a dimension of 1 that broadcasts over the heads.", broad=True)
def test_pam_shape_and_dtype(student):
    """A bool tensor of shape (B, 1, T, T)."""
    mask = student.padding_attention_mask(padded([3, 5], 5), 5)
    expect(isinstance(mask, torch.Tensor), f"expected a tensor, got {kind_of(mask)}")
    expect_equal(mask.dtype, torch.bool, "the dtype")
    expect_equal(tuple(mask.shape), (2, 1, 5, 5), "the shape")


def as_grid(mask, B, T):
    return torch.as_tensor(mask).reshape(B, T, T) if torch.as_tensor(mask).numel() == B * T * T else None


@exercise(PAM, weight=2, hint="mask[b, 0, i, j] must be False wherever token j of sequence b is [PAD], for "
                              "EVERY query i: no token may attend to padding. Compare the ids with pad_id "
                              "(input_ids != pad_id), and index the KEYS (the last axis).")
def test_pam_pad_keys_never_attended(student):
    """Every column of a [PAD] key is False, for real and [PAD] queries alike."""
    batch = padded([2, 6, 4], 6)
    mask = student.padding_attention_mask(batch, 5)
    grid = as_grid(mask, 3, 6)
    expect(grid is not None, f"expected (3, 1, 6, 6), got shape {tuple(torch.as_tensor(mask).shape)}")
    pad_keys = (batch == 5)[:, None, :].expand(3, 6, 6)
    expect_equal(grid[pad_keys].any().item(), False, "some entry of a [PAD] key's column is True;")


@exercise(PAM, weight=2, hint="Real keys are always allowed: mask[b, 0, i, j] is True wherever token j is not "
                              "[PAD]. True means 'may attend' (as in F.scaled_dot_product_attention), not "
                              "'masked out'.")
def test_pam_real_keys_always_attended(student):
    """Every column of a real key is True, for every query of a sequence with real queries."""
    batch = padded([2, 6, 4], 6)
    grid = as_grid(student.padding_attention_mask(batch, 5), 3, 6)
    expect(grid is not None, "the mask does not have B * T * T entries")
    real = ~(batch == 5)
    expect_equal(grid[:, :2][real[:, None, :].expand(3, 2, 6)].all().item(), True,
                 "every real key's entry in the rows of real queries is True:")


@exercise(PAM, weight=2, hint="The text: [PAD] QUERY rows attend to the real tokens like every other row (only "
                              "keys are masked). Masking the [PAD] rows too (a mask that is real(i) AND real(j)) "
                              "leaves them without any key: their softmax is 0/0 = NaN.")
def test_pam_pad_query_rows_see_real_keys(student):
    """The row of a [PAD] query equals the row of a real query: True at every real key."""
    batch = padded([2, 4], 5)
    grid = as_grid(student.padding_attention_mask(batch, 5), 2, 5)
    expect(grid is not None, "the mask does not have B * T * T entries")
    expect_equal(grid[0, 4].tolist(), [True, True, False, False, False], "the row of query 4 (a [PAD]) of sequence 0")
    expect_equal(grid[1, 4].tolist(), [True, True, True, True, False], "the row of query 4 (a [PAD]) of sequence 1")


@exercise(PAM, weight=2, hint="An encoder is bidirectional: no causal mask. Query i may attend to every real key, "
                              "before and after it.")
def test_pam_is_not_causal(student):
    """Without padding, the mask is all True (no causal triangle)."""
    batch = padded([6], 6)
    expect_equal(torch.as_tensor(student.padding_attention_mask(batch, 5)).all().item(), True,
                 "a batch without [PAD] allows every (query, key) pair:")


@exercise(PAM, weight=2, hint="Only the id decides: compare input_ids with the pad_id ARGUMENT (not 0, not a "
                              "length). [PAD] may sit in the middle or at the start, and 0 may be a real token.")
def test_pam_pad_anywhere_and_any_pad_id(student, reference):
    """pad_id 0, 7 and 4099 with [PAD] at the start, in the middle and at the end; 0 as a real token."""
    batch = torch.tensor([[7, 0, 7, 3, 7], [1, 2, 0, 0, 7]])
    for pad_id in (7, 0):
        same_values(student.padding_attention_mask(batch, pad_id), key_mask(batch, pad_id),
                    f"padding_attention_mask({batch.tolist()}, {pad_id})")
    big = torch.tensor([[4097, 12, 4098, 4099, 4099]])
    same_values(student.padding_attention_mask(big, 4099), key_mask(big, 4099),
                f"padding_attention_mask({big.tolist()}, 4099)")


def pam_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        B, T = rng.randint(1, 3), rng.randint(1, 9)
        pad_id = rng.choice([0, 1, 5, 4096, 99_999])
        rows = []
        for _ in range(B):
            row = [rng.choice(generators.token_ids(rng, 1, 100_000) or [3]) for _ in range(T)]
            row = [t if t != pad_id else pad_id + 1 for t in row]
            keep = rng.randint(1, T)
            row = row[:keep] + [pad_id] * (T - keep)
            if rng.random() < 0.3:
                rng.shuffle(row)
            rows.append(row)
        batch = torch.tensor(rows)
        cases.append(Shown((batch, pad_id), {}, f"(input_ids {rows}, {pad_id})"))
    return cases


@exercise(PAM, weight=3, hint="mask[b, 0, i, j] = (input_ids[b, j] != pad_id) for every i: shape (B, 1, T, T), "
                              "bool, for batch 1, T = 1, ids of any size, [PAD] anywhere; input_ids left "
                              "unchanged and a new tensor returned.", broad=True)
def test_pam_matches_reference_on_random_batches(student, reference):
    """30 seeded batches (B 1-3, T 1-9, pad ids 0 to 99,999, [PAD] anywhere): the reference's mask."""
    expect_same_as_reference(student.padding_attention_mask, reference.padding_attention_mask, pam_cases(700, 30),
                             PAM, compare=same_values)


# BertEmbeddings ---------------------------------------------------------------------------------

EMB = "BertEmbeddings"


@exercise(EMB, hint="word_embeddings (vocab_size, d), position_embeddings (max_position_embeddings, d), "
                    "token_type_embeddings (type_vocab_size, d), LayerNorm (d,): Hugging Face's names.")
def test_embeddings_parameters(student, reference):
    """The reference's parameter names and shapes."""
    expect_same_parameters(student, reference, EMB)


@exercise(EMB, weight=3, hint="LayerNorm(word_embeddings(ids) + position_embeddings(arange(T)) + "
                              "token_type_embeddings(token_type_ids)), the LayerNorm AFTER the sum.", broad=True)
def test_embeddings_match_reference(student, reference):
    """Random ids and segments, batch 2: the reference's vectors."""
    mine, ref = pair(student, reference, EMB)
    batch, types = ids(2, 7, seed=1), ids(2, 7, vocab=3, seed=2)
    compared(mine, ref, batch, types, what="BertEmbeddings(ids, token_type_ids)")


@exercise(EMB, weight=2, hint="token_type_ids=None means segment 0 everywhere: torch.zeros_like(input_ids), "
                              "not ones, and not leaving the segment embedding out.")
def test_embeddings_default_segment_is_zero(student, reference):
    """token_type_ids=None gives the vectors of segment 0 everywhere."""
    mine, ref = pair(student, reference, EMB, seed=3)
    batch = ids(2, 5, seed=3)
    with torch.no_grad():
        same_values(mine(batch), ref(batch, torch.zeros_like(batch)), "BertEmbeddings(ids)")


@exercise(EMB, weight=2, hint="Add token_type_embeddings(token_type_ids): tokens of segment 1 and 2 get other "
                              "vectors than those of segment 0.")
def test_embeddings_use_segments(student, reference):
    """The same ids with segments 0, 1 and 2: the reference's (different) vectors."""
    mine, ref = pair(student, reference, EMB, seed=4)
    batch = torch.full((1, 6), 3)
    types = torch.tensor([[0, 0, 1, 1, 2, 2]])
    compared(mine, ref, batch, types, what="BertEmbeddings(a repeated id, segments 0, 1, 2)")


@exercise(EMB, weight=2, hint="Add position_embeddings(torch.arange(T)): without it a repeated token gets the "
                              "same vector at every position.")
def test_embeddings_use_positions(student, reference):
    """One id repeated in one segment: the vectors differ by position as in the reference."""
    mine, ref = pair(student, reference, EMB, seed=5)
    batch = torch.full((2, 8), 11)
    with torch.no_grad():
        same_values(mine(batch, torch.zeros_like(batch)), ref(batch, torch.zeros_like(batch)),
                    "BertEmbeddings(a repeated id)")


@exercise(EMB, hint="T = 1 and T = max_position_embeddings both work: positions are torch.arange(T) with T "
                    "from input_ids.shape[1], never max_position_embeddings.", broad=True)
def test_embeddings_length_one_and_full(student, reference):
    """Batch 1 with T = 1, and T = max_position_embeddings: the reference's vectors."""
    mine, ref = pair(student, reference, EMB, seed=6)
    with torch.no_grad():
        for T in (1, 10):
            batch, types = ids(1, T, seed=6 + T), ids(1, T, vocab=3, seed=7 + T)
            same_values(mine(batch, types), ref(batch, types), f"BertEmbeddings(ids of shape (1, {T}))")


@exercise(EMB, weight=2, hint="BERT's LayerNorm epsilon is config.layer_norm_eps (1e-12): "
                              "nn.LayerNorm(d, eps=config.layer_norm_eps). PyTorch's default 1e-5 shows on "
                              "vectors of small variance.")
def test_embeddings_layer_norm_eps(student, reference):
    """Embedding sums of variance about 1e-6 (where eps matters), eps 1e-12 and 1e-7 from the config."""
    for eps in (1e-12, 1e-7):
        mine, ref = pair(student, reference, EMB, dict(layer_norm_eps=eps), seed=8)
        state = dict(ref.state_dict())
        state["word_embeddings.weight"] = 2 + 1e-3 * randn(23, 9, seed=9)
        state["position_embeddings.weight"] = torch.zeros(10, 9, dtype=torch.float64)
        state["token_type_embeddings.weight"] = torch.zeros(3, 9, dtype=torch.float64)
        load_both(state, mine, ref)
        batch = ids(2, 4, seed=10)
        compared(mine, ref, batch, what=f"BertEmbeddings with layer_norm_eps={eps:g}")


def embedding_cases(rng, vocab, max_len, types, count):
    cases = []
    for _ in range(count):
        B, T = rng.randint(1, 3), rng.randint(1, max_len)
        batch = torch.randint(vocab, (B, T), generator=gen(rng.randrange(1 << 30)))
        if rng.random() < 0.4:
            cases.append(Shown((batch,), {}, f"(input_ids of shape {(B, T)})"))
        else:
            segments = torch.randint(types, (B, T), generator=gen(rng.randrange(1 << 30)))
            cases.append(Shown((batch, segments), {}, f"(input_ids of shape {(B, T)}, token_type_ids)"))
    return cases


@exercise(EMB, weight=3, hint="LayerNorm(word + position + token type) for vocabularies up to 4,100, one to "
                              "three segments, T = 1 ... max_position_embeddings, batch 1 to 3, with and "
                              "without token_type_ids; the ids left unchanged.", broad=True)
def test_embeddings_matches_reference_on_random_configs(student, reference):
    """Three configs, 6 inputs each: the reference's vectors, smallest input first."""
    configs = [dict(vocab_size=7, hidden_size=1, max_position_embeddings=3, type_vocab_size=1),
               dict(vocab_size=4100, hidden_size=6, max_position_embeddings=12, type_vocab_size=2),
               dict(vocab_size=50, hidden_size=5, max_position_embeddings=6, type_vocab_size=3)]
    expect_same_over_configs(student, reference, EMB, [(sizes, ()) for sizes in configs], 710, lambda rng, sizes:
                             embedding_cases(rng, sizes["vocab_size"], sizes["max_position_embeddings"],
                                             sizes["type_vocab_size"], 6))


@exercise(EMB, weight=2, hint="No dropout anywhere (the text): in train mode too the vectors must be the "
                              "reference's. Remove nn.Dropout.")
def test_embeddings_train_mode_has_no_dropout(student, reference):
    """In train mode, the vectors are what eval mode gives (no dropout)."""
    mine, ref = pair(student, reference, EMB, seed=11)
    expect_same_in_train_and_eval(mine, ref, embedding_cases(random.Random(11), 23, 10, 3, 3),
                                  "BertEmbeddings", compare=same_values)


@exercise(EMB, weight=2, hint="Gradients must reach the three embedding tables and the LayerNorm: no .detach(), "
                              "no torch.no_grad(), no .data.", broad=True)
def test_embeddings_gradients_match_reference(student, reference):
    """The gradients of every parameter equal the reference's."""
    mine, ref = pair(student, reference, EMB, seed=12)
    expect_same_module_gradients(student, mine, ref, [ids(2, 6, seed=12), ids(2, 6, vocab=3, seed=13)],
                    randn(2, 6, 9, seed=14), "BertEmbeddings")


# BertLayer --------------------------------------------------------------------------------------

LAYER = "BertLayer"


@exercise(LAYER, hint="Submodules attention = SelfAttention(config), attention_norm, intermediate (d -> "
                      "intermediate_size), output (intermediate_size -> d), output_norm, with these names.")
def test_layer_parameters(student, reference):
    """The reference's parameter names and shapes."""
    expect_same_parameters(student, reference, LAYER)


@exercise(LAYER, hint="Declare the submodules in the text's order: attention, attention_norm, intermediate, "
                      "output, output_norm.")
def test_layer_submodules_in_order(student):
    """named_children() gives attention, attention_norm, intermediate, output, output_norm in this order."""
    names = probe(student, child_names, student.BertLayer(config(student)))
    expect_equal(names, ["attention", "attention_norm", "intermediate", "output", "output_norm"],
                 "the submodules, in order")


def zeroed(state, *linears):
    """The state dict with the weight and bias of each named Linear replaced by zeros."""
    for name in (f"{linear}.{part}" for linear in linears for part in ("weight", "bias")):
        state[name] = torch.zeros_like(state[name])
    return state


def silenced(student, reference, seed, *linears):
    """A BertLayer pair (learner's, reference's) whose named Linears output zero."""
    mine, ref = pair(student, reference, LAYER, seed=seed)
    load_both(zeroed(dict(ref.state_dict()), *linears), mine, ref)
    return mine, ref


def norm(x, layer_norm, eps=1e-12):
    return F.layer_norm(x, x.shape[-1:], layer_norm.weight, layer_norm.bias, eps)


@exercise(LAYER, weight=3, hint="BERT is Post-LN: the LayerNorm comes AFTER each residual addition, "
                                "x = attention_norm(x + attention(x, mask)), then x = output_norm(x + ffn(x)). "
                                "Pre-LN (x + attention(LN(x)), GPT-2) leaves the stream un-normalised.")
def test_layer_zero_branches_give_two_layer_norms(student, reference):
    """With both branches silenced, the layer returns output_norm(attention_norm(x)) (Post-LN)."""
    mine, ref = silenced(student, reference, 20, "attention.dense", "output")
    x = 3 + 2 * randn(2, 4, 9, seed=20)
    with torch.no_grad():
        same_values(mine(x), norm(norm(x, ref.attention_norm), ref.output_norm), "the output")


@exercise(LAYER, weight=2, hint="The attention sub-layer: x = attention_norm(x + attention(x, mask)): the "
                                "attention reads x itself (no LayerNorm before it), its output is added to x, "
                                "then normalised.")
def test_layer_attention_sublayer_is_post_ln(student, reference):
    """With the feed-forward branch silenced: output_norm(attention_norm(x + attention(x)))."""
    mine, ref = silenced(student, reference, 21, "output")
    x = randn(2, 5, 9, seed=21)
    with torch.no_grad():
        expected = norm(norm(x + ref.attention(x), ref.attention_norm), ref.output_norm)
        same_values(mine(x), expected, "the output")


@exercise(LAYER, weight=2, hint="The feed-forward branch reads the stream AFTER attention_norm: "
                                "h = attention_norm(x + attention(x)); out = output_norm(h + output(gelu("
                                "intermediate(h)))). The residual adds h, not the layer's input.")
def test_layer_feed_forward_after_attention_norm(student, reference):
    """With the attention silenced: output_norm(h + output(gelu(intermediate(h)))), h = attention_norm(x)."""
    mine, ref = silenced(student, reference, 22, "attention.dense")
    x = randn(2, 5, 9, seed=22)
    with torch.no_grad():
        h = norm(x, ref.attention_norm)
        same_values(mine(x), norm(h + ref.output(F.gelu(ref.intermediate(h))), ref.output_norm), "the output")


@exercise(LAYER, weight=2, hint="BERT's GELU is the exact one, x * Phi(x) with the normal CDF: F.gelu(h) (erf). "
                                "The tanh approximation (GPT-2's), ReLU or a hand-written GELU with rounded "
                                "constants give other values.")
def test_layer_uses_exact_gelu(student, reference):
    """Pre-activations spread over [-4, 4]: the reference's output with the exact (erf) GELU."""
    mine, ref = pair(student, reference, LAYER, seed=23)
    state = dict(ref.state_dict())
    state["intermediate.weight"] = 3 * state["intermediate.weight"]
    load_both(state, mine, ref)
    x = randn(2, 5, 9, seed=23)
    compared(mine, ref, x, what="the output")


@exercise(LAYER, weight=2, hint="Both LayerNorms use eps=config.layer_norm_eps (BERT's 1e-12), not PyTorch's "
                                "default 1e-5: nn.LayerNorm(d, eps=config.layer_norm_eps).")
def test_layer_layer_norm_eps(student, reference):
    """Inputs of variance about 1e-6 with silenced branches, eps 1e-12 and 1e-7 from the config."""
    for eps in (1e-12, 1e-7):
        mine, ref = pair(student, reference, LAYER, dict(layer_norm_eps=eps), seed=24)
        state = zeroed(dict(ref.state_dict()), "attention.dense", "output")
        for name in ("attention_norm", "output_norm"):
            state[f"{name}.weight"] = 1e-3 * state[f"{name}.weight"]
        load_both(state, mine, ref)
        x = 2 + 1e-3 * randn(2, 4, 9, seed=25)
        compared(mine, ref, x, what=f"the output with layer_norm_eps={eps:g}")


@exercise(LAYER, weight=3, hint="Pass the mask on: self.attention(x, mask). Without it the real positions "
                                "attend to the [PAD] keys.")
def test_layer_passes_the_mask(student, reference):
    """A (B, 1, T, T) padding mask: the reference's output, which changing a [PAD] position does not move."""
    mine, ref = pair(student, reference, LAYER, seed=26)
    batch = padded([3, 6], 6)
    mask = key_mask(batch, 5)
    x = randn(2, 6, 9, seed=26)
    compared(mine, ref, x, mask, what="the output with a padding mask")


@exercise(LAYER, hint="mask=None means 'attend everywhere': the default must work.")
def test_layer_mask_none_attends_everywhere(student, reference):
    """mask=None (the default) gives the reference's output without a mask."""
    mine, ref = pair(student, reference, LAYER, seed=27)
    x = randn(1, 4, 9, seed=27)
    compared(mine, ref, x, what="BertLayer(x)")


def layer_cases(rng, d, max_len, count):
    cases = []
    for _ in range(count):
        B, T = rng.randint(1, 3), rng.randint(1, max_len)
        x = generators.tensor(rng, (B, T, d), torch.float64)
        kind = rng.choice(["none", "full", "keys"])
        lengths = [rng.randint(1, T) for _ in range(B)]
        mask = {"none": None, "full": key_mask(padded(lengths, T), 5),
                "keys": key_mask(padded(lengths, T), 5)[:, :, :1, :]}[kind]
        shown = "None" if mask is None else str(tuple(mask.shape))
        cases.append(Shown((x, mask), {}, f"(x of shape {(B, T, d)}, mask {shown})"))
    return cases


@exercise(LAYER, weight=3, hint="Post-LN with the exact GELU and eps = config.layer_norm_eps, the mask passed to "
                                "the attention, for heads of size 1 to 5, T = 1 ... 7, batch 1 to 3, masks "
                                "(B, 1, T, T), (B, 1, 1, T) or None; x left unchanged.", broad=True)
def test_layer_matches_reference_on_random_configs(student, reference):
    """Four configs (heads of size 1 to 5), random shapes and masks: the reference's output, smallest first."""
    configs = [dict(hidden_size=4, num_attention_heads=4, intermediate_size=3),
               dict(hidden_size=5, num_attention_heads=1, intermediate_size=20),
               dict(hidden_size=6, num_attention_heads=2, intermediate_size=7),
               dict(hidden_size=10, num_attention_heads=2, intermediate_size=16, layer_norm_eps=1e-6)]
    expect_same_over_configs(student, reference, LAYER, [(sizes, ()) for sizes in configs], 720,
                             lambda rng, sizes: layer_cases(rng, sizes["hidden_size"], 7, 4))


@exercise(LAYER, weight=2, hint="Write x = attention_norm(x + ...), never x += ...: an in-place addition changes "
                                "the caller's tensor.")
def test_layer_leaves_its_input_unchanged(student, reference):
    """The layer changes neither x nor the mask, and returns a new tensor."""
    mine, ref = pair(student, reference, LAYER, seed=28)
    x, mask = randn(2, 4, 9, seed=28), key_mask(padded([2, 4], 4), 5)
    call = observe(mine, x, mask)
    expect_proven(not call.changed, "the layer changed its argument x or mask in place; leave them as they were")
    expect_proven(call.returned_argument is None, "the layer returned its input x itself; return a new tensor")
    with judged_only_if_right():
        same_values(call.result, ref(x, mask), "the layer's output")


@exercise(LAYER, weight=2, hint="No dropout anywhere (the text): in train mode too the output must be the "
                                "reference's. Remove nn.Dropout.")
def test_layer_train_mode_has_no_dropout(student, reference):
    """In train mode, the output is what eval mode gives (no dropout)."""
    mine, ref = pair(student, reference, LAYER, seed=29)
    expect_same_in_train_and_eval(mine, ref, layer_cases(random.Random(29), 9, 5, 3),
                                  "BertLayer", compare=same_values)


@exercise(LAYER, weight=2, hint="Training backpropagates through the layer: no .detach(), no in-place change of "
                                "a tensor autograd still needs (x += ... before a LayerNorm).", broad=True)
def test_layer_gradients_match_reference(student, reference):
    """The gradients of x and of every parameter equal the reference's."""
    mine, ref = pair(student, reference, LAYER, seed=30)
    expect_same_module_gradients(student, mine, ref, [randn(2, 4, 9, seed=30), key_mask(padded([2, 4], 4), 5)],
                    randn(2, 4, 9, seed=31), "BertLayer")


# mask_tokens ------------------------------------------------------------------------------------

MASK = "mask_tokens"
SPECIALS = [4096, 4097, 4098, 4099]


def seeded(mask_tokens):
    """(Runs in the worker, and here for the reference.) mask_tokens with a fresh generator made from a seed:
    f(input_ids, special_ids, mask_id, vocab_size, seed, mlm_probability)."""
    import torch

    def masked(input_ids, special_ids, mask_id, vocab_size, seed, mlm_probability=0.15):
        generator = torch.Generator().manual_seed(seed)
        return mask_tokens(input_ids, special_ids, mask_id, vocab_size, generator, mlm_probability)
    return masked


def text_ids(B, T, seed, vocab=4096, specials=True):
    """(B, T) ids below vocab, with [CLS] first, [SEP] last and some [PAD]s at the end when `specials`."""
    batch = torch.randint(vocab, (B, T), generator=gen(seed))
    if specials and T >= 3:
        batch[:, 0], batch[:, -1] = 4097, 4098
        batch[0, T // 2:] = 4096
    return batch


@exercise(MASK, weight=3, hint="Make exactly the four draws of the text from `generator`, in this order, each "
                               "over the WHOLE (B, T) shape: bernoulli(p) (float32, 0 at special ids), "
                               "bernoulli(0.8), bernoulli(0.5), randint(vocab_size). Drawing only at the "
                               "selected positions, in another order, or with other probabilities changes "
                               "every later draw.", broad=True)
def test_mask_tokens_matches_reference_exactly(student, reference):
    """A batch of (8, 40) ids with specials, seed 0: the reference's masked ids and labels, exactly."""
    batch = text_ids(8, 40, seed=40)
    got = probe(student, seeded, student.mask_tokens)(batch, SPECIALS, 4099, 4096, 0)
    same_pair(got, seeded(reference.mask_tokens)(batch, SPECIALS, 4099, 4096, 0), "mask_tokens(8 x 40 ids, seed 0)")


def selection_facts(masked, labels, input_ids, mask_id):
    """Counts of: selected; selected -> [MASK]; selected -> another id; selected and unchanged."""
    selected = labels != -100
    return (int(selected.sum()), int((selected & (masked == mask_id)).sum()),
            int((selected & (masked != mask_id) & (masked != input_ids)).sum()),
            int((selected & (masked == input_ids)).sum()))


@exercise(MASK, weight=2, hint="Select each non-special token with probability mlm_probability (15%): "
                               "torch.bernoulli of a float32 tensor full of mlm_probability, with 0 at special ids.")
def test_mask_tokens_selects_15_percent(student):
    """On 100,000 text tokens, 14.5% to 15.5% are selected (labels not -100)."""
    batch = text_ids(200, 500, seed=41, specials=False)
    _, labels = probe(student, seeded, student.mask_tokens)(batch, SPECIALS, 4099, 4096, 1)
    share = float((torch.as_tensor(labels) != -100).double().mean())
    expect(0.145 < share < 0.155, f"{share:.2%} of 100,000 tokens were selected, expected about 15%")


@exercise(MASK, weight=3, hint="Of the selected tokens, 80% become [MASK], 10% a random id, 10% stay: "
                               "to_mask = bernoulli(0.8) & selected, then to_random = bernoulli(0.5) & selected "
                               "& ~to_mask (half of the remaining 20%). bernoulli(0.1) there gives only 2%; "
                               "swapping 0.8 and 0.1 gives 10/10/80.")
def test_mask_tokens_80_10_10(student):
    """Of ~15,000 selected tokens: 78-82% [MASK], 9-11% another id, 9-11% unchanged."""
    batch = text_ids(200, 500, seed=42, specials=False)
    masked, labels = probe(student, seeded, student.mask_tokens)(batch, SPECIALS, 4099, 4096, 2)
    selected, to_mask, other, kept = selection_facts(torch.as_tensor(masked), torch.as_tensor(labels), batch, 4099)
    expect(selected > 1000, f"only {selected} tokens selected")
    shares = [to_mask / selected, other / selected, kept / selected]
    expect(0.78 < shares[0] < 0.82 and 0.09 < shares[1] < 0.11 and 0.09 < shares[2] < 0.11,
           f"of {selected} selected tokens: {shares[0]:.1%} [MASK], {shares[1]:.1%} another id, {shares[2]:.1%} "
           "unchanged; expected 80% / 10% / 10%")


@exercise(MASK, weight=2, hint="Labels are the ORIGINAL token where selected and -100 everywhere else "
                               "(F.cross_entropy's ignore_index): not 0, not the token, not the masked id.")
def test_mask_tokens_labels_minus_100_elsewhere(student):
    """labels == input_ids where selected (masked or not), -100 elsewhere; unselected inputs unchanged."""
    batch = text_ids(4, 30, seed=43)
    masked, labels = (torch.as_tensor(t) for t in probe(student, seeded, student.mask_tokens)(
        batch, SPECIALS, 4099, 4096, 3, 0.4))
    selected = labels != -100
    expect(bool(selected.any()), "nothing was selected with mlm_probability 0.4")
    expect_equal(labels[selected].tolist(), batch[selected].tolist(), "the labels at the selected positions")
    expect_equal(sorted(set(labels[~selected].tolist())), [-100], "the labels at the other positions")
    expect_equal(masked[~selected].tolist(), batch[~selected].tolist(), "the inputs at the unselected positions")


@exercise(MASK, weight=2, hint="Special ids ([PAD], [CLS], [SEP], [MASK]) are never selected: set p to 0 there "
                               "before the first bernoulli (torch.isin(input_ids, special ids)).")
def test_mask_tokens_never_selects_special_tokens(student):
    """With mlm_probability 1, every text token is selected and no special token is."""
    batch = text_ids(3, 12, seed=44)
    masked, labels = (torch.as_tensor(t) for t in probe(student, seeded, student.mask_tokens)(
        batch, SPECIALS, 4099, 4096, 4, 1.0))
    special = torch.isin(batch, torch.tensor(SPECIALS))
    expect_equal(labels[special].tolist(), [-100] * int(special.sum()), "the labels of the special tokens")
    expect_equal(masked[special].tolist(), batch[special].tolist(), "the inputs at the special tokens")
    expect_equal(bool((labels[~special] != -100).all()), True, "every text token is selected with p = 1:")


def draws_made(mask_tokens, input_ids, special_ids, mask_id, vocab_size, seed):
    """(Runs in the worker.) The random functions mask_tokens called, in order, with the shape of their result."""
    import torch
    made = []
    originals = {name: getattr(torch, name) for name in ("bernoulli", "randint", "rand", "rand_like", "randperm",
                                                         "multinomial", "randint_like", "bernoulli_")
                 if hasattr(torch, name)}

    def spy(name, original):
        def wrapped(*args, **kwargs):
            result = original(*args, **kwargs)
            made.append([name, list(result.shape) if isinstance(result, torch.Tensor) else None])
            return result
        return wrapped
    for name, original in originals.items():
        setattr(torch, name, spy(name, original))
    try:
        mask_tokens(input_ids, special_ids, mask_id, vocab_size, torch.Generator().manual_seed(seed))
    finally:
        for name, original in originals.items():
            setattr(torch, name, original)
    return made


@exercise(MASK, weight=2, hint="The text's draw order: torch.bernoulli (select), torch.bernoulli (0.8), "
                               "torch.bernoulli (0.5), torch.randint (random ids), each over the whole (B, T) shape.")
def test_mask_tokens_draw_order(student, reference):
    """On a (3, 7) batch the draws are bernoulli, bernoulli, bernoulli, randint, each of shape (3, 7)."""
    batch = text_ids(3, 7, seed=45)
    made = probe(student, draws_made, student.mask_tokens, batch, SPECIALS, 4099, 4096, 5)
    expect_equal(made, [["bernoulli", [3, 7]]] * 3 + [["randint", [3, 7]]], "the random draws, in order,")


def mask_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        B, T = rng.randint(1, 5), rng.randint(1, 40)
        vocab = rng.choice([2, 10, 4096, 100_000])
        specials = rng.choice([[], [0], SPECIALS, [1, 3, 5, 7]])
        batch = torch.randint(vocab, (B, T), generator=gen(rng.randrange(1 << 30)))
        if SPECIALS == specials and T >= 2:
            batch[:, 0], batch[-1, -1] = 4097, 4096
        p = rng.choice([0.0, 0.15, 0.15, 0.3, 0.5, 1.0])
        mask_id = rng.choice([4099, vocab - 1])
        label = f"(input_ids of shape {(B, T)} below {vocab}, {specials}, {mask_id}, {vocab}, seed, {p})"
        cases.append(Shown((batch, specials, mask_id, vocab, rng.randrange(1000), p), {}, label))
    return cases


@exercise(MASK, weight=3, hint="The four draws of the text, in order, over the whole shape, for any batch "
                               "(1 x 1 to 5 x 40), any special ids (none included), mlm_probability from 0 to 1, "
                               "vocabularies of 2 to 100,000; input_ids left unchanged (work on a clone).",
          broad=True)
def test_mask_tokens_matches_reference_on_random_batches(student, reference):
    """30 seeded batches: the reference's masked ids and labels exactly, smallest first."""
    expect_same_as_reference(probe(student, seeded, student.mask_tokens), seeded(reference.mask_tokens),
                             mask_cases(730, 30), MASK, compare=same_pair)


@exercise(MASK, hint="Return two int64 tensors of input_ids' shape (B, T).")
def test_mask_tokens_returns_int64(student):
    """(masked_ids, labels): int64 tensors of shape (B, T)."""
    result = probe(student, seeded, student.mask_tokens)(text_ids(2, 9, seed=46), SPECIALS, 4099, 4096, 6)
    expect(isinstance(result, tuple) and len(result) == 2, f"expected (masked_ids, labels), got {kind_of(result)}")
    for name, t in zip(("masked_ids", "labels"), result):
        expect_equal((t.dtype, tuple(t.shape)), (torch.int64, (2, 9)), f"{name}'s (dtype, shape)")


def with_global_seeds(mask_tokens, input_ids, special_ids, mask_id, vocab_size, seed):
    """(Runs in the worker.) mask_tokens with the same generator seed after two different global seeds."""
    import torch
    results = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        results.append(mask_tokens(input_ids.clone(), special_ids, mask_id, vocab_size,
                                   torch.Generator().manual_seed(seed)))
    return results


@exercise(MASK, weight=2, hint="Draw only from the `generator` argument (generator=generator in every "
                               "torch.bernoulli and torch.randint): the global RNG (torch.manual_seed) must not "
                               "matter.")
def test_mask_tokens_uses_only_the_generator(student, reference):
    """The same generator seed after torch.manual_seed(0) and (1): the same, reference's, result."""
    batch = text_ids(4, 20, seed=47)
    first, second = probe(student, with_global_seeds, student.mask_tokens, batch, SPECIALS, 4099, 4096, 7)
    try:
        same_pair(second, first, "mask_tokens after another torch.manual_seed")
    except CheckFailed as difference:
        raise ProvenBug(str(difference)) from None
    with judged_only_if_right():
        same_pair(first, seeded(reference.mask_tokens)(batch, SPECIALS, 4099, 4096, 7), "mask_tokens")


@exercise(MASK, hint="Keep no state between calls: each call draws from the generator it is given.")
def test_mask_tokens_calls_are_independent(student, reference):
    """Three calls in a row in one worker, one repeated: each as the reference gives it alone."""
    a, b = text_ids(2, 10, seed=48), text_ids(3, 6, seed=49)
    calls = [(a, SPECIALS, 4099, 4096, 8), (b, SPECIALS, 4099, 4096, 9), (a, SPECIALS, 4099, 4096, 8)]
    mine = SimpleNamespace(worker=student.worker, mask_tokens=probe(student, seeded, student.mask_tokens))
    expect_independent_calls(mine, SimpleNamespace(mask_tokens=seeded(reference.mask_tokens)), "mask_tokens", calls,
                             compare=same_pair)


# BertMLMHead ------------------------------------------------------------------------------------

HEAD = "BertMLMHead"


@exercise(HEAD, hint="dense (d, d) + bias, LayerNorm (d,), decoder (vocab, d) without a bias of its own, and "
                     "bias (vocab,): Hugging Face's names.")
def test_mlm_head_parameters(student, reference):
    """The reference's parameter names and shapes."""
    expect_same_parameters(student, reference, HEAD)


@exercise(HEAD, weight=3, hint="Tie the decoder to the word embeddings: self.decoder.weight = "
                               "word_embeddings.weight (one shared nn.Parameter), not a copy.")
def test_mlm_head_decoder_is_tied(student):
    """decoder.weight is the word-embedding parameter it was given."""
    embeddings = student.BertEmbeddings(config(student))
    head = student.BertMLMHead(config(student), embeddings.word_embeddings)
    expect(head.decoder.weight is embeddings.word_embeddings.weight,
           "decoder.weight is not word_embeddings.weight: the decoder is not tied")


@exercise(HEAD, hint="self.bias = nn.Parameter(torch.zeros(vocab_size)): zeros at first.")
def test_mlm_head_bias_starts_at_zero(student):
    """A new head's bias is a (vocab_size,) tensor of zeros."""
    head = build(student, HEAD, config(student, vocab_size=31), ())
    expect_equal(head.bias.tolist(), [0.0] * 31, "the bias of a new head")


@exercise(HEAD, weight=3, hint="logits = decoder(LayerNorm(gelu(dense(h)))) + bias.", broad=True)
def test_mlm_head_matches_reference(student, reference):
    """Random hidden states (2, 5, d), a random bias: the reference's logits."""
    mine, ref = pair(student, reference, HEAD, seed=50)
    state = dict(ref.state_dict())
    state["bias"] = randn(23, seed=50)
    load_both(state, mine, ref)
    h = randn(2, 5, 9, seed=51)
    compared(mine, ref, h, what="the logits")


@exercise(HEAD, weight=2, hint="The order is dense, then GELU, then LayerNorm (then the decoder): "
                               "LayerNorm(gelu(dense(h))), not gelu(LayerNorm(dense(h))).")
def test_mlm_head_order_dense_gelu_norm(student, reference):
    """With the decoder the identity (d = vocab) and no bias: LayerNorm(gelu(dense(h)))."""
    mine, ref = pair(student, reference, HEAD, dict(vocab_size=9), seed=52)
    state = dict(ref.state_dict())
    state["decoder.weight"] = torch.eye(9, dtype=torch.float64)
    state["bias"] = torch.zeros(9, dtype=torch.float64)
    mine.load_state_dict(state)
    h = randn(3, 9, seed=52)
    with torch.no_grad():
        same_values(mine(h), norm(F.gelu(ref.dense(h)), ref.LayerNorm), "the output")


@exercise(HEAD, weight=2, hint="BERT's GELU is the exact one: F.gelu(x) (erf), not approximate='tanh'.")
def test_mlm_head_uses_exact_gelu(student, reference):
    """dense outputs spread over [-4, 4]: the reference's logits with the exact GELU."""
    mine, ref = pair(student, reference, HEAD, seed=53)
    state = dict(ref.state_dict())
    state["dense.weight"] = 3 * state["dense.weight"]
    load_both(state, mine, ref)
    h = randn(2, 3, 9, seed=53)
    compared(mine, ref, h, what="the logits")


@exercise(HEAD, weight=2, hint="nn.LayerNorm(d, eps=config.layer_norm_eps): BERT's 1e-12, not the default 1e-5.")
def test_mlm_head_layer_norm_eps(student, reference):
    """dense outputs of variance about 1e-6: the reference's logits."""
    mine, ref = pair(student, reference, HEAD, seed=54)
    state = dict(ref.state_dict())
    state["dense.weight"] = 1e-3 * randn(9, 9, seed=54)
    state["dense.bias"] = torch.full((9,), 2.0, dtype=torch.float64)
    load_both(state, mine, ref)
    h = randn(2, 3, 9, seed=55)
    compared(mine, ref, h, what="the logits")


@exercise(HEAD, weight=2, hint="'Any leading dimensions': h of shape (d,), (N, d), (B, T, d) or more; "
                               "nn.Linear and LayerNorm handle them all; never unpack h.shape into B, T, C. "
                               "Leave h unchanged.", broad=True)
def test_mlm_head_any_leading_dimensions(student, reference):
    """1-D to 4-D hidden states: the reference's logits, smallest first."""
    mine, ref = pair(student, reference, HEAD, seed=56)
    rng = random.Random(56)
    leads = [(), (1,), (4,), (1, 1), (2, 3), (2, 1, 3)] + [generators.leading_shape(rng) for _ in range(3)]
    cases = [Shown((generators.tensor(rng, (*lead, 9), torch.float64),), {}, f"(h of shape {(*lead, 9)})")
             for lead in leads]
    with torch.no_grad():
        expect_same_as_reference(mine, ref, cases, "BertMLMHead", compare=same_values)


@exercise(HEAD, weight=2, hint="Gradients must reach dense, LayerNorm, the bias and the tied decoder weight: "
                               "no .detach(), no .data, no torch.no_grad().", broad=True)
def test_mlm_head_gradients_match_reference(student, reference):
    """The gradients of the hidden states and of every parameter, the tied decoder weight included: the reference's."""
    mine, ref = pair(student, reference, HEAD, seed=57)
    expect_same_module_gradients(student, mine, ref, [randn(2, 4, 9, seed=57)], randn(2, 4, 23, seed=58), "BertMLMHead")


# BertClassificationHead ---------------------------------------------------------------------------

CLS = "BertClassificationHead"


@exercise(CLS, hint="self.dense = nn.Linear(d, d) (the pooler) and self.classifier = nn.Linear(d, num_labels), "
                    "both with bias.")
def test_cls_head_parameters(student):
    """dense (d, d) + bias and classifier (num_labels, d) + bias, nothing else."""
    expect_equal(shapes(student.BertClassificationHead(config(student), 5)),
                 {"dense.weight": (9, 9), "dense.bias": (9,), "classifier.weight": (5, 9), "classifier.bias": (5,)},
                 "the state_dict's names and shapes")


@exercise(CLS, weight=3, hint="logits = classifier(tanh(dense(hidden_states[:, 0]))): BERT's pooler on the "
                              "[CLS] position, then the classifier.", broad=True)
def test_cls_head_matches_reference(student, reference):
    """Random hidden states (3, 6, d), 4 labels: the reference's logits."""
    mine, ref = pair(student, reference, CLS, seed=60, extra=(4,))
    h = randn(3, 6, 9, seed=60)
    compared(mine, ref, h, what="the logits")


@exercise(CLS, weight=3, hint="Read position 0 ([CLS]) only: hidden_states[:, 0]. Not the mean or the max over "
                              "positions, not the last position.")
def test_cls_head_reads_position_zero_only(student, reference):
    """Changing positions 1 ... T-1 leaves the logits unchanged, and they are the reference's."""
    mine, ref = pair(student, reference, CLS, seed=61, extra=(3,))
    h = randn(2, 5, 9, seed=61)
    changed = h.clone()
    changed[:, 1:] = randn(2, 4, 9, seed=62)
    with torch.no_grad():
        same_values(mine(changed), ref(h), "the logits after changing positions 1-4")


@exercise(CLS, weight=2, hint="BERT's pooler applies tanh after dense: torch.tanh(self.dense(h[:, 0])), not ReLU "
                              "or GELU, and not nothing.")
def test_cls_head_uses_tanh(student, reference):
    """dense outputs spread over [-5, 5]: the reference's logits with tanh."""
    mine, ref = pair(student, reference, CLS, seed=63, extra=(2,))
    state = dict(ref.state_dict())
    state["dense.weight"] = 4 * state["dense.weight"]
    load_both(state, mine, ref)
    h = randn(2, 3, 9, seed=63)
    compared(mine, ref, h, what="the logits")


@exercise(CLS, weight=2, hint="classifier(tanh(dense(h[:, 0]))) for batch 1, T = 1, 1 to 7 labels and hidden "
                              "sizes 1 to 12; h left unchanged.", broad=True)
def test_cls_head_matches_reference_on_random_configs(student, reference):
    """Three configs, random shapes: the reference's logits, smallest first."""
    configs = [(dict(hidden_size=d, num_attention_heads=1), (labels,)) for d, labels in [(1, 1), (12, 7), (5, 2)]]
    expect_same_over_configs(student, reference, CLS, configs, 760, hidden_state_cases)


def hidden_state_cases(rng, sizes):
    """Hidden states (1, 1, d) and two random (B, T, d), B 1-3, T 1-6."""
    d = sizes["hidden_size"]
    shapes_ = [(1, 1), (rng.randint(1, 3), rng.randint(1, 6)), (rng.randint(1, 3), rng.randint(1, 6))]
    return [Shown((generators.tensor(rng, (B, T, d), torch.float64),), {}, f"(h of shape {(B, T, d)})")
            for B, T in shapes_]


@exercise(CLS, weight=2, hint="Gradients must reach x (at position 0) and both linear maps: no .detach().",
          broad=True)
def test_cls_head_gradients_match_reference(student, reference):
    """The gradients of the hidden states and of every parameter equal the reference's."""
    mine, ref = pair(student, reference, CLS, seed=64, extra=(3,))
    expect_same_module_gradients(student, mine, ref, [randn(2, 4, 9, seed=64)], randn(2, 3, seed=65), "BertClassificationHead")
