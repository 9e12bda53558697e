"""Plausible wrong solutions for 04-mini-gpt."""
from tests.mutants import Mutant

ASSIGNMENT = "04-mini-gpt"

SDPA = '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = {SCORES}
    if mask is not None:
        scores = {MASKED}
    weights = {SOFTMAX}
    {EXTRA}
    return {RETURN}
'''
SDPA_OK = dict(SCORES="q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])",
               MASKED='scores.masked_fill(~mask, float("-inf"))', SOFTMAX="torch.softmax(scores, dim=-1)",
               EXTRA="", RETURN="weights @ v, weights")


def sdpa(**changes) -> str:
    return SDPA.format(**{**SDPA_OK, **changes})


CAUSAL = '''
def causal_mask(T, device=None):
    return {BODY}
'''

MHA = '''
class MultiHeadAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)

    def forward(self, x, return_weights=False):
        B, T, C = x.shape
        H, hd = self.n_head, C // self.n_head
        {QKV}
        {HEADS}
        {ATTEND}
        y = {MERGE}
        y = {PROJ}
        return (y, weights) if return_weights else y
'''
MHA_OK = dict(QKV="q, k, v = self.qkv(x).split(C, dim=-1)",
              HEADS="q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in (q, k, v))",
              ATTEND="y, weights = scaled_dot_product_attention(q, k, v, causal_mask(T, x.device))",
              MERGE="y.transpose(1, 2).reshape(B, T, C)", PROJ="self.proj(y)")


def mha(**changes) -> str:
    return MHA.format(**{**MHA_OK, **changes})


FEED_FORWARD = '''
class FeedForward(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.fc = nn.Linear(config.d_model, {WIDTH}{FC_BIAS})
        self.proj = nn.Linear({WIDTH}, config.d_model)

    def forward(self, x):
        return {FORWARD}
'''
FF_OK = dict(WIDTH="4 * config.d_model", FC_BIAS="", FORWARD='self.proj(F.gelu(self.fc(x), approximate="tanh"))')


def feed_forward(**changes) -> str:
    return FEED_FORWARD.format(**{**FF_OK, **changes})


BLOCK = '''
class TransformerBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model)
        self.attn = MultiHeadAttention(config)
        self.ln2 = nn.LayerNorm(config.d_model)
        self.mlp = FeedForward(config)

    def forward(self, x):
{BODY}
'''


def block(*lines) -> str:
    return BLOCK.format(BODY="\n".join("        " + line for line in lines))


MINIGPT = '''
class MiniGPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)
        self.pos_emb = nn.Embedding(config.block_size, config.d_model)
        self.blocks = {BLOCKS}
        self.ln_f = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        {TIE}

    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = {EMBED}
        for block in self.blocks:
            x = block(x)
        logits = self.head({FINAL})
        loss = None
        if targets is not None:
            V = logits.shape[-1]
            loss = {LOSS}
        return logits, loss
'''
MINIGPT_OK = dict(BLOCKS="nn.ModuleList(TransformerBlock(config) for _ in range(config.n_layer))",
                  TIE="self.head.weight = self.tok_emb.weight",
                  EMBED="self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device))",
                  FINAL="self.ln_f(x)",
                  LOSS="F.cross_entropy(logits[:, :-1].reshape(-1, V), targets[:, 1:].reshape(-1))")


def minigpt(**changes) -> str:
    return MINIGPT.format(**{**MINIGPT_OK, **changes})


COUNT = '''
def count_parameters(config):
    d, V, L = config.d_model, config.vocab_size, config.n_layer
    per_block = {BLOCK}
    return {TOTAL}
'''
COUNT_OK = dict(BLOCK="12 * d * d + 13 * d", TOTAL="V * d + config.block_size * d + L * per_block + 2 * d")


def count(**changes) -> str:
    return COUNT.format(**{**COUNT_OK, **changes})


MUTANTS = [
    # scaled_dot_product_attention
    Mutant("scaled_dot_product_attention", "no 1/sqrt(d_k) scaling",
           sdpa(SCORES="q @ k.transpose(-2, -1)"), "scaling"),
    Mutant("scaled_dot_product_attention", "scores divided by d_k instead of sqrt(d_k)",
           sdpa(SCORES="q @ k.transpose(-2, -1) / q.shape[-1]"), "sqrt(d_k)"),
    Mutant("scaled_dot_product_attention", "scaled by the size of v instead of q",
           sdpa(SCORES="q @ k.transpose(-2, -1) / math.sqrt(v.shape[-1])"), "not of v"),
    Mutant("scaled_dot_product_attention", "softmax over the queries (wrong axis)",
           sdpa(SOFTMAX="torch.softmax(scores, dim=-2)"), "wrong axis"),
    Mutant("scaled_dot_product_attention", "mask meaning inverted (True = masked out)",
           sdpa(MASKED='scores.masked_fill(mask, float("-inf"))'), "may attend"),
    Mutant("scaled_dot_product_attention", "masked scores set to 0 instead of -inf",
           sdpa(MASKED="scores.masked_fill(~mask, 0.0)"), "-inf"),
    Mutant("scaled_dot_product_attention", "mask applied after the softmax, rows not renormalised",
           sdpa(MASKED="scores", EXTRA="weights = weights * mask if mask is not None else weights"),
           "before the softmax"),
    Mutant("scaled_dot_product_attention", "k transposed on the wrong axes",
           sdpa(SCORES="q @ k.transpose(1, 2) / math.sqrt(q.shape[-1])"), "transpose the last two axes"),
    Mutant("scaled_dot_product_attention", "returns only the output",
           sdpa(RETURN="weights @ v"), "tuple"),
    # causal_mask
    Mutant("causal_mask", "inverted: True above the diagonal (nn.MultiheadAttention's meaning)",
           CAUSAL.format(BODY="torch.ones(T, T, dtype=torch.bool, device=device).triu(1)"), "may attend"),
    Mutant("causal_mask", "shifted by one: the diagonal is masked",
           CAUSAL.format(BODY="torch.ones(T, T, dtype=torch.bool, device=device).tril(-1)"), "diagonal"),
    Mutant("causal_mask", "shifted by one: each token also sees the next one",
           CAUSAL.format(BODY="torch.ones(T, T, dtype=torch.bool, device=device).tril(1)"), "future"),
    Mutant("causal_mask", "upper instead of lower triangle",
           CAUSAL.format(BODY="torch.ones(T, T, dtype=torch.bool, device=device).triu()"), "earlier"),
    Mutant("causal_mask", "a float mask of ones and zeros",
           CAUSAL.format(BODY="torch.ones(T, T, device=device).tril()"), "bool"),
    Mutant("causal_mask", "everything visible",
           CAUSAL.format(BODY="torch.ones(T, T, dtype=torch.bool, device=device)"), "future"),
    # MultiHeadAttention
    Mutant("MultiHeadAttention", "heads split with view but no transpose",
           mha(HEADS="q, k, v = (t.reshape(B, H, T, hd) for t in (q, k, v))"), "transpose"),
    Mutant("MultiHeadAttention", "heads merged without transposing back",
           mha(MERGE="y.reshape(B, T, C)"), "merge"),
    Mutant("MultiHeadAttention", "qkv columns read as [k | q | v]",
           mha(QKV="k, q, v = self.qkv(x).split(C, dim=-1)"), "[q | k | v]"),
    Mutant("MultiHeadAttention", "no causal mask",
           mha(ATTEND="y, weights = scaled_dot_product_attention(q, k, v)"), "causal"),
    Mutant("MultiHeadAttention", "no output projection", mha(PROJ="y"), "output projection"),
    Mutant("MultiHeadAttention", "scores scaled by sqrt(d_model) instead of sqrt(head_dim)",
           mha(ATTEND="weights = torch.softmax((q @ k.transpose(-2, -1) / math.sqrt(C)).masked_fill("
                      "~causal_mask(T, x.device), float('-inf')), dim=-1); y = weights @ v"), "sqrt(head_dim)"),
    Mutant("MultiHeadAttention", "x.view fails on a non-contiguous input",
           mha(QKV="q, k, v = self.qkv(x.view(B * T, C)).view(B, T, 3 * C).split(C, dim=-1)"),
           "non-contiguous"),
    # FeedForward
    Mutant("FeedForward", "exact (erf) GELU instead of the tanh approximation",
           feed_forward(FORWARD="self.proj(F.gelu(self.fc(x)))"), "tanh"),
    Mutant("FeedForward", "ReLU instead of GELU", feed_forward(FORWARD="self.proj(F.relu(self.fc(x)))"), "GELU"),
    Mutant("FeedForward", "no activation", feed_forward(FORWARD="self.proj(self.fc(x))"), "no activation"),
    Mutant("FeedForward", "activation after the second linear layer",
           feed_forward(FORWARD='F.gelu(self.proj(self.fc(x)), approximate="tanh")'), "order"),
    Mutant("FeedForward", "hidden width d_model instead of 4 * d_model",
           feed_forward(WIDTH="config.d_model"), "4 * d_model"),
    Mutant("FeedForward", "fc without bias", feed_forward(FC_BIAS=", bias=False"), "bias"),
    # TransformerBlock
    Mutant("TransformerBlock", "Post-LN (the original Transformer) instead of Pre-LN",
           block("x = self.ln1(x + self.attn(x))", "return self.ln2(x + self.mlp(x))"), "Post-LN"),
    Mutant("TransformerBlock", "attention residual missing",
           block("x = self.attn(self.ln1(x))", "return x + self.mlp(self.ln2(x))"), "residual"),
    Mutant("TransformerBlock", "MLP residual missing",
           block("x = x + self.attn(self.ln1(x))", "return self.mlp(self.ln2(x))"), "residual"),
    Mutant("TransformerBlock", "ln1 used before both branches",
           block("x = x + self.attn(self.ln1(x))", "return x + self.mlp(self.ln1(x))"), "not ln1"),
    Mutant("TransformerBlock", "parallel branches (the MLP reads the stream before attention)",
           block("return x + self.attn(self.ln1(x)) + self.mlp(self.ln2(x))"), "after the attention"),
    Mutant("TransformerBlock", "the residual stream itself is normalized",
           block("x = self.ln1(x)", "x = x + self.attn(x)", "x = self.ln2(x)", "return x + self.mlp(x)"),
           "never normalized"),
    Mutant("TransformerBlock", "MLP before attention",
           block("x = x + self.mlp(self.ln2(x))", "return x + self.attn(self.ln1(x))"), "after the attention"),
    # MiniGPT
    Mutant("MiniGPT", "output head not tied to the token embedding", minigpt(TIE="pass"), "tie"),
    Mutant("MiniGPT", "position embedding not added", minigpt(EMBED="self.tok_emb(idx)"), "position"),
    Mutant("MiniGPT", "positions start at 1",
           minigpt(EMBED="self.tok_emb(idx) + self.pos_emb(torch.arange(1, T + 1).clamp(max=self.config.block_size - 1))"),
           "arange(T)"),
    Mutant("MiniGPT", "no final LayerNorm", minigpt(FINAL="x"), "ln_f"),
    Mutant("MiniGPT", "loss not shifted",
           minigpt(LOSS="F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))"), "shift"),
    Mutant("MiniGPT", "loss shifted the wrong way",
           minigpt(LOSS="F.cross_entropy(logits[:, 1:].reshape(-1, V), targets[:, :-1].reshape(-1))"), "shift"),
    Mutant("MiniGPT", "loss summed instead of averaged",
           minigpt(LOSS="F.cross_entropy(logits[:, :-1].reshape(-1, V), targets[:, 1:].reshape(-1), reduction='sum')"),
           "mean"),
    Mutant("MiniGPT", "loss computed against idx, ignoring targets",
           minigpt(LOSS="F.cross_entropy(logits[:, :-1].reshape(-1, V), idx[:, 1:].reshape(-1))"), "-100"),
    Mutant("MiniGPT", "blocks kept in a plain list (not registered)",
           minigpt(BLOCKS="[TransformerBlock(config) for _ in range(config.n_layer)]"), "ModuleList"),
    # count_parameters
    Mutant("count_parameters", "head counted separately although it is tied",
           count(TOTAL="2 * V * d + config.block_size * d + L * per_block + 2 * d"), "tied"),
    Mutant("count_parameters", "biases forgotten",
           count(BLOCK="12 * d * d + 4 * d"), "bias"),
    Mutant("count_parameters", "LayerNorm parameters forgotten",
           count(BLOCK="12 * d * d + 9 * d", TOTAL="V * d + config.block_size * d + L * per_block"), "LayerNorm"),
    Mutant("count_parameters", "position embedding forgotten",
           count(TOTAL="V * d + L * per_block + 2 * d"), "position"),
    Mutant("count_parameters", "MLP width d instead of 4d",
           count(BLOCK="6 * d * d + 10 * d"), "4d²"),
    Mutant("count_parameters", "final LayerNorm forgotten",
           count(TOTAL="V * d + config.block_size * d + L * per_block"), "ln_f"),
    Mutant("count_parameters", "returns a float",
           count(TOTAL="float(V * d + config.block_size * d + L * per_block + 2 * d)"), "int"),
]
