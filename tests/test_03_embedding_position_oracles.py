"""Oracle tests for notebook 03 (embeddings and positions): the reference solutions against code that
nobody on this project wrote, and the notebook's claims about real models against their code.

* The sinusoidal encoding equals the closed form of "Attention Is All You Need" computed
  independently in float64 (numpy), Hugging Face's DistilBERT/XLM table (interleaved, like ours)
  and Marian's table (sines first, cosines second: ours after a column permutation).
* relative_shift_matrix equals the matrix exponential of its generator, and, with each pair read as
  (cos, sin), the rotation that LLaMA's RoPE (transformers) applies at that position.
* TokenEmbedding and EmbeddingWithPosition equal nn.Embedding (padding_idx) plus the encoding,
  values and gradients.
* tie_weights on an untied GPT-2 (transformers) reproduces GPT-2's own tying through AdamW steps,
  and the shared weight is one tensor after each step.
* The facts table: GPT-2 and BERT learn absolute positions and tie; LLaMA-7B uses RoPE and does
  not tie; the parameter counts printed by the notebook.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import transformers
from transformers import (BertConfig, BertForMaskedLM, GPT2Config, GPT2LMHeadModel, LlamaConfig,
                          LlamaForCausalLM)
from transformers.models.distilbert.modeling_distilbert import _create_sinusoidal_embeddings
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb
from transformers.models.marian.modeling_marian import MarianSinusoidalPositionalEmbedding

from autograder.notebook import load_reference

transformers.logging.set_verbosity_error()
SIZES = [(1, 2), (7, 4), (50, 16), (513, 64), (2048, 128), (33, 10)]


@pytest.fixture(scope="module")
def ref():
    return load_reference("03-embedding-position")


def numpy_closed_form(seq_len, d_model, base=10000.0):
    """PE[pos, 2i] = sin(pos / base^(2i/d)), PE[pos, 2i+1] = cos(pos / base^(2i/d)), in numpy float64."""
    pos = np.arange(seq_len, dtype=np.float64)[:, None]
    i = np.arange(d_model // 2, dtype=np.float64)[None, :]
    angle = pos / np.power(base, 2 * i / d_model)
    pe = np.zeros((seq_len, d_model))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angle), np.cos(angle)
    return torch.from_numpy(pe)


# --- the sinusoidal encoding -------------------------------------------------------------------

@pytest.mark.parametrize("seq_len, d_model", SIZES)
@pytest.mark.parametrize("base", [10000.0, 500.0])
def test_pe_equals_float64_closed_form(ref, seq_len, d_model, base):
    pe = ref.sinusoidal_position_encoding(seq_len, d_model, base=base, dtype=torch.float64)
    assert pe.dtype == torch.float64
    torch.testing.assert_close(pe, numpy_closed_form(seq_len, d_model, base), atol=1e-11, rtol=0)


def test_pe_spot_values_by_hand(ref):
    pe = ref.sinusoidal_position_encoding(3, 4, dtype=torch.float64)
    assert pe[1].tolist() == pytest.approx([math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)], abs=1e-15)
    assert pe[0].tolist() == [0.0, 1.0, 0.0, 1.0]


@pytest.mark.parametrize("seq_len, d_model", SIZES)
def test_pe_equals_distilbert_table(ref, seq_len, d_model):
    out = torch.empty(seq_len, d_model)
    _create_sinusoidal_embeddings(seq_len, d_model, out)  # computed in float64 numpy, stored in float32
    torch.testing.assert_close(ref.sinusoidal_position_encoding(seq_len, d_model, dtype=torch.float64).float(),
                               out, atol=1e-7, rtol=0)
    if seq_len <= 64:  # the default float32 computation: float32 rounding of pos * w only
        torch.testing.assert_close(ref.sinusoidal_position_encoding(seq_len, d_model), out, atol=1e-5, rtol=0)


@pytest.mark.parametrize("seq_len, d_model", [(20, 8), (300, 64)])
def test_pe_equals_marian_table_after_deinterleaving(ref, seq_len, d_model):
    marian = MarianSinusoidalPositionalEmbedding(seq_len, d_model).create_weight()
    ours = ref.sinusoidal_position_encoding(seq_len, d_model, dtype=torch.float64).float()
    half = d_model // 2
    torch.testing.assert_close(ours[:, 0::2], marian[:, :half], atol=1e-7, rtol=0)
    torch.testing.assert_close(ours[:, 1::2], marian[:, half:], atol=1e-7, rtol=0)


def test_pe_rejects_odd_d_model(ref):
    with pytest.raises(ValueError):
        ref.sinusoidal_position_encoding(4, 5)


# --- the relative shift ------------------------------------------------------------------------

@pytest.mark.parametrize("k", [0, 1, 3, 250, -17])
@pytest.mark.parametrize("d_model", [2, 12, 64])
def test_shift_is_matrix_exponential_of_generator(ref, k, d_model):
    w = 1.0 / 10000.0 ** (np.arange(d_model // 2) * 2 / d_model)
    generator = torch.zeros(d_model, d_model, dtype=torch.float64)
    for i, omega in enumerate(w):
        generator[2 * i, 2 * i + 1], generator[2 * i + 1, 2 * i] = omega, -omega
    torch.testing.assert_close(ref.relative_shift_matrix(k, d_model), torch.linalg.matrix_exp(k * generator),
                               atol=1e-10, rtol=0)


@pytest.mark.parametrize("k", [1, 9, 700, -40])
def test_shift_moves_every_position(ref, k):
    pe = numpy_closed_form(1500, 32)
    m = ref.relative_shift_matrix(k, 32)
    moved, target = (pe[:-k] @ m.T, pe[k:]) if k > 0 else (pe[-k:] @ m.T, pe[:k])
    torch.testing.assert_close(moved, target, atol=1e-10, rtol=0)


@pytest.mark.parametrize("position", [0, 1, 5, 37, 1000])
def test_shift_is_llama_rope_rotation(ref, position):
    """RoPE (transformers' LLaMA, half-split layout) rotates pair (v[i], v[i + d/2]) by position * w_i;
    M_position does the same to the interleaved pair (u[2i], u[2i+1]) = (v[i + d/2], v[i])."""
    head_dim = 16
    config = LlamaConfig(hidden_size=32, num_attention_heads=2, num_key_value_heads=2, head_dim=head_dim,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    rotary = LlamaRotaryEmbedding(config).double()
    rotary.inv_freq = rotary.inv_freq.double()
    torch.manual_seed(position)
    v = torch.randn(1, 1, 1, head_dim, dtype=torch.float64)
    cos, sin = rotary(v, torch.tensor([[position]]))
    rotated, _ = apply_rotary_pos_emb(v, v, cos.double(), sin.double())
    half = head_dim // 2
    to_interleaved = [j for i in range(half) for j in (i + half, i)]
    expected = rotated.reshape(-1)[to_interleaved]
    ours = ref.relative_shift_matrix(position, head_dim) @ v.reshape(-1)[to_interleaved]
    # transformers computes the angles in float32
    torch.testing.assert_close(ours, expected, atol=1e-6 + 3e-7 * position, rtol=0)


# --- embedding modules -------------------------------------------------------------------------

def test_token_embedding_equals_nn_embedding_values_and_gradients(ref):
    torch.manual_seed(0)
    ours = ref.TokenEmbedding(20, 6, padding_idx=3)
    theirs = nn.Embedding(20, 6, padding_idx=3)
    with torch.no_grad():
        theirs.weight.copy_(ours.weight)
    ids = torch.randint(0, 20, (4, 9))
    ids[0, :3] = 3
    target = torch.randn(4, 9, 6)
    out_ours, out_theirs = ours(ids), theirs(ids)
    torch.testing.assert_close(out_ours, out_theirs, atol=0, rtol=0)
    ((out_ours - target) ** 2).sum().backward()
    ((out_theirs - target) ** 2).sum().backward()
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, atol=1e-6, rtol=0)
    assert ours.weight.grad[3].abs().max() == 0


def test_embedding_with_position_equals_independent_composition(ref):
    torch.manual_seed(1)
    layer = ref.EmbeddingWithPosition(30, 8, 16, 2)
    table = nn.Embedding(30, 8)
    with torch.no_grad():
        table.weight.copy_(layer.token.weight)
    pe = torch.empty(16, 8)
    _create_sinusoidal_embeddings(16, 8, pe)
    ids = torch.randint(0, 30, (5, 11))
    ids[1, 7:] = 2
    ids[3, :4] = 2
    expected = (table(ids) + pe[:11]) * (ids != 2).unsqueeze(-1)
    torch.testing.assert_close(layer(ids), expected, atol=1e-5, rtol=0)
    assert [name for name, _ in layer.named_parameters()] == ["token.weight"]
    assert "pe" in dict(layer.named_buffers())


# --- weight tying ------------------------------------------------------------------------------

def tiny_gpt2(tied: bool) -> GPT2LMHeadModel:
    config = GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=40, n_positions=16, resid_pdrop=0.0,
                        embd_pdrop=0.0, attn_pdrop=0.0, tie_word_embeddings=tied, bos_token_id=0, eos_token_id=0)
    return GPT2LMHeadModel(config)


def test_tie_weights_reproduces_gpt2_tying_through_adamw_steps(ref):
    torch.manual_seed(2)
    hf_tied = tiny_gpt2(tied=True)
    assert hf_tied.lm_head.weight is hf_tied.transformer.wte.weight
    ours = tiny_gpt2(tied=False)
    assert ours.lm_head.weight is not ours.transformer.wte.weight
    ours.load_state_dict(hf_tied.state_dict())
    ref.tie_weights(ours.transformer.wte, ours.lm_head)
    assert ours.lm_head.weight is ours.transformer.wte.weight
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in hf_tied.parameters())

    ids = torch.randint(0, 40, (3, 12))
    optimizers = [torch.optim.AdamW(m.parameters(), lr=1e-2) for m in (hf_tied, ours)]
    for _ in range(3):
        for model, optimizer in zip((hf_tied, ours), optimizers):
            optimizer.zero_grad()
            model(ids, labels=ids).loss.backward()
            optimizer.step()
        assert ours.lm_head.weight is ours.transformer.wte.weight
        assert ours.lm_head.weight.data_ptr() == ours.transformer.wte.weight.data_ptr()
        torch.testing.assert_close(ours.transformer.wte.weight, hf_tied.transformer.wte.weight, atol=1e-6, rtol=0)
    torch.testing.assert_close(ours(ids).logits, hf_tied(ids).logits, atol=1e-5, rtol=0)


def test_copying_is_not_tying():
    """The notebook's warning: a copy drifts away from the embedding at the first optimizer step."""
    torch.manual_seed(3)
    embedding, head = nn.Embedding(10, 4), nn.Linear(4, 10, bias=False)
    head.weight = nn.Parameter(embedding.weight.detach().clone())
    optimizer = torch.optim.SGD(list(embedding.parameters()) + list(head.parameters()), lr=0.1)
    nn.functional.cross_entropy(head(embedding(torch.tensor([1, 2]))), torch.tensor([3, 4])).backward()
    optimizer.step()
    assert not torch.equal(head.weight, embedding.weight)


# --- the facts table ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_models():
    with torch.device("meta"):
        return {"gpt2": GPT2LMHeadModel(GPT2Config()), "llama": LlamaForCausalLM(LlamaConfig()),
                "bert": BertForMaskedLM(BertConfig())}


def test_gpt2_learns_absolute_positions_and_ties(real_models):
    gpt2 = real_models["gpt2"]
    assert isinstance(gpt2.transformer.wpe, nn.Embedding) and gpt2.transformer.wpe.weight.shape == (1024, 768)
    assert gpt2.transformer.wpe.weight.requires_grad
    assert gpt2.lm_head.weight is gpt2.transformer.wte.weight
    assert gpt2.transformer.wte.weight.shape == (50257, 768)
    assert sum(p.numel() for p in gpt2.parameters()) == 124_439_808  # printed by the notebook


def test_llama_7b_uses_rope_and_does_not_tie(real_models):
    llama = real_models["llama"]
    config = llama.config
    assert (config.hidden_size, config.num_hidden_layers, config.intermediate_size, config.vocab_size) == \
        (4096, 32, 11008, 32000)
    assert config.tie_word_embeddings is False
    assert llama.lm_head.weight is not llama.model.embed_tokens.weight
    assert [name for name, m in llama.named_modules() if isinstance(m, nn.Embedding)] == ["model.embed_tokens"]
    assert isinstance(llama.model.rotary_emb, LlamaRotaryEmbedding)
    assert sum(p.numel() for p in llama.parameters()) == 6_738_415_616  # printed by the notebook


def test_bert_learns_absolute_positions_and_ties(real_models):
    bert = real_models["bert"]
    assert bert.bert.embeddings.position_embeddings.weight.shape == (512, 768)
    assert bert.get_output_embeddings().weight is bert.get_input_embeddings().weight
