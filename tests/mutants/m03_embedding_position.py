"""Plausible wrong solutions for 03-embedding-position."""
from tests.mutants import Mutant

ASSIGNMENT = "03-embedding-position"

TOKEN_EMBEDDING = '''
class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size, d_model, padding_idx=None):
        super().__init__()
        self.padding_idx = padding_idx
        table = {INIT}
        {PAD_INIT}
        self.weight = {WRAP}

    def forward(self, ids):
        vectors = {LOOKUP}
        {PAD_MASK}
        return vectors
'''
CORRECT_TOKEN = dict(
    INIT="torch.randn(vocab_size, d_model)",
    PAD_INIT="if padding_idx is not None: table[padding_idx] = 0.0",
    WRAP="nn.Parameter(table)",
    LOOKUP="self.weight[ids]",
    PAD_MASK="if self.padding_idx is not None: vectors = vectors * (ids != self.padding_idx).unsqueeze(-1).float()",
)


def token_mutant(**changes) -> str:
    return TOKEN_EMBEDDING.format(**{**CORRECT_TOKEN, **changes})


PE = '''
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0, dtype=torch.float32):
    {CHECK}
    pos = torch.arange({POS_START}, seq_len + {POS_START}, dtype={WORK_DTYPE}).unsqueeze(1)
    j = torch.arange(d_model, dtype={WORK_DTYPE})
    exponent = {EXPONENT}
    angles = pos * {BASE} ** ({SIGN}exponent)
    pe = torch.empty(seq_len, d_model, dtype={WORK_DTYPE})
    {FILL}
    return pe.to(dtype)
'''
CORRECT_PE = dict(
    CHECK="if d_model % 2: raise ValueError('d_model must be even')",
    POS_START="0", WORK_DTYPE="dtype", EXPONENT="2 * (j // 2) / d_model", BASE="base", SIGN="-",
    FILL="pe[:, 0::2] = torch.sin(angles[:, 0::2]); pe[:, 1::2] = torch.cos(angles[:, 1::2])",
)


def pe_mutant(**changes) -> str:
    return PE.format(**{**CORRECT_PE, **changes})


SHIFT = '''
def relative_shift_matrix(k, d_model, base=10000.0):
    {CHECK}
    w = {BASE} ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    angle = {ANGLE}
    c, s = torch.cos(angle), torch.sin(angle)
    m = torch.zeros(d_model, d_model, dtype=torch.float64)
    {FILL}
    return m
'''
CORRECT_SHIFT = dict(
    CHECK="if d_model % 2: raise ValueError('d_model must be even')",
    BASE="base", ANGLE="k * w",
    FILL="""for i in range(d_model // 2):
        a, b = 2 * i, 2 * i + 1
        m[a, a], m[a, b], m[b, a], m[b, b] = c[i], s[i], -s[i], c[i]""",
)


def shift_mutant(**changes) -> str:
    return SHIFT.format(**{**CORRECT_SHIFT, **changes})


EWP = '''
class EmbeddingWithPosition(nn.Module):
    def __init__(self, vocab_size, d_model, max_len, pad_id):
        super().__init__()
        self.max_len, self.pad_id = max_len, pad_id
        self.token = TokenEmbedding(vocab_size, d_model, padding_idx={TOKEN_PAD})
        {PE_STORE}

    def forward(self, ids):
        seq_len = ids.shape[-1]
        {LEN_CHECK}
        keep = ({KEEP}).unsqueeze(-1).float()
        return {COMBINE}
'''
CORRECT_EWP = dict(
    TOKEN_PAD="pad_id",
    PE_STORE='self.register_buffer("pe", sinusoidal_position_encoding(max_len, d_model))',
    LEN_CHECK="if seq_len > self.max_len: raise ValueError('too long')",
    KEEP="ids != self.pad_id",
    COMBINE="(self.token(ids) + self.pe[:seq_len]) * keep",
)


def ewp_mutant(**changes) -> str:
    return EWP.format(**{**CORRECT_EWP, **changes})


TIE = '''
def tie_weights(embedding, head):
    {CHECK}
    {TIE}
'''
CORRECT_TIE = dict(
    CHECK="if head.weight.shape != embedding.weight.shape: raise ValueError('shapes differ')",
    TIE="head.weight = embedding.weight",
)


def tie_mutant(**changes) -> str:
    return TIE.format(**{**CORRECT_TIE, **changes})


MUTANTS = [
    # TokenEmbedding
    Mutant("TokenEmbedding", "scales the output by sqrt(d_model) (the original Transformer's convention)",
           token_mutant(LOOKUP="self.weight[ids] * math.sqrt(self.weight.shape[1])"), "sqrt(d_model)"),
    Mutant("TokenEmbedding", "off-by-one vocabulary: vocab_size - 1 rows",
           token_mutant(INIT="torch.randn(vocab_size - 1, d_model)"), "off-by-one in the vocabulary"),
    Mutant("TokenEmbedding", "off-by-one vocabulary: vocab_size + 1 rows, looked up at ids + 1",
           token_mutant(INIT="torch.randn(vocab_size + 1, d_model)", LOOKUP="self.weight[ids + 1]"),
           "vocab_size rows"),
    Mutant("TokenEmbedding", "weight is a plain tensor, not an nn.Parameter", token_mutant(WRAP="table"),
           "nn.Parameter"),
    Mutant("TokenEmbedding", "padding row never zeroed, padding positions not masked",
           token_mutant(PAD_INIT="pass", PAD_MASK="pass"), "padding_idx"),
    Mutant("TokenEmbedding", "padding row zeroed at initialisation only, so it gets a gradient",
           token_mutant(PAD_MASK="pass"), "no gradient"),
    Mutant("TokenEmbedding", "table initialised with zeros", token_mutant(INIT="torch.zeros(vocab_size, d_model)"),
           "torch.randn"),
    Mutant("TokenEmbedding", "uses nn.Embedding inside", '''
class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size, d_model, padding_idx=None):
        super().__init__()
        self.lookup = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        self.weight = self.lookup.weight

    def forward(self, ids):
        return self.lookup(ids)
''', "nn.Embedding"),
    Mutant("TokenEmbedding", "the padding mask is inverted",
           token_mutant(PAD_MASK="if self.padding_idx is not None: "
                                 "vectors = vectors * (ids == self.padding_idx).unsqueeze(-1).float()"),
           "padding_idx"),
    # sinusoidal_position_encoding
    Mutant("sinusoidal_position_encoding", "sin and cos swapped",
           pe_mutant(FILL="pe[:, 0::2] = torch.cos(angles[:, 0::2]); pe[:, 1::2] = torch.sin(angles[:, 1::2])"),
           "swapped"),
    Mutant("sinusoidal_position_encoding", "sin in every column",
           pe_mutant(FILL="pe[:] = torch.sin(angles)"), "cosine"),
    Mutant("sinusoidal_position_encoding", "concatenated halves (all sines, then all cosines) instead of interleaved",
           pe_mutant(FILL="h = d_model // 2; pe[:, :h] = torch.sin(angles[:, 0::2]); "
                          "pe[:, h:] = torch.cos(angles[:, 1::2])"), "interleaved"),
    Mutant("sinusoidal_position_encoding", "cos columns get their own frequency (exponent j/d with the column index)",
           pe_mutant(EXPONENT="j / d_model",
                     FILL="pe[:, 0::2] = torch.sin(angles[:, 0::2]); pe[:, 1::2] = torch.cos(angles[:, 1::2])"),
           "same frequency"),
    Mutant("sinusoidal_position_encoding", "exponent i/d (pair index without the factor 2)",
           pe_mutant(EXPONENT="(j // 2) / d_model"), "exponent"),
    Mutant("sinusoidal_position_encoding", "exponent with the wrong sign (base ** (+2i/d))",
           pe_mutant(SIGN=""), "sign"),
    Mutant("sinusoidal_position_encoding", "exponent divided by d_model - 1",
           pe_mutant(EXPONENT="2 * (j // 2) / (d_model - 1)"), "2i/d_model"),
    Mutant("sinusoidal_position_encoding", "positions start at 1", pe_mutant(POS_START="1"), "start at 0"),
    Mutant("sinusoidal_position_encoding", "base hard-coded to 10000", pe_mutant(BASE="10000.0"), "base"),
    Mutant("sinusoidal_position_encoding", "computed in float32 whatever the dtype",
           pe_mutant(WORK_DTYPE="torch.float32"), "float64"),
    Mutant("sinusoidal_position_encoding", "always returns float64, whatever dtype",
           pe_mutant(WORK_DTYPE="torch.float64").replace("return pe.to(dtype)", "return pe"), "float32 by default"),
    Mutant("sinusoidal_position_encoding", "no ValueError for an odd d_model (the last column is dropped)",
           pe_mutant(CHECK="d_model = d_model - d_model % 2"), "even"),
    # relative_shift_matrix
    Mutant("relative_shift_matrix", "transposed blocks: moves to pos - k",
           shift_mutant(FILL="""for i in range(d_model // 2):
        a, b = 2 * i, 2 * i + 1
        m[a, a], m[a, b], m[b, a], m[b, b] = c[i], -s[i], s[i], c[i]"""), "transpose"),
    Mutant("relative_shift_matrix", "angle does not grow with k", shift_mutant(ANGLE="w"), "grow with k"),
    Mutant("relative_shift_matrix", "wrong frequency (exponent i/d)",
           shift_mutant(ANGLE="k * base ** (-torch.arange(0, d_model // 2, dtype=torch.float64) / d_model)"),
           "frequency"),
    Mutant("relative_shift_matrix", "blocks laid out for concatenated halves (rows i and i + d/2)",
           shift_mutant(FILL="""h = d_model // 2
    for i in range(h):
        a, b = i, i + h
        m[a, a], m[a, b], m[b, a], m[b, b] = c[i], s[i], -s[i], c[i]"""), "interleaved"),
    Mutant("relative_shift_matrix", "base hard-coded to 10000", shift_mutant(BASE="10000.0"), "base"),
    Mutant("relative_shift_matrix", "computed and returned in float32",
           shift_mutant().replace("torch.float64", "torch.float32"), "float64"),
    Mutant("relative_shift_matrix", "no ValueError for an odd d_model", shift_mutant(CHECK="pass"), "even"),
    # EmbeddingWithPosition
    Mutant("EmbeddingWithPosition", "padding mask inverted", ewp_mutant(KEEP="ids == self.pad_id"), "inverted"),
    Mutant("EmbeddingWithPosition", "mask applied to the token part only (position part stays at padding)",
           ewp_mutant(COMBINE="self.token(ids) * keep + self.pe[:seq_len]"), "position part"),
    Mutant("EmbeddingWithPosition", "PAD id hard-coded to 0 (shares an id with a real token)",
           ewp_mutant(TOKEN_PAD="0", KEEP="ids != 0"), "pad_id"),
    Mutant("EmbeddingWithPosition", "positions start at 1",
           ewp_mutant(COMBINE="(self.token(ids) + self.pe[1:seq_len + 1]) * keep",
                      PE_STORE='self.register_buffer("pe", sinusoidal_position_encoding(max_len + 1, d_model))'),
           "positions"),
    Mutant("EmbeddingWithPosition", "encoding sliced by the batch size instead of the sequence length",
           ewp_mutant(COMBINE="(self.token(ids) + self.pe[:ids.shape[0]].unsqueeze(1)) * keep"),
           "sequence length"),
    Mutant("EmbeddingWithPosition", "adds the whole max_len table instead of pe[:T]",
           ewp_mutant(COMBINE="(self.token(ids) + self.pe) * keep"), "pe[:T]"),
    Mutant("EmbeddingWithPosition", "encoding stored as a learned nn.Parameter",
           ewp_mutant(PE_STORE="self.pe = nn.Parameter(sinusoidal_position_encoding(max_len, d_model))"),
           "buffer"),
    Mutant("EmbeddingWithPosition", "token embedding scaled by sqrt(d_model)",
           ewp_mutant(COMBINE="(self.token(ids) * math.sqrt(self.pe.shape[1]) + self.pe[:seq_len]) * keep"),
           "no scaling"),
    Mutant("EmbeddingWithPosition", "no ValueError beyond max_len (the encoding is silently cut)",
           ewp_mutant(LEN_CHECK="seq_len = min(seq_len, self.max_len)"), "max_len"),
    # tie_weights
    Mutant("tie_weights", "copies the values (.data.clone()) instead of sharing",
           tie_mutant(TIE="head.weight = nn.Parameter(embedding.weight.data.clone())"), "copy"),
    Mutant("tie_weights", "wraps the weight in a new nn.Parameter (shared storage, two Parameters)",
           tie_mutant(TIE="head.weight = nn.Parameter(embedding.weight)"), "same Parameter"),
    Mutant("tie_weights", "shares .data only (two Parameters on one storage)",
           tie_mutant(TIE="head.weight.data = embedding.weight.data"), "same Parameter"),
    Mutant("tie_weights", "ties in the wrong direction (the embedding takes the head's weight)",
           tie_mutant(TIE="embedding.weight = head.weight"), "direction"),
    Mutant("tie_weights", "no shape check", tie_mutant(CHECK="pass"), "ValueError"),
    Mutant("tie_weights", "ties a transposed copy of the weight",
           tie_mutant(CHECK="pass", TIE="head.weight = nn.Parameter(embedding.weight.t())"), "transpose"),
]
