"""Hidden checks for 14-inference-acceleration. Inputs differ from the visible checks: 2-D to 4-D tensors,
batch 1, one query, more keys than queries, odd head dimensions (5, 9), values of another width than the keys,
float32 and float64, scores of about ±1000, small random course models (coursekit.models.LlamaForCausalLM, 2
layers, float64, with and without grouped-query attention) built in the worker by a probe from the same seed as
the reference's here, prompts split into chunks of several tokens, blocks that do not divide the sequence, block
sizes of 1 and above the sequence, paged pools that run out. float64 results are compared to 1e-10, float32 to
1e-5, far below any real bug's error (0.01 or more here).

Every promise of the text and docstrings, and the check that exercises it:

KVCache
- keys / values lists of None at first, seq_length() 0 when empty: test_kv_cache_starts_empty
- update appends along dim -2, after the old ones: test_kv_cache_appends_along_the_sequence
- returns the layer's whole keys and values (old and new), as a tuple: test_kv_cache_returns_everything
- values kept apart from keys (another last dimension): test_kv_cache_keeps_values_apart
- layers independent: test_kv_cache_layers_are_independent; two caches share nothing: test_kv_cache_caches_share_nothing
- seq_length: an int, the positions of the layer asked (not batch, heads, or layers): test_kv_cache_seq_length
- any leading dimensions: test_kv_cache_any_leading_dimensions
- the caller's tensors unchanged: test_kv_cache_leaves_the_inputs_unchanged
- many updates across layers: test_kv_cache_matches_reference
cached_attention
- one query sees every key: test_cached_attention_one_query_sees_every_key
- T_q = T_k: causal attention: test_cached_attention_square_is_causal
- the mask shifted by T_k - T_q: test_cached_attention_shifted_mask
- scores scaled by 1 / sqrt(head_dim): test_cached_attention_scale
- v of another width: test_cached_attention_value_width; the inputs' dtype: test_cached_attention_keeps_the_dtype
- ValueError when T_k < T_q: test_cached_attention_raises_with_fewer_keys
- no F.scaled_dot_product_attention: test_cached_attention_does_not_call_sdpa
- any leading dimensions, dtypes, large scores, inputs unchanged: test_cached_attention_matches_reference
forward_with_cache
- an empty cache and the whole prompt: the model's logits: test_forward_with_cache_prefill
- one token at a time after a prefill: test_forward_with_cache_one_token_steps
- chunks of several tokens after a prefill (shifted mask): test_forward_with_cache_chunks
- the cache holds rotated keys and the values, num_key_value_heads heads, every layer: test_forward_with_cache_fills_the_cache
- grouped-query attention, repeat_interleave: test_forward_with_cache_grouped_query_heads
- batch of one, a one-token prompt: test_forward_with_cache_one_token_prompt
- float32 models: test_forward_with_cache_float32
- many models and splits, the course's tiny model: test_forward_with_cache_matches_reference
merge_partials
- m = max(m_a, m_b): test_merge_partials_maximum
- both sides rescaled to the larger maximum: test_merge_partials_rescales_both_sides
- the union's softmax: test_merge_partials_gives_the_softmax
- no overflow with scores of ±1000: test_merge_partials_large_scores
- empty partial result merged with another: test_merge_partials_with_an_empty_one; two empty ones: no NaN:
  test_merge_partials_two_empty
- symmetric: test_merge_partials_is_symmetric
- leading dimensions, rows empty on one side, dtypes, inputs unchanged: test_merge_partials_matches_reference
flash_attention
- blocks that divide T: test_flash_attention_blocks_divide; that do not: test_flash_attention_ragged_blocks
- blocks of 1 and above T: test_flash_attention_extreme_blocks
- queries after cached positions (offset T_k - T_q), rows with no visible key in a block: test_flash_attention_offset
- scores of about -1800 (no underflow to 0 / 0): test_flash_attention_large_scores
- one query, 2-D inputs, batch 1: test_flash_attention_one_query
- q's dtype: test_flash_attention_keeps_the_dtype
- ValueError (T_k < T_q, block below 1): test_flash_attention_raises
- no cached_attention or F.scaled_dot_product_attention: test_flash_attention_does_not_call_full_attention
- many shapes and blocks, inputs unchanged: test_flash_attention_matches_reference
PagedKVCache
- pools of zeros (shape, dtype), free list 0..n-1, empty dicts: test_paged_starts_empty
- a block only when the last is full, the first free id: test_paged_allocates_when_full
- position p at block_table[p // block_size], slot p % block_size: test_paged_writes_the_right_slots
- gather: positions in order, exactly `length` of them: test_paged_gather_in_order, test_paged_gather_exact_length
- gather returns new tensors: test_paged_gather_returns_new_tensors
- free: blocks to the end of the free list in table order, sequence forgotten: test_paged_free
- freed blocks reused: test_paged_reuses_freed_blocks
- MemoryError before changing anything; an exact fit works: test_paged_memory_error_changes_nothing
- KeyError for unknown sequences: test_paged_unknown_sequence
- two pools share nothing: test_paged_pools_share_nothing
- the caller's tensors unchanged: test_paged_leaves_the_inputs_unchanged
- a random workload of appends and frees: test_paged_matches_reference
"""
import random

import torch
import torch.nn.functional as F

from autograder import generators
from autograder.checking import (Case, expect, expect_close, expect_equal, expect_proven, expect_same_as_reference,
                                 exercise, judged_only_if_right)
from autograder.remote import kind_of, observe, probe
from autograder.torch_checks import Shown, randn

INF = float("inf")
ATOL = {torch.float64: 1e-10, torch.float32: 1e-5}
RTOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def close(got, expected, what):
    """A tensor (or a tuple of tensors) of the expected dtype and shape, within ATOL; -inf where expected."""
    if isinstance(expected, tuple):
        expect(isinstance(got, tuple), f"{what}: expected a tuple, got {kind_of(got)}")
        expect_equal(len(got), len(expected), f"{what}: the tuple's length")
        for i, (g, e) in enumerate(zip(got, expected)):
            close(g, e, f"{what}, item {i}")
        return
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, expected.dtype, f"{what}: the dtype")
    expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
    expect_close(got, expected, ATOL[expected.dtype], RTOL[expected.dtype], what=what)


def raised(function, *args, **kwargs):
    """The built-in exception type name the call raised, or None."""
    try:
        function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the type is the fact
        return getattr(error, "type_name", type(error).__name__)
    return None


# KVCache -------------------------------------------------------------------------------------------

CACHE = "KVCache"


def kv(t, seed, shape=(2, 3), d=5, dtype=torch.float64):
    return randn(*shape, t, d, seed=seed, dtype=dtype)


@exercise(CACHE, hint="Start with self.keys = [None] * num_layers (and values), and seq_length() = 0 for a layer "
                      "that has none.")
def test_kv_cache_starts_empty(student):
    """A new KVCache(3): keys and values [None, None, None], seq_length() 0 for layers 0 and 2."""
    cache = student.KVCache(3)
    expect_equal((cache.keys, cache.values), ([None] * 3, [None] * 3), "(keys, values) of a new cache")
    expect_equal((cache.seq_length(), cache.seq_length(2)), (0, 0), "(seq_length(), seq_length(2))")


@exercise(CACHE, weight=2, hint="Append along the sequence dimension, the second-to-last: torch.cat((old, new), dim=-2), "
                                "the old positions first.")
def test_kv_cache_appends_along_the_sequence(student):
    """Updates of 2, 1 and 3 positions (batch 2, 3 heads, head_dim 5): keys[0] holds the 6, in order."""
    cache = student.KVCache(1)
    parts = [(kv(t, s), kv(t, s + 50)) for t, s in ((2, 1), (1, 2), (3, 3))]
    for keys, values in parts:
        cache.update(0, keys, values)
    close(cache.keys[0], torch.cat([k for k, _ in parts], dim=-2), "keys[0] after 3 updates")


@exercise(CACHE, hint="Keep the values in self.values, apart from the keys, appended the same way.")
def test_kv_cache_keeps_values_apart(student):
    """Values of width 2 beside keys of width 5: both lists right after 2 updates."""
    cache = student.KVCache(1)
    k1, k2, v1, v2 = kv(2, 7), kv(1, 8), kv(2, 9, d=2), kv(1, 10, d=2)
    cache.update(0, k1, v1)
    cache.update(0, k2, v2)
    close(cache.values[0], torch.cat((v1, v2), -2), "values[0]")
    close(cache.keys[0], torch.cat((k1, k2), -2), "keys[0]")


@exercise(CACHE, weight=2, hint="update returns the layer's WHOLE keys and values, old and new (what is stored after "
                                "the append), as a tuple (keys, values).")
def test_kv_cache_returns_everything(student):
    """Each of 3 updates returns (all keys, all values) so far."""
    cache = student.KVCache(2)
    seen_k, seen_v = [], []
    for t, s in ((3, 4), (1, 5), (2, 6)):
        keys, values = kv(t, s), kv(t, s + 50)
        seen_k.append(keys)
        seen_v.append(values)
        close(cache.update(1, keys, values), (torch.cat(seen_k, -2), torch.cat(seen_v, -2)),
              f"update number {len(seen_k)} of layer 1")


@exercise(CACHE, weight=2, hint="Each layer has its own entry: self.keys[layer], self.values[layer].")
def test_kv_cache_layers_are_independent(student):
    """Layer 0 gets 2 + 1 positions, layer 2 gets 4: each holds its own; layer 1 none."""
    cache = student.KVCache(3)
    a, b, c = kv(2, 11), kv(1, 12), kv(4, 13)
    cache.update(0, a, -a)
    cache.update(2, c, -c)
    cache.update(0, b, -b)
    expect_equal([cache.seq_length(i) for i in range(3)], [3, 0, 4], "seq_length of layers 0, 1, 2")
    close(cache.keys[2], c, "keys[2]")
    close(cache.keys[0], torch.cat((a, b), -2), "keys[0]")
    expect(cache.keys[1] is None, "keys[1] should stay None: layer 1 was never updated")


@exercise(CACHE, weight=2, hint="Create the lists in __init__ (self.keys = [None] * num_layers), not as class attributes "
                                "or default arguments, which every cache would share.")
def test_kv_cache_caches_share_nothing(student):
    """Two caches: updating one leaves the other empty."""
    first, second = student.KVCache(2), student.KVCache(2)
    first.update(0, kv(3, 14), kv(3, 15))
    expect_proven(second.seq_length() == 0 and second.keys == [None, None],
                  "a new KVCache holds the positions another cache was given: the caches share their lists")


@exercise(CACHE, hint="seq_length(layer) is keys[layer].shape[-2], an int: positions, not batch, heads or layers.")
def test_kv_cache_seq_length(student):
    """Batch 3, 4 heads, 2 layers: after 5 + 2 positions in layer 0, seq_length() is the int 7."""
    cache = student.KVCache(2)
    for t, s in ((5, 16), (2, 17)):
        cache.update(0, kv(t, s, shape=(3, 4)), kv(t, s, shape=(3, 4)))
    got = cache.seq_length()
    expect_equal(type(got).__name__, "int", "the type of seq_length()")
    expect_equal(got, 7, "seq_length()")


@exercise(CACHE, hint="Use dim=-2 (not 2): keys may have any leading dimensions, (T, d) or (heads, T, d) too.")
def test_kv_cache_any_leading_dimensions(student):
    """2-D (T, d) and 3-D (heads, T, d) keys."""
    for shape in ((), (4,)):
        cache = student.KVCache(1)
        a, b = kv(3, 18, shape=shape), kv(2, 19, shape=shape)
        cache.update(0, a, a)
        close(cache.update(0, b, b)[0], torch.cat((a, b), -2), f"keys of shape {tuple(a.shape)}, then {tuple(b.shape)}")
        expect_equal(cache.seq_length(), 5, f"seq_length() for keys of shape {tuple(a.shape)}")


@exercise(CACHE, hint="Leave the caller's keys and values as they are: torch.cat makes a new tensor (no copy_, no "
                      "in-place writes into the arguments).")
def test_kv_cache_leaves_the_inputs_unchanged(student):
    """A second update leaves its key and value tensors unchanged."""
    cache = student.KVCache(1)
    cache.update(0, kv(2, 20), kv(2, 21))
    call = observe(cache.update, 0, kv(3, 22), kv(3, 23))
    expect_proven(not call.changed, "update changed the caller's keys or values in place")
    with judged_only_if_right():
        close(call.result[0], torch.cat((kv(2, 20), kv(3, 22)), -2), "the keys returned by the second update")


@exercise(CACHE, weight=2, broad=True, hint="update appends along dim -2 per layer and returns everything the layer holds.")
def test_kv_cache_matches_reference(student, reference):
    """20 updates over 3 layers (1 to 4 positions, float32 and float64): every result and the final lists."""
    rng = random.Random(24)
    mine, ref = student.KVCache(3), reference.KVCache(3)
    dtype = torch.float32
    for i in range(20):
        layer, t = rng.randrange(3), rng.randint(1, 4)
        keys, values = kv(t, 100 + i, shape=(1, 2), dtype=dtype), kv(t, 200 + i, shape=(1, 2), d=3, dtype=dtype)
        close(mine.update(layer, keys, values), ref.update(layer, keys.clone(), values.clone()), f"update {i + 1} (layer {layer})")
    for layer in range(3):
        expect_equal(mine.seq_length(layer), ref.seq_length(layer), f"seq_length({layer}) after 20 updates")


# cached_attention ---------------------------------------------------------------------------------

ATTENTION = "cached_attention"


def shifted_mask(t_q, t_k):
    return torch.ones(t_q, t_k, dtype=torch.bool).tril(diagonal=t_k - t_q)


def qkv(t_q, t_k, shape=(2, 3), d=5, d_v=None, seed=0, dtype=torch.float64, scale=1.0):
    return (randn(*shape, t_q, d, seed=seed, dtype=dtype) * scale, randn(*shape, t_k, d, seed=seed + 1, dtype=dtype) * scale,
            randn(*shape, t_k, d_v or d, seed=seed + 2, dtype=dtype))


def sdpa(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=shifted_mask(q.shape[-2], k.shape[-2]))


@exercise(ATTENTION, weight=2, hint="One query (T_q = 1) is the last position: it sees every key, nothing is masked.")
def test_cached_attention_one_query_sees_every_key(student):
    """T_q = 1 against 7 keys."""
    q, k, v = qkv(1, 7, seed=30)
    close(student.cached_attention(q, k, v), F.scaled_dot_product_attention(q, k, v), "one query, 7 keys")


@exercise(ATTENTION, weight=2, hint="With T_q = T_k the mask is the ordinary causal lower triangle: query i sees keys 0 ... i.")
def test_cached_attention_square_is_causal(student):
    """T_q = T_k = 6: causal attention."""
    q, k, v = qkv(6, 6, seed=31)
    close(student.cached_attention(q, k, v), F.scaled_dot_product_attention(q, k, v, is_causal=True), "6 queries, 6 keys")


@exercise(ATTENTION, weight=2, hint="Query i is at position T_k - T_q + i: the mask is torch.ones(T_q, T_k).tril("
                                    "diagonal=T_k - T_q), not the top-left triangle (diagonal=0).")
def test_cached_attention_shifted_mask(student):
    """3 queries after 5 cached positions (T_k = 8), and 2 after 1."""
    for t_q, t_k, seed in ((3, 8, 32), (2, 3, 33)):
        q, k, v = qkv(t_q, t_k, seed=seed)
        close(student.cached_attention(q, k, v), sdpa(q, k, v), f"{t_q} queries, {t_k} keys")


@exercise(ATTENTION, hint="Divide the scores q @ k^T by sqrt(head_dim) (math.sqrt(q.shape[-1])), then softmax over "
                          "the keys (dim=-1).")
def test_cached_attention_scale(student):
    """head_dim 9, scores of a few units: 4 queries, 4 keys."""
    q, k, v = qkv(4, 4, d=9, seed=34, scale=2.0)
    close(student.cached_attention(q, k, v), sdpa(q, k, v), "head_dim 9")


@exercise(ATTENTION, hint="The output's last dimension is v's (weights @ v), which may differ from head_dim.")
def test_cached_attention_value_width(student):
    """Keys of width 6, values of width 2."""
    q, k, v = qkv(3, 5, d=6, d_v=2, seed=35)
    close(student.cached_attention(q, k, v), sdpa(q, k, v), "values of width 2")


@exercise(ATTENTION, hint="Keep the inputs' dtype: float32 in, float32 out (no .double(), no float64 mask values).")
def test_cached_attention_keeps_the_dtype(student):
    """float32 inputs give a float32 result."""
    q, k, v = qkv(2, 4, seed=36, dtype=torch.float32)
    close(student.cached_attention(q, k, v), sdpa(q, k, v), "float32 inputs")


@exercise(ATTENTION, hint="Raise ValueError when there are fewer keys than queries (T_k < T_q).")
def test_cached_attention_raises_with_fewer_keys(student):
    """4 queries, 3 keys: ValueError."""
    expect_equal(raised(student.cached_attention, *qkv(4, 3, seed=37)), "ValueError", "the exception for T_q = 4, T_k = 3")


@exercise(ATTENTION, hint="Write the attention yourself (scores, mask, softmax, weights @ v): "
                          "F.scaled_dot_product_attention is what the checks compare with.")
def test_cached_attention_does_not_call_sdpa(student, student_code):
    """cached_attention works, and it and the functions it uses call no scaled_dot_product_attention."""
    q, k, v = qkv(1, 2, seed=38)
    close(student.cached_attention(q, k, v), sdpa(q, k, v), "one query, 2 keys")
    found = student_code.calls_to(ATTENTION, {"scaled_dot_product_attention"})
    expect(not found, f"cached_attention calls {', '.join(sorted(set(found)))}")


def attention_cases(seed, count=30, dtypes=(torch.float64, torch.float32)):
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        t_q = rng.choice([1, 1, 2, 3, 5])
        t_k = t_q + rng.choice([0, 0, 1, 3, 6])
        d, d_v = rng.choice([1, 4, 5, 8]), rng.choice([None, 3])
        dtype, scale = rng.choice(dtypes), rng.choice([0.5, 1.0, 1.0, 30.0])
        shape = generators.leading_shape(rng)
        q, k, v = qkv(t_q, t_k, shape=shape, d=d, d_v=d_v, seed=1000 * seed + i, dtype=dtype, scale=scale)
        cases.append(Shown((q, k, v), label=f"(q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}, "
                                            f"{str(dtype)[6:]}, scale {scale})"))
    return cases


@exercise(ATTENTION, weight=2, broad=True, hint="Scores q @ k^T / sqrt(d), the shifted causal mask, softmax over the "
                                                "keys, weights @ v, for any leading dimensions.")
def test_cached_attention_matches_reference(student, reference):
    """30 random cases: 2-D to 4-D, T_q 1 to 5, up to 6 cached positions, float32 and float64, scores up to ±1000."""
    expect_same_as_reference(student.cached_attention, reference.cached_attention, attention_cases(1), "cached_attention",
                             compare=close)


# forward_with_cache ---------------------------------------------------------------------------------

FORWARD = "forward_with_cache"


def course_model(seed, kv_heads=2, heads=4, dtype_name="float64"):
    """(Runs in the worker, and here.) A 2-layer course model with random weights, frozen, in eval mode."""
    import torch
    from coursekit.models import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=37, hidden_size=8 * heads, intermediate_size=40, num_hidden_layers=2,
                         num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=64)
    model = LlamaForCausalLM(config).eval().to(getattr(torch, dtype_name))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.4 if parameter.dim() > 1 else 1.0)
            parameter.requires_grad_(False)
    return model


def tiny_model():
    """(Runs in the worker, and here.) The course's tiny checkpoint, frozen."""
    from coursekit.models import load_model
    model = load_model("tiny")
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def ids_for(seed, batch, length, vocab=37):
    return torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(seed))


def chunked_logits(namespace, model, ids, splits, layers=2):
    """The logits of forward_with_cache run on ids cut at `splits` (each chunk after the previous), concatenated,
    and the cache."""
    cache = namespace.KVCache(layers)
    bounds = [0, *splits, ids.shape[1]]
    parts = [namespace.forward_with_cache(model, ids[:, a:b], cache) for a, b in zip(bounds, bounds[1:])]
    return parts, cache


def full_logits(model, ids):
    with torch.no_grad():
        return model(ids)[0]


def expect_chunks(student, model_args, ids, splits, what, builder=course_model):
    mine, ref = probe(student, builder, *model_args), builder(*model_args)
    parts, _ = chunked_logits(student, mine, ids, splits)
    full = full_logits(ref, ids)
    bounds = [0, *splits, ids.shape[1]]
    expect_equal(len(parts), len(bounds) - 1, f"{what}: the number of calls")
    for part, a, b in zip(parts, bounds, bounds[1:]):
        close(part, full[:, a:b], f"{what}: the logits of positions {a} to {b - 1} (model(ids)[0][:, {a}:{b}])")


@exercise(FORWARD, weight=2, hint="With an empty cache (P = 0) this is the model's forward pass: embed, per layer "
                                  "input_layernorm, q/k/v projections, RoPE, attention, o_proj, residual, MLP, then the "
                                  "final norm and lm_head.")
def test_forward_with_cache_prefill(student):
    """An empty cache and 6 tokens (batch 2, no grouped-query attention): model(ids)[0]."""
    expect_chunks(student, (40, 4), ids_for(40, 2, 6), [], "prefill of 6 tokens")


@exercise(FORWARD, weight=3, hint="A new token at position P needs RoPE's row P: cos, sin = rotary_emb(P + T_new), then "
                                  "cos[P:], sin[P:] (P = cache.seq_length() BEFORE the update); and the one query "
                                  "attends to every cached key.")
def test_forward_with_cache_one_token_steps(student):
    """A prefill of 3 tokens, then 5 steps of one token: each step's logits are the model's at that position."""
    expect_chunks(student, (41, 4), ids_for(41, 2, 8), [3, 4, 5, 6, 7], "prefill 3, then one token at a time")


@exercise(FORWARD, weight=2, hint="Several new tokens after cached ones need the shifted causal mask: use "
                                  "cached_attention, not scaled_dot_product_attention(..., is_causal=True), whose "
                                  "triangle starts at the top left.")
def test_forward_with_cache_chunks(student):
    """Chunks of 2, 3, 1 and 2 tokens."""
    expect_chunks(student, (42, 4), ids_for(42, 1, 8), [2, 5, 6], "chunks of 2, 3, 1, 2 tokens")


@exercise(FORWARD, weight=2, hint="cache.update(layer_index, k, v) with k AFTER RoPE and BEFORE repeat_interleave: "
                                  "(B, num_key_value_heads, T, head_dim), layer i of the model into cache layer i.")
def test_forward_with_cache_fills_the_cache(student, reference):
    """After a prefill of 4 and a step of 1 (4 heads, 2 key/value heads): every layer's cached keys and values."""
    mine, ref = probe(student, course_model, 43, 2), course_model(43, 2)
    ids = ids_for(43, 2, 5)
    _, my_cache = chunked_logits(student, mine, ids, [4])
    _, ref_cache = chunked_logits(reference, ref, ids, [4])
    for layer in range(2):
        close(my_cache.keys[layer], ref_cache.keys[layer], f"the cached keys of layer {layer} (rotated by RoPE)")
        close(my_cache.values[layer], ref_cache.values[layer], f"the cached values of layer {layer}")


@exercise(FORWARD, weight=2, hint="Each group of n_heads // n_kv_heads query heads shares one key/value head: "
                                  "k.repeat_interleave(groups, dim=1) (not repeat, which interleaves the other way).")
def test_forward_with_cache_grouped_query_heads(student):
    """4 query heads sharing 2 and 1 key/value heads: prefill 3, then 2 steps."""
    for kv_heads in (2, 1):
        expect_chunks(student, (44, kv_heads), ids_for(44, 2, 5), [3, 4], f"4 heads, {kv_heads} key/value heads")


@exercise(FORWARD, hint="A one-token prompt on an empty cache, then one more token: positions 0 and 1.")
def test_forward_with_cache_one_token_prompt(student):
    """Batch 1: a prompt of one token, then one step."""
    expect_chunks(student, (45, 2), ids_for(45, 1, 2), [1], "a one-token prompt and a step")


@exercise(FORWARD, hint="Cast cos and sin to the queries' dtype, as the model does, so float32 models stay float32.")
def test_forward_with_cache_float32(student):
    """A float32 model: prefill 4, then 2 steps, float32 logits."""
    expect_chunks(student, (46, 2, 4, "float32"), ids_for(46, 2, 6), [4, 5], "a float32 model")


@exercise(FORWARD, weight=2, broad=True, hint="Follow the model's forward pass with the three changes of the text.")
def test_forward_with_cache_matches_reference(student):
    """6 random models and ways to split the ids, and the course's tiny model (prefill 5, then 3 steps)."""
    rng = random.Random(47)
    for i in range(6):
        heads = rng.choice([2, 4])
        kv_heads = rng.choice([h for h in (1, 2, 4) if h <= heads and heads % h == 0])
        length = rng.randint(2, 9)
        splits = sorted(rng.sample(range(1, length), rng.randint(1, length - 1)))
        expect_chunks(student, (300 + i, kv_heads, heads), ids_for(300 + i, rng.choice([1, 2]), length), splits,
                      f"model {300 + i} ({heads} heads, {kv_heads} key/value heads), split at {splits}")
    ids = torch.tensor([[464, 3797, 318, 257, 1200, 12, 90, 7]])
    expect_chunks(student, (), ids, [5, 6, 7], "the tiny model", builder=tiny_model)


# merge_partials -----------------------------------------------------------------------------------

MERGE = "merge_partials"


def partial_of(scores, values):
    """The partial result (m, l, o) of scores (..., T_q, n) and values (..., n, d_v), -inf rows empty."""
    m = scores.amax(dim=-1)
    exps = (scores - torch.where(torch.isinf(m), 0.0, m)[..., None]).exp()
    return m, exps.sum(dim=-1), exps @ values


def two_blocks(seed, shape=(2,), t_q=3, n=(3, 4), d_v=2, dtype=torch.float64, scale=1.0, shift=(0.0, 0.0)):
    """Two partial results of random scores (block b shifted by shift[b]), and the full scores and values."""
    scores = [randn(*shape, t_q, n_i, seed=seed + i, dtype=dtype) * scale + shift[i] for i, n_i in enumerate(n)]
    values = [randn(*shape, n_i, d_v, seed=seed + 10 + i, dtype=dtype) for i, n_i in enumerate(n)]
    return partial_of(scores[0], values[0]), partial_of(scores[1], values[1]), torch.cat(scores, -1), torch.cat(values, -2)


def output_of(partial):
    m, l, o = partial
    return o / l[..., None]


@exercise(MERGE, hint="m is the elementwise maximum of the two: torch.maximum(m_a, m_b).")
def test_merge_partials_maximum(student):
    """m of the merge: the larger of the two maxima, row by row."""
    a, b, scores, _ = two_blocks(50, shift=(0.0, 0.5))
    expect_close(student.merge_partials(a, b)[0], scores.amax(-1), 1e-12, what="the merged m")


@exercise(MERGE, weight=2, hint="Rescale BOTH sides to the merged maximum: l = l_a * exp(m_a - m) + l_b * exp(m_b - m), "
                                "and o the same way (the factor broadcast with [..., None]).")
def test_merge_partials_rescales_both_sides(student, reference):
    """Block a's maximum larger in some rows, block b's in others: (m, l, o) of the union."""
    a, b, _, _ = two_blocks(51, shape=(), t_q=6, scale=3.0)
    close(student.merge_partials(a, b), reference.merge_partials(a, b), "merge_partials(a, b)")


@exercise(MERGE, weight=2, hint="o / l of the merged result must be the softmax over all the scores @ values.")
def test_merge_partials_gives_the_softmax(student):
    """o / l of the merge of 3 + 4 keys: softmax(scores) @ values."""
    a, b, scores, values = two_blocks(52, shape=(2, 2))
    expect_close(output_of(student.merge_partials(a, b)), scores.softmax(-1) @ values, 1e-12, what="o / l")


@exercise(MERGE, weight=2, hint="Subtract the maximum (exp(m_a - m), exp(m_b - m) with m the MAX): both factors are at "
                                "most 1, so scores of ±1000 neither overflow nor vanish.")
def test_merge_partials_large_scores(student):
    """Scores of about ±1000 (block b about 40 above block a): no inf or NaN, the softmax."""
    a, b, scores, values = two_blocks(53, scale=300.0, shift=(-1000.0, -960.0))
    expect_close(output_of(student.merge_partials(a, b)), scores.softmax(-1) @ values, 1e-10, what="o / l")


@exercise(MERGE, weight=2, hint="Merging with an empty partial result (m = -inf, l = 0, o = 0) returns the other "
                                "(its factor exp(-inf - m) is 0).")
def test_merge_partials_with_an_empty_one(student):
    """empty + b and a + empty give b and a."""
    a, b, _, _ = two_blocks(54)
    empty = (torch.full_like(a[0], -INF), torch.zeros_like(a[1]), torch.zeros_like(a[2]))
    close(student.merge_partials(empty, b), b, "merge_partials(empty, b)")
    close(student.merge_partials(a, empty), a, "merge_partials(a, empty)")


@exercise(MERGE, weight=2, hint="Where both maxima are -inf, m - m is -inf - (-inf) = NaN: compute the factors with 0 in "
                                "place of m there (torch.where(torch.isinf(m), 0.0, m)), as block_partial does.")
def test_merge_partials_two_empty(student):
    """Two empty partial results (2 rows): an empty one, no NaN."""
    empty = (torch.full((2,), -INF, dtype=torch.float64), torch.zeros(2, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64))
    close(student.merge_partials(empty, empty), empty, "merge_partials(empty, empty)")


@exercise(MERGE, hint="The merge treats a and b alike: merge_partials(a, b) equals merge_partials(b, a).")
def test_merge_partials_is_symmetric(student):
    """merge_partials(b, a) equals merge_partials(a, b)."""
    a, b, _, _ = two_blocks(55, scale=2.0)
    close(student.merge_partials(b, a), student.merge_partials(a, b), "merge_partials(b, a) against merge_partials(a, b)")


def merge_cases(seed, count=30):
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        shape = generators.leading_shape(rng)
        dtype = rng.choice([torch.float64, torch.float32])
        scale = rng.choice([0.5, 1.0, 5.0, 300.0])
        a, b, _, _ = two_blocks(2000 + 20 * i, shape=shape, t_q=rng.randint(1, 4), n=(rng.randint(1, 3), rng.randint(1, 3)),
                                d_v=rng.randint(1, 3), dtype=dtype, scale=scale,
                                shift=(rng.choice([0.0, -800.0]), rng.choice([0.0, 400.0])))
        if i % 3 == 0:  # one row with no visible key in a (or b)
            side = a if i % 2 else b
            side[0][..., 0], side[1][..., 0], side[2][..., 0, :] = -INF, 0.0, 0.0
        cases.append(Shown((a, b), label=f"(partials of queries {tuple(a[0].shape)}, values of width {a[2].shape[-1]}, "
                                         f"{str(dtype)[6:]}, scale {scale}{', an empty row' if i % 3 == 0 else ''})"))
    return cases


@exercise(MERGE, weight=2, broad=True, hint="m = max, both sides rescaled by exp(m_side - m), no NaN where m is -inf.")
def test_merge_partials_matches_reference(student, reference):
    """30 random pairs: leading dimensions, empty rows on one side, float32 and float64, large scores."""
    expect_same_as_reference(student.merge_partials, reference.merge_partials, merge_cases(3), "merge_partials", compare=close)


# flash_attention ----------------------------------------------------------------------------------

FLASH = "flash_attention"


@exercise(FLASH, weight=2, hint="Loop over query blocks and key blocks; for each tile, scores / sqrt(d), the causal mask, "
                                "block_partial, merge_partials into the query block's running result; output o / l.")
def test_flash_attention_blocks_divide(student):
    """8 positions, blocks of 4 x 4 and 2 x 4: causal attention."""
    q, k, v = qkv(8, 8, seed=60)
    for bq, bk in ((4, 4), (2, 4)):
        close(student.flash_attention(q, k, v, bq, bk), sdpa(q, k, v), f"T = 8, blocks {bq} x {bk}")


@exercise(FLASH, weight=2, hint="The last block may be shorter: slice q[..., i:i + block_q, :] and k[..., j:j + block_k, "
                                ":] (slicing stops at the end), and build each tile's mask from the positions of its "
                                "rows and columns in the WHOLE sequence, not 0 ... block size - 1.")
def test_flash_attention_ragged_blocks(student):
    """10 positions, blocks of 3 x 4 and 4 x 3."""
    q, k, v = qkv(10, 10, seed=61)
    for bq, bk in ((3, 4), (4, 3)):
        close(student.flash_attention(q, k, v, bq, bk), sdpa(q, k, v), f"T = 10, blocks {bq} x {bk}")


@exercise(FLASH, hint="Blocks of 1 (one query, one key per tile) and blocks larger than the sequence (one tile) work too.")
def test_flash_attention_extreme_blocks(student):
    """7 positions, blocks of 1 x 1 and 16 x 16."""
    q, k, v = qkv(7, 7, seed=62, d=3)
    for bq, bk in ((1, 1), (16, 16)):
        close(student.flash_attention(q, k, v, bq, bk), sdpa(q, k, v), f"T = 7, blocks {bq} x {bk}")


@exercise(FLASH, weight=2, hint="Query row r is at position T_k - T_q + r: it sees keys up to that position (the mask of "
                                "cached_attention), tile by tile.")
def test_flash_attention_offset(student):
    """3 queries after 8 cached positions, blocks 2 x 4; 5 after 2, blocks 4 x 3."""
    for t_q, t_k, bq, bk, seed in ((3, 11, 2, 4, 63), (5, 7, 4, 3, 64)):
        q, k, v = qkv(t_q, t_k, seed=seed)
        close(student.flash_attention(q, k, v, bq, bk), sdpa(q, k, v), f"{t_q} queries, {t_k} keys, blocks {bq} x {bk}")


@exercise(FLASH, weight=2, hint="Start each query block from empty_partial (m = -inf), not from m = 0: with scores of "
                                "-1800, exp(score - 0) underflows to 0 and o / l becomes 0 / 0.")
def test_flash_attention_large_scores(student):
    """Scores of about -1800 (queries near -30, keys near +30), 6 positions, blocks 2 x 3."""
    q, k, v = qkv(6, 6, d=4, seed=65)
    q, k = q * 0.2 - 30.0, k * 0.2 + 30.0  # every score about -1800: exp(score) underflows to 0
    close(student.flash_attention(q, k, v, 2, 3), sdpa(q, k, v), "scores of about -1800")


@exercise(FLASH, hint="One query with 2-D inputs (T, d) and batch 1 work: index with [..., rows, :].")
def test_flash_attention_one_query(student):
    """One query after 5 positions with 2-D inputs; batch 1 with 4-D inputs."""
    for shape in ((), (1, 1)):
        q, k, v = qkv(1, 6, shape=shape, seed=66)
        close(student.flash_attention(q, k, v, 2, 2), sdpa(q, k, v), f"q {tuple(q.shape)}, k {tuple(k.shape)}")


@exercise(FLASH, hint="Keep q's dtype (empty_partial(..., q.dtype)): float32 in, float32 out.")
def test_flash_attention_keeps_the_dtype(student):
    """float32 inputs, 5 positions, blocks 2 x 2."""
    q, k, v = qkv(5, 5, seed=67, dtype=torch.float32)
    close(student.flash_attention(q, k, v, 2, 2), sdpa(q, k, v), "float32 inputs")


@exercise(FLASH, hint="Raise ValueError when T_k < T_q or block_q or block_k is below 1.")
def test_flash_attention_raises(student):
    """T_k < T_q, block_q 0, block_k 0: ValueError."""
    for (t_q, t_k), bq, bk in (((4, 3), 2, 2), ((3, 3), 0, 2), ((3, 3), 2, 0)):
        expect_equal(raised(student.flash_attention, *qkv(t_q, t_k, seed=68), bq, bk), "ValueError",
                     f"the exception for T_q = {t_q}, T_k = {t_k}, blocks {bq} x {bk}")


@exercise(FLASH, hint="Compute the tiles yourself (block_partial, merge_partials): calling cached_attention or "
                      "F.scaled_dot_product_attention builds the whole score matrix, which tiling avoids.")
def test_flash_attention_does_not_call_full_attention(student, student_code):
    """flash_attention works, and it and the functions it uses call neither cached_attention nor
    scaled_dot_product_attention."""
    q, k, v = qkv(4, 4, seed=69)
    close(student.flash_attention(q, k, v, 2, 2), sdpa(q, k, v), "T = 4, blocks 2 x 2")
    found = student_code.calls_to(FLASH, {"scaled_dot_product_attention", "cached_attention"})
    expect(not found, f"flash_attention calls {', '.join(sorted(set(found)))}")


def flash_cases(seed, count=24):
    rng = random.Random(seed)
    cases = []
    for case in attention_cases(seed, count, dtypes=(torch.float64,)):
        q, k, v = case.args
        bq, bk = rng.choice([1, 2, 3, 4, 8]), rng.choice([1, 2, 3, 5, 16])
        cases.append(Shown((q, k, v, bq, bk), label=case.label[:-1] + f", blocks {bq} x {bk})"))
    return cases


@exercise(FLASH, weight=2, broad=True, hint="Tile by tile, the result of cached_attention.")
def test_flash_attention_matches_reference(student, reference):
    """24 random cases: 2-D to 4-D, T_q 1 to 5, up to 6 cached positions, blocks 1 to 16, scores up to ±1000."""
    expect_same_as_reference(student.flash_attention, reference.flash_attention, flash_cases(4), "flash_attention",
                             compare=close)


# PagedKVCache ---------------------------------------------------------------------------------------

PAGED = "PagedKVCache"


def tokens(t, seed, heads=2, d=3, dtype=torch.float32):
    return torch.randn(t, heads, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def state_of(paged):
    return paged.block_tables, paged.lengths, paged.free_blocks


def run_ops(paged, ops, heads=2, d=3):
    """Apply ("append", seq, t, seed) and ("free", seq) operations."""
    for op in ops:
        if op[0] == "append":
            keys = tokens(op[2], op[3], heads, d)
            paged.append(op[1], keys, keys * 10 + 1)
        else:
            paged.free(op[1])


def twin_pools(student, reference, args, ops, heads=2, d=3):
    mine, ref = student.PagedKVCache(*args), reference.PagedKVCache(*args)
    run_ops(mine, ops, heads, d)
    run_ops(ref, ops, heads, d)
    return mine, ref


@exercise(PAGED, hint="key_pool and value_pool: torch.zeros(num_blocks, block_size, num_kv_heads, head_dim, dtype=dtype); "
                      "free_blocks = list(range(num_blocks)); block_tables and lengths empty dicts.")
def test_paged_starts_empty(student):
    """PagedKVCache(5, 3, 2, 4, float64): pools of zeros, free list [0 ... 4], no sequence."""
    paged = student.PagedKVCache(5, 3, 2, 4, dtype=torch.float64)
    close(paged.key_pool, torch.zeros(5, 3, 2, 4, dtype=torch.float64), "key_pool")
    close(paged.value_pool, torch.zeros(5, 3, 2, 4, dtype=torch.float64), "value_pool")
    expect_equal(state_of(paged), ({}, {}, [0, 1, 2, 3, 4]), "(block_tables, lengths, free_blocks)")


@exercise(PAGED, weight=2, hint="Take a block (free_blocks.pop(0), the first) only when a position needs a logical "
                                "block the table does not have yet: position p needs logical block p // block_size.")
def test_paged_allocates_when_full(student):
    """Block size 3: appends of 2, 1, 1 and 4 positions to "x", 1 to "y" in between."""
    paged = student.PagedKVCache(6, 3, 2, 3)
    run_ops(paged, [("append", "x", 2, 1), ("append", "x", 1, 2), ("append", "y", 1, 3), ("append", "x", 1, 4),
                    ("append", "x", 4, 5)])
    expect_equal(state_of(paged), ({"x": [0, 2, 3], "y": [1]}, {"x": 8, "y": 1}, [4, 5]), "(block_tables, lengths, free_blocks)")


@exercise(PAGED, weight=2, hint="Position p of the sequence goes to key_pool[block_table[p // block_size], p % block_size] "
                                "(and value_pool alike); p counts the positions already there.")
def test_paged_writes_the_right_slots(student, reference):
    """Block size 2, two sequences interleaved: the whole key and value pools."""
    mine, ref = twin_pools(student, reference, (5, 2, 2, 3), [("append", 7, 3, 6), ("append", 8, 1, 7), ("append", 7, 2, 8)])
    close(mine.key_pool, ref.key_pool, "key_pool")
    close(mine.value_pool, ref.value_pool, "value_pool")


@exercise(PAGED, weight=2, hint="gather reads the blocks of the table in order: key_pool[table] has shape (blocks, "
                                "block_size, heads, d); flatten the first two dimensions, keep the first `length`.")
def test_paged_gather_in_order(student):
    """Two sequences appended in turns (block size 2): gather gives each one's positions in order."""
    paged = student.PagedKVCache(8, 2, 2, 3)
    parts = {"a": [], "b": []}
    for i, (seq, t) in enumerate((("a", 3), ("b", 2), ("a", 2), ("b", 3), ("a", 1))):
        keys = tokens(t, 20 + i)
        parts[seq].append(keys)
        paged.append(seq, keys, keys * 10 + 1)
    for seq, chunks in parts.items():
        keys = torch.cat(chunks)
        close(paged.gather(seq), (keys, keys * 10 + 1), f"gather({seq!r})")


@exercise(PAGED, hint="gather returns exactly `length` positions: cut the last block's unused slots ([:length]).")
def test_paged_gather_exact_length(student):
    """5 positions in blocks of 4: (5, heads, d), not 8."""
    paged = student.PagedKVCache(3, 4, 2, 3)
    keys = tokens(5, 30)
    paged.append("s", keys, keys)
    close(paged.gather("s")[0], keys, "gather('s')'s keys")


def gather_is_a_copy(paged, seq_id):
    """(Runs in the worker.) Whether writing into gather's result leaves the next gather unchanged."""
    import torch
    keys, values = paged.gather(seq_id)
    before = (keys.clone(), values.clone())
    keys.fill_(123.0)
    values.fill_(-123.0)
    again = paged.gather(seq_id)
    return [torch.equal(again[0], before[0]), torch.equal(again[1], before[1])]


@exercise(PAGED, hint="gather must return new tensors: indexing the pool with the table (key_pool[table]) copies; "
                      "key_pool[block][:length] is a view, through which the caller would write into the pool.")
def test_paged_gather_returns_new_tensors(student):
    """A sequence in one block: writing into the gathered tensors leaves the pool unchanged."""
    paged = student.PagedKVCache(3, 4, 2, 3)
    paged.append("s", tokens(3, 31), tokens(3, 32))
    expect_equal(probe(student, gather_is_a_copy, paged, "s"), [True, True], "[keys unchanged, values unchanged] in the pool")


@exercise(PAGED, weight=2, hint="free appends the sequence's blocks, in table order, to the END of free_blocks, and "
                                "deletes its entries in block_tables and lengths.")
def test_paged_free(student):
    """Free a sequence of 3 blocks: they go to the end of the free list; the sequence is forgotten."""
    paged = student.PagedKVCache(6, 2, 2, 3)
    run_ops(paged, [("append", "a", 2, 40), ("append", "b", 3, 41), ("append", "a", 3, 42), ("free", "a")])
    expect_equal(state_of(paged), ({"b": [1, 2]}, {"b": 3}, [5, 0, 3, 4]), "(block_tables, lengths, free_blocks)")


@exercise(PAGED, weight=2, hint="After free, a new sequence takes blocks from the front of the free list, freed ones "
                                "included, and overwrites their old contents.")
def test_paged_reuses_freed_blocks(student):
    """Pool of 4 blocks of 2: a, b, free a, c of 5 positions: c's gather and block table."""
    paged = student.PagedKVCache(4, 2, 2, 3)
    run_ops(paged, [("append", "a", 3, 43), ("append", "b", 1, 44), ("free", "a"), ("append", "c", 5, 45)])
    expect_equal(paged.block_tables, {"b": [2], "c": [3, 0, 1]}, "block_tables")
    keys = tokens(5, 45)
    close(paged.gather("c"), (keys, keys * 10 + 1), "gather('c')")


def pool_snapshot(paged):
    """(Runs in the worker.) Copies of everything a failed append must leave alone."""
    import copy
    return (copy.deepcopy(paged.block_tables), copy.deepcopy(paged.lengths), list(paged.free_blocks),
            paged.key_pool.clone(), paged.value_pool.clone())


@exercise(PAGED, weight=2, hint="Count the blocks the T positions need (ceil((length + T) / block_size) - len(table)) "
                                "and raise MemoryError BEFORE taking any block or writing anything when fewer are free.")
def test_paged_memory_error_changes_nothing(student):
    """3 blocks of 2: a takes 2 blocks; b's 3 positions need 2 (1 free): MemoryError, nothing changed; then an exact fit."""
    paged = student.PagedKVCache(3, 2, 2, 3)
    run_ops(paged, [("append", "a", 3, 50)])
    before = probe(student, pool_snapshot, paged)
    keys = tokens(3, 51)
    expect_equal(raised(paged.append, "b", keys, keys), "MemoryError", "the exception when the pool is too small")
    after = probe(student, pool_snapshot, paged)
    expect_proven(after[:3] == before[:3] and all(torch.equal(x, y) for x, y in zip(after[3:], before[3:])),
                  "a failed append changed the cache (block tables, lengths, free list or pools): raise MemoryError "
                  "before changing anything")
    with judged_only_if_right():
        keys = tokens(3, 52)
        paged.append("a", keys, keys)  # positions 3 to 5: the last free block, exactly
        expect_equal(state_of(paged), ({"a": [0, 1, 2]}, {"a": 6}, []), "after an append that exactly fits")


@exercise(PAGED, hint="gather and free of a sequence the cache does not hold raise KeyError (a dict lookup does).")
def test_paged_unknown_sequence(student):
    """gather("z") and free("z") of an unknown sequence: KeyError."""
    paged = student.PagedKVCache(2, 2, 2, 3)
    run_ops(paged, [("append", "a", 1, 53)])
    expect_equal((raised(paged.gather, "z"), raised(paged.free, "z")), ("KeyError", "KeyError"), "(gather, free) of 'z'")


@exercise(PAGED, hint="Create the pools, the free list and the dicts in __init__, not as class attributes: each cache "
                      "has its own.")
def test_paged_pools_share_nothing(student):
    """Two caches: appending to one leaves the other untouched."""
    first, second = student.PagedKVCache(4, 2, 2, 3), student.PagedKVCache(4, 2, 2, 3)
    run_ops(first, [("append", "a", 3, 54)])
    expect_proven(state_of(second) == ({}, {}, [0, 1, 2, 3]),
                  "appending to one PagedKVCache changed another: they share their block tables or free list")


@exercise(PAGED, hint="Copy the positions into the pools (key_pool[block, slot] = keys[t]); never write into the "
                      "caller's keys or values.")
def test_paged_leaves_the_inputs_unchanged(student):
    """append leaves its keys and values unchanged."""
    paged = student.PagedKVCache(4, 2, 2, 3)
    call = observe(paged.append, "a", tokens(3, 55), tokens(3, 56))
    expect_proven(not call.changed, "append changed the caller's keys or values in place")
    with judged_only_if_right():
        close(paged.gather("a"), (tokens(3, 55), tokens(3, 56)), "gather('a') after the append")


@exercise(PAGED, weight=2, broad=True, hint="Follow the text's rules for append, gather and free exactly.")
def test_paged_matches_reference(student, reference):
    """3 pools (block sizes 1, 3, 4), 25 random appends and frees each: the state and every gather after each step."""
    for block_size in (1, 3, 4):
        rng = random.Random(60 + block_size)
        args = (24 // block_size + 2, block_size, 1, 2)
        mine, ref = student.PagedKVCache(*args), reference.PagedKVCache(*args)
        live = set()
        for step in range(25):
            if live and rng.random() < 0.25:
                op = ("free", rng.choice(sorted(live)))
                live.discard(op[1])
            else:
                op = ("append", rng.randrange(4), rng.randint(1, 5), 1000 * block_size + step)
            try:
                run_ops(ref, [op], 1, 2)
            except MemoryError:
                expect_equal(raised(run_ops, mine, [op], 1, 2), "MemoryError", f"block size {block_size}, step {step + 1}, {op}")
                continue
            run_ops(mine, [op], 1, 2)
            if op[0] == "append":
                live.add(op[1])
            what = f"block size {block_size}, after step {step + 1} {op}"
            expect_equal(state_of(mine), state_of(ref), f"{what}: (block_tables, lengths, free_blocks)")
            for seq in sorted(live):
                close(mine.gather(seq), ref.gather(seq), f"{what}: gather({seq})")
