"""Hidden checks for 03-embedding-position. Shapes, seeds and inputs differ from the visible checks.

Expected values come from closed forms written out here in float64 (math.sin / math.cos), not from
the reference, so a check says exactly which convention was broken.
"""
import math

import pytest
import torch
import torch.nn as nn

from autograder.checking import expect, expect_close, expect_equal, exercise
from autograder.remote import is_a, kind_of, probe


def closed_form_pe(seq_len: int, d_model: int, base: float = 10000.0, start: int = 0) -> torch.Tensor:
    """PE[pos, 2i] = sin(pos / base^(2i/d)), PE[pos, 2i+1] = cos(...), float64, pos = start .. start+seq_len-1."""
    rows = []
    for pos in range(start, start + seq_len):
        row = []
        for i in range(d_model // 2):
            angle = pos / base ** (2 * i / d_model)
            row += [math.sin(angle), math.cos(angle)]
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float64).reshape(seq_len, d_model)


def closed_form_shift(k: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    shift = torch.zeros(d_model, d_model, dtype=torch.float64)
    for i in range(d_model // 2):
        angle = k / base ** (2 * i / d_model)
        c, s = math.cos(angle), math.sin(angle)
        shift[2 * i:2 * i + 2, 2 * i:2 * i + 2] = torch.tensor([[c, s], [-s, c]], dtype=torch.float64)
    return shift


def parameters_of(module: nn.Module) -> list:
    return list(module.parameters())


# TokenEmbedding -------------------------------------------------------------------------------

@exercise("TokenEmbedding", hint="self.weight must be an nn.Parameter with exactly vocab_size rows and "
                                 "d_model columns: shape (vocab_size, d_model), no extra or missing row "
                                 "(an off-by-one in the vocabulary?).")
def test_token_embedding_weight_shape(student):
    """weight has shape (vocab_size, d_model) = (13, 5)."""
    embedding = student.TokenEmbedding(13, 5)
    expect(hasattr(embedding, "weight"), "the module has no attribute `weight`")
    expect_equal(tuple(embedding.weight.shape), (13, 5), "weight.shape")


@exercise("TokenEmbedding", hint="Wrap the table in nn.Parameter(...) and assign it to self.weight, so that "
                                 "module.parameters() (and so the optimizer) sees it.")
def test_token_embedding_weight_is_a_registered_parameter(student):
    """weight is an nn.Parameter that module.parameters() returns."""
    embedding = student.TokenEmbedding(6, 3)
    expect(is_a(embedding.weight, nn.Parameter), f"weight is a {kind_of(embedding.weight)}, not an nn.Parameter")
    expect(any(p is embedding.weight for p in embedding.parameters()),
           "weight is not among module.parameters(): the optimizer would never train it")


@exercise("TokenEmbedding", weight=2, hint="forward(ids) must return weight[ids] exactly: no sqrt(d_model) "
                                           "scaling, no shifted index (ids - 1 or ids + 1).")
def test_token_embedding_forward_is_row_lookup(student):
    """forward(ids) equals weight[ids] for (3, 4) ids, d_model 9."""
    embedding = student.TokenEmbedding(11, 9)
    ids = torch.tensor([[0, 10, 3, 3], [7, 1, 10, 0], [5, 5, 2, 9]])
    expect_close(embedding(ids), embedding.weight.detach()[ids], atol=0, what="forward(ids)")


@exercise("TokenEmbedding", hint="Do not multiply by sqrt(d_model): this course follows GPT-2, whose token "
                                 "embedding is not scaled (the original Transformer scales it).")
def test_token_embedding_is_not_scaled(student):
    """Output vectors have the same norms as the weight rows (no sqrt(d_model) scaling)."""
    embedding = student.TokenEmbedding(5, 16)
    ids = torch.arange(5)
    ratio = embedding(ids).norm(dim=-1) / embedding.weight.detach().norm(dim=-1)
    expect_close(ratio, torch.ones(5), atol=1e-6, what="|output| / |weight row|")


@exercise("TokenEmbedding", hint="Index with the ids tensor directly: weight[ids] works for any shape, "
                                 "including a single id, a batch of 1 and non-contiguous ids.")
def test_token_embedding_any_id_shape(student):
    """1-D ids, a (1, 1) batch and non-contiguous (transposed) ids give ids.shape + (d_model,)."""
    embedding = student.TokenEmbedding(8, 3)
    weight = embedding.weight.detach()
    single = torch.tensor([[6]])
    expect_close(embedding(single), weight[single], atol=0, what="ids of shape (1, 1)")
    flat = torch.tensor([7, 0, 2])
    expect_close(embedding(flat), weight[flat], atol=0, what="ids of shape (3,)")
    transposed = torch.tensor([[1, 2, 3], [4, 5, 6]]).t()
    expect(not transposed.is_contiguous(), "internal: the ids should be non-contiguous")
    expect_close(embedding(transposed), weight[transposed], atol=0, what="transposed ids of shape (3, 2)")


@exercise("TokenEmbedding", hint="Initialise the table with torch.randn(vocab_size, d_model): random "
                                 "standard normal values, like nn.Embedding (not zeros, not uniform).")
def test_token_embedding_initialised_standard_normal(student):
    """A (1000, 16) table starts random with mean ≈ 0 and standard deviation ≈ 1."""
    weight = student.TokenEmbedding(1000, 16).weight.detach().double()
    expect(abs(weight.mean().item()) < 0.05, f"mean of the initial weights is {weight.mean().item():.3f}, expected ≈ 0")
    expect(0.95 < weight.std().item() < 1.05,
           f"standard deviation of the initial weights is {weight.std().item():.3f}, expected ≈ 1 (torch.randn)")


@exercise("TokenEmbedding", weight=2, hint="With padding_idx, set that row of the table to zero at "
                                           "initialisation, and return zero vectors where ids == padding_idx.")
def test_token_embedding_padding_row_is_zero(student):
    """padding_idx = 4: row 4 starts at zero and ids 4 give zero vectors; other rows are random."""
    embedding = student.TokenEmbedding(7, 6, padding_idx=4)
    expect_close(embedding.weight.detach()[4], torch.zeros(6), atol=0, what="the padding row at initialisation")
    expect(bool((embedding.weight.detach()[[0, 1, 2, 3, 5, 6]] != 0).all()),
           "rows other than the padding row should stay random")
    ids = torch.tensor([[4, 1, 4], [3, 4, 0]])
    out = embedding(ids)
    expect_close(out[ids == 4], torch.zeros(3, 6), atol=0, what="output at positions holding padding_idx")
    expect_close(out[ids != 4], embedding.weight.detach()[ids[ids != 4]], atol=0, what="output at other positions")


def sgd_step_on_weighted_sum(embedding, ids, weights):
    """Probe (runs in the worker): one SGD step on sum(embedding(ids) * weights); the gradient of weight."""
    import torch
    optimizer = torch.optim.SGD(embedding.parameters(), lr=0.5)
    (embedding(ids) * weights).sum().backward()
    gradient = embedding.weight.grad.detach().clone()
    optimizer.step()
    return gradient


@exercise("TokenEmbedding", weight=2, hint="The padding row must receive no gradient, so it stays zero "
                                           "during training: mask the looked-up rows (ids != padding_idx) "
                                           "instead of only zeroing the row at initialisation.")
def test_token_embedding_padding_row_gets_no_gradient(student):
    """After backward and an SGD step the padding row is still zero, and padding still gives zeros."""
    embedding = student.TokenEmbedding(5, 4, padding_idx=0)
    ids = torch.tensor([[0, 2, 0, 3]])
    gradient = probe(student, sgd_step_on_weighted_sum, embedding, ids, torch.arange(1.0, 5.0))
    expect_close(gradient[0], torch.zeros(4), atol=0, what="the gradient of the padding row")
    expect_close(embedding.weight.detach()[0], torch.zeros(4), atol=0, what="the padding row after an SGD step")
    expect_close(embedding(ids)[0, 0], torch.zeros(4), atol=0, what="the output at padding after an SGD step")


@exercise("TokenEmbedding", hint="Without padding_idx no id is special: id 0 is an ordinary token.")
def test_token_embedding_without_padding_id_zero_is_ordinary(student):
    """Without padding_idx, id 0 gets its own random row."""
    embedding = student.TokenEmbedding(4, 3)
    expect(bool((embedding(torch.tensor([0])) != 0).all()), "id 0 gave zeros although padding_idx is None")


@exercise("TokenEmbedding", hint="Write the lookup yourself (self.weight[ids]); nn.Embedding and F.embedding "
                                 "are not allowed in this exercise.")
def test_token_embedding_does_not_use_nn_embedding(student):
    """The module contains no nn.Embedding."""
    embedding = student.TokenEmbedding(6, 2)
    expect(not any(is_a(m, nn.Embedding) for m in embedding.modules()),
           "the module contains an nn.Embedding")


# sinusoidal_position_encoding -----------------------------------------------------------------

@exercise("sinusoidal_position_encoding", hint="Return a (seq_len, d_model) tensor, float32 by default.")
def test_pe_shape_and_default_dtype(student):
    """seq_len 11, d_model 10: shape (11, 10), float32."""
    pe = student.sinusoidal_position_encoding(11, 10)
    expect_equal(tuple(pe.shape), (11, 10), "shape")
    expect_equal(pe.dtype, torch.float32, "dtype")


@exercise("sinusoidal_position_encoding", weight=3, hint="PE[pos, 2i] = sin(pos / base**(2i/d_model)), "
                                                         "PE[pos, 2i+1] = cos(same angle): check the exponent "
                                                         "2i/d_model and its sign, and that positions start at 0.")
def test_pe_matches_closed_form(student):
    """seq_len 37, d_model 14 (float32): the closed form of "Attention Is All You Need"."""
    expect_close(student.sinusoidal_position_encoding(37, 14), closed_form_pe(37, 14), atol=1e-5)


@exercise("sinusoidal_position_encoding", weight=2, hint="sin/cos swapped? Even columns (0, 2, 4, ...) hold "
                                                         "the sine, odd columns the cosine.")
def test_pe_even_columns_sine_odd_columns_cosine(student):
    """d_model 6: column 0 is sin(pos), column 1 is cos(pos) (frequency 1)."""
    pe = student.sinusoidal_position_encoding(9, 6)
    positions = torch.arange(9, dtype=torch.float64)
    expect_close(pe[:, 0], torch.sin(positions), atol=1e-6, what="column 0 (should be sin(pos))")
    expect_close(pe[:, 1], torch.cos(positions), atol=1e-6, what="column 1 (should be cos(pos))")


@exercise("sinusoidal_position_encoding", weight=2, hint="Interleaved, not concatenated: column 2i+1 is the "
                                                         "cosine of the SAME frequency as column 2i, so "
                                                         "PE[:, 2i]**2 + PE[:, 2i+1]**2 == 1 (not all sines "
                                                         "first and all cosines second; not a cos frequency of "
                                                         "its own).")
def test_pe_pairs_share_one_frequency(student):
    """d_model 12: every (2i, 2i+1) column pair satisfies sin² + cos² = 1."""
    pe = student.sinusoidal_position_encoding(25, 12)
    expect_close(pe[:, 0::2] ** 2 + pe[:, 1::2] ** 2, torch.ones(25, 6), atol=1e-5,
                 what="PE[:, 2i]² + PE[:, 2i+1]²")


@exercise("sinusoidal_position_encoding", hint="Positions start at 0: row 0 is [0, 1, 0, 1, ...] "
                                               "(sin 0, cos 0).")
def test_pe_position_0(student):
    """Row 0 is [0, 1, 0, 1, ...] for d_model 10."""
    expect_close(student.sinusoidal_position_encoding(2, 10)[0], torch.tensor([0.0, 1.0] * 5), atol=1e-7,
                 what="row 0")


@exercise("sinusoidal_position_encoding", hint="The smallest cases: seq_len 1 is just position 0; "
                                               "d_model 2 has one pair, [sin(pos), cos(pos)].")
def test_pe_smallest_sizes(student):
    """seq_len 1 and d_model 2."""
    expect_close(student.sinusoidal_position_encoding(1, 6), torch.tensor([[0.0, 1.0, 0.0, 1.0, 0.0, 1.0]]),
                 atol=1e-7, what="seq_len 1")
    expect_close(student.sinusoidal_position_encoding(5, 2), closed_form_pe(5, 2), atol=1e-6, what="d_model 2")


@exercise("sinusoidal_position_encoding", hint="Use the `base` argument instead of a hard-coded 10000.")
def test_pe_uses_base(student):
    """base = 100, d_model 8: frequencies 100^(-2i/8)."""
    expect_close(student.sinusoidal_position_encoding(12, 8, base=100.0), closed_form_pe(12, 8, base=100.0),
                 atol=1e-5)


@exercise("sinusoidal_position_encoding", weight=2, hint="With dtype=torch.float64, build the positions and "
                                                         "frequencies in float64 and return float64; computing "
                                                         "in float32 and converting loses precision at large "
                                                         "positions.")
def test_pe_float64_large_positions(student):
    """dtype float64, 3,000 positions, d_model 32: float64 accuracy (1e-9) at large positions."""
    pe = student.sinusoidal_position_encoding(3000, 32, dtype=torch.float64)
    expect_equal(pe.dtype, torch.float64, "dtype")
    expect_close(pe, closed_form_pe(3000, 32), atol=1e-9)


@exercise("sinusoidal_position_encoding", hint="d_model must be even (every frequency needs a sine and a "
                                               "cosine): raise ValueError for an odd d_model.")
def test_pe_odd_d_model_raises(student):
    """d_model 9 raises ValueError."""
    with pytest.raises(ValueError):
        student.sinusoidal_position_encoding(4, 9)


# relative_shift_matrix -------------------------------------------------------------------------

@exercise("relative_shift_matrix", hint="Return a (d_model, d_model) float64 tensor.")
def test_shift_shape_and_dtype(student):
    """k 3, d_model 10: shape (10, 10), float64."""
    shift = student.relative_shift_matrix(3, 10)
    expect_equal(tuple(shift.shape), (10, 10), "shape")
    expect_equal(shift.dtype, torch.float64, "dtype")


@exercise("relative_shift_matrix", weight=3, hint="M_k @ PE[pos] must equal PE[pos + k]. A 2x2 block "
                                                  "[[cos kw, sin kw], [-sin kw, cos kw]] acts on (sin, cos); "
                                                  "its transpose moves to pos - k instead.")
def test_shift_moves_every_position_by_k(student):
    """d_model 12, k = 5: M_k PE[pos] = PE[pos + k] for positions 0..59 (closed-form float64 PE)."""
    pe = closed_form_pe(65, 12)
    expect_close(pe[:-5] @ student.relative_shift_matrix(5, 12).double().T, pe[5:], atol=1e-6,
                 what="PE[pos] moved by M_5")


@exercise("relative_shift_matrix", weight=2, hint="The block's angle is k * w_i with w_i = base**(-2i/d_model): "
                                                  "the angle must grow with k (check the frequency and that k is used); "
                                                  "compute it in float64.")
def test_shift_large_and_negative_k(student):
    """d_model 8: k = 1000 and k = -37 move positions 2000.. by k."""
    pe = closed_form_pe(10, 8, start=2000)
    pe_far = closed_form_pe(10, 8, start=3000)
    pe_back = closed_form_pe(10, 8, start=1963)
    expect_close(pe @ student.relative_shift_matrix(1000, 8).double().T, pe_far, atol=1e-9, what="k = 1000")
    expect_close(pe @ student.relative_shift_matrix(-37, 8).double().T, pe_back, atol=1e-9, what="k = -37")


@exercise("relative_shift_matrix", weight=2, hint="Block diagonal, interleaved: pair i sits on rows and "
                                                  "columns 2i and 2i+1; every other entry is 0.")
def test_shift_is_block_diagonal(student):
    """d_model 10, k 2: equals the closed-form block-diagonal rotation."""
    expect_close(student.relative_shift_matrix(2, 10), closed_form_shift(2, 10), atol=1e-6)


@exercise("relative_shift_matrix", hint="k = 0 moves nothing: the identity.")
def test_shift_zero_is_identity(student):
    """k = 0, d_model 6: the identity."""
    expect_close(student.relative_shift_matrix(0, 6), torch.eye(6, dtype=torch.float64), atol=1e-6)


@exercise("relative_shift_matrix", hint="Use the `base` argument instead of a hard-coded 10000.")
def test_shift_uses_base(student):
    """base = 50, d_model 6, k 3."""
    expect_close(student.relative_shift_matrix(3, 6, base=50.0), closed_form_shift(3, 6, base=50.0), atol=1e-6)


@exercise("relative_shift_matrix", hint="d_model must be even: raise ValueError for an odd d_model.")
def test_shift_odd_d_model_raises(student):
    """d_model 7 raises ValueError."""
    with pytest.raises(ValueError):
        student.relative_shift_matrix(1, 7)


# EmbeddingWithPosition ------------------------------------------------------------------------

def expected_output(layer, ids, pad_id):
    weight = layer.token.weight.detach().double()
    seq_len, d_model = ids.shape[-1], weight.shape[1]
    keep = (ids != pad_id).unsqueeze(-1).double()
    return (weight[ids] + closed_form_pe(seq_len, d_model)) * keep


@exercise("EmbeddingWithPosition", hint="Return (B, T, d_model): the token vectors plus pe[:T], where T is "
                                        "the sequence length (ids.shape[1]), not the batch size or max_len.")
def test_ewp_output_shape(student):
    """B 3, T 7, d_model 6, max_len 20: output (3, 7, 6)."""
    layer = student.EmbeddingWithPosition(15, 6, 20, 1)
    expect_equal(tuple(layer(torch.randint(2, 15, (3, 7))).shape), (3, 7, 6), "output shape")


@exercise("EmbeddingWithPosition", weight=3, hint="out[b, t] = token(ids[b, t]) + pe[t]: the position is "
                                                  "t along the sequence length, 0 .. T-1 (not 1 .. T, not "
                                                  "the batch index), no scaling.")
def test_ewp_values_without_padding(student):
    """No padding (B 2, T 9, d_model 10): token.weight[ids] + the closed-form sinusoidal encoding."""
    layer = student.EmbeddingWithPosition(30, 10, 16, 0)
    ids = torch.randint(1, 30, (2, 9))
    expect_close(layer(ids), expected_output(layer, ids, 0), atol=1e-5)


@exercise("EmbeddingWithPosition", weight=3, hint="Zero the whole vector (token AND position part) where "
                                                  "ids == pad_id, and only there: is the padding mask "
                                                  "inverted? Position t stays the index in the row, "
                                                  "whatever the padding.")
def test_ewp_padding_at_different_places(student):
    """Right, left and middle padding (pad_id 2): zero at padded positions, token + pe[t] elsewhere."""
    layer = student.EmbeddingWithPosition(9, 8, 12, 2)
    ids = torch.tensor([[5, 1, 7, 2, 2, 2], [2, 2, 6, 3, 8, 4], [1, 2, 2, 4, 2, 0]])
    out = layer(ids)
    expect_close(out[ids == 2], torch.zeros(int((ids == 2).sum()), 8), atol=0,
                 what="vectors at padded positions (the position part must be zeroed too)")
    expect_close(out, expected_output(layer, ids, 2), atol=1e-5, what="the whole output")


@exercise("EmbeddingWithPosition", weight=2, hint="Use the pad_id given to the constructor: id 0 is an "
                                                  "ordinary token when pad_id is 5 (PAD must not share "
                                                  "an id with a real token).")
def test_ewp_uses_given_pad_id(student):
    """pad_id 5: id 0 is a real token (kept), id 5 is zeroed."""
    layer = student.EmbeddingWithPosition(8, 4, 6, 5)
    ids = torch.tensor([[0, 3, 0, 5]])
    out = layer(ids)
    expect_close(out, expected_output(layer, ids, 5), atol=1e-5)


@exercise("EmbeddingWithPosition", hint="Batch of one and a single position must work: T = 1 gives pe[0] = "
                                        "[0, 1, 0, 1, ...] added to the token vector.")
def test_ewp_batch_one_length_one(student):
    """ids of shape (1, 1)."""
    layer = student.EmbeddingWithPosition(6, 4, 3, 0)
    ids = torch.tensor([[4]])
    expect_close(layer(ids), expected_output(layer, ids, 0), atol=1e-6)


@exercise("EmbeddingWithPosition", hint="Non-contiguous ids (e.g. a transposed tensor) must give the same "
                                        "result as their contiguous copy.")
def test_ewp_non_contiguous_ids(student):
    """Transposed (non-contiguous) ids."""
    layer = student.EmbeddingWithPosition(10, 6, 8, 0)
    ids = torch.tensor([[1, 2, 3], [4, 0, 6], [7, 8, 0], [9, 1, 2]]).t()
    expect(not ids.is_contiguous(), "internal: the ids should be non-contiguous")
    expect_close(layer(ids), expected_output(layer, ids, 0), atol=1e-5)


@exercise("EmbeddingWithPosition", hint="Sequences longer than max_len raise ValueError; exactly max_len "
                                        "positions is allowed.")
def test_ewp_max_len(student):
    """T == max_len works; T == max_len + 1 raises ValueError."""
    layer = student.EmbeddingWithPosition(7, 4, 5, 0)
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    expect_close(layer(ids), expected_output(layer, ids, 0), atol=1e-5, what="T == max_len")
    with pytest.raises(ValueError):
        layer(torch.tensor([[1, 2, 3, 4, 5, 6]]))


@exercise("EmbeddingWithPosition", weight=2, hint="Store the sinusoidal table with "
                                                  "self.register_buffer('pe', ...): a buffer, not an "
                                                  "nn.Parameter (it is fixed, not learned), of shape "
                                                  "(max_len, d_model).")
def test_ewp_pe_is_a_buffer(student):
    """pe is a (max_len, d_model) buffer with the closed-form values; the only parameter is token.weight."""
    layer = student.EmbeddingWithPosition(9, 6, 11, 0)
    buffers = dict(layer.named_buffers())
    expect("pe" in buffers, f"no buffer named `pe` (buffers: {sorted(buffers)})")
    expect_close(buffers["pe"], closed_form_pe(11, 6), atol=1e-5, what="the pe buffer")
    parameters = parameters_of(layer)
    expect(len(parameters) == 1 and parameters[0] is layer.token.weight,
           f"the module has {len(parameters)} parameter(s); the only one should be token.weight")


@exercise("EmbeddingWithPosition", hint="self.token must be a TokenEmbedding(vocab_size, d_model, "
                                        "padding_idx=pad_id).")
def test_ewp_token_embedding(student):
    """token is a TokenEmbedding of shape (vocab_size, d_model) whose pad row is zero."""
    layer = student.EmbeddingWithPosition(12, 4, 6, 3)
    expect(isinstance(layer.token, student.TokenEmbedding), f"token is a {kind_of(layer.token)}")
    expect_equal(tuple(layer.token.weight.shape), (12, 4), "token.weight.shape")
    expect_close(layer.token.weight.detach()[3], torch.zeros(4), atol=0, what="the pad row of token.weight")


# tie_weights ----------------------------------------------------------------------------------

def embedding_and_head(vocab_size, d_model, head_shape, bias, seed):
    """Probe (runs in the worker): a seeded nn.Embedding and an nn.Linear head of weight shape head_shape."""
    import torch
    import torch.nn as nn
    torch.manual_seed(seed)
    return nn.Embedding(vocab_size, d_model), nn.Linear(head_shape[1], head_shape[0], bias=bias)


def tied_pair(student, vocab_size=9, d_model=5, bias=False, seed=0):
    """(embedding, head, the embedding's weight before) after student.tie_weights(embedding, head)."""
    embedding, head = probe(student, embedding_and_head, vocab_size, d_model, (vocab_size, d_model), bias, seed)
    before = embedding.weight.detach()
    student.tie_weights(embedding, head)
    return embedding, head, before


@exercise("tie_weights", weight=3, hint="Assign the embedding's own Parameter: head.weight = embedding.weight. "
                                        "A copy (.data.clone(), copy_) or a new nn.Parameter(...) around it is "
                                        "not the same Parameter.")
def test_tie_same_parameter_object(student):
    """head.weight is embedding.weight (the same Parameter object)."""
    embedding, head, _ = tied_pair(student)
    expect(is_a(head.weight, nn.Parameter), "head.weight is no longer an nn.Parameter")
    expect(head.weight is embedding.weight, "head.weight is not the same Parameter object as embedding.weight")


@exercise("tie_weights", weight=2, hint="Tie in the right direction: the head takes the embedding's weight, "
                                        "and the embedding keeps its values.")
def test_tie_keeps_embedding_values(student):
    """After tying, the embedding's values are unchanged and head(x) = x @ E.T."""
    embedding, head, before = tied_pair(student, seed=1)
    expect_close(embedding.weight.detach(), before, atol=0, what="the embedding's weight after tying")
    x = torch.randn(3, 5)
    expect_close(head(x), x @ before.T, atol=1e-6, what="head(x)")


def adam_step_on_tied_pair(embedding, head, ids, targets):
    """Probe (runs in the worker): one Adam step (lr 0.01) on the cross-entropy of head(embedding(ids))."""
    import torch
    import torch.nn as nn
    model = nn.ModuleDict({"embedding": embedding, "head": head})
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    nn.functional.cross_entropy(head(embedding(ids)), targets).backward()
    gradient = embedding.weight.grad.detach().clone()
    optimizer.step()
    return {"gradient": gradient, "same_storage": head.weight.data_ptr() == embedding.weight.data_ptr()}


@exercise("tie_weights", weight=3, hint="Share the same Parameter: after an optimizer step both must still be "
                                        "one tensor, updated once with the sum of both gradients.")
def test_tie_survives_adam_step_with_summed_gradient(student):
    """After an Adam step: still one Parameter (same storage), updated with the summed gradient."""
    embedding, head, before = tied_pair(student, seed=2)
    ids, targets = torch.tensor([1, 4, 4, 7]), torch.tensor([2, 0, 8, 4])
    # the same loss with two independent copies of the weight: the tied gradient is their sum
    e_copy, h_copy = before.clone().requires_grad_(), before.clone().requires_grad_()
    nn.functional.cross_entropy(e_copy[ids] @ h_copy.T, targets).backward()
    summed = e_copy.grad + h_copy.grad
    step = probe(student, adam_step_on_tied_pair, embedding, head, ids, targets)
    expect_close(step["gradient"], summed, atol=1e-6, what="the shared weight's gradient")
    expect(head.weight is embedding.weight, "after an optimizer step head.weight is not embedding.weight")
    expect(step["same_storage"], "after an optimizer step the storage differs")
    expected = before - 0.01 * torch.sign(summed)  # Adam's first step moves each entry by lr * sign(grad)
    changed = summed.abs() > 1e-6
    expect_close(embedding.weight.detach()[changed], expected[changed], atol=1e-5,
                 what="the weight after one Adam step")


def parameter_count_of_pair(embedding, head):
    """Probe (runs in the worker): how many parameter tensors a module holding both has."""
    import torch.nn as nn
    return len(list(nn.ModuleDict({"embedding": embedding, "head": head}).parameters()))


@exercise("tie_weights", weight=2, hint="The model must count the tied matrix once: model.parameters() "
                                        "should return one weight, not two.")
def test_tie_counts_weight_once(student):
    """A model holding both modules has 1 parameter tensor (vocab_size × d_model numbers)."""
    embedding, head, _ = tied_pair(student, vocab_size=11, d_model=3, seed=3)
    expect_equal(probe(student, parameter_count_of_pair, embedding, head), 1, "number of parameter tensors")


@exercise("tie_weights", hint="Leave the head's bias as it is: only the weight is shared.")
def test_tie_keeps_bias(student):
    """A head with a bias keeps that bias (same object, same values)."""
    embedding, head = probe(student, embedding_and_head, 6, 4, (6, 4), True, 4)
    bias, values = head.bias, head.bias.detach()
    student.tie_weights(embedding, head)
    expect(head.bias is bias, "head.bias was replaced")
    expect_close(head.bias.detach(), values, atol=0, what="head.bias")
    expect(head.weight is embedding.weight, "head.weight is not embedding.weight")


@exercise("tie_weights", hint="Check the shapes first: raise ValueError when head.weight and "
                              "embedding.weight differ (a transposed or wrong-sized head).")
def test_tie_shape_mismatch_raises(student):
    """Shapes (10, 4) vs (9, 4), and a head of the transposed shape (4, 10), raise ValueError."""
    with pytest.raises(ValueError):
        student.tie_weights(*probe(student, embedding_and_head, 10, 4, (9, 4), False, 0))
    with pytest.raises(ValueError):
        student.tie_weights(*probe(student, embedding_and_head, 10, 4, (4, 10), False, 0))


def token_embedding_and_head(token_embedding, vocab_size, d_model, seed):
    """Probe (runs in the worker): the course's TokenEmbedding (the reference's, when tie_weights is graded)
    and a bias-free head."""
    import torch
    import torch.nn as nn
    torch.manual_seed(seed)
    return token_embedding(vocab_size, d_model), nn.Linear(d_model, vocab_size, bias=False)


@exercise("tie_weights", hint="Do not transpose: nn.Linear(d_model, vocab_size).weight already has shape "
                              "(vocab_size, d_model), like the embedding.")
def test_tie_works_with_token_embedding(student, reference):
    """With the course's TokenEmbedding (vocab 8, d_model 3): shared, and logits = x @ E.T."""
    embedding, head = probe(student, token_embedding_and_head, student.TokenEmbedding, 8, 3, 5)
    student.tie_weights(embedding, head)
    expect(head.weight is embedding.weight, "head.weight is not embedding.weight")
    expect_equal(tuple(head.weight.shape), (8, 3), "head.weight.shape")
