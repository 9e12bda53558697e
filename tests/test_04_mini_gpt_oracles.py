"""Oracle tests for notebook 04 (Mini-GPT): the reference solutions against implementations that
nobody on this project wrote.

* PyTorch's `F.scaled_dot_product_attention` (boolean mask: True = attend) and
  `nn.MultiheadAttention` (boolean mask: True = masked out, the OPPOSITE meaning) must give the
  reference attention's outputs and per-head weights.
* Hugging Face's `GPT2LMHeadModel`, built from small random configs: the reference `MiniGPT`,
  loaded with its weights (renamed, Conv1D weights transposed), must give the same logits and the
  same loss (`labels=input_ids`, shifted inside the model). LayerNorm parameters and all biases are
  randomised first (GPT-2 initialises them to 1 and 0), so that a wrong copy cannot pass.
* The parameter count of GPT-2 small from the formula equals Hugging Face's model's.
"""
import pytest
import torch
import torch.nn.functional as F
import transformers
from transformers import GPT2Config, GPT2LMHeadModel

from autograder.notebook import load_reference

transformers.logging.set_verbosity_error()


@pytest.fixture(scope="module")
def ref():
    return load_reference("04-mini-gpt")


def config(ref, vocab_size, block_size, n_layer, n_head, d_model):
    return ref.GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_head=n_head,
                         d_model=d_model)


def random_mask(T_q, T_k, seed):
    """A boolean mask (True = attend) in which every query may attend to at least one key."""
    mask = torch.rand(T_q, T_k, generator=torch.Generator().manual_seed(seed)) > 0.5
    mask[torch.arange(T_q), torch.arange(T_q) % T_k] = True
    return mask


# --- attention against PyTorch ---------------------------------------------------------------

@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
def test_sdpa_equals_torch_sdpa_with_a_boolean_mask(ref, dtype, atol):
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 3, 5, 7, generator=g, dtype=dtype)
    k = torch.randn(2, 3, 6, 7, generator=g, dtype=dtype)
    v = torch.randn(2, 3, 6, 4, generator=g, dtype=dtype)
    mask = random_mask(5, 6, seed=1)
    got, _ = ref.scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(got, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=atol, rtol=0)
    got, _ = ref.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(got, F.scaled_dot_product_attention(q, k, v), atol=atol, rtol=0)


def test_causal_mask_equals_torch_is_causal(ref):
    g = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(1, 2, 9, 5, generator=g, dtype=torch.float64) for _ in range(3))
    got, _ = ref.scaled_dot_product_attention(q, k, v, ref.causal_mask(9))
    torch.testing.assert_close(got, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=1e-12, rtol=0)


@pytest.mark.parametrize("d_model, n_head", [(32, 4), (15, 3), (12, 1)])
def test_multi_head_attention_equals_torch_sdpa(ref, d_model, n_head):
    torch.manual_seed(3)
    attn = ref.MultiHeadAttention(config(ref, 10, 16, 1, n_head, d_model)).double()
    x = torch.randn(3, 11, d_model, dtype=torch.float64)
    with torch.no_grad():
        B, T, C = x.shape
        q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in attn.qkv(x).split(C, dim=-1))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        expected = attn.proj(y.transpose(1, 2).reshape(B, T, C))
        torch.testing.assert_close(attn(x), expected, atol=1e-12, rtol=0)


def torch_mha_like(attn, d_model, n_head, dtype):
    """nn.MultiheadAttention with the reference's weights: in_proj = qkv ([q|k|v] rows), out_proj = proj."""
    mha = torch.nn.MultiheadAttention(d_model, n_head, batch_first=True, dtype=dtype)
    with torch.no_grad():
        mha.in_proj_weight.copy_(attn.qkv.weight)
        mha.in_proj_bias.copy_(attn.qkv.bias)
        mha.out_proj.weight.copy_(attn.proj.weight)
        mha.out_proj.bias.copy_(attn.proj.bias)
    return mha.eval()


@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
@pytest.mark.parametrize("d_model, n_head", [(32, 4), (21, 3)])
def test_multi_head_attention_equals_nn_multihead_attention(ref, dtype, atol, d_model, n_head):
    torch.manual_seed(4)
    attn = ref.MultiHeadAttention(config(ref, 10, 16, 1, n_head, d_model)).to(dtype)
    with torch.no_grad():
        attn.qkv.bias.normal_()
        attn.proj.bias.normal_()
    mha = torch_mha_like(attn, d_model, n_head, dtype)
    x = torch.randn(2, 9, d_model, dtype=dtype)
    masked_out = ~ref.causal_mask(9)  # nn.MultiheadAttention: True = NOT allowed to attend
    with torch.no_grad():
        expected, expected_weights = mha(x, x, x, attn_mask=masked_out, need_weights=True,
                                         average_attn_weights=False)
        got, weights = attn(x, return_weights=True)
    torch.testing.assert_close(got, expected, atol=atol, rtol=0)
    torch.testing.assert_close(weights, expected_weights, atol=atol, rtol=0)


def test_nn_multihead_attention_mask_has_the_opposite_meaning(ref):
    """Passing our mask (True = attend) to nn.MultiheadAttention unchanged attends to the future."""
    torch.manual_seed(5)
    attn = ref.MultiHeadAttention(config(ref, 10, 16, 1, 2, 8)).double()
    mha = torch_mha_like(attn, 8, 2, torch.float64)
    x = torch.randn(1, 5, 8, dtype=torch.float64)
    mask = ref.causal_mask(5)
    mask[-1, :] = True  # keep one row fully allowed so the wrong call does not give NaN everywhere
    with torch.no_grad():
        _, wrong_weights = mha(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)
    assert wrong_weights[0, :, 0, 1:].sum() > 0.5, "row 0 should see the future with the unflipped mask"


# --- GPT-2 from Hugging Face ------------------------------------------------------------------

def hf_gpt2(n_layer, n_embd, n_head, vocab_size, n_positions, implementation, seed):
    torch.manual_seed(seed)
    hf_config = GPT2Config(n_layer=n_layer, n_embd=n_embd, n_head=n_head, vocab_size=vocab_size,
                           n_positions=n_positions, bos_token_id=0, eos_token_id=0,
                           attn_implementation=implementation)
    model = GPT2LMHeadModel(hf_config).eval()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".ln_" in name or name.startswith("transformer.ln_f"):
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.3 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
    return model


def gpt2_state_dict_for_minigpt(hf, n_layer) -> dict:
    """The renaming in the notebook's table; Conv1D (in, out) weights transposed for nn.Linear."""
    sd = hf.state_dict()
    out = {"tok_emb.weight": sd["transformer.wte.weight"], "pos_emb.weight": sd["transformer.wpe.weight"],
           "ln_f.weight": sd["transformer.ln_f.weight"], "ln_f.bias": sd["transformer.ln_f.bias"],
           "head.weight": sd["lm_head.weight"]}
    pairs = [("ln_1", "ln1", False), ("ln_2", "ln2", False), ("attn.c_attn", "attn.qkv", True),
             ("attn.c_proj", "attn.proj", True), ("mlp.c_fc", "mlp.fc", True), ("mlp.c_proj", "mlp.proj", True)]
    for i in range(n_layer):
        for hf_name, our_name, conv1d in pairs:
            weight = sd[f"transformer.h.{i}.{hf_name}.weight"]
            out[f"blocks.{i}.{our_name}.weight"] = weight.t() if conv1d else weight
            out[f"blocks.{i}.{our_name}.bias"] = sd[f"transformer.h.{i}.{hf_name}.bias"]
    return out


def minigpt_from_gpt2(ref, hf, n_layer, n_embd, n_head, vocab_size, n_positions):
    model = ref.MiniGPT(config(ref, vocab_size, n_positions, n_layer, n_head, n_embd)).eval()
    model.load_state_dict(gpt2_state_dict_for_minigpt(hf, n_layer), strict=True)
    assert model.head.weight is model.tok_emb.weight
    return model


GPT2_SIZES = {  # n_layer, n_embd, n_head, vocab_size, n_positions
    "2 layers, head size 16": (2, 64, 4, 256, 128),
    "3 layers, head size 15": (3, 60, 4, 101, 32),
    "1 layer, one head": (1, 24, 1, 50, 16),
}


@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("sizes", GPT2_SIZES)
def test_minigpt_with_gpt2_weights_gives_gpt2_logits_and_loss(ref, sizes, implementation):
    n_layer, n_embd, n_head, vocab_size, n_positions = GPT2_SIZES[sizes]
    hf = hf_gpt2(n_layer, n_embd, n_head, vocab_size, n_positions, implementation, seed=6)
    ours = minigpt_from_gpt2(ref, hf, n_layer, n_embd, n_head, vocab_size, n_positions)
    idx = torch.randint(vocab_size, (3, min(n_positions, 20)), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = hf(input_ids=idx, labels=idx)
        logits, loss = ours(idx, idx)
    torch.testing.assert_close(logits, expected.logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(loss, expected.loss, atol=1e-6, rtol=0)


def test_minigpt_with_gpt2_weights_float64(ref):
    """In float64 the logits agree to 1e-12 (measured: ~3e-16): the same computation, not just a close one."""
    n_layer, n_embd, n_head, vocab_size, n_positions = GPT2_SIZES["3 layers, head size 15"]
    hf = hf_gpt2(n_layer, n_embd, n_head, vocab_size, n_positions, "eager", seed=8).double()
    ours = minigpt_from_gpt2(ref, hf, n_layer, n_embd, n_head, vocab_size, n_positions).double()
    idx = torch.randint(vocab_size, (2, n_positions), generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        expected = hf(input_ids=idx, labels=idx)
        logits, loss = ours(idx, idx)
    torch.testing.assert_close(logits, expected.logits, atol=1e-12, rtol=0)
    # Hugging Face computes the loss from logits cast to float32, whatever the model's dtype
    torch.testing.assert_close(loss.float(), expected.loss, atol=1e-6, rtol=0)


def test_minigpt_loss_ignores_minus_100_like_gpt2(ref):
    n_layer, n_embd, n_head, vocab_size, n_positions = GPT2_SIZES["2 layers, head size 16"]
    hf = hf_gpt2(n_layer, n_embd, n_head, vocab_size, n_positions, "eager", seed=10)
    ours = minigpt_from_gpt2(ref, hf, n_layer, n_embd, n_head, vocab_size, n_positions)
    idx = torch.randint(vocab_size, (2, 12), generator=torch.Generator().manual_seed(11))
    labels = idx.clone()
    labels[0, :5] = -100
    labels[1, 7:] = -100
    with torch.no_grad():
        expected = hf(input_ids=idx, labels=labels).loss
        _, loss = ours(idx, labels)
    torch.testing.assert_close(loss, expected, atol=1e-6, rtol=0)


def test_gpt2_blocks_and_mlp_match_one_by_one(ref):
    """The same comparison block by block, on the inputs each GPT-2 block received inside the full
    model (a GPT-2 block called alone gets no causal mask): a wrong piece is located, not only detected."""
    n_layer, n_embd, n_head, vocab_size, n_positions = GPT2_SIZES["3 layers, head size 15"]
    hf = hf_gpt2(n_layer, n_embd, n_head, vocab_size, n_positions, "eager", seed=12).double()
    ours = minigpt_from_gpt2(ref, hf, n_layer, n_embd, n_head, vocab_size, n_positions).double()
    seen = []

    def record(module, args, kwargs, output):
        hidden = args[0] if args else kwargs["hidden_states"]
        seen.append((hidden, output[0] if isinstance(output, tuple) else output))

    handles = [block.register_forward_hook(record, with_kwargs=True) for block in hf.transformer.h]
    idx = torch.randint(vocab_size, (2, 10), generator=torch.Generator().manual_seed(13))
    with torch.no_grad():
        hf(input_ids=idx)
        for handle in handles:
            handle.remove()
        assert len(seen) == n_layer
        for i, (x, hf_out) in enumerate(seen):
            torch.testing.assert_close(ours.blocks[i].mlp(x), hf.transformer.h[i].mlp(x), atol=1e-12, rtol=0)
            torch.testing.assert_close(ours.blocks[i](x), hf_out, atol=1e-12, rtol=0)


def test_a_wrong_copy_does_not_pass(ref):
    """Guard: with ln_1 and ln_2 swapped while copying, the logits must differ."""
    n_layer, n_embd, n_head, vocab_size, n_positions = GPT2_SIZES["2 layers, head size 16"]
    hf = hf_gpt2(n_layer, n_embd, n_head, vocab_size, n_positions, "eager", seed=14)
    ours = minigpt_from_gpt2(ref, hf, n_layer, n_embd, n_head, vocab_size, n_positions)
    state = gpt2_state_dict_for_minigpt(hf, n_layer)
    for part in ("weight", "bias"):
        state[f"blocks.0.ln1.{part}"], state[f"blocks.0.ln2.{part}"] = state[f"blocks.0.ln2.{part}"], state[f"blocks.0.ln1.{part}"]
    ours.load_state_dict(state)
    idx = torch.randint(vocab_size, (1, 8), generator=torch.Generator().manual_seed(15))
    with torch.no_grad():
        assert (ours(idx)[0] - hf(input_ids=idx).logits).abs().max() > 1e-3


# --- parameter count ---------------------------------------------------------------------------

def test_count_parameters_of_gpt2_small_equals_hugging_face(ref):
    with torch.device("meta"):
        hf = GPT2LMHeadModel(GPT2Config())  # GPT-2 small: 50257, 1024, 12 layers, 12 heads, 768
        ours = ref.MiniGPT(ref.GPTConfig(50257, 1024, 12, 12, 768))
    hf_count = sum(p.numel() for p in hf.parameters())
    assert hf_count == 124_439_808
    assert ref.count_parameters(ref.GPTConfig(50257, 1024, 12, 12, 768)) == hf_count
    assert sum(p.numel() for p in ours.parameters()) == hf_count


@pytest.mark.parametrize("sizes", GPT2_SIZES)
def test_count_parameters_equals_hugging_face_on_small_configs(ref, sizes):
    n_layer, n_embd, n_head, vocab_size, n_positions = GPT2_SIZES[sizes]
    hf = hf_gpt2(n_layer, n_embd, n_head, vocab_size, n_positions, "eager", seed=16)
    expected = sum(p.numel() for p in hf.parameters())
    assert ref.count_parameters(config(ref, vocab_size, n_positions, n_layer, n_head, n_embd)) == expected
