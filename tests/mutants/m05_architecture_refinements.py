"""Plausible wrong solutions for 05-architecture-refinements."""
from tests.mutants import Mutant

ASSIGNMENT = "05-architecture-refinements"

RMS_NORM = '''
class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        h = {UPCAST}
        h = {NORMALISE}
        return {RETURN}
'''
RMS_OK = dict(UPCAST="x.to(torch.promote_types(x.dtype, torch.float32))",
              NORMALISE="h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)",
              RETURN="self.weight * h.to(x.dtype)")


def rms_norm(**changes) -> str:
    return RMS_NORM.format(**{**RMS_OK, **changes})


SWIGLU = '''
class SwiGLU(nn.Module):
    def __init__(self, d_model, hidden_dim):
        super().__init__()
        self.gate_proj = nn.Linear(d_model, hidden_dim, bias={BIAS})
        self.up_proj = nn.Linear(d_model, hidden_dim, bias={BIAS})
        self.down_proj = nn.Linear(hidden_dim, d_model, bias={BIAS})

    def forward(self, x):
        return self.down_proj({HIDDEN})
'''
SWIGLU_OK = dict(BIAS="False", HIDDEN="F.silu(self.gate_proj(x)) * self.up_proj(x)")


def swiglu(**changes) -> str:
    return SWIGLU.format(**{**SWIGLU_OK, **changes})


TABLES = '''
def rope_tables(head_dim, seq_len, theta=10000.0, dtype=torch.float32):
    {CHECK}
    inv_freq = {INV_FREQ}
    angles = torch.outer({POSITIONS}, inv_freq)
    angles = {LAYOUT}
    return {RETURN}
'''
TABLES_OK = dict(CHECK='if head_dim % 2:\n        raise ValueError("odd head_dim")',
                 INV_FREQ="theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)",
                 POSITIONS="torch.arange(seq_len, dtype=torch.float64)",
                 LAYOUT="torch.cat((angles, angles), dim=-1)", RETURN="angles.cos().to(dtype), angles.sin().to(dtype)")


def rope_tables(**changes) -> str:
    return TABLES.format(**{**TABLES_OK, **changes})


APPLY = '''
def apply_rope(x, cos, sin):
    {SPLIT}
    rotated = {ROTATED}
    return {RETURN}
'''
APPLY_OK = dict(SPLIT="x1, x2 = x.chunk(2, dim=-1)", ROTATED="torch.cat((-x2, x1), dim=-1)",
                RETURN="x * cos.to(x.dtype) + rotated * sin.to(x.dtype)")


def apply_rope(**changes) -> str:
    return APPLY.format(**{**APPLY_OK, **changes})


GQA = '''
class GroupedQueryAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head, self.n_kv_head, self.head_dim = config.n_head, config.n_kv_head, config.head_dim
        d, hd = config.d_model, config.head_dim
        self.q_proj = nn.Linear(d, config.n_head * hd, bias={BIAS})
        self.k_proj = nn.Linear(d, config.n_kv_head * hd, bias=False)
        self.v_proj = nn.Linear(d, config.n_kv_head * hd, bias=False)
        self.o_proj = nn.Linear(config.n_head * hd, d, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.n_kv_head, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.n_kv_head, self.head_dim).transpose(1, 2)
        {ROPE}
        groups = self.n_head // self.n_kv_head
        {REPEAT}
        {ATTEND}
        return self.o_proj({MERGE})
'''
GQA_OK = dict(BIAS="False", ROPE="q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)",
              REPEAT="k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)",
              ATTEND="y = F.scaled_dot_product_attention(q, k, v, is_causal=True)",
              MERGE="y.transpose(1, 2).reshape(B, T, -1)")


def gqa(**changes) -> str:
    return GQA.format(**{**GQA_OK, **changes})


BLOCK = '''
class LLaMABlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.input_layernorm = {NORM}
        self.self_attn = GroupedQueryAttention(config)
        self.post_attention_layernorm = {NORM}
        self.mlp = SwiGLU(config.d_model, config.hidden_dim)

    def forward(self, x, cos, sin):
{BODY}
'''
BLOCK_NORM = "RMSNorm(config.d_model, config.eps)"
BLOCK_BODY = ("x = x + self.self_attn(self.input_layernorm(x), cos, sin)",
              "return x + self.mlp(self.post_attention_layernorm(x))")


def block(*lines, norm=BLOCK_NORM) -> str:
    return BLOCK.format(NORM=norm, BODY="\n".join("        " + line for line in (lines or BLOCK_BODY)))


MINILLAMA = '''
class MiniLLaMA(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.layers = {LAYERS}
        self.norm = RMSNorm(config.d_model, config.eps)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        {EXTRA}

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.embed_tokens(idx)
        cos, sin = {TABLES}
        for layer in self.layers:
            x = layer(x, cos, sin)
        logits = self.lm_head({FINAL})
        if targets is None:
            return logits, None
        V = logits.shape[-1]
        return logits, {LOSS}
'''
MINILLAMA_OK = dict(LAYERS="nn.ModuleList(LLaMABlock(config) for _ in range(config.n_layer))", EXTRA="",
                    TABLES="rope_tables(self.config.head_dim, T, self.config.rope_theta, dtype=x.dtype)",
                    FINAL="self.norm(x)",
                    LOSS="F.cross_entropy(logits[:, :-1].reshape(-1, V), targets[:, 1:].reshape(-1))")


def minillama(**changes) -> str:
    return MINILLAMA.format(**{**MINILLAMA_OK, **changes})


MUTANTS = [
    # RMSNorm
    Mutant("RMSNorm", "eps outside the square root",
           rms_norm(NORMALISE="h / (h.pow(2).mean(-1, keepdim=True).sqrt() + self.eps)"), "inside the square root"),
    Mutant("RMSNorm", "the mean of |x| instead of the root mean square",
           rms_norm(NORMALISE="h / (h.abs().mean(-1, keepdim=True) + self.eps)"), "root mean square"),
    Mutant("RMSNorm", "the mean subtracted (a LayerNorm without bias)",
           rms_norm(NORMALISE="(h - h.mean(-1, keepdim=True)) * torch.rsqrt(h.var(-1, keepdim=True, unbiased=False) + self.eps)"),
           "subtract the mean"),
    Mutant("RMSNorm", "no float32 for half precision: x² overflows float16",
           rms_norm(UPCAST="x"), "overflow"),
    Mutant("RMSNorm", "x.float(): float64 inputs computed in float32",
           rms_norm(UPCAST="x.float()"), "x.float()"),
    Mutant("RMSNorm", "the weight is not applied", rms_norm(RETURN="h.to(x.dtype)"), "weight"),
    Mutant("RMSNorm", "the mean square over the whole tensor, not the last axis",
           rms_norm(NORMALISE="h * torch.rsqrt(h.pow(2).mean() + self.eps)"), "last axis"),
    Mutant("RMSNorm", "not cast back to x's dtype before the weight",
           rms_norm(RETURN="(self.weight * h).to(x.dtype)"), "before multiplying by the weight"),
    Mutant("RMSNorm", "a hard-coded eps of 1e-6 (Hugging Face's default) instead of self.eps",
           rms_norm(NORMALISE="h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6)"), "self.eps"),
    # SwiGLU
    Mutant("SwiGLU", "SiLU on up_proj instead of gate_proj",
           swiglu(HIDDEN="self.gate_proj(x) * F.silu(self.up_proj(x))"), "not on up_proj"),
    Mutant("SwiGLU", "GELU instead of SiLU", swiglu(HIDDEN="F.gelu(self.gate_proj(x)) * self.up_proj(x)"), "GELU"),
    Mutant("SwiGLU", "the sigmoid alone (GLU) instead of SiLU",
           swiglu(HIDDEN="torch.sigmoid(self.gate_proj(x)) * self.up_proj(x)"), "GLU"),
    Mutant("SwiGLU", "SiLU of the product", swiglu(HIDDEN="F.silu(self.gate_proj(x) * self.up_proj(x))"),
           "not on the product"),
    Mutant("SwiGLU", "a sum instead of a product", swiglu(HIDDEN="F.silu(self.gate_proj(x)) + self.up_proj(x)"),
           "not a sum"),
    Mutant("SwiGLU", "linear layers with biases", swiglu(BIAS="True"), "without bias"),
    Mutant("SwiGLU", "ReLU instead of SiLU", swiglu(HIDDEN="F.relu(self.gate_proj(x)) * self.up_proj(x)"), "ReLU"),
    # rope_tables
    Mutant("rope_tables", "positions from 1", rope_tables(POSITIONS="torch.arange(1, seq_len + 1, dtype=torch.float64)"),
           "positions are 0"),
    Mutant("rope_tables", "exponent i/head_dim instead of 2i/head_dim",
           rope_tables(INV_FREQ="theta ** (-torch.arange(head_dim // 2, dtype=torch.float64) / head_dim)"), "2i/head_dim"),
    Mutant("rope_tables", "interleaved layout (each angle repeated in place)",
           rope_tables(LAYOUT="angles.repeat_interleave(2, dim=-1)"), "interleaved"),
    Mutant("rope_tables", "theta ignored (10000 hard-coded)",
           rope_tables(INV_FREQ="10000.0 ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)"), "theta"),
    Mutant("rope_tables", "angles computed in float32",
           rope_tables(INV_FREQ="theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)",
                       POSITIONS="torch.arange(seq_len, dtype=torch.float32)"), "float64"),
    Mutant("rope_tables", "(sin, cos) returned instead of (cos, sin)",
           rope_tables(RETURN="angles.sin().to(dtype), angles.cos().to(dtype)"), "(cos, sin)"),
    Mutant("rope_tables", "no ValueError for an odd head_dim", rope_tables(CHECK="pass"), "ValueError"),
    Mutant("rope_tables", "frequencies in reverse order (the slowest pair first)",
           rope_tables(INV_FREQ="theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64).flip(0) / head_dim)"),
           "reverse order"),
    # apply_rope
    Mutant("apply_rope", "interleaved pairs (0, 1), (2, 3), ... instead of half-split",
           apply_rope(SPLIT="x1, x2 = x[..., 0::2], x[..., 1::2]",
                      ROTATED="torch.stack((-x2, x1), dim=-1).flatten(-2)"), "half-split"),
    Mutant("apply_rope", "rotate_half with the minus on the wrong half (turns the other way)",
           apply_rope(ROTATED="torch.cat((x2, -x1), dim=-1)"), "direction"),
    Mutant("apply_rope", "x changed in place", apply_rope(
        RETURN="x.mul_(cos.to(x.dtype)).add_(rotated * sin.to(x.dtype))"), "in place"),
    Mutant("apply_rope", "tables not cast to x's dtype", apply_rope(RETURN="x * cos + rotated * sin"), "dtype"),
    Mutant("apply_rope", "no rotate_half: x * cos + x * sin", apply_rope(RETURN="x * cos.to(x.dtype) + x * sin.to(x.dtype)"),
           "rotate_half"),
    Mutant("apply_rope", "leading dimensions flattened with x.view (fails on non-contiguous x)",
           apply_rope(SPLIT="x1, x2 = x.view(-1, x.shape[-1]).chunk(2, dim=-1)",
                      ROTATED="torch.cat((-x2, x1), dim=-1).view(x.shape)"), "non-contiguous"),
    Mutant("apply_rope", "assumes a 4-D x (B, H, T, head_dim)",
           apply_rope(SPLIT="B, H, T, D = x.shape\n    x1, x2 = x[..., :D // 2], x[..., D // 2:]"), "leading dimensions"),
    # GroupedQueryAttention
    Mutant("GroupedQueryAttention", "key/value heads tiled with repeat instead of repeat_interleave",
           gqa(REPEAT="k, v = k.repeat(1, groups, 1, 1), v.repeat(1, groups, 1, 1)"), "repeat_interleave"),
    Mutant("GroupedQueryAttention", "RoPE on v too",
           gqa(ROPE="q, k, v = apply_rope(q, cos, sin), apply_rope(k, cos, sin), apply_rope(v, cos, sin)"),
           "v is not turned"),
    Mutant("GroupedQueryAttention", "RoPE on q only", gqa(ROPE="q = apply_rope(q, cos, sin)"), "BOTH q and k"),
    Mutant("GroupedQueryAttention", "not causal", gqa(ATTEND="y = F.scaled_dot_product_attention(q, k, v)"), "causal"),
    Mutant("GroupedQueryAttention", "scores scaled by sqrt(d_model) instead of sqrt(head_dim)",
           gqa(ATTEND="y = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=1 / math.sqrt(x.shape[-1]))"),
           "sqrt(head_dim)"),
    Mutant("GroupedQueryAttention", "heads merged without transposing back", gqa(MERGE="y.reshape(B, T, -1)"),
           "transpose"),
    Mutant("GroupedQueryAttention", "q_proj with a bias", gqa(BIAS="True"), "bias"),
    Mutant("GroupedQueryAttention", "key/value heads repeated along the feature axis, then split back",
           gqa(REPEAT="k, v = (t.repeat_interleave(groups, dim=-1).view(B, self.n_kv_head, T, groups, self.head_dim)"
                      ".transpose(2, 3).reshape(B, self.n_head, T, self.head_dim) for t in (k, v))"), "another axis"),
    # LLaMABlock
    Mutant("LLaMABlock", "Post-norm: the norms after the additions",
           block("x = self.input_layernorm(x + self.self_attn(x, cos, sin))",
                 "return self.post_attention_layernorm(x + self.mlp(x))"), "Post-norm"),
    Mutant("LLaMABlock", "attention residual missing",
           block("x = self.self_attn(self.input_layernorm(x), cos, sin)",
                 "return x + self.mlp(self.post_attention_layernorm(x))"), "residual"),
    Mutant("LLaMABlock", "input_layernorm before both branches",
           block("x = x + self.self_attn(self.input_layernorm(x), cos, sin)",
                 "return x + self.mlp(self.input_layernorm(x))"), "not input_layernorm"),
    Mutant("LLaMABlock", "parallel branches (the MLP reads the stream before attention)",
           block("return x + self.self_attn(self.input_layernorm(x), cos, sin) + self.mlp(self.post_attention_layernorm(x))"),
           "AFTER the attention"),
    Mutant("LLaMABlock", "the norms built with the default eps, not config.eps",
           block(norm="RMSNorm(config.d_model)"), "config.eps"),
    Mutant("LLaMABlock", "LayerNorm instead of RMSNorm",
           block(norm="nn.LayerNorm(config.d_model, eps=config.eps, bias=False)"), "RMSNorm"),
    Mutant("LLaMABlock", "x added to in place", block("x += self.self_attn(self.input_layernorm(x), cos, sin)",
                                                      "return x + self.mlp(self.post_attention_layernorm(x))"),
           "in place"),
    # MiniLLaMA
    Mutant("MiniLLaMA", "head tied to the embedding", minillama(EXTRA="self.lm_head.weight = self.embed_tokens.weight"),
           "untied"),
    Mutant("MiniLLaMA", "no final norm", minillama(FINAL="x"), "final norm"),
    Mutant("MiniLLaMA", "rope_theta ignored", minillama(TABLES="rope_tables(self.config.head_dim, T, dtype=x.dtype)"),
           "rope_theta"),
    Mutant("MiniLLaMA", "tables in float32 whatever the model's dtype",
           minillama(TABLES="rope_tables(self.config.head_dim, T, self.config.rope_theta)"), "dtype=x.dtype"),
    Mutant("MiniLLaMA", "loss summed instead of averaged",
           minillama(LOSS="F.cross_entropy(logits[:, :-1].reshape(-1, V), targets[:, 1:].reshape(-1), reduction='sum')"),
           "averaged"),
    Mutant("MiniLLaMA", "loss not shifted",
           minillama(LOSS="F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))"), "shift"),
    Mutant("MiniLLaMA", "layers in a plain list (not registered)",
           minillama(LAYERS="[LLaMABlock(config) for _ in range(config.n_layer)]"), "ModuleList"),
    Mutant("MiniLLaMA", "a learned position embedding added, GPT-2 style",
           minillama(EXTRA="self.pos_emb = nn.Embedding(64, config.d_model)",
                     TABLES="rope_tables(self.config.head_dim, T, self.config.rope_theta, dtype=x.dtype)\n"
                            "        x = x + self.pos_emb(torch.arange(T))"), "no position embedding"),
]
