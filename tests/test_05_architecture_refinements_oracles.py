"""Oracle tests for notebook 05 (architecture refinements): the reference solutions against Hugging Face
transformers' LLaMA (5.23.0) and PyTorch, implementations that nobody on this project wrote. Models are
built from tiny random configs offline; RMSNorm weights are moved away from 1 before copying, so that a
wrong copy cannot pass.

Traps (../shared/notes/oracles.md): Hugging Face computes RMSNorm and the RoPE tables in float32 even
for a float64 model, and so does its eager attention's softmax, while the reference keeps float64 (the
notebook says so): in float64 the two agree to float32's precision, and to 1e-12 with PyTorch's
attention ("sdpa") once RMSNorm and RoPE also run in float64. In eager mode `attention_mask=None`
means NO causal mask, so the decoder layer gets an explicit one. In v5
the decoder layer returns a tensor, and `LlamaConfig` does not tie the embeddings.
"""
import pytest
import torch
import torch.nn.functional as F
import transformers
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama import modeling_llama
from transformers.models.llama.modeling_llama import (LlamaDecoderLayer, LlamaMLP, LlamaRMSNorm, LlamaRotaryEmbedding,
                                                      apply_rotary_pos_emb)

from autograder.notebook import load_reference

transformers.logging.set_verbosity_error()


@pytest.fixture(scope="module")
def ref():
    return load_reference("05-architecture-refinements")


def hf_config(vocab_size=50, d_model=24, hidden_dim=20, n_layer=2, n_head=4, n_kv_head=2, theta=10000.0, eps=1e-5,
              attention="eager"):
    return LlamaConfig(vocab_size=vocab_size, hidden_size=d_model, intermediate_size=hidden_dim,
                       num_hidden_layers=n_layer, num_attention_heads=n_head, num_key_value_heads=n_kv_head,
                       max_position_embeddings=128, rms_norm_eps=eps, attn_implementation=attention,
                       rope_parameters={"rope_type": "default", "rope_theta": theta})


def our_config(ref, c: LlamaConfig):
    return ref.LLaMAConfig(vocab_size=c.vocab_size, n_layer=c.num_hidden_layers, n_head=c.num_attention_heads,
                           n_kv_head=c.num_key_value_heads, d_model=c.hidden_size, hidden_dim=c.intermediate_size,
                           rope_theta=c.rope_parameters["rope_theta"], eps=c.rms_norm_eps)


def perturb_norms(module, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("norm.weight") or name == "weight":
                p.copy_(1 + 0.5 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


def randn(*shape, seed, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def causal_additive_mask(T, dtype):
    """What eager attention adds to the scores: 0 where key j <= query i, -inf elsewhere, (1, 1, T, T)."""
    return torch.full((T, T), float("-inf"), dtype=dtype).triu(1)[None, None]


def float64_rms_norm(self, hidden_states):
    """LlamaRMSNorm.forward without its cast to float32 (the reference's float64 behaviour)."""
    variance = hidden_states.pow(2).mean(-1, keepdim=True)
    return self.weight * (hidden_states * torch.rsqrt(variance + self.variance_epsilon))


# --- RMSNorm -------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_rms_norm_equals_llama_rms_norm(ref, dtype):
    """float32 and half precision: both compute in float32 and cast back before the weight: equal."""
    ours = perturb_norms(ref.RMSNorm(16, eps=1e-5), 0).to(dtype)
    hf = LlamaRMSNorm(16, eps=1e-5).to(dtype)
    hf.load_state_dict(ours.state_dict())
    x = (100 * randn(3, 5, 16, seed=1)).to(dtype)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), hf(x), atol=0, rtol=0)


def test_rms_norm_float64_is_more_exact_than_llama_rms_norm(ref):
    """float64: Hugging Face passes through float32 (differences ~1e-7); with that cast removed, equal."""
    ours = perturb_norms(ref.RMSNorm(16), 2).double()
    hf = LlamaRMSNorm(16, eps=1e-5).double()
    hf.load_state_dict(ours.state_dict())
    x = randn(4, 16, seed=3)
    with torch.no_grad():
        difference = (ours(x) - hf(x)).abs().max().item()
        assert 0 < difference < 1e-6
        torch.testing.assert_close(ours(x), float64_rms_norm(hf, x), atol=1e-14, rtol=0)


@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-14), (torch.float32, 1e-6)])
def test_rms_norm_equals_torch_rms_norm(ref, dtype, atol):
    ours = perturb_norms(ref.RMSNorm(12, eps=0.01), 4).to(dtype)
    x = randn(2, 3, 12, seed=5).to(dtype)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), F.rms_norm(x, (12,), ours.weight, eps=0.01), atol=atol, rtol=0)


# --- SwiGLU --------------------------------------------------------------------------------------

def test_swiglu_equals_llama_mlp(ref):
    torch.manual_seed(6)
    hf = LlamaMLP(hf_config(d_model=24, hidden_dim=40)).double()
    ours = ref.SwiGLU(24, 40).double()
    ours.load_state_dict(hf.state_dict())
    x = randn(2, 7, 24, seed=7)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), hf(x), atol=1e-14, rtol=0)


# --- RoPE ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("head_dim, theta", [(8, 10000.0), (14, 500000.0), (64, 10000.0)])
def test_rope_tables_equal_llama_rotary_embedding(ref, head_dim, theta):
    """Over 128 positions in float32 the tables agree to 1e-5 (Hugging Face's float32 angles drift by up to
    2e-6 there)."""
    rotary = LlamaRotaryEmbedding(hf_config(d_model=head_dim * 2, n_head=2, n_kv_head=2, theta=theta))
    x = torch.zeros(1, 128, head_dim)
    hf_cos, hf_sin = rotary(x, torch.arange(128)[None])
    cos, sin = ref.rope_tables(head_dim, 128, theta)
    torch.testing.assert_close(cos, hf_cos[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(sin, hf_sin[0], atol=1e-5, rtol=0)


def test_rope_tables_closer_to_exact_than_float32_angles_at_long_positions(ref):
    """At 4,096 positions Hugging Face's float32 angles drift by ~1e-4; the reference's float32 tables are
    the float64 values rounded (error ~6e-8)."""
    rotary = LlamaRotaryEmbedding(hf_config(d_model=128, n_head=2, n_kv_head=2))
    hf_cos = rotary(torch.zeros(1, 4096, 64), torch.arange(4096)[None])[0][0]
    exact_cos = ref.rope_tables(64, 4096, dtype=torch.float64)[0]
    ours_error = (ref.rope_tables(64, 4096)[0].double() - exact_cos).abs().max().item()
    hf_error = (hf_cos.double() - exact_cos).abs().max().item()
    assert ours_error < 1e-7 < 1e-5 < hf_error


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_apply_rope_equals_apply_rotary_pos_emb(ref, dtype):
    q, k = randn(2, 4, 9, 10, seed=8).to(dtype), randn(2, 2, 9, 10, seed=9).to(dtype)
    cos, sin = ref.rope_tables(10, 9, dtype=dtype)
    hf_q, hf_k = apply_rotary_pos_emb(q, k, cos[None], sin[None])
    torch.testing.assert_close(ref.apply_rope(q, cos, sin), hf_q, atol=0, rtol=0)
    torch.testing.assert_close(ref.apply_rope(k, cos, sin), hf_k, atol=0, rtol=0)


# --- attention and the decoder layer -------------------------------------------------------------

def hf_layer_and_ours(ref, seed, attention="eager", **sizes):
    c = hf_config(attention=attention, **sizes)
    torch.manual_seed(seed)
    hf = perturb_norms(LlamaDecoderLayer(c, layer_idx=0), seed).double().eval()
    ours = ref.LLaMABlock(our_config(ref, c)).double().eval()
    ours.load_state_dict(hf.state_dict())
    return hf, ours, c


@pytest.mark.parametrize("n_head, n_kv_head, d_model", [(4, 2, 24), (6, 1, 36), (3, 3, 42), (8, 2, 32)])
def test_decoder_layer_equals_llama_decoder_layer(ref, monkeypatch, n_head, n_kv_head, d_model):
    """GQA, MQA and MHA layers in float64, Hugging Face's RMSNorm kept in float64 and its "sdpa" attention:
    equal to 1e-12."""
    monkeypatch.setattr(LlamaRMSNorm, "forward", float64_rms_norm)
    hf, ours, c = hf_layer_and_ours(ref, 10, "sdpa", n_head=n_head, n_kv_head=n_kv_head, d_model=d_model)
    T, head_dim = 11, d_model // n_head
    x = randn(2, T, d_model, seed=11)
    cos, sin = ref.rope_tables(head_dim, T, dtype=torch.float64)
    with torch.no_grad():
        expected = hf(x, attention_mask=causal_additive_mask(T, torch.float64), position_embeddings=(cos[None], sin[None]))
        assert isinstance(expected, torch.Tensor)
        torch.testing.assert_close(ours(x, cos, sin), expected, atol=1e-12, rtol=0)


def test_decoder_layer_float64_eager_differs_only_at_float32_precision(ref):
    """Hugging Face's eager layer as it is (float32 RMSNorm and softmax) in float64: within 1e-5."""
    hf, ours, _ = hf_layer_and_ours(ref, 12)
    x = randn(2, 9, 24, seed=12)
    cos, sin = ref.rope_tables(6, 9, dtype=torch.float64)
    with torch.no_grad():
        difference = (ours(x, cos, sin) - hf(x, attention_mask=causal_additive_mask(9, torch.float64),
                                              position_embeddings=(cos[None], sin[None]))).abs().max().item()
    assert 0 < difference < 1e-5


def test_eager_decoder_layer_without_mask_is_not_causal(ref):
    """The trap: in eager mode attention_mask=None lets every position attend to the future."""
    hf, _, _ = hf_layer_and_ours(ref, 13)
    x = randn(1, 6, 24, seed=13)
    cos, sin = ref.rope_tables(6, 6, dtype=torch.float64)
    with torch.no_grad():
        masked = hf(x, attention_mask=causal_additive_mask(6, torch.float64), position_embeddings=(cos[None], sin[None]))
        unmasked = hf(x, attention_mask=None, position_embeddings=(cos[None], sin[None]))
    assert (unmasked - masked)[:, :-1].abs().max() > 1e-3
    torch.testing.assert_close(unmasked[:, -1], masked[:, -1], atol=1e-12, rtol=0)  # the last position sees all


# --- the whole model ----------------------------------------------------------------------------

def hf_model_and_ours(ref, seed, dtype, attention="eager", **sizes):
    c = hf_config(attention=attention, **sizes)
    torch.manual_seed(seed)
    hf = perturb_norms(LlamaForCausalLM(c), seed).to(dtype).eval()
    assert hf.lm_head.weight is not hf.model.embed_tokens.weight
    ours = ref.MiniLLaMA(our_config(ref, c)).to(dtype).eval()
    ours.load_state_dict({name.removeprefix("model."): t for name, t in hf.state_dict().items()}, strict=True)
    return hf, ours


MODEL_SIZES = {
    "GQA, 2 layers, heads of 6": dict(),
    "MQA, 3 layers, heads of 10, theta 500000": dict(n_layer=3, n_head=4, n_kv_head=1, d_model=40, hidden_dim=64,
                                                    theta=500000.0),
    "MHA, 1 layer, vocabulary 300": dict(vocab_size=300, n_layer=1, n_head=2, n_kv_head=2, d_model=16, hidden_dim=30),
}


@pytest.mark.parametrize("sizes", MODEL_SIZES)
def test_llama_for_causal_lm_logits_and_loss_float32(ref, sizes):
    hf, ours = hf_model_and_ours(ref, 20, torch.float32, **MODEL_SIZES[sizes])
    vocab_size = hf.config.vocab_size
    idx = torch.randint(vocab_size, (3, 17), generator=torch.Generator().manual_seed(21))
    targets = idx.clone()
    targets[0, 3:6] = -100
    with torch.no_grad():
        expected = hf(input_ids=idx, labels=targets)
        logits, loss = ours(idx, targets)
    torch.testing.assert_close(logits, expected.logits, atol=2e-5, rtol=0)
    torch.testing.assert_close(loss, expected.loss, atol=2e-6, rtol=0)


@pytest.mark.parametrize("sizes", MODEL_SIZES)
def test_llama_for_causal_lm_logits_float64(ref, monkeypatch, sizes):
    """float64: within float32's precision of Hugging Face's eager model (its RMSNorm, RoPE and softmax run
    in float32); equal to 1e-12 to its "sdpa" model once RMSNorm and RoPE run in float64 too."""
    hf, ours = hf_model_and_ours(ref, 22, torch.float64, **MODEL_SIZES[sizes])
    idx = torch.randint(hf.config.vocab_size, (2, 13), generator=torch.Generator().manual_seed(23))
    with torch.no_grad():
        logits = ours(idx)[0]
        assert 0 < (logits - hf(input_ids=idx).logits).abs().max() < 1e-5
        hf.config._attn_implementation = "sdpa"
        monkeypatch.setattr(LlamaRMSNorm, "forward", float64_rms_norm)
        head_dim = hf.config.hidden_size // hf.config.num_attention_heads
        tables = ref.rope_tables(head_dim, 13, hf.config.rope_parameters["rope_theta"], dtype=torch.float64)
        monkeypatch.setattr(hf.model.rotary_emb, "forward", lambda x, position_ids: tuple(t[None] for t in tables))
        torch.testing.assert_close(logits, hf(input_ids=idx).logits, atol=1e-12, rtol=0)


def test_llama2_7b_parameter_count(ref):
    """LLaMA-2-7B's config built by Hugging Face on the meta device: 6,738,415,616 parameters, the
    notebook's formula; LLaMA-2-70B's: 68,976,648,192."""
    configs = {6_738_415_616: dict(vocab_size=32000, d_model=4096, hidden_dim=11008, n_layer=32, n_head=32, n_kv_head=32),
               68_976_648_192: dict(vocab_size=32000, d_model=8192, hidden_dim=28672, n_layer=80, n_head=64, n_kv_head=8)}
    for expected, sizes in configs.items():
        c = hf_config(**sizes)
        with torch.device("meta"):
            hf_count = sum(p.numel() for p in LlamaForCausalLM(c).parameters())
        assert hf_count == ref.llama_parameter_count(our_config(ref, c)) == expected
    assert ref.llama_hidden_dim(4096) == 11008 and ref.llama_hidden_dim(8192, 4096, 1.3) == 28672


def test_kv_cache_bytes_per_token_equal_hugging_face_cache(ref):
    """The formula against the keys and values Hugging Face's DynamicCache holds after a forward pass."""
    hf, _ = hf_model_and_ours(ref, 24, torch.float16, n_layer=3, n_head=8, n_kv_head=2, d_model=32)
    T = 9
    with torch.no_grad():
        cache = hf(input_ids=torch.zeros(1, T, dtype=torch.long), use_cache=True).past_key_values
    stored = sum(layer.keys.numel() * layer.keys.element_size() + layer.values.numel() * layer.values.element_size()
                 for layer in cache.layers)
    assert stored == T * ref.kv_cache_bytes_per_token(3, 2, 4)
    assert ref.kv_cache_bytes_per_token(80, 8, 128) == 320 * 1024
    assert ref.kv_cache_bytes_per_token(80, 64, 128) == 8 * ref.kv_cache_bytes_per_token(80, 8, 128)


def test_modeling_llama_uses_the_half_split_pairing():
    """Hugging Face's rotate_half is the half-split map cat(-x2, x1)."""
    x = torch.arange(6.0)
    assert modeling_llama.rotate_half(x).tolist() == [-3.0, -4.0, -5.0, 0.0, 1.0, 2.0]
