"""Second catalogue for 03-embedding-position: edge-case bugs that the text's domain exposes (each
written as a whole, plausible solution, not a one-token edit of the reference), and correct
solutions written in unusual ways that the text allows."""
from tests.alternatives import Correct, Wrong, variant

ASSIGNMENT = "03-embedding-position"

# a plain correct TokenEmbedding: solutions below that differ from it in a few places are its variants
TOKEN_PLAIN = '''
class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size, d_model, padding_idx=None):
        super().__init__()
        self.padding_idx = padding_idx
        table = torch.randn(vocab_size, d_model)
        if padding_idx is not None:
            table[padding_idx] = 0
        self.weight = nn.Parameter(table)

    def forward(self, ids):
        out = self.weight[ids]
        if self.padding_idx is not None:
            out = out * (ids != self.padding_idx).unsqueeze(-1)
        return out
'''

# the body of TOKEN_PLAIN's forward, which several solutions below replace as a whole
TOKEN_FORWARD = TOKEN_PLAIN.partition("    def forward(self, ids):\n")[2]

# a plain correct sinusoidal_position_encoding: solutions below that differ from it in a few places are its variants
PE_PLAIN = '''
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0, dtype=torch.float32):
    if d_model % 2:
        raise ValueError("d_model must be even")
    pos = torch.arange(seq_len, dtype=dtype).unsqueeze(1)
    freq = base ** (-torch.arange(0, d_model, 2, dtype=dtype) / d_model)
    pe = torch.empty(seq_len, d_model, dtype=dtype)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe
'''

# a plain correct EmbeddingWithPosition: solutions below that differ from it in a few places are its variants
EWP_PLAIN = '''
class EmbeddingWithPosition(nn.Module):
    def __init__(self, vocab_size, d_model, max_len, pad_id):
        super().__init__()
        self.max_len, self.pad_id = max_len, pad_id
        self.token = TokenEmbedding(vocab_size, d_model, padding_idx=pad_id)
        self.register_buffer("pe", sinusoidal_position_encoding(max_len, d_model))

    def forward(self, ids):
        T = ids.shape[1]
        if T > self.max_len:
            raise ValueError("sequence longer than max_len")
        return (self.token(ids) + self.pe[:T]) * (ids != self.pad_id).unsqueeze(-1)
'''

# the line EWP_PLAIN's forward ends with, which several solutions below replace
EWP_RETURN = '        return (self.token(ids) + self.pe[:T]) * (ids != self.pad_id).unsqueeze(-1)\n'

WRONG = [
    # TokenEmbedding -------------------------------------------------------------------------------
    Wrong("TokenEmbedding", "`if padding_idx:` treats padding_idx = 0 as no padding", variant(TOKEN_PLAIN,
            ('        table = torch.randn(vocab_size, d_model)\n'
             '        if padding_idx is not None:\n'
             '            table[padding_idx] = 0\n'
             '        self.weight = nn.Parameter(table)\n',
             '        self.weight = nn.Parameter(torch.randn(vocab_size, d_model))\n'
             '        if padding_idx:\n'
             '            with torch.no_grad():\n'
             '                self.weight[padding_idx] = 0\n'),
            ('        if self.padding_idx is not None:\n',
             '        if self.padding_idx:\n')), "padding_idx = 0"),
    Wrong("TokenEmbedding", "uses F.embedding (the functional spelling of the banned shortcut)", variant(TOKEN_PLAIN,
            (TOKEN_FORWARD,
             '        return F.embedding(ids, self.weight, padding_idx=self.padding_idx)\n')), "F.embedding"),
    Wrong("TokenEmbedding", "writes into a float32 zeros tensor: the output stays float32 after .double()",
          variant(TOKEN_PLAIN,
            (TOKEN_FORWARD,
             '        out = torch.zeros(*ids.shape, self.weight.shape[1])\n'
             '        keep = ids != self.padding_idx if self.padding_idx is not None else '
             'torch.ones_like(ids, dtype=torch.bool)\n'
             '        out[keep] = self.weight[ids[keep]]\n'
             '        return out\n')), "dtype"),
    Wrong("TokenEmbedding", "reshapes for (B, T) only: 0-D and 3-D ids get the wrong shape", variant(TOKEN_PLAIN,
            (TOKEN_FORWARD,
             '        flat = ids.reshape(-1)\n'
             '        rows = self.weight[flat]\n'
             '        if self.padding_idx is not None:\n'
             '            rows = rows * (flat != self.padding_idx).unsqueeze(-1)\n'
             '        if ids.dim() > 1:\n'
             '            return rows.reshape(ids.shape[0], -1, self.weight.shape[1])\n'
             '        return rows\n')), "any shape"),
    Wrong("TokenEmbedding", "looks rows up in weight.data: no gradient reaches the table", variant(TOKEN_PLAIN,
            ('        out = self.weight[ids]\n',
             '        out = self.weight.data[ids]\n'),
            ('            out = out * (ids != self.padding_idx).unsqueeze(-1)\n',
             '            out = out.masked_fill((ids == self.padding_idx).unsqueeze(-1), 0.0)\n')), ".data"),
    Wrong("TokenEmbedding", "embedding dropout in train mode (GPT-2 has one, the text does not)", variant(TOKEN_PLAIN,
            ('        self.weight = nn.Parameter(table)\n',
             '        self.weight = nn.Parameter(table)\n'
             '        self.drop = nn.Dropout(0.1)\n'),
            ('        return out\n',
             '        return self.drop(out)\n')), "dropout"),
    Wrong("TokenEmbedding", "replaces padding ids by 0 in the caller's ids tensor (in place)", variant(TOKEN_PLAIN,
            (TOKEN_FORWARD,
             '        if self.padding_idx is None:\n'
             '            return self.weight[ids]\n'
             '        pad = ids == self.padding_idx\n'
             '        ids[pad] = 0  # any real row will do: it is zeroed below\n'
             '        return self.weight[ids].masked_fill(pad.unsqueeze(-1), 0.0)\n')), "in place"),
    # sinusoidal_position_encoding -----------------------------------------------------------------
    Wrong("sinusoidal_position_encoding", "float64 or float32 only: float16 / bfloat16 come back float32",
          variant(PE_PLAIN.replace("dtype=dtype", "dtype=work"),
            ('        raise ValueError("d_model must be even")\n',
             '        raise ValueError("d_model must be even")\n'
             '    work = torch.float64 if dtype == torch.float64 else torch.float32\n'),
            ('.unsqueeze(1)', '[:, None]'),
            ('torch.empty(', 'torch.zeros(')), "dtype"),
    Wrong("sinusoidal_position_encoding", "rows built in Python: seq_len = 0 gives shape (0,), not (0, d_model)", '''
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0, dtype=torch.float32):
    if d_model % 2:
        raise ValueError("d_model must be even")
    rows = []
    for pos in range(seq_len):
        row = []
        for i in range(d_model // 2):
            angle = pos / base ** (2 * i / d_model)
            row += [math.sin(angle), math.cos(angle)]
        rows.append(row)
    return torch.tensor(rows, dtype=dtype)
''', "seq_len = 0"),
    Wrong("sinusoidal_position_encoding", "a cache keyed on (seq_len, d_model) only, ignoring base and dtype", '''
_PE_CACHE = {}


def sinusoidal_position_encoding(seq_len, d_model, base=10000.0, dtype=torch.float32):
    if d_model % 2:
        raise ValueError("d_model must be even")
    key = (seq_len, d_model)
    if key not in _PE_CACHE:
        pos = torch.arange(seq_len, dtype=dtype).unsqueeze(1)
        freq = base ** (-torch.arange(0, d_model, 2, dtype=dtype) / d_model)
        pe = torch.empty(seq_len, d_model, dtype=dtype)
        pe[:, 0::2] = torch.sin(pos * freq)
        pe[:, 1::2] = torch.cos(pos * freq)
        _PE_CACHE[key] = pe
    return _PE_CACHE[key].clone()
''', "cache"),
    Wrong("sinusoidal_position_encoding", "functools.lru_cache: every call returns the same tensor object",
          variant(PE_PLAIN,
            ('\ndef sinusoidal_position_encoding(',
             '\nimport functools\n\n\n@functools.lru_cache(maxsize=None)\ndef sinusoidal_position_encoding(')),
          "new tensor"),
    Wrong("sinusoidal_position_encoding", "the PyTorch tutorial's frequencies: float32 whatever dtype", '''
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0, dtype=torch.float32):
    if d_model % 2:
        raise ValueError("d_model must be even")
    position = torch.arange(seq_len, dtype=dtype).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(base) / d_model))
    pe = torch.zeros(seq_len, d_model, dtype=dtype)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe
''', "float64"),
    # relative_shift_matrix ------------------------------------------------------------------------
    Wrong("relative_shift_matrix", "a cache keyed on (k, d_model) only, ignoring base", '''
_SHIFTS = {}


def relative_shift_matrix(k, d_model, base=10000.0):
    if d_model % 2:
        raise ValueError("d_model must be even")
    if (k, d_model) not in _SHIFTS:
        w = base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
        c, s = torch.cos(k * w), torch.sin(k * w)
        m = torch.zeros(d_model, d_model, dtype=torch.float64)
        m[0::2, 0::2] = torch.diag(c)
        m[0::2, 1::2] = torch.diag(s)
        m[1::2, 0::2] = torch.diag(-s)
        m[1::2, 1::2] = torch.diag(c)
        _SHIFTS[(k, d_model)] = m
    return _SHIFTS[(k, d_model)].clone()
''', "cache"),
    Wrong("relative_shift_matrix", "functools.lru_cache: every call returns the same tensor object", '''
import functools


@functools.lru_cache(maxsize=None)
def relative_shift_matrix(k, d_model, base=10000.0):
    if d_model % 2:
        raise ValueError("d_model must be even")
    w = base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    m = torch.zeros(d_model, d_model, dtype=torch.float64)
    for i in range(d_model // 2):
        c, s = math.cos(k * w[i].item()), math.sin(k * w[i].item())
        m[2 * i:2 * i + 2, 2 * i:2 * i + 2] = torch.tensor([[c, s], [-s, c]], dtype=torch.float64)
    return m
''', "new tensor"),
    Wrong("relative_shift_matrix", "negative k by recursion, forgetting to pass base on", '''
def relative_shift_matrix(k, d_model, base=10000.0):
    if d_model % 2:
        raise ValueError("d_model must be even")
    if k < 0:
        return relative_shift_matrix(-k, d_model).T.contiguous()  # moving back is the inverse rotation
    w = base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    m = torch.zeros(d_model, d_model, dtype=torch.float64)
    idx = torch.arange(0, d_model, 2)
    m[idx, idx] = torch.cos(k * w)
    m[idx, idx + 1] = torch.sin(k * w)
    m[idx + 1, idx] = -torch.sin(k * w)
    m[idx + 1, idx + 1] = torch.cos(k * w)
    return m
''', "base"),
    Wrong("relative_shift_matrix", "frequencies in the default float32, converted at the end", '''
def relative_shift_matrix(k, d_model, base=10000.0):
    if d_model % 2:
        raise ValueError("d_model must be even")
    w = base ** (-torch.arange(0, d_model, 2) / d_model)
    c, s = torch.cos(k * w), torch.sin(k * w)
    m = torch.zeros(d_model, d_model)
    for i in range(d_model // 2):
        m[2 * i, 2 * i], m[2 * i, 2 * i + 1] = c[i], s[i]
        m[2 * i + 1, 2 * i], m[2 * i + 1, 2 * i + 1] = -s[i], c[i]
    return m.double()
''', "float64"),
    # EmbeddingWithPosition ------------------------------------------------------------------------
    Wrong("EmbeddingWithPosition", "sets the caller's padding ids to 0 in place before the lookup",
          variant(EWP_PLAIN,
            (EWP_RETURN,
             '        keep = ids != self.pad_id\n'
             '        ids[~keep] = 0  # harmless id, zeroed below anyway\n'
             '        return (self.token(ids) + self.pe[:T]) * keep.unsqueeze(-1)\n')), "in place"),
    Wrong("EmbeddingWithPosition", "forward recomputes a float32 table instead of using the pe buffer",
          variant(EWP_PLAIN,
            ('        self.max_len, self.pad_id = max_len, pad_id\n',
             '        self.max_len, self.pad_id, self.d_model = max_len, pad_id, d_model\n'),
            (EWP_RETURN,
             '        positions = sinusoidal_position_encoding(T, self.d_model)\n'
             '        return (self.token(ids) + positions) * (ids != self.pad_id).unsqueeze(-1)\n')), "self.pe"),
    Wrong("EmbeddingWithPosition", "embedding dropout in train mode, as in GPT-2", variant(EWP_PLAIN,
            ('        self.register_buffer("pe", sinusoidal_position_encoding(max_len, d_model))\n',
             '        self.register_buffer("pe", sinusoidal_position_encoding(max_len, d_model))\n'
             '        self.drop = nn.Dropout(0.1)\n'),
            (EWP_RETURN,
             '        return self.drop((self.token(ids) + self.pe[:T]) * (ids != self.pad_id).unsqueeze(-1))\n')),
          "dropout"),
    Wrong("EmbeddingWithPosition", "pe registered with persistent=False: not in the state_dict", variant(EWP_PLAIN,
            ('sinusoidal_position_encoding(max_len, d_model))\n',
             'sinusoidal_position_encoding(max_len, d_model), persistent=False)\n')), "state_dict"),
    Wrong("EmbeddingWithPosition", "fills a float32 zeros tensor: the output stays float32 after .double()",
          variant(EWP_PLAIN,
            ('        T = ids.shape[1]\n',
             '        B, T = ids.shape\n'),
            (EWP_RETURN,
             '        out = torch.zeros(B, T, self.pe.shape[1])\n'
             '        keep = ids != self.pad_id\n'
             '        out[keep] = (self.token(ids) + self.pe[:T])[keep]\n'
             '        return out\n')), "dtype"),
    Wrong("EmbeddingWithPosition", "one row at a time with torch.stack: an empty batch (B = 0) raises",
          variant(EWP_PLAIN,
            (EWP_RETURN,
             '        rows = []\n'
             '        for row in ids:\n'
             '            rows.append((self.token(row) + self.pe[:T]) * (row != self.pad_id).unsqueeze(-1))\n'
             '        return torch.stack(rows)\n')), "empty"),
    # tie_weights ----------------------------------------------------------------------------------
    Wrong("tie_weights", "returns the head (the text says it returns nothing)", '''
def tie_weights(embedding, head):
    if head.weight.shape != embedding.weight.shape:
        raise ValueError("shapes differ")
    head.weight = embedding.weight
    return head
''', "returns nothing"),
    Wrong("tie_weights", "compares only the vocabulary dimension", '''
def tie_weights(embedding, head):
    if head.weight.shape[0] != embedding.weight.shape[0]:
        raise ValueError("the head and the embedding have different vocabulary sizes")
    head.weight = embedding.weight
''', "d_model"),
    Wrong("tie_weights", "ties first, validates after: a failed call has already changed the head", '''
def tie_weights(embedding, head):
    head.weight = embedding.weight
    if tuple(head.weight.shape) != (head.out_features, head.in_features):
        raise ValueError("embedding.weight does not fit this head")
''', "unchanged"),
    Wrong("tie_weights", "refuses heads with a bias", '''
def tie_weights(embedding, head):
    if head.bias is not None:
        raise ValueError("a tied head must not have a bias")
    if head.weight.shape != embedding.weight.shape:
        raise ValueError("shapes differ")
    head.weight = embedding.weight
''', "bias"),
]

CORRECT = [
    # TokenEmbedding
    Correct("TokenEmbedding", "one-hot matrix product in the weight's dtype, torch.where for padding, "
                              "error messages that mention nn.Embedding and F.embedding", '''
class TokenEmbedding(nn.Module):
    """A lookup written by hand (no nn.Embedding, no F.embedding)."""

    def __init__(self, vocab_size, d_model, padding_idx=None):
        super().__init__()
        if padding_idx is not None and not 0 <= padding_idx < vocab_size:
            raise ValueError("padding_idx out of range (unlike nn.Embedding, negative ids are not allowed)")
        self.vocab_size, self.padding_idx = vocab_size, padding_idx
        self.weight = nn.Parameter(torch.randn(vocab_size, d_model))
        if padding_idx is not None:
            with torch.no_grad():
                self.weight[padding_idx].zero_()

    def forward(self, ids):
        if ids.is_floating_point():
            raise TypeError("ids must be integers, as for F.embedding")
        out = F.one_hot(ids, self.vocab_size).to(self.weight.dtype) @ self.weight
        if self.padding_idx is not None:
            out = torch.where((ids == self.padding_idx).unsqueeze(-1), torch.zeros((), dtype=out.dtype), out)
        return out
'''),
    Correct("TokenEmbedding", "index_select on the flattened ids in a method called `embedding`, "
                              "register_parameter, nn.init.normal_", '''
class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size, d_model, padding_idx=None):
        super().__init__()
        self.d_model = d_model
        self.padding_idx = padding_idx
        self.register_parameter("weight", nn.Parameter(nn.init.normal_(torch.empty(vocab_size, d_model))))
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0.0

    def embedding(self, ids):
        return torch.index_select(self.weight, 0, ids.reshape(-1)).reshape(*ids.shape, self.d_model)

    def forward(self, ids):
        vectors = self.embedding(ids)
        if self.padding_idx is None:
            return vectors
        return vectors.masked_fill(ids.eq(self.padding_idx)[..., None], 0)
'''),
    Correct("TokenEmbedding", "gather along rows, padding zeroed by a gradient-free row and a float mask", '''
class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size, d_model, padding_idx=None):
        super().__init__()
        table = torch.randn(vocab_size, d_model)
        if padding_idx is not None:
            table[padding_idx] = 0
        self.weight = nn.Parameter(table)
        self.padding_idx = -1 if padding_idx is None else padding_idx  # -1: no id is padding

    def forward(self, ids):
        d_model = self.weight.shape[1]
        index = ids.reshape(-1, 1).expand(-1, d_model)
        rows = self.weight.gather(0, index).reshape(*ids.shape, d_model)
        return rows * (ids != self.padding_idx).to(rows.dtype).unsqueeze(-1)
'''),
    Correct("TokenEmbedding", "no output mask: a zero padding row kept at zero by a gradient hook", '''
class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size, d_model, padding_idx=None):
        super().__init__()
        table = torch.randn(vocab_size, d_model)
        if padding_idx is not None:
            table[padding_idx] = 0.0
        self.weight = nn.Parameter(table)
        if padding_idx is not None:
            def no_gradient_for_padding(grad):
                grad = grad.clone()
                grad[padding_idx] = 0
                return grad
            self.weight.register_hook(no_gradient_for_padding)

    def forward(self, ids):
        return self.weight[ids]
'''),
    # sinusoidal_position_encoding
    Correct("sinusoidal_position_encoding", "pure Python with math.sin/cos in float64, one reshape", '''
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0, dtype=torch.float32):
    """Raises ValueError for an odd d_model."""
    if d_model % 2 == 1:
        raise ValueError(f"odd d_model {d_model}")
    values = [f(pos / base ** (2 * i / d_model))
              for pos in range(seq_len) for i in range(d_model // 2) for f in (math.sin, math.cos)]
    return torch.tensor(values, dtype=torch.float64).reshape(seq_len, d_model).to(dtype)
'''),
    Correct("sinusoidal_position_encoding", "exp/log frequencies, torch.outer, stack and flatten", '''
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0, dtype=torch.float32):
    if d_model & 1:
        raise ValueError("d_model must be even")
    pairs = torch.arange(0, d_model, 2, dtype=dtype)
    omega = torch.exp(pairs * (-math.log(base) / d_model))
    angles = torch.outer(torch.arange(seq_len, dtype=dtype), omega)
    return torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(-2)
'''),
    # relative_shift_matrix
    Correct("relative_shift_matrix", "torch.block_diag of 2x2 blocks from math.cos/sin; negative k as "
                                     "the transpose of the forward shift", '''
def relative_shift_matrix(k, d_model, base=10000.0):
    if d_model % 2:
        raise ValueError("d_model must be even")
    if k < 0:
        return relative_shift_matrix(-k, d_model, base).T.clone()
    blocks = []
    for i in range(d_model // 2):
        angle = k / base ** (2 * i / d_model)
        c, s = math.cos(angle), math.sin(angle)
        blocks.append(torch.tensor([[c, s], [-s, c]], dtype=torch.float64))
    return torch.block_diag(*blocks)
'''),
    Correct("relative_shift_matrix", "Kronecker products with the 2x2 identity and the rotation generator", '''
def relative_shift_matrix(k, d_model, base=10000.0):
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    omega = torch.pow(torch.tensor(float(base), dtype=torch.float64),
                      -torch.arange(d_model // 2, dtype=torch.float64) * 2 / d_model)
    identity = torch.eye(2, dtype=torch.float64)
    generator = torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    return torch.kron(torch.diag(torch.cos(k * omega)), identity) + \\
        torch.kron(torch.diag(torch.sin(k * omega)), generator)
'''),
    # EmbeddingWithPosition
    Correct("EmbeddingWithPosition", "length checked after slicing pe, masked_fill, register_buffer by keyword", '''
class EmbeddingWithPosition(nn.Module):
    def __init__(self, vocab_size, d_model, max_len, pad_id):
        super().__init__()
        self.pad_id = pad_id
        self.token = TokenEmbedding(vocab_size, d_model, padding_idx=pad_id)
        self.register_buffer(name="pe", tensor=sinusoidal_position_encoding(max_len, d_model), persistent=True)

    def forward(self, ids):
        T = ids.size(-1)
        positions = self.pe[:T]
        if positions.shape[0] < T:
            raise ValueError(f"{T} positions, but pe only has {self.pe.shape[0]} (max_len)")
        summed = self.token(ids) + positions.unsqueeze(0)
        return summed.masked_fill((ids == self.pad_id).unsqueeze(-1), 0.0)
'''),
    Correct("EmbeddingWithPosition", "narrow + expand_as, torch.where with a zero of the output's dtype", '''
class EmbeddingWithPosition(nn.Module):
    def __init__(self, vocab_size, d_model, max_len, pad_id):
        super().__init__()
        self.max_len = max_len
        self.pad_id = pad_id
        self.token = TokenEmbedding(vocab_size, d_model, pad_id)
        pe = sinusoidal_position_encoding(max_len, d_model)
        self.register_buffer("pe", pe)

    def forward(self, ids):
        if ids.shape[1] > self.max_len:
            raise ValueError("too long")
        tokens = self.token(ids)
        positions = self.pe.narrow(0, 0, ids.shape[1]).expand_as(tokens)
        keep = (ids != self.pad_id)[:, :, None]
        return torch.where(keep, tokens + positions, tokens.new_zeros(()))
'''),
    # tie_weights
    Correct("tie_weights", "register_parameter, shapes compared as torch.Size", '''
def tie_weights(embedding, head):
    """Raises ValueError("...") when shapes differ; ties with register_parameter."""
    if head.weight.size() != embedding.weight.size():
        raise ValueError(f"cannot tie {tuple(head.weight.size())} to {tuple(embedding.weight.size())}")
    head.register_parameter("weight", embedding.weight)
'''),
    Correct("tie_weights", "checks, deletes the old weight, then setattr", '''
def tie_weights(embedding, head):
    shared = embedding.weight
    if list(head.weight.shape) != list(shared.shape):
        raise ValueError("shapes differ")
    del head.weight
    setattr(head, "weight", shared)
'''),
]
