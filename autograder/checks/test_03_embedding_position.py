"""Hidden checks for 03-embedding-position. Shapes, seeds and inputs differ from the visible checks.

Expected values come from closed forms written out here in float64 (math.sin / math.cos), not from
the reference, so a check says exactly which convention was broken. On top of those, every exercise
has a differential check: the learner's result against the reference's on many seeded inputs that
cover the whole domain the text allows (0-D to 4-D and empty ids, padding ids at both ends of the
vocabulary, float16 to float64, train and eval mode, options combined), smallest input first.

Classes are compared through drivers: a probe builds, in the worker, a function that constructs the
module, gives it deterministic weights, converts it and runs it; the same function built here from
the reference gives the expected value. Probes never use torch.optim: an optimizer's constructor
imports torch._dynamo, which can take longer than a check's 10 s on a loaded machine.
"""
import ast
import math
import random

import pytest
import torch
import torch.nn as nn

from autograder import generators
from autograder.checking import (Case, expect, expect_close, expect_equal, expect_proven, expect_same_as_reference,
                                 exercise, judged_only_if_right)
from autograder.remote import is_a, kind_of, observe, probe

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


def same_tensor(atol: float = 0.0, scaled_atol=None):
    """A compare for expect_same_as_reference: a tensor of the reference's dtype and shape, values within
    atol (or scaled_atol(expected), a tolerance that depends on the expected tensor)."""
    def compare(got, expected, what):
        expect(isinstance(got, torch.Tensor), f"{what} should return a tensor, got {kind_of(got)}")
        expect_equal(got.dtype, expected.dtype, f"{what}: the dtype")
        expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
        expect_close(got, expected, atol=scaled_atol(expected) if scaled_atol else atol, what=what)
    return compare


def rounding_of(expected: torch.Tensor) -> float:
    """A tolerance for two correct computations that add the same numbers in another order."""
    return 1e-12 if expected.dtype == torch.float64 else 1e-5


def same_facts(atol: float = 1e-6):
    """A compare for dicts of facts: tensors within atol, everything else equal."""
    def compare(got, expected, what):
        expect(isinstance(got, dict) and set(got) == set(expected), f"{what}: got {kind_of(got)}")
        for key, value in expected.items():
            if isinstance(value, torch.Tensor):
                expect_close(got[key], value, atol=atol, what=f"{what}: {key}")
            else:
                expect_equal(got[key], value, f"{what}: {key}")
    return compare


def by_size(cases):
    """Cases sorted by the number of elements of their tensors, then by their printed length (the order
    expect_same_as_reference keeps among cases that print alike)."""
    def size(case):
        values = list(case.args) + list(case.kwargs.values())
        return sum(v.numel() for v in values if isinstance(v, torch.Tensor)), len(str(case))
    return sorted(cases, key=size)


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
    """Probe (runs in the worker): one plain SGD step (lr 0.5, written out: torch.optim is slow to
    start) on sum(embedding(ids) * weights); the gradient of weight."""
    import torch
    (embedding(ids) * weights).sum().backward()
    gradient = embedding.weight.grad.detach().clone()
    with torch.no_grad():
        for parameter in embedding.parameters():
            if parameter.grad is not None:
                parameter -= 0.5 * parameter.grad
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


def token_embedding_driver(token_embedding):
    """Probe (runs in the worker, and here on the reference): a function that builds
    token_embedding(vocab_size, d_model, padding_idx), converts it to `dtype`, gives it deterministic
    weights (the padding row zero), sets train or eval mode and returns forward(ids), or with
    gradient=True the weight's gradient of sum(forward(ids) * a seeded tensor)."""
    import torch

    def forward(ids, vocab_size, d_model, padding_idx=None, dtype=torch.float32, train=True, gradient=False):
        module = token_embedding(vocab_size, d_model, padding_idx=padding_idx).to(dtype)
        generator = torch.Generator().manual_seed(1000 * vocab_size + d_model)
        weight = torch.randn(vocab_size, d_model, generator=generator, dtype=torch.float64)
        if padding_idx is not None:
            weight[padding_idx] = 0.0
        with torch.no_grad():
            module.weight.copy_(weight)
        module.train(train)
        out = module(ids)
        if not gradient:
            return out
        upstream = torch.randn(*ids.shape, d_model, generator=generator, dtype=torch.float64).to(dtype)
        (out * upstream).sum().backward()
        return module.weight.grad

    return forward


def token_cases(seed: int, count: int, gradient: bool = False) -> list:
    """Seeded cases over the text's domain: ids of 0 to 4 dimensions (empty ones too), vocabularies from
    1 to 70,000 (ids with many digits), padding_idx None, 0, vocab_size - 1 or inside, float32 and
    float64, train and eval mode."""
    rng = random.Random(seed)
    cases = [Case((torch.tensor(0),), dict(vocab_size=1, d_model=2, padding_idx=0)),
             Case((torch.tensor(3),), dict(vocab_size=4, d_model=3)),
             Case((torch.zeros(0, dtype=torch.long),), dict(vocab_size=5, d_model=2, padding_idx=4)),
             Case((torch.tensor([[2, 0, 2]]),), dict(vocab_size=3, d_model=2, padding_idx=0, dtype=torch.float64,
                                                     train=False)),
             Case((torch.tensor([[[6, 1], [6, 6]]]),), dict(vocab_size=7, d_model=3, padding_idx=6, train=False))]
    for _ in range(count):
        vocab_size = rng.choice([1, 2, 5, 17, 300, 4099, 70000])
        d_model = 1 if vocab_size > 5000 else rng.choice([1, 2, 3, 8])
        padding_idx = rng.choice([None, None, 0, vocab_size - 1, rng.randrange(vocab_size)])
        shape = tuple(rng.choice([0, 1, 2, 3, 4, 4, 3]) for _ in range(rng.randint(0, 4)))
        if vocab_size > 5000:
            pool = generators.token_ids(rng, max_length=64, vocab_size=vocab_size) or [vocab_size - 1]
        else:
            pool = [0, vocab_size - 1] + [rng.randrange(vocab_size) for _ in range(4)]
        pool += [] if padding_idx is None else [padding_idx] * 2
        numel = 1
        for n in shape:
            numel *= n
        ids = torch.tensor([rng.choice(pool) for _ in range(numel)], dtype=torch.long).reshape(shape)
        kwargs = {"vocab_size": vocab_size, "d_model": d_model}
        if padding_idx is not None or rng.random() < 0.3:
            kwargs["padding_idx"] = padding_idx
        if rng.random() < 0.5:
            kwargs["dtype"] = rng.choice([torch.float32, torch.float64])
        if rng.random() < 0.5:
            kwargs["train"] = rng.choice([True, False])
        cases.append(Case((ids,), kwargs))
    if gradient:
        cases = [Case(c.args, {**c.kwargs, "gradient": True}) for c in cases]
    return by_size(cases)


@exercise("TokenEmbedding", weight=3, hint="forward(ids) must be weight[ids] for ids of ANY shape (0-D to 4-D, "
                                           "empty included), in the weight's dtype (float64 after .double()), "
                                           "the same in train and eval mode (no dropout), zero vectors exactly "
                                           "where ids == padding_idx (padding_idx may be 0 or vocab_size - 1), "
                                           "and it must not change ids in place.", broad=True)
def test_token_embedding_same_as_reference_everywhere(student, reference):
    """Differential: forward(ids) equals the reference's on 45 seeded cases (0-D to 4-D and empty ids,
    vocabularies 1 to 70,000, padding_idx None / 0 / last / inside, float32 and float64, train and eval);
    ids unchanged."""
    mine = probe(student, token_embedding_driver, student.TokenEmbedding)
    expect_same_as_reference(mine, token_embedding_driver(reference.TokenEmbedding), token_cases(30, 40),
                             "TokenEmbedding(vocab_size, d_model, padding_idx).to(dtype).train(train): forward",
                             compare=same_tensor(scaled_atol=rounding_of), guard=True)


@exercise("TokenEmbedding", weight=2, hint="The output must stay connected to self.weight: no .data, .detach() "
                                           "or torch.no_grad() in forward. Each looked-up row then receives the "
                                           "sum of the gradients of its uses, the padding row none.", broad=True)
def test_token_embedding_gradient_same_as_reference(student, reference):
    """Differential: the weight's gradient after backward equals the reference's (repeated ids summed,
    nothing for the padding row), on 17 seeded cases."""
    mine = probe(student, token_embedding_driver, student.TokenEmbedding)
    expect_same_as_reference(mine, token_embedding_driver(reference.TokenEmbedding),
                             token_cases(31, 12, gradient=True),
                             "TokenEmbedding: weight.grad after backward through forward",
                             compare=same_tensor(scaled_atol=rounding_of), guard=False)


@exercise("TokenEmbedding", hint="forward accepts ids of any shape: a single 0-D id gives (d_model,), "
                                 "(2, 3, 4) ids give (2, 3, 4, d_model), empty ids give an empty result. "
                                 "Index with the ids tensor itself (weight[ids]) instead of reshaping for (B, T).")
def test_token_embedding_any_number_of_dimensions(student):
    """0-D, 3-D, 4-D and empty ids give ids.shape + (d_model,), the rows weight[ids]."""
    embedding = student.TokenEmbedding(9, 3)
    weight = embedding.weight.detach()
    for ids in (torch.tensor(7), torch.tensor([[[1, 8, 0, 2], [3, 3, 4, 5], [6, 7, 8, 0]]] * 2),
                torch.arange(9).reshape(1, 3, 1, 3), torch.zeros(2, 0, 3, dtype=torch.long)):
        expect_close(embedding(ids), weight[ids], atol=0, what=f"ids of shape {tuple(ids.shape)}")


@exercise("TokenEmbedding", hint="The output's dtype is the weight's: after .double() forward returns float64. "
                                 "Do not build the result in a new float32 tensor (torch.zeros(...) without "
                                 "dtype) or convert it with .float().")
def test_token_embedding_output_dtype_follows_weight(student):
    """After .double(), forward returns float64 rows equal to weight[ids] (padding_idx 1)."""
    embedding = student.TokenEmbedding(6, 4, padding_idx=1).double()
    ids = torch.tensor([[5, 1, 0], [1, 2, 3]])
    out = embedding(ids)
    expect_equal(out.dtype, torch.float64, "the output's dtype after .double()")
    expected = embedding.weight.detach()[ids] * (ids != 1).unsqueeze(-1)
    expect_close(out, expected, atol=0, what="forward(ids) after .double()")


@exercise("TokenEmbedding", hint="No dropout and nothing random in forward: the text asks for weight[ids] "
                                 "exactly, so train mode (the default) and eval mode give the same output.")
def test_token_embedding_no_dropout_in_train_mode(student):
    """In train mode (twice) and in eval mode, forward(ids) is weight[ids]."""
    embedding = student.TokenEmbedding(40, 32)
    ids = torch.arange(40).reshape(4, 10)
    weight = embedding.weight.detach()
    embedding.train()
    expect_close(embedding(ids), weight[ids], atol=0, what="forward(ids) in train mode")
    expect_close(embedding(ids), weight[ids], atol=0, what="forward(ids) in train mode, called again")
    embedding.eval()
    expect_close(embedding(ids), weight[ids], atol=0, what="forward(ids) in eval mode")


@exercise("TokenEmbedding", hint="forward must leave the caller's ids as they were: do not write into ids "
                                 "(ids[ids == padding_idx] = 0, masked_fill_, unsqueeze_); build the mask "
                                 "from ids and multiply the rows by it.")
def test_token_embedding_does_not_change_ids(student):
    """forward(ids) with padding ids leaves ids unchanged in place and returns a new tensor."""
    embedding = student.TokenEmbedding(6, 3, padding_idx=2)
    ids = torch.tensor([[2, 5, 2, 0], [1, 2, 4, 3]])
    call = observe(embedding, ids)
    expect_proven(not call.changed, "forward changed the caller's ids in place")
    expect_proven(call.returned_argument is None, "forward returned ids itself")
    with judged_only_if_right():
        rows = embedding.weight.detach()[ids] * (ids != 2).unsqueeze(-1)
        expect_close(call.result, rows, atol=0, what="forward(ids), padding_idx 2")


def gradient_of_padding_zero(embedding, ids):
    """Probe (runs in the worker): the weight's gradient of forward(ids).sum()."""
    embedding(ids).sum().backward()
    return embedding.weight.grad


@exercise("TokenEmbedding", weight=2, hint="padding_idx = 0 is a real padding id: test `padding_idx is not None`, "
                                           "not `if padding_idx:` (0 is falsy, so that test treats padding_idx = 0 "
                                           "as no padding).")
def test_token_embedding_padding_idx_zero(student):
    """padding_idx = 0: row 0 starts at zero, ids 0 give zero vectors and row 0 gets no gradient."""
    embedding = student.TokenEmbedding(5, 3, padding_idx=0)
    ids = torch.tensor([[0, 3, 0, 1]])
    expect_close(embedding.weight.detach()[0], torch.zeros(3), atol=0, what="row 0 at initialisation")
    expect_close(embedding(ids)[0, [0, 2]], torch.zeros(2, 3), atol=0, what="the output where ids == 0")
    gradient = probe(student, gradient_of_padding_zero, embedding, ids)
    expect(isinstance(gradient, torch.Tensor), "weight.grad is None after backward: no gradient reached the table")
    expect_close(gradient[0], torch.zeros(3), atol=0, what="the gradient of row 0")


BANNED_LOOKUPS = {"embedding", "Embedding", "embedding_bag", "EmbeddingBag"}


def banned_lookups(student_code, name: str) -> list[str]:
    """The spellings of F.embedding / torch.embedding / nn.Embedding / embedding_bag that the code of `name`,
    and of the learner's top-level functions it uses, refers to. Read from the syntax tree, so strings,
    comments and error messages that mention them do not count, nor does an attribute of self."""
    found, seen, todo = [], set(), [name]
    while todo:
        tree = student_code.definition(todo.pop())
        if tree is None or id(tree) in seen:
            continue
        seen.add(id(tree))
        assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        assigned |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
                     for a in n.args + n.kwonlyargs + n.posonlyargs}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in BANNED_LOOKUPS:
                root = node.value
                while isinstance(root, ast.Attribute):
                    root = root.value
                if not (isinstance(root, ast.Name) and root.id in ("self", "cls")):
                    found.append(ast.unparse(node))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in BANNED_LOOKUPS \
                    and node.func.id not in assigned and student_code.definition(node.func.id) is None:
                found.append(node.func.id)
            if isinstance(node, ast.Name) and student_code.definition(node.id) is not None:
                todo.append(node.id)
    return found


@exercise("TokenEmbedding", hint="Write the lookup yourself (self.weight[ids]): F.embedding, torch.embedding "
                                 "and embedding_bag are the same shortcut as nn.Embedding, in any spelling "
                                 "(mentioning them in a string or an error message is fine).")
def test_token_embedding_does_not_call_f_embedding(student, student_code):
    """TokenEmbedding works (a lookup of 2 ids), and it and the helpers it calls use no F.embedding,
    torch.embedding or embedding_bag."""
    expect_equal(tuple(student.TokenEmbedding(4, 2)(torch.tensor([1, 3])).shape), (2, 2), "the output's shape")
    expect(student_code.definition("TokenEmbedding") is not None, "no class TokenEmbedding in the notebook")
    found = banned_lookups(student_code, "TokenEmbedding")
    expect(not found, f"TokenEmbedding uses {', '.join(sorted(set(found)))}")


# sinusoidal_position_encoding -----------------------------------------------------------------

@exercise("sinusoidal_position_encoding", hint="Return a (seq_len, d_model) tensor, float32 by default.")
def test_pe_shape_and_default_dtype(student):
    """seq_len 11, d_model 10: shape (11, 10), float32."""
    pe = student.sinusoidal_position_encoding(11, 10)
    expect_equal(tuple(pe.shape), (11, 10), "shape")
    expect_equal(pe.dtype, torch.float32, "dtype")


@exercise("sinusoidal_position_encoding", weight=3, hint="PE[pos, 2i] = sin(pos / base**(2i/d_model)), "
                                                         "PE[pos, 2i+1] = cos(same angle): check the exponent "
                                                         "2i/d_model and its sign, and that positions start at 0.",
          broad=True)
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


PE_DTYPES = [torch.float32, torch.float32, torch.float64, torch.float16, torch.bfloat16]


def pe_tolerance(expected: torch.Tensor) -> float:
    """How far two correct computations in expected.dtype may differ: float64 to 1e-9 (positions in the
    thousands), float32 by ~2.5e-7 per position, float16 and bfloat16 by their rounding."""
    positions = expected.shape[0] if expected.dim() else 0
    return {torch.float64: 1e-9, torch.float32: 2e-6 + 2.5e-7 * positions,
            torch.float16: 2e-3 + 2e-3 * positions}.get(expected.dtype, 1e-2 + 1e-2 * positions)


def pe_cases(seed: int, count: int) -> list:
    """seq_len 0 to 4,000, d_model 1 to 64 (odd ones raise), base from 2 to 1e6 (an int too), every dtype,
    the same sizes repeated with other options (a cache keyed on part of the arguments shows)."""
    rng = random.Random(seed)
    cases = [Case((0, 4)), Case((1, 2)), Case((3, 1)), Case((0, 3)), Case((5, 4)), Case((5, 4), dict(base=100.0)),
             Case((5, 4), dict(dtype=torch.float64)), Case((5, 4), dict(base=100, dtype=torch.float16)),
             Case((2, 6), dict(dtype=torch.bfloat16)), Case((4000, 8), dict(dtype=torch.float64))]
    for _ in range(count):
        dtype = rng.choice(PE_DTYPES)
        seq_len = rng.choice({torch.float64: [0, 1, 9, 64, 1500, 4000], torch.float32: [0, 1, 2, 7, 33, 200]}
                             .get(dtype, [0, 1, 2, 5, 8]))
        d_model = rng.choice([2, 4, 6, 10, 16, 64] * 2 + [1, 3, 7, 15] if seq_len < 1000 else [2, 4, 6, 10])
        kwargs = {}
        base = rng.choice([None, 10000.0, 100.0, 2.0, 500] + ([1e6] if dtype in (torch.float32, torch.float64) else []))
        if base is not None:
            kwargs["base"] = base
        if dtype != torch.float32 or rng.random() < 0.3:
            kwargs["dtype"] = dtype
        cases.append(Case((seq_len, d_model), kwargs))
    return cases


@exercise("sinusoidal_position_encoding", weight=3, hint="Same as the closed form everywhere: seq_len 0 gives "
                                                         "an empty (0, d_model) table, every odd d_model (1 too) "
                                                         "raises ValueError, `base` and `dtype` are used in every "
                                                         "combination (a cache must be keyed on all four "
                                                         "arguments) and the result has the requested dtype "
                                                         "(float16, bfloat16, float32, float64).", broad=True)
def test_pe_same_as_reference_everywhere(student, reference):
    """Differential: equals the reference on 50 seeded cases (seq_len 0 to 4,000, d_model 1 to 64, bases 2
    to 1e6, float16 / bfloat16 / float32 / float64, options combined), within each dtype's rounding."""
    expect_same_as_reference(student.sinusoidal_position_encoding, reference.sinusoidal_position_encoding,
                             pe_cases(40, 40), "sinusoidal_position_encoding",
                             compare=same_tensor(scaled_atol=pe_tolerance), guard=True)


@exercise("sinusoidal_position_encoding", hint="Return the requested dtype, whatever it is: float16 and bfloat16 "
                                               "too, not only float32 or float64 (build the positions and "
                                               "frequencies in `dtype`).")
def test_pe_returns_every_requested_dtype(student):
    """dtype float16, bfloat16 and float64 come back in that dtype, with the closed-form values."""
    for dtype, atol in ((torch.float16, 2e-2), (torch.bfloat16, 8e-2), (torch.float64, 1e-12)):
        pe = student.sinusoidal_position_encoding(6, 8, dtype=dtype)
        expect_equal(pe.dtype, dtype, f"the dtype for dtype={dtype}")
        expect_close(pe, closed_form_pe(6, 8), atol=atol, what=f"the values for dtype={dtype}")


@exercise("sinusoidal_position_encoding", hint="seq_len = 0 gives an empty table of shape (0, d_model) "
                                               "(torch.tensor([]) of no rows has shape (0,): reshape, or "
                                               "build the table with tensor operations).")
def test_pe_seq_len_zero(student):
    """seq_len = 0 gives a float32 tensor of shape (0, 6)."""
    pe = student.sinusoidal_position_encoding(0, 6)
    expect_equal(tuple(pe.shape), (0, 6), "the shape for seq_len = 0")
    expect_equal(pe.dtype, torch.float32, "the dtype for seq_len = 0")


@exercise("sinusoidal_position_encoding", hint="Every argument changes the result: the same seq_len and "
                                               "d_model with another base or dtype is another table. A cache "
                                               "must be keyed on (seq_len, d_model, base, dtype).")
def test_pe_same_sizes_other_options(student):
    """(6, 4) with the default options, then base 100, then float64, then both: each its own table."""
    for kwargs in ({}, {"base": 100.0}, {"dtype": torch.float64}, {"base": 100.0, "dtype": torch.float64}):
        pe = student.sinusoidal_position_encoding(6, 4, **kwargs)
        expect_equal(pe.dtype, kwargs.get("dtype", torch.float32), f"the dtype for (6, 4, **{kwargs})")
        expect_close(pe, closed_form_pe(6, 4, base=kwargs.get("base", 10000.0)), atol=1e-6,
                     what=f"(6, 4, **{kwargs})")


def change_result_then_call_again(function, *args):
    """Probe (runs in the worker): call, change the result in place (as a caller may: pe *= 0.5), call
    again with the same arguments; the second result and whether it is the first object."""
    import torch
    first = function(*args)
    second_expected = first.detach().clone()
    with torch.no_grad():
        first.mul_(0.5).add_(3.0)
    second = function(*args)
    return {"same object": second is first, "second": second, "expected": second_expected}


@exercise("sinusoidal_position_encoding", hint="Return a new tensor on every call: a cache (functools.lru_cache, "
                                               "a dict) that hands out the same tensor lets one caller's in-place "
                                               "change (pe *= 0.5) corrupt every later call; return a clone.")
def test_pe_returns_a_new_tensor_each_call(student):
    """A caller changing one result in place does not change the next call's result."""
    seen = probe(student, change_result_then_call_again, student.sinusoidal_position_encoding, 7, 4)
    expect(not seen["same object"], "two calls returned the same tensor object")
    expect_close(seen["second"], seen["expected"], atol=0, what="the second call after the first result was changed")


# relative_shift_matrix -------------------------------------------------------------------------

@exercise("relative_shift_matrix", hint="Return a (d_model, d_model) float64 tensor.")
def test_shift_shape_and_dtype(student):
    """k 3, d_model 10: shape (10, 10), float64."""
    shift = student.relative_shift_matrix(3, 10)
    expect_equal(tuple(shift.shape), (10, 10), "shape")
    expect_equal(shift.dtype, torch.float64, "dtype")


@exercise("relative_shift_matrix", weight=3, hint="M_k @ PE[pos] must equal PE[pos + k]. A 2x2 block "
                                                  "[[cos kw, sin kw], [-sin kw, cos kw]] acts on (sin, cos); "
                                                  "its transpose moves to pos - k instead.", broad=True)
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


def shift_cases(seed: int, count: int) -> list:
    """k from -99,999 to 99,999 (0, ±1 and many digits), d_model 1 to 64 (odd ones raise), base 2 to 1e6,
    the same (k, d_model) repeated with other bases and with the opposite sign."""
    rng = random.Random(seed)
    cases = [Case((0, 2)), Case((1, 1)), Case((-1, 2)), Case((3, 6)), Case((3, 6), dict(base=50.0)),
             Case((-3, 6), dict(base=50.0)), Case((-3, 6)), Case((99999, 4)), Case((-12345, 8), dict(base=2.0))]
    for _ in range(count):
        k = rng.choice([0, 1, -1, rng.randint(-50, 50), rng.randint(-99999, 99999), rng.randint(100, 9999)])
        d_model = rng.choice([2, 4, 6, 8, 12, 32, 64, 1, 3, 9])
        kwargs = {}
        base = rng.choice([None, 10000.0, 50.0, 2.0, 1e6, 100])
        if base is not None:
            kwargs["base"] = base
        cases.append(Case((k, d_model), kwargs))
        if rng.random() < 0.3:
            cases.append(Case((-k, d_model), kwargs))
    return cases


@exercise("relative_shift_matrix", weight=2, hint="Same as the closed form everywhere: any integer k (negative, "
                                                  "five digits), every even d_model from 2, ValueError for every "
                                                  "odd d_model (1 too), `base` used on every path and in every "
                                                  "cache key, float64 throughout.", broad=True)
def test_shift_same_as_reference_everywhere(student, reference):
    """Differential: equals the reference to 1e-9 on 58 seeded cases (k up to ±99,999, d_model 1 to 64,
    bases 2 to 1e6, the same sizes with other bases and signs)."""
    expect_same_as_reference(student.relative_shift_matrix, reference.relative_shift_matrix, shift_cases(50, 36),
                             "relative_shift_matrix", compare=same_tensor(atol=1e-9), guard=True)


@exercise("relative_shift_matrix", hint="`base` must reach every path: pass it on when you handle a negative k "
                                        "by recursion (relative_shift_matrix(-k, d_model, base)), and key any "
                                        "cache on (k, d_model, base), not on (k, d_model).")
def test_shift_base_with_negative_k_and_repeated_sizes(student):
    """(3, 6), then (3, 6, base=50), then (-3, 6, base=50), then (-3, 6): each its own matrix."""
    for k, kwargs in ((3, {}), (3, {"base": 50.0}), (-3, {"base": 50.0}), (-3, {})):
        expect_close(student.relative_shift_matrix(k, 6, **kwargs), closed_form_shift(k, 6, **kwargs), atol=1e-9,
                     what=f"relative_shift_matrix({k}, 6, **{kwargs})")


@exercise("relative_shift_matrix", hint="Return a new tensor on every call: a cache (functools.lru_cache, a "
                                        "dict) that hands out the same tensor lets one caller's in-place change "
                                        "corrupt every later call; return a clone.")
def test_shift_returns_a_new_tensor_each_call(student):
    """A caller changing one result in place does not change the next call's result."""
    seen = probe(student, change_result_then_call_again, student.relative_shift_matrix, 5, 6)
    expect(not seen["same object"], "two calls returned the same tensor object")
    expect_close(seen["second"], seen["expected"], atol=0, what="the second call after the first result was changed")


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
                                                  "the batch index), no scaling.", broad=True)
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


def embedding_with_position_driver(embedding_with_position):
    """Probe (runs in the worker, and here on the reference): a function that builds
    embedding_with_position(vocab_size, d_model, max_len, pad_id), converts it to `dtype`, gives its token
    table deterministic weights (the pad row zero), sets train or eval mode and returns forward(ids), or
    with gradient=True the token table's gradient of sum(forward(ids) * a seeded tensor)."""
    import torch

    def forward(ids, vocab_size, d_model, max_len, pad_id, dtype=torch.float32, train=True, gradient=False):
        module = embedding_with_position(vocab_size, d_model, max_len, pad_id).to(dtype)
        generator = torch.Generator().manual_seed(1000 * vocab_size + d_model)
        weight = torch.randn(vocab_size, d_model, generator=generator, dtype=torch.float64)
        weight[pad_id] = 0.0
        with torch.no_grad():
            module.token.weight.copy_(weight)
        module.train(train)
        out = module(ids)
        if not gradient:
            return out
        upstream = torch.randn(*ids.shape, d_model, generator=generator, dtype=torch.float64).to(dtype)
        (out * upstream).sum().backward()
        return module.token.weight.grad

    return forward


def ewp_cases(seed: int, count: int, gradient: bool = False) -> list:
    """(B, T) ids with B 0 to 3 and T 0 to max_len + 1 (which raises), padding on the left, on the right, in
    the middle, everywhere or nowhere, pad_id 0, vocab_size - 1 or inside, vocabularies up to 60,000,
    float32 and float64, train and eval mode."""
    rng = random.Random(seed)

    def case(rows, **kwargs):
        ids = torch.tensor(rows, dtype=torch.long).reshape(len(rows), -1 if rows else 0)
        return Case((ids,), kwargs)

    cases = [Case((torch.zeros(0, 3, dtype=torch.long),), dict(vocab_size=5, d_model=2, max_len=4, pad_id=0)),
             Case((torch.zeros(2, 0, dtype=torch.long),), dict(vocab_size=5, d_model=2, max_len=4, pad_id=0)),
             case([[1, 2, 3, 4]], vocab_size=5, d_model=2, max_len=3, pad_id=0),
             case([[4, 4, 1]], vocab_size=5, d_model=4, max_len=3, pad_id=4, dtype=torch.float64),
             case([[0]], vocab_size=2, d_model=2, max_len=1, pad_id=0, train=False)]
    for _ in range(count):
        vocab_size = rng.choice([2, 3, 10, 300, 5000, 60000])
        d_model = 2 if vocab_size > 5000 else rng.choice([2, 4, 6])
        max_len = rng.choice([1, 2, 5, 9])
        pad_id = rng.choice([0, vocab_size - 1, rng.randrange(vocab_size)])
        batch = rng.choice([0, 1, 1, 2, 3])
        length = rng.choice([0, 1, max_len, max_len, rng.randint(1, max_len), max_len + 1])

        def real():
            other = rng.randrange(vocab_size - 1)
            return other + (other >= pad_id)

        rows = []
        for _ in range(batch):
            layout = rng.choice(["random", "left", "right", "none", "all"])
            padded = rng.randint(0, length)
            if layout == "random":
                rows.append([pad_id if rng.random() < 0.3 else real() for _ in range(length)])
            elif layout == "left":
                rows.append([pad_id] * padded + [real() for _ in range(length - padded)])
            elif layout == "right":
                rows.append([real() for _ in range(length - padded)] + [pad_id] * padded)
            else:
                rows.append([pad_id if layout == "all" else real() for _ in range(length)])
        ids = torch.tensor(rows, dtype=torch.long).reshape(batch, length)
        kwargs = dict(vocab_size=vocab_size, d_model=d_model, max_len=max_len, pad_id=pad_id)
        if rng.random() < 0.5:
            kwargs["dtype"] = rng.choice([torch.float32, torch.float64])
        if rng.random() < 0.5:
            kwargs["train"] = rng.choice([True, False])
        cases.append(Case((ids,), kwargs))
    if gradient:
        cases = [Case(c.args, {**c.kwargs, "gradient": True}) for c in cases]
    return by_size(cases)


@exercise("EmbeddingWithPosition", weight=3, hint="out[b, t] = token(ids[b, t]) + pe[t], zero where ids == pad_id, "
                                                  "for every (B, T): empty batches and sequences too, pad_id 0 or "
                                                  "vocab_size - 1, padding anywhere; T > max_len raises ValueError; "
                                                  "the module's dtype (float64 after .double()); the same in train "
                                                  "and eval mode (no dropout); ids left unchanged.", broad=True)
def test_ewp_same_as_reference_everywhere(student, reference):
    """Differential: forward(ids) equals the reference's on 45 seeded cases (B 0 to 3, T 0 to max_len + 1,
    padding left / right / middle / everywhere, pad_id 0 / last / inside, float32 and float64, train and
    eval); ids unchanged."""
    mine = probe(student, embedding_with_position_driver, student.EmbeddingWithPosition)
    expect_same_as_reference(mine, embedding_with_position_driver(reference.EmbeddingWithPosition),
                             ewp_cases(60, 40),
                             "EmbeddingWithPosition(vocab_size, d_model, max_len, pad_id).to(dtype).train(train): "
                             "forward", compare=same_tensor(atol=1e-6), guard=True)


@exercise("EmbeddingWithPosition", hint="The output must stay connected to token.weight: no .data, .detach() "
                                        "or torch.no_grad() in forward, so that training updates the token table "
                                        "(the padding row gets no gradient).", broad=True)
def test_ewp_gradient_same_as_reference(student, reference):
    """Differential: token.weight's gradient after backward equals the reference's on 12 seeded cases."""
    mine = probe(student, embedding_with_position_driver, student.EmbeddingWithPosition)
    expect_same_as_reference(mine, embedding_with_position_driver(reference.EmbeddingWithPosition),
                             [c for c in ewp_cases(61, 10, gradient=True) if c.args[0].shape[-1] <= c.kwargs["max_len"]],
                             "EmbeddingWithPosition: token.weight.grad after backward through forward",
                             compare=same_tensor(scaled_atol=rounding_of), guard=False)


@exercise("EmbeddingWithPosition", hint="forward must leave the caller's ids as they were: do not write into ids "
                                        "(ids[ids == pad_id] = 0, masked_fill_); build the mask from ids and zero "
                                        "the vectors instead.")
def test_ewp_does_not_change_ids(student):
    """forward(ids) with padding leaves ids unchanged in place and returns a new tensor."""
    layer = student.EmbeddingWithPosition(9, 4, 6, 3)
    ids = torch.tensor([[3, 3, 5, 1], [2, 3, 8, 3]])
    call = observe(layer, ids)
    expect_proven(not call.changed, "forward changed the caller's ids in place")
    expect_proven(call.returned_argument is None, "forward returned ids itself")
    with judged_only_if_right():
        expect_close(call.result, expected_output(layer, ids, 3), atol=1e-5, what="forward(ids), pad_id 3")


@exercise("EmbeddingWithPosition", hint="The output's dtype is the module's: after .double() (which converts "
                                        "token.weight and the pe buffer) forward returns float64. Do not build "
                                        "the result in a new float32 tensor (torch.zeros(B, T, d) without dtype).")
def test_ewp_output_dtype_follows_module(student):
    """After .double(), forward returns float64: token.weight[ids] + pe[:T], zero at padding."""
    layer = student.EmbeddingWithPosition(10, 4, 6, 3).double()
    ids = torch.tensor([[3, 1, 9, 3, 0]])
    out = layer(ids)
    expect_equal(out.dtype, torch.float64, "the output's dtype after .double()")
    weight, pe = layer.token.weight.detach(), dict(layer.named_buffers())["pe"]
    expected = (weight[ids] + pe[:5]) * (ids != 3).unsqueeze(-1)
    expect_close(out, expected, atol=1e-12, what="forward(ids) after .double()")


@exercise("EmbeddingWithPosition", hint="No dropout and nothing random in forward: the text asks for "
                                        "token(ids) + pe[t] exactly, so train mode (the default) and eval mode "
                                        "give the same output.")
def test_ewp_no_dropout_in_train_mode(student):
    """In train mode (twice) and in eval mode, forward(ids) is token.weight[ids] + pe[t], zero at padding."""
    layer = student.EmbeddingWithPosition(30, 16, 12, 0)
    ids = torch.tensor([[5, 9, 0, 29, 7, 7, 1, 0, 0, 0], [3, 3, 3, 3, 3, 3, 3, 3, 3, 3]])
    layer.train()
    expect_close(layer(ids), expected_output(layer, ids, 0), atol=1e-5, what="forward(ids) in train mode")
    expect_close(layer(ids), expected_output(layer, ids, 0), atol=1e-5, what="forward(ids) in train mode, again")
    layer.eval()
    expect_close(layer(ids), expected_output(layer, ids, 0), atol=1e-5, what="forward(ids) in eval mode")


@exercise("EmbeddingWithPosition", hint="Register the table with self.register_buffer('pe', ...) and the default "
                                        "persistent=True: it must be in state_dict() (the text: it moves with "
                                        "state_dict), not persistent=False.")
def test_ewp_pe_is_in_state_dict(student):
    """state_dict() holds `pe` (a persistent buffer) with the closed-form values, and token.weight."""
    state = student.EmbeddingWithPosition(9, 6, 11, 0).state_dict()
    expect("pe" in state, f"`pe` is not in state_dict() (keys: {sorted(state)})")
    expect_close(state["pe"], closed_form_pe(11, 6), atol=1e-5, what="state_dict()['pe']")
    expect("token.weight" in state, f"`token.weight` is not in state_dict() (keys: {sorted(state)})")


def set_tensors(module, values):
    """Probe (runs in the worker): copy each value into the module's tensor of that dotted name."""
    import torch
    with torch.no_grad():
        for name, value in values.items():
            target = module
            for part in name.split("."):
                target = getattr(target, part)
            target.copy_(value)


@exercise("EmbeddingWithPosition", hint="forward must add self.pe[:T], the buffer (which .double(), .to() and "
                                        "load_state_dict update), not a table computed again in forward "
                                        "(sinusoidal_position_encoding(T, d_model) is float32).")
def test_ewp_forward_adds_the_pe_buffer(student):
    """After .double() and pe set to the float64 closed form, forward adds exactly that table (to 1e-12)."""
    layer = student.EmbeddingWithPosition(9, 6, 8, 0).double()
    probe(student, set_tensors, layer, {"pe": closed_form_pe(8, 6)})
    ids = torch.tensor([[4, 1, 8, 2, 7, 5, 3, 6]])
    weight = layer.token.weight.detach()
    expect_close(layer(ids), weight[ids] + closed_form_pe(8, 6), atol=1e-12, what="forward(ids) - token part")


@exercise("EmbeddingWithPosition", hint="An empty batch (B = 0) or empty sequences (T = 0) give an empty "
                                        "(B, T, d_model) result: no loop over the rows with torch.stack (which "
                                        "fails on an empty list).")
def test_ewp_empty_batch_and_empty_sequences(student):
    """ids of shape (0, 3) give (0, 3, 4); ids of shape (2, 0) give (2, 0, 4)."""
    layer = student.EmbeddingWithPosition(7, 4, 5, 0)
    for shape in ((0, 3), (2, 0)):
        out = layer(torch.zeros(shape, dtype=torch.long))
        expect_equal(tuple(out.shape), shape + (4,), f"the output's shape for ids of shape {shape}")


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


def sgd_step_on_tied_pair(embedding, head, ids, targets):
    """Probe (runs in the worker): one plain SGD step (lr 0.5, written out: torch.optim is slow to start)
    over the parameters of a model holding both modules, on the cross-entropy of head(embedding(ids))."""
    import torch
    import torch.nn as nn
    model = nn.ModuleDict({"embedding": embedding, "head": head})
    nn.functional.cross_entropy(head(embedding(ids)), targets).backward()
    gradient = embedding.weight.grad.detach().clone()
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.grad is not None:
                parameter -= 0.5 * parameter.grad
    return {"gradient": gradient, "same_storage": head.weight.data_ptr() == embedding.weight.data_ptr()}


@exercise("tie_weights", weight=3, hint="Share the same Parameter: after an optimizer step both must still be "
                                        "one tensor, updated once with the sum of both gradients.")
def test_tie_survives_sgd_step_with_summed_gradient(student):
    """After an SGD step over model.parameters(): still one Parameter (same storage), whose gradient is the
    sum of both uses' and which moved once by lr × that sum."""
    embedding, head, before = tied_pair(student, seed=2)
    ids, targets = torch.tensor([1, 4, 4, 7]), torch.tensor([2, 0, 8, 4])
    # the same loss with two independent copies of the weight: the tied gradient is their sum
    e_copy, h_copy = before.clone().requires_grad_(), before.clone().requires_grad_()
    nn.functional.cross_entropy(e_copy[ids] @ h_copy.T, targets).backward()
    summed = e_copy.grad + h_copy.grad
    step = probe(student, sgd_step_on_tied_pair, embedding, head, ids, targets)
    expect_close(step["gradient"], summed, atol=1e-6, what="the shared weight's gradient")
    expect(head.weight is embedding.weight, "after an optimizer step head.weight is not embedding.weight")
    expect(step["same_storage"], "after an optimizer step the storage differs")
    expect_close(embedding.weight.detach(), before - 0.5 * summed, atol=1e-6, what="the weight after one SGD step")


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


def tie_driver(tie_weights, token_embedding):
    """Probe (runs in the worker, and here on the reference): a function that builds an embedding (nn.Embedding,
    the course's TokenEmbedding, or one with padding_idx 0) and an nn.Linear head of weight shape head_shape
    with seeded values, ties them, and returns the facts the text promises."""
    import torch
    import torch.nn as nn

    def tie(vocab_size, d_model, head_shape=None, bias=False, embedding="nn.Embedding"):
        head_shape = head_shape or (vocab_size, d_model)
        generator = torch.Generator().manual_seed(100 * vocab_size + d_model)
        if embedding == "nn.Embedding":
            module = nn.Embedding(vocab_size, d_model)
        else:
            module = token_embedding(vocab_size, d_model, padding_idx=0 if embedding.endswith("padding") else None)
        head = nn.Linear(head_shape[1], head_shape[0], bias=bias)
        with torch.no_grad():
            module.weight.copy_(torch.randn(vocab_size, d_model, generator=generator))
            if embedding.endswith("padding"):
                module.weight[0] = 0.0
            head.weight.copy_(torch.randn(*head_shape, generator=generator))
            if bias:
                head.bias.copy_(torch.randn(head_shape[0], generator=generator))
        weight, head_bias, values = module.weight, head.bias, module.weight.detach().clone()
        returned = tie_weights(module, head)
        model = nn.ModuleDict({"embedding": module, "head": head})
        x = torch.randn(3, d_model, generator=generator)
        head(module(torch.arange(min(vocab_size, 4)))).logsumexp(-1).sum().backward()
        return {"returned": None if returned is None else type(returned).__name__,
                "head.weight is embedding.weight": head.weight is module.weight,
                "embedding.weight kept (the same object, the same values)":
                    module.weight is weight and bool(torch.equal(weight.detach(), values)),
                "head.bias kept": head.bias is head_bias,
                "parameter tensors of a model holding both": len(list(model.parameters())),
                "head(x)": head(x).detach(),
                "embedding.weight.grad after a loss on head(embedding(ids))": module.weight.grad}

    return tie


def tie_cases(seed: int, count: int) -> list:
    """Vocabularies 1 to 300, d_model 1 to 8, heads of the same shape, transposed, one row or column more or
    less; with and without bias; nn.Embedding, TokenEmbedding and TokenEmbedding with padding."""
    rng = random.Random(seed)
    cases = [Case((), dict(vocab_size=1, d_model=1)), Case((), dict(vocab_size=10, d_model=4, head_shape=(10, 5))),
             Case((), dict(vocab_size=10, d_model=4, head_shape=(4, 10), bias=True))]
    for _ in range(count):
        vocab_size, d_model = rng.choice([1, 2, 9, 300]), rng.choice([1, 3, 8])
        shapes = [None] * 5 + [(d_model, vocab_size), (vocab_size, d_model + 1), (vocab_size + 1, d_model)]
        shapes += [(vocab_size - 1, d_model)] if vocab_size > 1 else []
        shapes += [(vocab_size, d_model - 1)] if d_model > 1 else []
        head_shape = rng.choice(shapes)
        kwargs = dict(vocab_size=vocab_size, d_model=d_model)
        if head_shape is not None and head_shape != (vocab_size, d_model):
            kwargs["head_shape"] = head_shape
        if rng.random() < 0.5:
            kwargs["bias"] = True
        kind = rng.choice(["nn.Embedding", "TokenEmbedding", "TokenEmbedding with padding"])
        if kind != "nn.Embedding":
            kwargs["embedding"] = kind
        cases.append(Case((), kwargs))
    return cases


@exercise("tie_weights", weight=2, hint="For every embedding (nn.Embedding or TokenEmbedding) and head: "
                                        "head.weight becomes the embedding's own Parameter, the embedding and the "
                                        "bias stay as they were, the model counts one weight, the gradient is "
                                        "the sum of both uses, nothing is returned; any shape mismatch (vocabulary "
                                        "or d_model, transposed) raises ValueError.", broad=True)
def test_tie_same_as_reference_everywhere(student, reference):
    """Differential: the same facts as the reference's on 31 seeded cases (vocabularies 1 to 300, d_model 1 to
    8, heads of every wrong shape, with and without bias, three kinds of embedding)."""
    mine = probe(student, tie_driver, student.tie_weights, student.TokenEmbedding)
    expect_same_as_reference(mine, tie_driver(reference.tie_weights, reference.TokenEmbedding), tie_cases(70, 28),
                             "tie_weights on embedding(vocab_size, d_model) and nn.Linear(head_shape)",
                             compare=same_facts(atol=1e-6), guard=True)


@exercise("tie_weights", hint="tie_weights returns nothing (None): it changes the head in place. Do not return "
                              "the head, the Parameter or the pair.")
def test_tie_returns_nothing(student):
    """tie_weights(embedding, head) returns None."""
    embedding, head = probe(student, embedding_and_head, 6, 3, (6, 3), False, 0)
    result = student.tie_weights(embedding, head)
    expect(result is None, f"tie_weights returned {kind_of(result)} {'' if is_a(result, nn.Module) else result}; "
                           "it should return nothing (None)")


@exercise("tie_weights", hint="Compare the whole shapes, not only the vocabulary size: a head with vocab_size "
                              "rows but another d_model (nn.Linear(5, vocab_size) for a d_model 4 embedding) "
                              "must raise ValueError too.")
def test_tie_d_model_mismatch_raises(student):
    """Shapes (10, 4) vs a head of weight shape (10, 5) raise ValueError (same vocabulary, other d_model)."""
    with pytest.raises(ValueError):
        student.tie_weights(*probe(student, embedding_and_head, 10, 4, (10, 5), False, 0))


def failed_tie(tie_weights, vocab_size, d_model, head_shape):
    """Probe (runs in the worker): whether tie_weights raised ValueError for mismatched shapes, and whether
    the head's weight was left as it was (the same object, the same values)."""
    import torch
    import torch.nn as nn
    embedding, head = nn.Embedding(vocab_size, d_model), nn.Linear(head_shape[1], head_shape[0])
    weight, values = head.weight, head.weight.detach().clone()
    try:
        tie_weights(embedding, head)
        raised = False
    except ValueError:
        raised = True
    return {"raised": raised, "kept": head.weight is weight and bool(torch.equal(head.weight.detach(), values))}


@exercise("tie_weights", hint="Check the shapes BEFORE changing anything: after the ValueError the head must be "
                              "unchanged (its own weight, the same values), not already tied to the embedding.")
def test_tie_failed_call_leaves_head_unchanged(student):
    """After a ValueError for shapes (10, 4) vs (9, 4) or (4, 10), head.weight is the head's own, unchanged."""
    for head_shape in ((9, 4), (4, 10)):
        seen = probe(student, failed_tie, student.tie_weights, 10, 4, head_shape)
        expect(seen["raised"], f"no ValueError for a head of shape {head_shape}")
        expect(seen["kept"], f"after the ValueError (head of shape {head_shape}) head.weight was changed")
    with judged_only_if_right():  # a tie_weights that raises whatever the shapes changes nothing either
        embedding, head, _ = tied_pair(student, 10, 4)
        expect(head.weight is embedding.weight, "with matching shapes (10, 4), head.weight is not embedding.weight")
