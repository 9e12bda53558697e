"""05-architecture-refinements: edge-case bugs the text's domain exposes (aliasing through .to(), dtypes
of half precision, caches, integer division, train mode, shared modules, lengths), and correct solutions
written in unusual ways. Each solution replaces the whole solution cell of its exercise (the other
exercises stay the reference's)."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m05_architecture_refinements import apply_rope, block, gqa, minillama, rms_norm, rope_tables, swiglu

ASSIGNMENT = "05-architecture-refinements"

GQA = "GroupedQueryAttention"

# plain correct solutions (the mutants' templates filled in correctly): the alternatives below that differ
# from one in a few places are written as that difference
RMS_NORM_PLAIN, SWIGLU_PLAIN, TABLES_PLAIN, APPLY_PLAIN = rms_norm(), swiglu(), rope_tables(), apply_rope()
GQA_PLAIN, BLOCK_PLAIN, MINILLAMA_PLAIN = gqa(), block(), minillama()

WRONG = [
    # RMSNorm -----------------------------------------------------------------------------------
    Wrong("RMSNorm", "h = x.to(dtype) is x itself for float32/float64, then h *= ... changes the caller's x",
          variant(RMS_NORM_PLAIN, ("        h = h * torch.rsqrt(", "        h *= torch.rsqrt(")), "in place"),
    Wrong("RMSNorm", "only float16 is upcast: bfloat16 is computed in bfloat16", variant(RMS_NORM_PLAIN,
          ("h = x.to(torch.promote_types(x.dtype, torch.float32))", "h = x.float() if x.dtype == torch.float16 else x")),
          "bfloat16"),
    Wrong("RMSNorm", "the mean square divides by x.shape[0] instead of the size of the last axis",
          variant(RMS_NORM_PLAIN, ("h.pow(2).mean(-1, keepdim=True)", "h.pow(2).sum(-1, keepdim=True) / h.shape[0]")),
          "last axis"),
    Wrong("RMSNorm", "eps as a floor on the RMS (clamp) instead of inside the square root",
          variant(RMS_NORM_PLAIN, ("h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)",
                                   "h / h.pow(2).mean(-1, keepdim=True).sqrt().clamp(min=self.eps)")),
          "inside the square root"),

    # SwiGLU ------------------------------------------------------------------------------------
    Wrong("SwiGLU", "SiLU written in place on gate_proj's output with a detached sigmoid: a wrong gradient",
          variant(SWIGLU_PLAIN,
          ("        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))",
           "        gate = self.gate_proj(x)\n"
           "        gate.mul_(torch.sigmoid(gate.detach().clone()))\n"
           "        return self.down_proj(gate * self.up_proj(x))")), "detach"),
    Wrong("SwiGLU", "computed in float32 whatever x's dtype", variant(SWIGLU_PLAIN,
          ("        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))",
           "        hidden = (F.silu(self.gate_proj(x).float()) * self.up_proj(x).float()).to(x.dtype)\n"
           "        return self.down_proj(hidden)")), "float64"),
    Wrong("SwiGLU", "F.glu on [up, gate]: the sigmoid gate of GLU, not SiLU", variant(SWIGLU_PLAIN,
          ("F.silu(self.gate_proj(x)) * self.up_proj(x)",
           "F.glu(torch.cat((self.up_proj(x), self.gate_proj(x)), dim=-1), dim=-1)")), "GLU"),

    # rope_tables -------------------------------------------------------------------------------
    Wrong("rope_tables", "functools.lru_cache: every caller shares the same tensors", '''
import functools


@functools.lru_cache(maxsize=None)
def rope_tables(head_dim, seq_len, theta=10000.0, dtype=torch.float32):
    if head_dim % 2:
        raise ValueError("head_dim must be even")
    inv_freq = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float64), inv_freq).repeat(1, 2)
    return angles.cos().to(dtype), angles.sin().to(dtype)
''', "same mutable object"),
    Wrong("rope_tables", "an integer arange divided by head_dim is float32: the frequencies lose float64",
          variant(TABLES_PLAIN, ("torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim",
                                 "torch.arange(0, head_dim, 2) / head_dim")), "float64"),
    Wrong("rope_tables", "an assert instead of a ValueError for an odd head_dim", variant(TABLES_PLAIN,
          ('    if head_dim % 2:\n        raise ValueError("odd head_dim")\n',
           '    assert head_dim % 2 == 0, "head_dim must be even"\n')), "ValueError"),
    Wrong("rope_tables", "the angles cast to dtype before cos and sin", variant(TABLES_PLAIN,
          ("    return angles.cos().to(dtype), angles.sin().to(dtype)",
           "    angles = angles.to(dtype)\n    return angles.cos(), angles.sin()")), "float64"),

    # apply_rope --------------------------------------------------------------------------------
    Wrong("apply_rope", "x2.neg_() negates a view of the caller's x", variant(APPLY_PLAIN,
          ("rotated = torch.cat((-x2, x1), dim=-1)", "rotated = torch.cat((x2.neg_(), x1), dim=-1)")), "in place"),
    Wrong("apply_rope", "cos/sin unsqueezed at dim 1 as for Hugging Face's (B, T, head_dim) tables",
          variant(APPLY_PLAIN, ("    return x * cos.to(x.dtype) + rotated * sin.to(x.dtype)",
                                "    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)\n"
                                "    return x * cos.to(x.dtype) + rotated * sin.to(x.dtype)")), "row t"),
    Wrong("apply_rope", "sin not cast: a float32 x with float64 tables comes back float64",
          variant(APPLY_PLAIN, ("rotated * sin.to(x.dtype)", "rotated * sin")), "dtype"),

    # GroupedQueryAttention -----------------------------------------------------------------------
    Wrong(GQA, "dropout 0.1 on the attention weights in train mode", variant(GQA_PLAIN,
          ("F.scaled_dot_product_attention(q, k, v, is_causal=True)",
           "F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=0.1 if self.training else 0.0)")),
          "dropout"),
    Wrong(GQA, "heads repeated with expand in front: groups tiled (0, 1, 0, 1, ...)", variant(GQA_PLAIN,
          ("k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)",
           "k, v = (t[:, None].expand(B, groups, self.n_kv_head, T, self.head_dim).reshape(B, self.n_head, T, "
           "self.head_dim) for t in (k, v))")), "repeat_interleave"),
    Wrong(GQA, "a causal mask kept as a buffer", variant(GQA_PLAIN,
          ("        self.o_proj = nn.Linear(config.n_head * hd, d, bias=False)\n",
           "        self.o_proj = nn.Linear(config.n_head * hd, d, bias=False)\n"
           "        self.register_buffer('mask', torch.ones(256, 256, dtype=torch.bool).tril(), persistent=False)\n"),
          ("F.scaled_dot_product_attention(q, k, v, is_causal=True)",
           "F.scaled_dot_product_attention(q, k, v, attn_mask=self.mask[:T, :T])")), "buffer"),

    # LLaMABlock ----------------------------------------------------------------------------------
    Wrong("LLaMABlock", "the residual starts from the normalised stream", variant(BLOCK_PLAIN,
          ("        x = x + self.self_attn(self.input_layernorm(x), cos, sin)",
           "        x = self.input_layernorm(x)\n        x = x + self.self_attn(x, cos, sin)")), "Pre-norm"),
    Wrong("LLaMABlock", "one RMSNorm registered under both names (shared weights)", variant(BLOCK_PLAIN,
          ("        self.post_attention_layernorm = RMSNorm(config.d_model, config.eps)",
           "        self.post_attention_layernorm = self.input_layernorm")), "post_attention_layernorm"),
    Wrong("LLaMABlock", "dropout on the branches in train mode", variant(BLOCK_PLAIN,
          ("        self.mlp = SwiGLU(config.d_model, config.hidden_dim)\n",
           "        self.mlp = SwiGLU(config.d_model, config.hidden_dim)\n        self.drop = nn.Dropout(0.1)\n"),
          ("x + self.mlp(self.post_attention_layernorm(x))", "x + self.drop(self.mlp(self.post_attention_layernorm(x)))")),
          "dropout"),

    # MiniLLaMA -----------------------------------------------------------------------------------
    Wrong("MiniLLaMA", "tables precomputed for 64 positions (a block_size the text does not have)", variant(
        MINILLAMA_PLAIN,
        ("        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)\n",
         "        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)\n"
         "        self.cos, self.sin = rope_tables(config.head_dim, 64, config.rope_theta, torch.float64)\n"),
        ("        cos, sin = rope_tables(self.config.head_dim, T, self.config.rope_theta, dtype=x.dtype)",
         "        cos, sin = self.cos[:T].to(x.dtype), self.sin[:T].to(x.dtype)")), "no block_size"),
    Wrong("MiniLLaMA", "logits.float(), as Hugging Face returns them: a float64 model gives float32 logits",
          variant(MINILLAMA_PLAIN, ("logits = self.lm_head(self.norm(x))", "logits = self.lm_head(self.norm(x)).float()")),
          "dtype"),
    Wrong("MiniLLaMA", "T taken from idx.shape[0] (the batch size)",
          variant(MINILLAMA_PLAIN, ("        T = idx.shape[1]\n", "        T = idx.shape[0]\n")), "idx.shape[1]"),
]

CORRECT = [
    Correct("RMSNorm", "F.rms_norm in float32 for half precision, then the weight", variant(RMS_NORM_PLAIN,
            ("        h = x.to(torch.promote_types(x.dtype, torch.float32))\n"
             "        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)\n"
             "        return self.weight * h.to(x.dtype)\n",
             "        compute = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype\n"
             "        normed = F.rms_norm(x.to(compute), (x.shape[-1],), eps=self.eps)\n"
             "        return self.weight * normed.to(x.dtype)\n"))),
    Correct("RMSNorm", "divide by sqrt of mean(h * h), float32 chosen by an explicit test", variant(RMS_NORM_PLAIN,
            ("        h = x.to(torch.promote_types(x.dtype, torch.float32))\n"
             "        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)\n",
             "        h = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x\n"
             "        h = h / torch.sqrt(torch.mean(h * h, dim=-1, keepdim=True) + self.eps)\n"))),
    Correct("SwiGLU", "F.linear with the weights, SiLU as g * sigmoid(g)", '''
class SwiGLU(nn.Module):
    def __init__(self, d_model, hidden_dim):
        super().__init__()
        self.gate_proj = nn.Linear(d_model, hidden_dim, bias=False)
        self.up_proj = nn.Linear(d_model, hidden_dim, bias=False)
        self.down_proj = nn.Linear(hidden_dim, d_model, bias=False)

    def forward(self, x):
        g = F.linear(x, self.gate_proj.weight)
        return F.linear(g * torch.sigmoid(g) * F.linear(x, self.up_proj.weight), self.down_proj.weight)
'''),
    Correct("SwiGLU", "flattened to 2-D with one matmul for gate and up, then reshaped back", variant(SWIGLU_PLAIN,
            ("        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))\n",
             "        flat = x.reshape(-1, x.shape[-1])\n"
             "        both = flat @ torch.cat((self.gate_proj.weight, self.up_proj.weight)).T\n"
             "        gate, up = both.chunk(2, dim=-1)\n"
             "        return self.down_proj(F.silu(gate) * up).reshape(*x.shape[:-1], -1)\n"))),
    Correct("rope_tables", "complex exponentials (torch.polar), exp-log frequencies, repeat(1, 2)", '''
def rope_tables(head_dim, seq_len, theta=10000.0, dtype=torch.float32):
    if head_dim % 2 == 1:
        raise ValueError(f"odd head_dim {head_dim}")
    freqs = torch.exp(-math.log(theta) * torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.einsum("m,i->mi", torch.arange(seq_len, dtype=torch.float64), freqs)
    turns = torch.polar(torch.ones_like(angles), angles).repeat(1, 2)
    return turns.real.to(dtype), turns.imag.to(dtype)
'''),
    Correct("rope_tables", "a cache keyed on every argument that hands out clones", '''
_TABLES = {}


def rope_tables(head_dim, seq_len, theta=10000.0, dtype=torch.float32):
    if head_dim % 2:
        raise ValueError("head_dim must be even")
    key = (head_dim, seq_len, float(theta), dtype)
    if key not in _TABLES:
        inv_freq = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        angles = torch.outer(torch.arange(seq_len, dtype=torch.float64), inv_freq).repeat(1, 2)
        _TABLES[key] = (angles.cos().to(dtype), angles.sin().to(dtype))
    return tuple(t.clone() for t in _TABLES[key])
'''),
    Correct("apply_rope", "roll by half with a sign vector", variant(APPLY_PLAIN,
            ("    x1, x2 = x.chunk(2, dim=-1)\n    rotated = torch.cat((-x2, x1), dim=-1)\n",
             "    half = x.shape[-1] // 2\n"
             "    sign = torch.cat((-torch.ones(half, dtype=x.dtype), torch.ones(half, dtype=x.dtype)))\n"
             "    rotated = x.roll(half, dims=-1) * sign\n"))),
    Correct("apply_rope", "the pair formula with the first half of the tables only", '''
def apply_rope(x, cos, sin):
    half = x.shape[-1] // 2
    c, s = cos[:, :half].to(x.dtype), sin[:, :half].to(x.dtype)
    a, b = x[..., :half], x[..., half:]
    return torch.cat((a * c - b * s, b * c + a * s), dim=-1)
'''),
    Correct(GQA, "explicit softmax attention, query heads grouped by reshaping (no repeat)", variant(GQA_PLAIN,
            ("        groups = self.n_head // self.n_kv_head\n"
             "        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)\n"
             "        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)\n",
             "        groups = self.n_head // self.n_kv_head\n"
             "        q = q.reshape(B, self.n_kv_head, groups, T, self.head_dim)\n"
             "        scores = q @ k[:, :, None].transpose(-2, -1) / math.sqrt(self.head_dim)\n"
             "        future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)\n"
             "        weights = torch.softmax(scores.masked_fill(future, float('-inf')), dim=-1)\n"
             "        y = (weights @ v[:, :, None]).reshape(B, self.n_head, T, self.head_dim)\n"))),
    Correct(GQA, "PyTorch's attention with enable_gqa=True, unflatten/flatten", variant(GQA_PLAIN,
            ("        q = self.q_proj(x).view(B, T, self.n_head, self.head_dim).transpose(1, 2)\n"
             "        k = self.k_proj(x).view(B, T, self.n_kv_head, self.head_dim).transpose(1, 2)\n"
             "        v = self.v_proj(x).view(B, T, self.n_kv_head, self.head_dim).transpose(1, 2)\n",
             "        q, k, v = (proj(x).unflatten(-1, (-1, self.head_dim)).transpose(1, 2)\n"
             "                   for proj in (self.q_proj, self.k_proj, self.v_proj))\n"),
            ("        groups = self.n_head // self.n_kv_head\n"
             "        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)\n"
             "        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)\n"
             "        return self.o_proj(y.transpose(1, 2).reshape(B, T, -1))\n",
             "        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)\n"
             "        return self.o_proj(y.transpose(1, 2).flatten(2))\n"))),
    Correct("LLaMABlock", "a loop over (norm, branch) pairs with torch.add", variant(BLOCK_PLAIN,
            ("        x = x + self.self_attn(self.input_layernorm(x), cos, sin)\n"
             "        return x + self.mlp(self.post_attention_layernorm(x))\n",
             "        branches = ((self.input_layernorm, lambda h: self.self_attn(h, cos, sin)),\n"
             "                    (self.post_attention_layernorm, self.mlp))\n"
             "        for norm, branch in branches:\n"
             "            x = torch.add(x, branch(norm(x)))\n"
             "        return x\n"))),
    Correct("LLaMABlock", "residuals kept in named variables", variant(BLOCK_PLAIN,
            ("        x = x + self.self_attn(self.input_layernorm(x), cos, sin)\n"
             "        return x + self.mlp(self.post_attention_layernorm(x))\n",
             "        residual = x\n"
             "        attended = residual + self.self_attn(self.input_layernorm(residual), cos, sin)\n"
             "        return attended + self.mlp(self.post_attention_layernorm(attended))\n"))),
    Correct("MiniLLaMA", "the loss with the class axis second, logits by a matmul with lm_head.weight",
            variant(MINILLAMA_PLAIN,
                    ("logits = self.lm_head(self.norm(x))", "logits = self.norm(x) @ self.lm_head.weight.T"),
                    ("        V = logits.shape[-1]\n"
                     "        return logits, F.cross_entropy(logits[:, :-1].reshape(-1, V), targets[:, 1:].reshape(-1))\n",
                     "        return logits, F.cross_entropy(logits[:, :-1].transpose(1, 2), targets[:, 1:], "
                     "ignore_index=-100)\n"))),
    Correct("MiniLLaMA", "positions 1 ... T: RoPE scores depend on differences of positions only", variant(
        MINILLAMA_PLAIN, ("        cos, sin = rope_tables(self.config.head_dim, T, self.config.rope_theta, dtype=x.dtype)\n",
                          "        cos, sin = (t[1:] for t in rope_tables(self.config.head_dim, T + 1, self.config.rope_theta,\n"
                          "                                                dtype=x.dtype))\n"))),
    Correct("MiniLLaMA", "the loss as a sum over the kept targets divided by their count", variant(MINILLAMA_PLAIN,
            ("        V = logits.shape[-1]\n"
             "        return logits, F.cross_entropy(logits[:, :-1].reshape(-1, V), targets[:, 1:].reshape(-1))\n",
             "        kept = targets[:, 1:] != -100\n"
             "        log_probs = torch.log_softmax(logits[:, :-1], dim=-1)\n"
             "        picked = log_probs.gather(-1, targets[:, 1:].clamp(min=0)[..., None])[..., 0]\n"
             "        return logits, -(picked * kept).sum() / kept.sum()\n"))),
]
