"""Oracle tests for notebook 14 (inference acceleration): the reference solutions against implementations nobody on
this project wrote. PyTorch's `F.scaled_dot_product_attention` for `cached_attention`, `flash_attention` and (through
the union's softmax and `torch.logsumexp`) `merge_partials`; Hugging Face transformers (5.23.0) for the cache: its
`DynamicCache` against `KVCache` and the gathers of `PagedKVCache`, and its `LlamaForCausalLM`, which loads the
course's checkpoints, run with a `DynamicCache` (prefill, then one token at a time) against `forward_with_cache`:
the same logits and the same cached keys, rotated by RoPE, and the same greedy tokens as its `generate`.

Traps (../shared/notes/oracles.md): SDPA's boolean mask means True = attend; transformers' cache holds keys after
RoPE with num_key_value_heads heads; `generate` applies top_k=50 unless top_k=0 is passed.
"""
import random

import pytest
import torch
import torch.nn.functional as F
import transformers
from transformers import DynamicCache, LlamaForCausalLM

from autograder.notebook import load_reference
from coursekit.data import MODELS_DIR
from coursekit.models import load_model

transformers.logging.set_verbosity_error()


@pytest.fixture(scope="module")
def ref():
    return load_reference("14-inference-acceleration")


def randn(*shape, seed, scale=1.0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale


def sdpa(q, k, v):
    t_q, t_k = q.shape[-2], k.shape[-2]
    return F.scaled_dot_product_attention(q, k, v, attn_mask=torch.ones(t_q, t_k, dtype=torch.bool).tril(t_k - t_q))


def attention_inputs(seed):
    rng = random.Random(seed)
    t_q = rng.randint(1, 12)
    t_k = t_q + rng.choice([0, 0, 1, 5, 17])
    d, d_v, heads = rng.choice([1, 5, 8, 16]), rng.choice([3, 8]), rng.choice([1, 3])
    scale = rng.choice([1.0, 1.0, 20.0])
    return (randn(2, heads, t_q, d, seed=seed, scale=scale), randn(2, heads, t_k, d, seed=seed + 1, scale=scale),
            randn(2, heads, t_k, d_v, seed=seed + 2))


@pytest.mark.parametrize("seed", range(0, 300, 10))
def test_cached_and_tiled_attention_equal_sdpa(ref, seed):
    q, k, v = attention_inputs(seed)
    expected = sdpa(q, k, v)
    assert (ref.cached_attention(q, k, v) - expected).abs().max() < 1e-12
    for block_q, block_k in ((1, 1), (2, 3), (4, 4), (5, 2), (64, 64)):
        assert (ref.flash_attention(q, k, v, block_q, block_k) - expected).abs().max() < 1e-12, (block_q, block_k)


@pytest.mark.parametrize("seed", range(10))
def test_merged_partials_are_the_unions_softmax(ref, seed):
    """m + log l is logsumexp of the union's scores, o / l its softmax @ values; blocks merged in any grouping."""
    scores = randn(3, 4, 12, seed=seed, scale=[1.0, 50.0, 1000.0][seed % 3])
    values = randn(3, 12, 5, seed=seed + 100)
    parts = [ref.block_partial(scores[..., a:b], values[..., a:b, :]) for a, b in ((0, 3), (3, 4), (4, 9), (9, 12))]
    left = ref.merge_partials(ref.merge_partials(parts[0], parts[1]), ref.merge_partials(parts[2], parts[3]))
    right = parts[0]
    for part in parts[1:]:
        right = ref.merge_partials(right, part)
    for m, l, o in (left, right):
        assert torch.allclose(m + l.log(), torch.logsumexp(scores, dim=-1), atol=1e-12, rtol=1e-12)
        assert torch.allclose(o / l[..., None], scores.softmax(-1) @ values, atol=1e-12)


def test_kv_cache_equals_dynamic_cache(ref):
    mine, theirs = ref.KVCache(3), DynamicCache()
    rng = random.Random(0)
    for i in range(30):
        layer = rng.randrange(3) if i >= 3 else i  # transformers wants the layers created in order
        t = rng.randint(1, 4)
        keys, values = randn(2, 2, t, 8, seed=i), randn(2, 2, t, 3, seed=100 + i)
        got, expected = mine.update(layer, keys, values), theirs.update(keys, values, layer)
        assert all(torch.equal(g, e) for g, e in zip(got, expected))
        assert mine.seq_length(layer) == theirs.get_seq_length(layer)


@pytest.fixture(scope="module", params=["tiny", "base"])
def twin(request):
    hf = LlamaForCausalLM.from_pretrained(MODELS_DIR / request.param, torch_dtype=torch.float32).eval()
    return load_model(request.param), hf


def test_forward_with_cache_equals_transformers_with_dynamic_cache(ref, twin):
    """A prefill of 7 tokens, a chunk of 3, then 4 steps of one token: logits within 1e-4 of transformers', and the
    cached keys (after RoPE) and values of every layer within 1e-5."""
    ours, hf = twin
    ids = torch.randint(0, 4096, (2, 14), generator=torch.Generator().manual_seed(3))
    mine, theirs = ref.KVCache(ours.config.num_hidden_layers), DynamicCache(config=hf.config)
    with torch.no_grad():
        for a, b in ((0, 7), (7, 10), (10, 11), (11, 12), (12, 13), (13, 14)):
            got = ref.forward_with_cache(ours, ids[:, a:b], mine)
            expected = hf(ids[:, a:b], past_key_values=theirs, use_cache=True).logits
            assert (got - expected).abs().max() < 1e-4, (a, b)
    for layer in range(ours.config.num_hidden_layers):
        assert (mine.keys[layer] - theirs.layers[layer].keys).abs().max() < 1e-5
        assert (mine.values[layer] - theirs.layers[layer].values).abs().max() < 1e-5


def test_greedy_with_cache_equals_generate(ref, twin):
    """The notebook's greedy_with_cache (built on KVCache and forward_with_cache) gives transformers' greedy tokens."""
    ours, hf = twin
    prompt = torch.tensor([464, 3797, 318, 257, 1200])
    expected = hf.generate(prompt[None], max_new_tokens=24, do_sample=False, top_k=0, eos_token_id=None, pad_token_id=0)[0]
    assert torch.equal(ref.greedy_with_cache(ours, prompt, 24), expected)


def test_paged_gathers_equal_dynamic_caches(ref):
    """Five sequences appended in random turns into a pool of blocks of 3, some freed and their blocks reused: each
    live sequence's gather equals what a DynamicCache of its own holds (transposed to (T, heads, d))."""
    paged, caches = ref.PagedKVCache(80, 3, 2, 4, dtype=torch.float64), {}
    rng = random.Random(1)
    for step in range(60):
        seq = rng.randrange(5)
        if seq in caches and rng.random() < 0.15:
            paged.free(seq)
            del caches[seq]
            continue
        keys, values = randn(rng.randint(1, 5), 2, 4, seed=step), randn(1, 2, 4, seed=500 + step)
        values = values.expand(len(keys), 2, 4) + randn(len(keys), 1, 1, seed=900 + step)
        paged.append(seq, keys, values)
        caches.setdefault(seq, DynamicCache()).update(keys.transpose(0, 1)[None], values.transpose(0, 1)[None], 0)
        for live, cache in caches.items():
            got_keys, got_values = paged.gather(live)
            assert torch.equal(got_keys, cache.layers[0].keys[0].transpose(0, 1))
            assert torch.equal(got_values, cache.layers[0].values[0].transpose(0, 1))
    used = sum(len(table) for table in paged.block_tables.values())
    assert used + len(paged.free_blocks) == 80 and sorted(b for t in paged.block_tables.values() for b in t) == sorted(
        set(range(80)) - set(paged.free_blocks))
