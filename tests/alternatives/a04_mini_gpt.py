"""04-mini-gpt: edge-case bugs the text's domain exposes (aliasing, train mode, devices, leading
dimensions, extreme scores, caches, gradients), and correct solutions written in unusual ways.
Each solution replaces the whole solution cell of its exercise (the other exercises stay the
reference's)."""
from tests.alternatives import Correct, Wrong, variant

ASSIGNMENT = "04-mini-gpt"

SDPA = "scaled_dot_product_attention"
MHA = "MultiHeadAttention"
FF = "FeedForward"
BLOCK = "TransformerBlock"

# a plain correct sdpa: the solutions below that differ from it in one place are written as that difference
SDPA_PLAIN = '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
'''

# a plain correct block: the solutions below that differ from it in one place are written as that difference
BLOCK_PLAIN = '''
class TransformerBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model)
        self.attn = MultiHeadAttention(config)
        self.ln2 = nn.LayerNorm(config.d_model)
        self.mlp = FeedForward(config)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        x = x + self.mlp(self.ln2(x))
        return x
'''

# a plain correct minigpt: the solutions below that differ from it in one place are written as that difference
MINIGPT_PLAIN = '''
class MiniGPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)
        self.pos_emb = nn.Embedding(config.block_size, config.d_model)
        self.blocks = nn.ModuleList(TransformerBlock(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device))
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_f(x))
        if targets is None:
            return logits, None
        V = logits.shape[-1]
        return logits, F.cross_entropy(logits[:, :-1].reshape(-1, V), targets[:, 1:].reshape(-1))
'''


WRONG = [
    # scaled_dot_product_attention --------------------------------------------------------------
    Wrong(SDPA, "scales the caller's q in place (q /= sqrt(d_k))", variant(SDPA_PLAIN,
            ('    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])\n',
             '    q /= math.sqrt(q.shape[-1])\n'
             '    scores = q @ k.transpose(-2, -1)\n')), "in place"),
    Wrong(SDPA, "inverts the caller's mask in place (mask.logical_not_())", variant(SDPA_PLAIN,
            ('        scores = scores.masked_fill(~mask, float("-inf"))\n',
             '        scores = scores.masked_fill(mask.logical_not_(), float("-inf"))\n')), "in place"),
    Wrong(SDPA, "hand-written softmax without subtracting the row max: overflows on large scores", variant(SDPA_PLAIN,
            ('    weights = torch.softmax(scores, dim=-1)\n',
             '    e = torch.exp(scores)\n'
             '    weights = e / e.sum(dim=-1, keepdim=True)\n')), "overflow"),
    Wrong(SDPA, "masked scores set to -1e4 instead of -inf: large negative scores leak", variant(SDPA_PLAIN,
            ('        scores = scores.masked_fill(~mask, float("-inf"))\n',
             '        scores = scores.masked_fill(~mask, -1e4)\n')), "-inf"),
    Wrong(SDPA, "leading dimensions flattened for bmm: q and k cannot broadcast", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    *lead, Tq, d = q.shape
    Tk, dv = k.shape[-2], v.shape[-1]
    scores = torch.bmm(q.reshape(-1, Tq, d), k.reshape(-1, Tk, d).transpose(1, 2)) / math.sqrt(d)
    scores = scores.reshape(*lead, Tq, Tk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    out = torch.bmm(weights.reshape(-1, Tq, Tk), v.reshape(-1, Tk, dv)).reshape(*lead, Tq, dv)
    return out, weights
''', "broadcast"),
    Wrong(SDPA, "mask given a batch dimension (mask[None]): 2-D inputs get a 3-D result", variant(SDPA_PLAIN,
            ('        scores = scores.masked_fill(~mask, float("-inf"))\n',
             '        scores = scores.masked_fill(~mask[None], float("-inf"))\n')), "leading dimensions"),
    Wrong(SDPA, "weights detached (kept for plotting): no gradient reaches q and k", variant(SDPA_PLAIN,
            ('    weights = torch.softmax(scores, dim=-1)\n',
             '    weights = torch.softmax(scores, dim=-1).detach()\n')), "gradient"),
    Wrong(SDPA, "a single key returns v itself (a shortcut that aliases the input)", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    if k.shape[-2] == 1 and q.shape[-2] == 1:
        return v, torch.ones(v.shape[:-1] + (1,), dtype=v.dtype)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
''', "argument itself"),

    # causal_mask -------------------------------------------------------------------------------
    Wrong("causal_mask", "functools.lru_cache: every call returns the same tensor", '''
import functools


@functools.lru_cache(maxsize=None)
def causal_mask(T, device=None):
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()
''', "cache"),
    Wrong("causal_mask", "a view of one shared precomputed mask", '''
_FULL_MASK = torch.ones(256, 256, dtype=torch.bool).tril()


def causal_mask(T, device=None):
    return _FULL_MASK[:T, :T].to(device)
''', "shared"),
    Wrong("causal_mask", "a cache keyed on T only: the device of the first call sticks", '''
_MASKS = {}


def causal_mask(T, device=None):
    if T not in _MASKS:
        _MASKS[T] = torch.ones(T, T, dtype=torch.bool, device=device).tril()
    return _MASKS[T].clone()
''', "device"),
    Wrong("causal_mask", "device argument ignored", '''
def causal_mask(T, device=None):
    return torch.tril(torch.ones(T, T)).bool()
''', "device"),
    Wrong("causal_mask", "nested lists: T = 0 gives shape (0,), not (0, 0)", '''
def causal_mask(T, device=None):
    return torch.tensor([[j <= i for j in range(T)] for i in range(T)], dtype=torch.bool, device=device)
''', "T = 0"),

    # MultiHeadAttention ------------------------------------------------------------------------
    Wrong(MHA, "dropout on the attention weights (invisible in eval mode)", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.attn_drop = nn.Dropout(0.1)

    def forward(self, x, return_weights=False):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.n_head, -1).transpose(1, 2) for t in self.qkv(x).split(C, dim=-1))
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        weights = torch.softmax(scores.masked_fill(~causal_mask(T, x.device), float("-inf")), dim=-1)
        y = self.attn_drop(weights) @ v
        y = self.proj(y.transpose(1, 2).reshape(B, T, C))
        return (y, weights) if return_weights else y
''', "dropout"),
    Wrong(MHA, "q scaled in place on a view of qkv's output (autograd refuses it)", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)

    def forward(self, x, return_weights=False):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.n_head, -1).transpose(1, 2) for t in self.qkv(x).split(C, dim=-1))
        q *= 1 / math.sqrt(q.shape[-1])
        scores = (q @ k.transpose(-2, -1)).masked_fill(~causal_mask(T, x.device), float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        y = self.proj((weights @ v).transpose(1, 2).reshape(B, T, C))
        return (y, weights) if return_weights else y
''', "in place"),
    Wrong(MHA, "a non-persistent causal buffer of block_size (the text allows no buffers)", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.register_buffer("mask", causal_mask(config.block_size), persistent=False)

    def forward(self, x, return_weights=False):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.n_head, -1).transpose(1, 2) for t in self.qkv(x).split(C, dim=-1))
        y, weights = scaled_dot_product_attention(q, k, v, self.mask[:T, :T])
        y = self.proj(y.transpose(1, 2).reshape(B, T, C))
        return (y, weights) if return_weights else y
''', "buffer"),
    Wrong(MHA, "the causal mask is made on the CPU whatever x's device", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)

    def forward(self, x, return_weights=False):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.n_head, -1).transpose(1, 2) for t in self.qkv(x).split(C, dim=-1))
        y, weights = scaled_dot_product_attention(q, k, v, causal_mask(T))
        y = self.proj(y.transpose(1, 2).reshape(B, T, C))
        return (y, weights) if return_weights else y
''', "device"),
    Wrong(MHA, "the number of heads kept under another name (no self.n_head)", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.heads = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)

    def forward(self, x, return_weights=False):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.heads, -1).transpose(1, 2) for t in self.qkv(x).split(C, dim=-1))
        y, weights = scaled_dot_product_attention(q, k, v, causal_mask(T, x.device))
        y = self.proj(y.transpose(1, 2).reshape(B, T, C))
        return (y, weights) if return_weights else y
''', "n_head"),

    # FeedForward -------------------------------------------------------------------------------
    Wrong(FF, "dropout after the projection (invisible in eval mode)", '''
class FeedForward(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.proj = nn.Linear(4 * config.d_model, config.d_model)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        return self.drop(self.proj(F.gelu(self.fc(x), approximate="tanh")))
''', "dropout"),
    Wrong(FF, "assumes a 3-D input (B, T, C)", '''
class FeedForward(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.proj = nn.Linear(4 * config.d_model, config.d_model)

    def forward(self, x):
        B, T, C = x.shape
        h = F.gelu(self.fc(x.reshape(B * T, C)), approximate="tanh")
        return self.proj(h).reshape(B, T, C)
''', "leading dimensions"),
    Wrong(FF, "hand-written GELU updating fc's output in place (backward fails)", '''
class FeedForward(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.proj = nn.Linear(4 * config.d_model, config.d_model)

    def forward(self, x):
        h = self.fc(x)
        gate = 0.5 * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))
        h.mul_(gate)
        return self.proj(h)
''', "in place"),
    Wrong(FF, "GELU constant kept as a float32 tensor (float64 loses precision)", '''
SQRT_2_OVER_PI = torch.tensor(math.sqrt(2 / math.pi))


class FeedForward(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.proj = nn.Linear(4 * config.d_model, config.d_model)

    def forward(self, x):
        h = self.fc(x)
        h = 0.5 * h * (1 + torch.tanh(SQRT_2_OVER_PI * (h + 0.044715 * h ** 3)))
        return self.proj(h)
''', "float32"),

    # TransformerBlock --------------------------------------------------------------------------
    Wrong(BLOCK, "residual added in place: x += ... changes the caller's tensor", variant(BLOCK_PLAIN,
            ('        x = x + self.attn(self.ln1(x))\n'
             '        x = x + self.mlp(self.ln2(x))\n',
             '        x += self.attn(self.ln1(x))\n'
             '        x += self.mlp(self.ln2(x))\n')), "in place"),
    Wrong(BLOCK, "in place on a clone: LayerNorm's saved input changes (backward fails)", variant(BLOCK_PLAIN,
            ('        x = x + self.attn(self.ln1(x))\n'
             '        x = x + self.mlp(self.ln2(x))\n',
             '        x = x.clone()\n'
             '        x += self.attn(self.ln1(x))\n'
             '        x += self.mlp(self.ln2(x))\n')), "in place"),
    Wrong(BLOCK, "residual dropout (invisible in eval mode)", '''
class TransformerBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model)
        self.attn = MultiHeadAttention(config)
        self.ln2 = nn.LayerNorm(config.d_model)
        self.mlp = FeedForward(config)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        x = x + self.drop(self.attn(self.ln1(x)))
        return x + self.drop(self.mlp(self.ln2(x)))
''', "dropout"),
    Wrong(BLOCK, "LayerNorm eps 1e-6 instead of PyTorch's default 1e-5", '''
class TransformerBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model, eps=1e-6)
        self.attn = MultiHeadAttention(config)
        self.ln2 = nn.LayerNorm(config.d_model, eps=1e-6)
        self.mlp = FeedForward(config)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))
''', "eps"),
    Wrong(BLOCK, "submodules declared in another order (attn, mlp, ln1, ln2)", '''
class TransformerBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attn = MultiHeadAttention(config)
        self.mlp = FeedForward(config)
        self.ln1 = nn.LayerNorm(config.d_model)
        self.ln2 = nn.LayerNorm(config.d_model)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))
''', "order"),

    # MiniGPT -----------------------------------------------------------------------------------
    Wrong("MiniGPT", "positions made on the CPU whatever idx's device", variant(MINIGPT_PLAIN,
            ('        T = idx.shape[1]\n'
             '        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device))\n',
             '        x = self.tok_emb(idx) + self.pos_emb(torch.arange(idx.shape[1]))\n')), "device"),
    Wrong("MiniGPT", "loss returned as a Python float (.item()): nothing to backpropagate", variant(MINIGPT_PLAIN,
            ('        return logits, F.cross_entropy(logits[:, :-1].reshape(-1, V), targets[:, 1:].reshape(-1))\n',
             '        return logits, F.cross_entropy(logits[:, :-1].reshape(-1, V), targets[:, 1:].reshape(-1)).item()\n')), "0-dim"),
    Wrong("MiniGPT", "targets shifted in place: the caller's targets (often idx itself) change", variant(MINIGPT_PLAIN,
            ('        V = logits.shape[-1]\n'
             '        return logits, F.cross_entropy(logits[:, :-1].reshape(-1, V), targets[:, 1:].reshape(-1))\n',
             '        targets[:, :-1] = targets[:, 1:].clone()\n'
             '        targets[:, -1] = -100\n'
             '        return logits, F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))\n')), "in place"),
    Wrong("MiniGPT", "dropout on the embeddings (invisible in eval mode)", variant(MINIGPT_PLAIN,
            ('        self.blocks = nn.ModuleList(TransformerBlock(config) for _ in range(config.n_layer))\n',
             '        self.drop = nn.Dropout(0.1)\n'
             '        self.blocks = nn.ModuleList(TransformerBlock(config) for _ in range(config.n_layer))\n'),
            ('        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device))\n',
             '        x = self.drop(self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device)))\n')), "dropout"),
    Wrong("MiniGPT", "[TransformerBlock(config)] * n_layer: one block repeated", variant(MINIGPT_PLAIN,
            ('        self.blocks = nn.ModuleList(TransformerBlock(config) for _ in range(config.n_layer))\n',
             '        self.blocks = nn.ModuleList([TransformerBlock(config)] * config.n_layer)\n')), "repeat"),
    Wrong("MiniGPT", "hand-written cross-entropy that clamps -100 to token 0 instead of ignoring it", variant(MINIGPT_PLAIN,
            ('        V = logits.shape[-1]\n'
             '        return logits, F.cross_entropy(logits[:, :-1].reshape(-1, V), targets[:, 1:].reshape(-1))\n',
             '        logp = torch.log_softmax(logits[:, :-1], dim=-1)\n'
             '        picked = logp.gather(-1, targets[:, 1:].clamp(min=0)[..., None])\n'
             '        return logits, -picked.mean()\n')), "-100"),
    Wrong("MiniGPT", "the config kept under another name (no self.config)", variant(MINIGPT_PLAIN,
            ('        self.config = config\n',
             '        self.cfg = config\n')), "self.config"),

    # count_parameters --------------------------------------------------------------------------
    Wrong("count_parameters", "builds the model and counts its parameters", '''
def count_parameters(config):
    return sum(p.numel() for p in MiniGPT(config).parameters())
''', "build"),
    Wrong("count_parameters", "builds the model on the meta device", '''
def count_parameters(config):
    with torch.device("meta"):
        model = MiniGPT(config)
    return sum(p.numel() for p in model.parameters())
''', "build"),
    Wrong("count_parameters", "a float division in the formula: off by one for some d", '''
def count_parameters(config):
    d = config.d_model
    per_block = int(d * d * (12 + 13 / d))
    return config.vocab_size * d + config.block_size * d + config.n_layer * per_block + 2 * d
''', "integer"),
    Wrong("count_parameters", "a cache keyed on (vocab_size, d_model) only", '''
_COUNTS = {}


def count_parameters(config):
    key = (config.vocab_size, config.d_model)
    if key not in _COUNTS:
        d = config.d_model
        _COUNTS[key] = config.vocab_size * d + config.block_size * d + config.n_layer * (12 * d * d + 13 * d) + 2 * d
    return _COUNTS[key]
''', "cache"),
    Wrong("count_parameters", "recursion that counts the layers down in the caller's config", '''
def count_parameters(config):
    d = config.d_model
    if config.n_layer == 0:
        return config.vocab_size * d + config.block_size * d + 2 * d
    config.n_layer -= 1
    return 12 * d * d + 13 * d + count_parameters(config)
''', "config"),
]

CORRECT = [
    # scaled_dot_product_attention --------------------------------------------------------------
    Correct(SDPA, "einsum with broadcasting ellipses, torch.where with a -inf tensor", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = torch.einsum("...qd,...kd->...qk", q, k) * q.shape[-1] ** -0.5
    if mask is not None:
        scores = torch.where(mask, scores, torch.tensor(float("-inf"), dtype=scores.dtype))
    weights = scores.softmax(-1)
    return torch.einsum("...qk,...kd->...qd", weights, v), weights
'''),
    Correct(SDPA, "keys pre-scaled, an additive -inf mask, a stable hand-written softmax", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = torch.matmul(q, (k / math.sqrt(k.size(-1))).mT)
    if mask is not None:
        scores = scores + torch.zeros_like(scores).masked_fill(mask.logical_not(), -math.inf)
    scores = scores - scores.amax(dim=-1, keepdim=True)
    e = scores.exp()
    weights = e / e.sum(-1, keepdim=True)
    return weights @ v, weights
'''),
    Correct(SDPA, "exp of log_softmax, an all-True 0-dim mask when none is given", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    if mask is None:
        mask = torch.ones((), dtype=torch.bool)
    d_k = q.shape[-1]
    scores = (q @ k.transpose(-1, -2)) / d_k ** 0.5
    weights = torch.log_softmax(scores.masked_fill(mask == False, float("-inf")), dim=-1).exp()  # noqa: E712
    out = torch.matmul(weights, v)
    return (out, weights)
'''),

    # causal_mask -------------------------------------------------------------------------------
    Correct("causal_mask", "a comparison of two aranges", '''
def causal_mask(T, device=None):
    i = torch.arange(T, device=device)
    return i[:, None] >= i[None, :]
'''),
    Correct("causal_mask", "the complement of the strict upper triangle", '''
def causal_mask(T, device=None):
    return ~torch.ones(T, T, dtype=torch.bool, device=device).triu(diagonal=1)
'''),
    Correct("causal_mask", "a cache keyed on (T, device) that hands out copies", '''
_MASK_CACHE = {}


def causal_mask(T, device=None):
    key = (T, str(torch.device(device) if device is not None else torch.device("cpu")))
    if key not in _MASK_CACHE:
        _MASK_CACHE[key] = torch.tril(torch.ones(T, T, device=device)) == 1
    return _MASK_CACHE[key].clone()
'''),
    Correct("causal_mask", "a flat list reshaped to (T, T)", '''
def causal_mask(T, device=None):
    flat = [j <= i for i in range(T) for j in range(T)]
    return torch.tensor(flat, dtype=torch.bool, device=device).reshape(T, T)
'''),

    # MultiHeadAttention ------------------------------------------------------------------------
    Correct(MHA, "one head at a time, column slices, torch.cat and torch.stack", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)

    def forward(self, x, return_weights=False):
        B, T, C = x.shape
        hd = C // self.n_head
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        mask = causal_mask(T, x.device)
        outs, maps = [], []
        for h in range(self.n_head):
            cols = slice(h * hd, (h + 1) * hd)
            out, weights = scaled_dot_product_attention(q[..., cols], k[..., cols], v[..., cols], mask)
            outs.append(out)
            maps.append(weights)
        y = self.proj(torch.cat(outs, dim=-1))
        if return_weights:
            return y, torch.stack(maps, dim=1)
        return y
'''),
    Correct(MHA, "unflatten/permute/unbind, PyTorch's fused attention when no weights are asked", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)

    def forward(self, x, return_weights=False):
        B, T, C = x.shape
        q, k, v = self.qkv(x).unflatten(-1, (3, self.n_head, -1)).permute(2, 0, 3, 1, 4).unbind(0)
        if return_weights:
            y, weights = scaled_dot_product_attention(q, k, v, causal_mask(T, x.device))
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(T, x.device))
        y = self.proj(y.transpose(1, 2).flatten(2))
        return (y, weights) if return_weights else y
'''),
    Correct(MHA, "masks cached in a plain dict keyed by (T, device), F.linear", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self._masks = {}

    def forward(self, x, return_weights=False):
        B, T, C = x.shape
        key = (T, x.device)
        if key not in self._masks:
            self._masks[key] = causal_mask(T, x.device)
        qkv = F.linear(x, self.qkv.weight, self.qkv.bias)
        heads = [t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in qkv.split(C, dim=-1)]
        y, weights = scaled_dot_product_attention(*heads, self._masks[key])
        y = F.linear(y.transpose(1, 2).reshape(B, T, C), self.proj.weight, self.proj.bias)
        return (y, weights) if return_weights else y
'''),

    # FeedForward -------------------------------------------------------------------------------
    Correct(FF, "GELU-tanh through the sigmoid identity 0.5(1 + tanh z) = sigmoid(2z)", '''
class FeedForward(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.proj = nn.Linear(4 * config.d_model, config.d_model)

    def forward(self, x):
        h = self.fc(x)
        return self.proj(h * torch.sigmoid(2 * math.sqrt(2 / math.pi) * (h + 0.044715 * h.pow(3))))
'''),
    Correct(FF, "an nn.GELU submodule and F.linear", '''
class FeedForward(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.act = nn.GELU(approximate="tanh")
        self.proj = nn.Linear(4 * config.d_model, config.d_model)

    def forward(self, x):
        return F.linear(self.act(F.linear(x, self.fc.weight, self.fc.bias)), self.proj.weight, self.proj.bias)
'''),
    Correct(FF, "flattened to 2-D and back, torch.addmm", '''
class FeedForward(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.proj = nn.Linear(4 * config.d_model, config.d_model)

    def forward(self, x):
        flat = x.reshape(-1, x.shape[-1])
        h = F.gelu(torch.addmm(self.fc.bias, flat, self.fc.weight.t()), approximate="tanh")
        out = torch.addmm(self.proj.bias, h, self.proj.weight.t())
        return out.reshape(*x.shape[:-1], out.shape[-1])
'''),

    # TransformerBlock --------------------------------------------------------------------------
    Correct(BLOCK, "a loop over (norm, branch) pairs", variant(BLOCK_PLAIN,
            ('        x = x + self.attn(self.ln1(x))\n'
             '        x = x + self.mlp(self.ln2(x))\n',
             '        for norm, branch in ((self.ln1, self.attn), (self.ln2, self.mlp)):\n'
             '            x = x + branch(norm(x))\n'))),
    Correct(BLOCK, "functools.reduce and torch.add", '''
import functools


class TransformerBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model, eps=1e-5)
        self.attn = MultiHeadAttention(config)
        self.ln2 = nn.LayerNorm(config.d_model, eps=1e-5)
        self.mlp = FeedForward(config)

    def forward(self, x):
        steps = [(self.ln1, self.attn), (self.ln2, self.mlp)]
        return functools.reduce(lambda stream, step: torch.add(stream, step[1](step[0](stream))), steps, x)
'''),
    Correct(BLOCK, "F.layer_norm with the modules' own weights", variant(BLOCK_PLAIN,
            ('        x = x + self.attn(self.ln1(x))\n'
             '        x = x + self.mlp(self.ln2(x))\n'
             '        return x\n',
             '        shape = x.shape[-1:]\n'
             '        h = x + self.attn(F.layer_norm(x, shape, self.ln1.weight, self.ln1.bias, 1e-5))\n'
             '        return h + self.mlp(F.layer_norm(h, shape, self.ln2.weight, self.ln2.bias, 1e-5))\n'))),

    # MiniGPT -----------------------------------------------------------------------------------
    Correct("MiniGPT", "positions in a non-persistent buffer, blocks by functools.reduce", '''
import functools


class MiniGPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)
        self.pos_emb = nn.Embedding(config.block_size, config.d_model)
        self.blocks = nn.ModuleList([TransformerBlock(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight
        self.register_buffer("positions", torch.arange(config.block_size), persistent=False)

    def forward(self, idx, targets=None):
        T = idx.size(1)
        x = self.tok_emb(idx) + self.pos_emb(self.positions[:T])
        x = functools.reduce(lambda h, block: block(h), self.blocks, x)
        logits = self.head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits[:, :-1].flatten(0, 1), targets[:, 1:].flatten())
        return logits, loss
'''),
    Correct("MiniGPT", "pos_emb.weight[:T] sliced, cross-entropy on (B, V, T - 1)", '''
class MiniGPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)
        self.pos_emb = nn.Embedding(config.block_size, config.d_model)
        self.blocks = nn.ModuleList()
        for _ in range(config.n_layer):
            self.blocks.append(TransformerBlock(config))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight

    def forward(self, idx, targets=None):
        x = self.tok_emb(idx) + self.pos_emb.weight[: idx.shape[-1]]
        for i in range(len(self.blocks)):
            x = self.blocks[i](x)
        logits = self.head(self.ln_f(x))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits[:, :-1].transpose(1, 2), targets[:, 1:])
'''),
    Correct("MiniGPT", "targets rolled left (a copy) with -100 at the end, hand-written mean NLL", variant(MINIGPT_PLAIN,
            ('        T = idx.shape[1]\n'
             '        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device))\n',
             '        B, T = idx.shape\n'
             '        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device).expand(B, T))\n'),
            ('        V = logits.shape[-1]\n'
             '        return logits, F.cross_entropy(logits[:, :-1].reshape(-1, V), targets[:, 1:].reshape(-1))\n',
             '        shifted = targets.roll(-1, dims=1)\n'
             '        shifted[:, -1] = -100\n'
             '        keep = shifted != -100\n'
             '        logp = torch.log_softmax(logits, dim=-1).gather(-1, shifted.clamp(min=0)[..., None])[..., 0]\n'
             '        return logits, -(logp * keep).sum() / keep.sum()\n'))),

    # count_parameters --------------------------------------------------------------------------
    Correct("count_parameters", "parameter shapes listed and multiplied out (math.prod)", '''
def count_parameters(config):
    V, P, L, d = config.vocab_size, config.block_size, config.n_layer, config.d_model
    block = [(d,), (d,), (3 * d, d), (3 * d,), (d, d), (d,), (d,), (d,), (4 * d, d), (4 * d,), (d, 4 * d), (d,)]
    shapes = [(V, d), (P, d)] + block * L + [(d,), (d,)]
    return sum(map(math.prod, shapes))
'''),
    Correct("count_parameters", "recursion over a dataclasses.replace copy of the config", '''
import dataclasses


def count_parameters(config):
    d = config.d_model
    if config.n_layer == 0:
        return (config.vocab_size + config.block_size + 2) * d
    smaller = dataclasses.replace(config, n_layer=config.n_layer - 1)
    return 12 * d * d + 13 * d + count_parameters(smaller)
'''),
    Correct("count_parameters", "a dict of parts with numpy int64 arithmetic, int() at the end", '''
def count_parameters(config):
    d = np.int64(config.d_model)
    parts = {
        "embeddings": (config.vocab_size + config.block_size) * d,
        "attention": config.n_layer * (4 * d * d + 4 * d),
        "mlp": config.n_layer * (8 * d * d + 5 * d),
        "layer norms": (2 * config.n_layer + 1) * 2 * d,
    }
    return int(sum(parts.values()))
'''),
]
