"""Hidden checks for 18-vision-language. Inputs differ from the visible checks: batch 1 to 3, 1 to 3 channels,
square and non-square images, patch sizes from 1 to the whole image, float32, float64, uint8 and int64 images,
non-contiguous images; markers at the first position, on every token, on none, and more markers than images;
1 to 3 heads of odd sizes (1, 3, 5), one text token, one image, one token per image, media_locations None.
Modules are compared with the reference's after the reference's parameters (LayerNorms and gates included)
are set to seeded random values and copied into the learner's with load_state_dict, so that a wrong scale, a
swapped key/value split, a missing LayerNorm or a missing tanh shows. float64 results are compared to 1e-10,
float32 to 1e-5, far below any real bug's error (0.01 or more here); patches exactly.

While one exercise is graded, the others are the reference's (so MaskedCrossAttention calls the reference's
media_attention_mask, and GatedCrossAttentionBlock builds the reference's MaskedCrossAttention).

Every promise of the text and docstrings, and the check that exercises it:

patchify
- (B, N, C*p*p), row-major patches: test_patchify_reads_patches_row_by_row; non-square images:
  test_patchify_non_square_images
- channel, then row, then column inside a patch: test_patchify_orders_channel_row_column
- = Conv2d's weight order (a conv with that weight flattened gives patches @ w.T): test_patchify_matches_a_convolution
- any dtype kept (float32/64, uint8, int64): test_patchify_keeps_integer_images
- ValueError when H or W is not a multiple of p: test_patchify_rejects_sizes_that_do_not_divide; not 4-D:
  test_patchify_rejects_inputs_that_are_not_4d
- non-contiguous images: test_patchify_non_contiguous_images
- images unchanged, everything combined (p = 1 to the whole image): test_patchify_matches_reference
PatchEmbedding
- parameters exactly proj.weight (dim, C*p*p), proj.bias (dim,), pos_embedding (num_patches, dim):
  test_patch_embedding_parameters; proj an nn.Linear: test_patch_embedding_proj_is_linear
- pos_embedding randn * 0.02: test_patch_embedding_position_init
- ValueError at init for image_size not a multiple of patch_size: test_patch_embedding_rejects_bad_patch_size
- forward = proj(patchify) + pos_embedding, patch n gets position n: test_patch_embedding_adds_positions_per_patch
- = Conv2d with the same weight: test_patch_embedding_equals_a_convolution
- ValueError for images of another size: test_patch_embedding_rejects_other_image_sizes
- float32/float64, batch 1 to 3, images unchanged: test_patch_embedding_matches_reference
- training: test_patch_embedding_gradients
media_attention_mask
- (B, T, M) bool: test_mask_shape_and_dtype
- the marker's own position sees its image: test_mask_marker_sees_its_image
- before the first marker: no image: test_mask_no_image_before_the_first_marker
- only_immediate: the latest image only: test_mask_latest_image_only; False: every earlier image:
  test_mask_every_earlier_image
- more markers than images: test_mask_more_markers_than_images
- media_locations unchanged, random markers, both rules, M 1 to 4: test_mask_matches_reference
MaskedCrossAttention
- parameters exactly norm, to_q, to_kv, to_out (no bias): test_cross_attention_parameters; heads, dim_head,
  only_immediate kept: test_cross_attention_keeps_its_options
- text normalised, media not: test_cross_attention_does_not_normalise_the_media
- keys = first half of to_kv, values = second half: test_cross_attention_values_are_the_second_half
- scale 1 / sqrt(dim_head): test_cross_attention_scale
- heads: columns h*dim_head ... in order: test_cross_attention_heads_in_order
- the mask (latest image only): test_cross_attention_sees_only_the_latest_image; self.only_immediate read at
  each call: test_cross_attention_reads_only_immediate_at_each_call
- no image -> exactly 0, finite gradients: test_cross_attention_tokens_without_image_give_zero,
  test_cross_attention_finite_gradients_without_image
- media_locations None: every media token: test_cross_attention_without_locations_sees_everything
- (B, T, dim), shapes of 1, odd heads, float32/64, arguments unchanged: test_cross_attention_matches_reference
- training: test_cross_attention_gradients
GatedCrossAttentionBlock
- parameters (attn.*, attn_gate (1,), ff.0 LayerNorm, ff.1, ff.3 without bias, ff_gate (1,)):
  test_block_parameters; ff_mult (int(dim * ff_mult)): the same check
- gates zero at init: test_block_gates_start_at_zero; identity at init: test_block_is_the_identity_at_init
- tanh of the gates: test_block_uses_tanh_of_the_gates
- ff on the new x (after the attention): test_block_feed_forward_reads_the_updated_x
- only_immediate passed to attn: test_block_passes_only_immediate
- exact GELU, everything combined, arguments unchanged: test_block_matches_reference
- training (the gates get gradients at init): test_block_gates_get_gradients_at_init, test_block_gradients
"""
import math
import random

import torch

from autograder import generators
from autograder.checking import (CheckFailed, exercise, expect, expect_close, expect_equal, expect_same_as_reference)
from autograder.remote import is_a, kind_of, probe
from autograder.torch_checks import Shown, expect_same_module_gradients, gen, randn

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def same_tensor(got, expected, what):
    """A tensor of the expected dtype and shape, within TOL (exactly for integer tensors)."""
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, expected.dtype, f"{what}: the dtype")
    expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
    atol = TOL.get(expected.dtype, 0.0)
    expect_close(got.detach(), expected.detach(), atol, atol, what=what)


def image_tensor(rng, shape, dtype):
    if dtype in (torch.uint8, torch.int64):
        return torch.randint(0, 256, shape, generator=gen(rng.randrange(1 << 30))).to(dtype)
    return generators.tensor(rng, shape, dtype)


def expect_value_error(call, what):
    """call() raises ValueError (a learner's ValueError arrives as one)."""
    try:
        call()
    except ValueError:
        return
    raise CheckFailed(f"{what} should raise ValueError")


# probes: run in the worker ------------------------------------------------------------------------------

def parameter_shapes(module):
    """{name: shape} of every parameter, in order."""
    return {name: tuple(p.shape) for name, p in module.named_parameters()}


def parameter_copies(module):
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def load_parameters(module, tensors, dtype_name):
    """Cast the module to the dtype and copy the tensors into its parameters by name."""
    import torch
    module.to(getattr(torch, dtype_name))
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(tensors[name])
    module.eval()
    return True


def output_and_input_gradients(module, x, media, locations):
    """Backward of (module(x, media, locations) * weight).sum(): [output, x.grad, media.grad, all finite]."""
    import torch
    x = x.clone().requires_grad_(True)
    media = media.clone().requires_grad_(True)
    out = module(x, media, locations)
    weight = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)
    (out * weight).sum().backward()
    grads = [g for g in (x.grad, media.grad) if g is not None]
    return [out.detach(), bool(all(torch.isfinite(g).all() for g in grads)) and len(grads) == 2]


def on_transposed_images(images, patch_size, patchify):
    view = images.transpose(2, 3)
    assert not view.is_contiguous()
    return patchify(view, patch_size)


def randomise(module, seed, gates=True):
    """Seeded normal values in every parameter of a (reference) module, in order; gates uniform in (-1, 1)."""
    generator = gen(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("_gate"):
                p.copy_((torch.rand(p.shape, generator=generator, dtype=torch.float64) * 2 - 1) if gates else 0.0)
            elif name.endswith("norm.bias") or name.endswith("0.bias"):
                p.copy_(0.3 * torch.randn(p.shape, generator=generator, dtype=torch.float64))
            elif name.endswith("norm.weight") or name.endswith("0.weight") and p.dim() == 1:
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=generator, dtype=torch.float64))
            else:
                p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64) / math.sqrt(max(p.shape[-1], 1)))
    return module


def twins(student, reference, name, args, kwargs=None, seed=0, dtype=torch.float64, gates=True):
    """(learner's module, reference's) built with the same arguments, the reference's parameters random and
    copied into the learner's; eval mode. The parameters' names and shapes must be the reference's."""
    kwargs = kwargs or {}
    ref = randomise(getattr(reference, name)(*args, **kwargs).double(), seed, gates).to(dtype).eval()
    mine = getattr(student, name)(*args, **kwargs)
    shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
    expect_equal(probe(student, parameter_shapes, mine), parameter_shapes(ref),
                 f"{name}({shown}): the parameters' names and shapes")
    probe(student, load_parameters, mine, {k: v.detach().clone() for k, v in ref.named_parameters()},
          str(dtype).removeprefix("torch."))
    return mine, ref


def markers(rng, batch, length, density=None):
    density = rng.choice([0.0, 0.2, 0.5, 1.0]) if density is None else density
    return torch.rand(batch, length, generator=gen(rng.randrange(1 << 30))) < density


# patchify --------------------------------------------------------------------------------------------

PATCHIFY = "patchify"


def coded_image(batch, channels, height, width):
    """Pixel value = 1000 * channel + 100 * row + column (+ 10000 * image): every number says where it was."""
    b = torch.arange(batch).reshape(-1, 1, 1, 1) * 10000
    c = torch.arange(channels).reshape(1, -1, 1, 1) * 1000
    y = torch.arange(height).reshape(1, 1, -1, 1) * 100
    x = torch.arange(width).reshape(1, 1, 1, -1)
    return (b + c + y + x).double()


def expected_patches(images, p):
    """Patches the slow way: for each row of patches, each column, the (C, p, p) block flattened."""
    batch, channels, height, width = images.shape
    rows = []
    for i in range(height // p):
        for j in range(width // p):
            rows.append(images[:, :, i * p:(i + 1) * p, j * p:(j + 1) * p].reshape(batch, -1))
    return torch.stack(rows, dim=1)


@exercise(PATCHIFY, weight=2, hint="Patches in row-major order: left to right along the top row of patches, then the "
                                   "next row. Permute to (B, H/p, W/p, C, p, p) before the last reshape.")
def test_patchify_reads_patches_row_by_row(student):
    """A 1-channel 4 x 4 image, p = 2: patch 1 is the top-right block, patch 2 the bottom-left one."""
    images = coded_image(1, 1, 4, 4)
    same_tensor(student.patchify(images, 2), expected_patches(images, 2), "patchify(4 x 4 image, 2)")


@exercise(PATCHIFY, hint="Inside a patch: channel first, then pixel row, then pixel column (a Conv2d weight "
                         "(dim, C, p, p) flattened), not the pixels first with the channels last.")
def test_patchify_orders_channel_row_column(student):
    """A 3-channel 2 x 2 image, p = 2: one patch [c0 (row 0, row 1), c1 ..., c2 ...]."""
    images = coded_image(1, 3, 2, 2)
    same_tensor(student.patchify(images, 2), expected_patches(images, 2), "patchify(3-channel 2 x 2 image, 2)")


@exercise(PATCHIFY, hint="H and W may differ: the grid has H/p rows and W/p columns of patches; do not use H for both.")
def test_patchify_non_square_images(student):
    """A 2-channel 4 x 6 image with p = 2 (2 rows of 3 patches), and a 6 x 2 one."""
    for height, width in ((4, 6), (6, 2)):
        images = coded_image(2, 2, height, width)
        same_tensor(student.patchify(images, 2), expected_patches(images, 2), f"patchify({height} x {width} images, 2)")


@exercise(PATCHIFY, hint="The flattened patch must be in the order of a Conv2d weight (dim, C, p, p): then "
                         "patches @ weight.reshape(dim, -1).T is the convolution's output, patch by patch.")
def test_patchify_matches_a_convolution(student):
    """patchify(images, 3) @ w.reshape(4, -1).T + b equals Conv2d(2, 4, 3, stride=3) with weight w (6 x 9 images)."""
    images, weight, bias = randn(2, 2, 6, 9, seed=1), randn(4, 2, 3, 3, seed=2), randn(4, seed=3)
    conv = torch.nn.functional.conv2d(images, weight, bias, stride=3).flatten(2).transpose(1, 2)
    got = student.patchify(images, 3)
    expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
    expect_equal(tuple(got.shape), (2, 6, 18), "the shape")
    expect_close(got @ weight.reshape(4, -1).T + bias, conv, 1e-10, what="patches @ w.T + b against the convolution")


@exercise(PATCHIFY, hint="Keep the images' dtype: reshape and permute work on uint8 and int64 tensors too (no "
                         ".float(), no torch.zeros(...) of the default dtype).")
def test_patchify_keeps_integer_images(student):
    """uint8 and int64 images: patches of the same dtype and values."""
    for dtype in (torch.uint8, torch.int64):
        images = (coded_image(1, 2, 4, 4) % 251).to(dtype)
        same_tensor(student.patchify(images, 2), expected_patches(images, 2), f"patchify({dtype} images, 2)")


@exercise(PATCHIFY, hint="Raise ValueError when H or W is not a multiple of patch_size (check both), instead of "
                         "cutting the border off or failing with a RuntimeError from reshape.")
def test_patchify_rejects_sizes_that_do_not_divide(student):
    """6 x 6 with p = 4, 4 x 6 with p = 4 (W only), 6 x 4 with p = 4 (H only): ValueError."""
    for height, width in ((6, 6), (4, 6), (6, 4)):
        expect_value_error(lambda: student.patchify(torch.zeros(1, 1, height, width), 4),
                           f"patchify on {height} x {width} images with patch_size 4")


@exercise(PATCHIFY, hint="Raise ValueError when images is not 4-D (B, C, H, W): a 3-D image without its batch "
                         "dimension is a mistake to report.")
def test_patchify_rejects_inputs_that_are_not_4d(student):
    """A (3, 4, 4) image and a (1, 1, 1, 4, 4) tensor: ValueError."""
    for shape in ((3, 4, 4), (1, 1, 1, 4, 4)):
        expect_value_error(lambda: student.patchify(torch.zeros(shape), 2), f"patchify on a tensor of shape {shape}")


@exercise(PATCHIFY, hint="images may be a non-contiguous view: use reshape (not view), which copies when it must.")
def test_patchify_non_contiguous_images(student, reference):
    """Images transposed in H and W (a non-contiguous view), p = 2."""
    images = randn(2, 3, 4, 6, seed=4)
    expected = reference.patchify(images.transpose(2, 3), 2)
    same_tensor(probe(student, on_transposed_images, images, 2, student.patchify), expected, "non-contiguous images")


@exercise(PATCHIFY, weight=2, hint="(B, C, H, W) -> (B, (H/p)(W/p), C p p) for any batch, channels, H, W and p "
                                   "(1 to the whole image), any dtype, ValueError where p does not divide; images "
                                   "unchanged.", broad=True)
def test_patchify_matches_reference(student, reference):
    """Random images (batch 1 to 3, 1 to 3 channels, 1 x 1 to 8 x 12, p from 1 to the whole image), float32,
    float64, uint8 and int64, and sizes that do not divide: the reference's patches or its ValueError."""
    rng = random.Random(5)
    cases = []
    for batch, channels, height, width, p in [(1, 1, 1, 1, 1), (1, 3, 4, 4, 4), (2, 1, 6, 6, 1), (3, 2, 8, 12, 4),
                                              (1, 3, 6, 9, 3), (2, 3, 8, 8, 2), (1, 2, 5, 5, 2), (2, 1, 4, 10, 4)]:
        dtype = rng.choice([torch.float32, torch.float64, torch.uint8, torch.int64])
        images = image_tensor(rng, (batch, channels, height, width), dtype)
        cases.append(Shown((images, p), {}, f"(images of shape {(batch, channels, height, width)}, {dtype}, "
                                            f"patch_size={p})"))
    expect_same_as_reference(student.patchify, reference.patchify, cases, "patchify", compare=same_tensor)


# PatchEmbedding -----------------------------------------------------------------------------------------

EMBED = "PatchEmbedding"


@exercise(EMBED, weight=2, hint="Parameters: proj = nn.Linear(in_channels * p * p, dim) (with bias) and "
                                "pos_embedding = nn.Parameter of shape (num_patches, dim); no other parameter.")
def test_patch_embedding_parameters(student):
    """image 6, p 3, 2 channels, dim 5: proj.weight (5, 18), proj.bias (5,), pos_embedding (4, 5); image 4, p 1,
    1 channel, dim 3: (3, 1), (3,), (16, 3)."""
    for args, expected in (((6, 3, 2, 5), {"proj.weight": (5, 18), "proj.bias": (5,), "pos_embedding": (4, 5)}),
                           ((4, 1, 1, 3), {"proj.weight": (3, 1), "proj.bias": (3,), "pos_embedding": (16, 3)})):
        expect_equal(probe(student, parameter_shapes, student.PatchEmbedding(*args)), expected,
                     f"PatchEmbedding{args}: the parameters' names and shapes")


@exercise(EMBED, hint="self.proj must be an nn.Linear (in_channels * p * p -> dim).")
def test_patch_embedding_proj_is_linear(student):
    """self.proj is an nn.Linear."""
    proj = student.PatchEmbedding(4, 2, 3, 6).proj
    expect(is_a(proj, torch.nn.Linear), f"self.proj should be an nn.Linear, got {kind_of(proj)}")


@exercise(EMBED, hint="Initialise pos_embedding with torch.randn(num_patches, dim) * 0.02: random (zeros give every "
                      "patch the same position) and small.")
def test_patch_embedding_position_init(student):
    """A fresh pos_embedding (64 x 32) is finite with a standard deviation between 0.015 and 0.025 and mean near 0."""
    tensors = probe(student, parameter_copies, student.PatchEmbedding(16, 2, 1, 32))
    expect("pos_embedding" in tensors, f"no parameter pos_embedding (the parameters: {list(tensors)})")
    pos = tensors["pos_embedding"].double()
    expect(bool(torch.isfinite(pos).all()), "pos_embedding contains NaN or inf")
    std, mean = pos.std().item(), pos.mean().item()
    expect(0.015 < std < 0.025 and abs(mean) < 0.005,
           f"pos_embedding should be randn * 0.02: its standard deviation is {std:.4g}, its mean {mean:.3g}")


@exercise(EMBED, hint="Raise ValueError in __init__ when image_size is not a multiple of patch_size.")
def test_patch_embedding_rejects_bad_patch_size(student):
    """PatchEmbedding(10, 4, 3, 8) and PatchEmbedding(5, 2, 1, 4): ValueError."""
    for args in ((10, 4, 3, 8), (5, 2, 1, 4)):
        expect_value_error(lambda: student.PatchEmbedding(*args), f"PatchEmbedding{args}")


@exercise(EMBED, hint="Raise ValueError in forward when the images are not image_size x image_size (check height "
                      "AND width).")
def test_patch_embedding_rejects_other_image_sizes(student):
    """A PatchEmbedding(8, 4, ...) given 12 x 12, 8 x 12 and 12 x 8 images: ValueError."""
    module = student.PatchEmbedding(8, 4, 1, 4)
    for height, width in ((12, 12), (8, 12), (12, 8)):
        expect_value_error(lambda: module(torch.zeros(1, 1, height, width)),
                           f"PatchEmbedding(8, 4, 1, 4) on {height} x {width} images")


@exercise(EMBED, weight=2, hint="Add pos_embedding[n] to patch n: proj(patchify(images, p)) + pos_embedding, which "
                                "broadcasts (num_patches, dim) over the batch.")
def test_patch_embedding_adds_positions_per_patch(student, reference):
    """proj's weight and bias zero: the output is pos_embedding for every image of the batch."""
    mine, ref = twins(student, reference, EMBED, (4, 2, 2, 3), seed=6)
    positions = dict(ref.named_parameters())["pos_embedding"].detach()
    zero = {k: (torch.zeros_like(v) if k.startswith("proj") else v.detach().clone()) for k, v in ref.named_parameters()}
    probe(student, load_parameters, mine, zero, "float64")
    same_tensor(mine(randn(2, 2, 4, 4, seed=7)), positions.expand(2, 4, 3), "the output with proj = 0")


@exercise(EMBED, weight=2, hint="The patch embedding is a Conv2d with kernel = stride = p: proj.weight = "
                                "conv.weight.reshape(dim, -1) must give the conv's output (patch order of patchify).")
def test_patch_embedding_equals_a_convolution(student):
    """proj set from a Conv2d(3, 4, 2, stride=2) and pos_embedding 0: the convolution's output (6 x 6 images)."""
    weight, bias = randn(4, 3, 2, 2, seed=8), randn(4, seed=9)
    mine = student.PatchEmbedding(6, 2, 3, 4)
    probe(student, load_parameters, mine, {"proj.weight": weight.reshape(4, -1), "proj.bias": bias,
                                           "pos_embedding": torch.zeros(9, 4, dtype=torch.float64)}, "float64")
    images = randn(2, 3, 6, 6, seed=10)
    conv = torch.nn.functional.conv2d(images, weight, bias, stride=2).flatten(2).transpose(1, 2)
    same_tensor(mine(images), conv, "the output against Conv2d(3, 4, 2, stride=2)")


@exercise(EMBED, weight=2, hint="forward(images) = proj(patchify(images, p)) + pos_embedding, shape (B, num_patches, "
                                "dim), in float32 and float64, for any batch; images unchanged.", broad=True)
def test_patch_embedding_matches_reference(student, reference):
    """Four configurations (image 1 to 8, p 1 to the whole image, 1 to 3 channels), batch 1 to 3, float32 and
    float64: the reference's outputs."""
    rng = random.Random(11)
    for number, (size, p, channels, dim) in enumerate([(1, 1, 1, 2), (4, 4, 3, 5), (6, 2, 1, 3), (8, 4, 2, 7)]):
        for dtype in (torch.float64, torch.float32):
            mine, ref = twins(student, reference, EMBED, (size, p, channels, dim), seed=12 + number, dtype=dtype)
            cases = [Shown((generators.tensor(rng, (batch, channels, size, size), dtype),), {},
                           f"(images of shape {(batch, channels, size, size)}, {dtype})") for batch in (1, 3)]
            with torch.no_grad():
                expect_same_as_reference(mine, ref, cases, f"PatchEmbedding({size}, {p}, {channels}, {dim})",
                                         compare=same_tensor)


@exercise(EMBED, hint="Keep the computation in autograd (no .detach(), no torch.no_grad()): proj and pos_embedding "
                      "must get the reference's gradients.")
def test_patch_embedding_gradients(student, reference):
    """A backward pass: the gradients of proj.weight, proj.bias, pos_embedding and the images."""
    mine, ref = twins(student, reference, EMBED, (4, 2, 2, 3), seed=13)
    expect_same_module_gradients(student, mine, ref, (randn(2, 2, 4, 4, seed=14),), randn(2, 4, 3, seed=15),
                                 "PatchEmbedding(4, 2, 2, 3)")


# media_attention_mask ---------------------------------------------------------------------------------

MASK = "media_attention_mask"


def bools(*rows):
    return torch.tensor(rows, dtype=torch.bool)


def ints(mask):
    return mask.int().tolist() if isinstance(mask, torch.Tensor) else mask


@exercise(MASK, hint="Return a bool tensor of shape (B, T, num_media): compare cumsum(...)[..., None] with "
                     "torch.arange(1, num_media + 1).")
def test_mask_shape_and_dtype(student):
    """(2, 5) markers and 3 images: a (2, 5, 3) bool tensor; (1, 1) and 1 image: (1, 1, 1)."""
    for locations, num_media in ((bools([1, 0, 0, 1, 0], [0, 0, 1, 0, 0]), 3), (bools([1]), 1)):
        got = student.media_attention_mask(locations, num_media)
        expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
        expect_equal((got.dtype, tuple(got.shape)), (torch.bool, (*locations.shape, num_media)),
                     f"(dtype, shape) for markers of shape {tuple(locations.shape)} and {num_media} images")


@exercise(MASK, weight=2, hint="Count the markers up to AND including position t (cumsum, not an exclusive count): "
                               "the marker token itself already sees its image.")
def test_mask_marker_sees_its_image(student):
    """Markers at 0 and 2 of 3 tokens: token 0 sees image 1, token 2 sees image 2."""
    expect_equal(ints(student.media_attention_mask(bools([1, 0, 1]), 2)), [[[1, 0], [1, 0], [0, 1]]], "the mask")


@exercise(MASK, weight=2, hint="A token before the first marker (count 0) sees no image: its row is all False.")
def test_mask_no_image_before_the_first_marker(student):
    """No marker at all, and tokens before the first marker: rows of False, with both rules."""
    for immediate in (True, False):
        expect_equal(ints(student.media_attention_mask(bools([0, 0, 1, 0], [0, 0, 0, 0]), 2, only_immediate=immediate)),
                     [[[0, 0], [0, 0], [1, 0], [1, 0]], [[0, 0]] * 4], f"the mask with only_immediate={immediate}")


@exercise(MASK, hint="only_immediate=True: token t sees image j + 1 only when the count equals j + 1 (==), not every "
                     "image so far (>=).")
def test_mask_latest_image_only(student):
    """Markers at 0, 2 and 3: tokens see image 1, 1, 2, 3 only."""
    expect_equal(ints(student.media_attention_mask(bools([1, 0, 1, 1]), 3)),
                 [[[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]], "the mask (latest image only)")


@exercise(MASK, hint="only_immediate=False: token t sees every image whose number is at most its count (>=).")
def test_mask_every_earlier_image(student):
    """Markers at 0, 2 and 3 with only_immediate=False: rows [1,0,0], [1,0,0], [1,1,0], [1,1,1]."""
    expect_equal(ints(student.media_attention_mask(bools([1, 0, 1, 1]), 3, only_immediate=False)),
                 [[[1, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1]]], "the mask (every earlier image)")


@exercise(MASK, hint="The columns are the num_media images, whatever the number of markers: with more markers than "
                     "images, a token after marker M + 1 sees no image (latest only) or all M (every earlier one).")
def test_mask_more_markers_than_images(student):
    """Three markers, two images: the last token sees nothing (latest only) or both (every earlier image)."""
    locations = bools([1, 1, 1])
    expect_equal(ints(student.media_attention_mask(locations, 2)), [[[1, 0], [0, 1], [0, 0]]], "latest image only")
    expect_equal(ints(student.media_attention_mask(locations, 2, only_immediate=False)), [[[1, 0], [1, 1], [1, 1]]],
                 "every earlier image")


def same_mask(got, expected, what):
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal((got.dtype, tuple(got.shape)), (expected.dtype, tuple(expected.shape)), f"{what}: (dtype, shape)")
    expect_equal(got.int().tolist(), expected.int().tolist(), what)


@exercise(MASK, weight=2, hint="mask[b, t, j] = count(t) == j + 1 (or >= with only_immediate=False), count(t) = "
                               "cumsum of the markers along the last dimension; media_locations unchanged.", broad=True)
def test_mask_matches_reference(student, reference):
    """Random markers (none, some, all), batch 1 to 3, 1 to 9 tokens, 1 to 4 images, both rules."""
    rng = random.Random(16)
    cases = []
    for _ in range(10):
        batch, length, num_media = rng.randint(1, 3), rng.randint(1, 9), rng.randint(1, 4)
        locations = markers(rng, batch, length)
        immediate = rng.choice([True, False])
        cases.append(Shown((locations, num_media), {"only_immediate": immediate},
                           f"({locations.int().tolist()}, {num_media}, only_immediate={immediate})"))
    expect_same_as_reference(student.media_attention_mask, reference.media_attention_mask, cases, MASK,
                             compare=same_mask)


# MaskedCrossAttention ---------------------------------------------------------------------------------

ATTN = "MaskedCrossAttention"


def attention_inputs(seed, batch, length, num_media, per_image, dim, dtype=torch.float64):
    return randn(batch, length, dim, seed=seed).to(dtype), randn(batch, num_media, per_image, dim, seed=seed + 1).to(dtype)


def same_output_as_reference(student, reference, name, args, seed, sizes, locations=None, what="the output"):
    """The learner's module and the reference's with the same random parameters, on x and media of the given
    sizes (batch, tokens, images, tokens per image): the same output."""
    mine, ref = twins(student, reference, name, args, seed=seed)
    x, media = attention_inputs(seed + 1, *sizes, args[0])
    with torch.no_grad():
        same_tensor(mine(x, media, locations), ref(x, media, locations), what)


def attention_cases(rng, dim, dtype):
    """Three random inputs: batch 1 to 2, 1 to 5 tokens, 1 to 3 images of 1 to 3 tokens, markers or None."""
    cases = []
    for _ in range(3):
        batch, length, num_media, per_image = rng.randint(1, 2), rng.randint(1, 5), rng.randint(1, 3), rng.randint(1, 3)
        x = generators.tensor(rng, (batch, length, dim), dtype)
        media = generators.tensor(rng, (batch, num_media, per_image, dim), dtype)
        locations = None if rng.random() < 0.2 else markers(rng, batch, length)
        shown = "None" if locations is None else locations.int().tolist()
        cases.append(Shown((x, media, locations), {}, f"(x {tuple(x.shape)}, media {tuple(media.shape)}, {dtype}, "
                                                      f"media_locations {shown})"))
    return cases


@exercise(ATTN, weight=2, hint="Parameters: norm = nn.LayerNorm(dim), to_q = nn.Linear(dim, inner, bias=False), to_kv "
                               "= nn.Linear(dim, 2 * inner, bias=False), to_out = nn.Linear(inner, dim, bias=False), "
                               "inner = heads * dim_head.")
def test_cross_attention_parameters(student):
    """dim 5, 3 heads of 1: norm.weight (5,), norm.bias (5,), to_q.weight (3, 5), to_kv.weight (6, 5), to_out.weight
    (5, 3)."""
    expect_equal(probe(student, parameter_shapes, student.MaskedCrossAttention(5, 3, 1)),
                 {"norm.weight": (5,), "norm.bias": (5,), "to_q.weight": (3, 5), "to_kv.weight": (6, 5),
                  "to_out.weight": (5, 3)}, "the parameters' names and shapes")


@exercise(ATTN, hint="Keep the options as self.heads, self.dim_head and self.only_immediate.")
def test_cross_attention_keeps_its_options(student):
    """MaskedCrossAttention(6, 2, 3, only_immediate=False): heads 2, dim_head 3, only_immediate False."""
    module = student.MaskedCrossAttention(6, 2, 3, only_immediate=False)
    expect_equal([module.heads, module.dim_head, module.only_immediate], [2, 3, False],
                 "[self.heads, self.dim_head, self.only_immediate]")


@exercise(ATTN, weight=2, hint="Normalise the text only: q = to_q(norm(x)); the media go into to_kv as they are.")
def test_cross_attention_does_not_normalise_the_media(student, reference):
    """Media multiplied by 3 (a LayerNorm would undo it): the reference's output."""
    mine, ref = twins(student, reference, ATTN, (4, 1, 3), seed=17)
    x, media = attention_inputs(18, 1, 3, 1, 2, 4)
    with torch.no_grad():
        same_tensor(mine(x, 3 * media), ref(x, 3 * media), "the output for media * 3")


@exercise(ATTN, weight=2, hint="k, v = to_kv(media).chunk(2, dim=-1): the keys are the FIRST inner columns, the values "
                               "the last.")
def test_cross_attention_values_are_the_second_half(student, reference):
    """to_kv's value rows set to 0: the output is 0 whatever the keys (and the key rows to 0: uniform weights)."""
    mine, ref = twins(student, reference, ATTN, (4, 2, 2), seed=19)
    x, media = attention_inputs(20, 2, 3, 2, 3, 4)
    for half, what in ((slice(4, 8), "the value half of to_kv zero"), (slice(0, 4), "the key half of to_kv zero")):
        tensors = {k: v.detach().clone() for k, v in ref.named_parameters()}
        tensors["to_kv.weight"][half] = 0
        probe(student, load_parameters, mine, tensors, "float64")
        with torch.no_grad():
            ref.to_kv.weight.copy_(tensors["to_kv.weight"])
            same_tensor(mine(x, media), ref(x, media), what)


@exercise(ATTN, weight=2, hint="Scale the scores by 1 / sqrt(dim_head) (the size of one head), not 1 / sqrt(dim) or "
                               "1 / sqrt(heads * dim_head).")
def test_cross_attention_scale(student, reference):
    """dim 6, 2 heads of 5 (dim_head differs from dim and from inner): the reference's output."""
    same_output_as_reference(student, reference, ATTN, (6, 2, 5), 21, (1, 2, 1, 4))


@exercise(ATTN, hint="Split the inner columns head by head: reshape(B, T, heads, dim_head) (head h = columns "
                     "h * dim_head ...), not reshape(B, T, dim_head, heads).")
def test_cross_attention_heads_in_order(student, reference):
    """3 heads of 2: the reference's output."""
    same_output_as_reference(student, reference, ATTN, (5, 3, 2), 23, (2, 3, 1, 3))


@exercise(ATTN, weight=2, hint="Mask every media token of an image the token may not see (media_attention_mask, each "
                               "image's column repeated for its N tokens: repeat_interleave) before the softmax.")
def test_cross_attention_sees_only_the_latest_image(student, reference):
    """Changing image 1 leaves the tokens after the second marker unchanged; changing image 2 leaves the tokens
    before it unchanged."""
    mine, _ = twins(student, reference, ATTN, (4, 2, 2), seed=25)
    x, media = attention_inputs(26, 1, 5, 2, 3, 4)
    locations = bools([1, 0, 0, 1, 0])
    with torch.no_grad():
        base = mine(x, media, locations)
        for image, tokens in ((0, slice(3, 5)), (1, slice(0, 3))):
            other = media.clone()
            other[:, image] = randn(3, 4, seed=27 + image)
            expect_close(mine(x, other, locations)[:, tokens], base[:, tokens], 1e-12,
                         what=f"tokens {tokens.start}-{tokens.stop - 1} after changing image {image + 1}")


@exercise(ATTN, hint="Read self.only_immediate in forward (media_attention_mask(..., self.only_immediate)), so that "
                     "changing it after construction changes the rule.")
def test_cross_attention_reads_only_immediate_at_each_call(student, reference):
    """Built with only_immediate=True, then set to False: the reference's output with every earlier image visible."""
    mine, ref = twins(student, reference, ATTN, (4, 2, 2), seed=28)
    mine.only_immediate = False
    ref.only_immediate = False
    x, media = attention_inputs(29, 1, 5, 2, 2, 4)
    locations = bools([1, 0, 1, 0, 0])
    with torch.no_grad():
        same_tensor(mine(x, media, locations), ref(x, media, locations), "the output after only_immediate = False")


@exercise(ATTN, weight=2, hint="A token that may see no image gets exactly 0, not NaN: a softmax over scores that are "
                               "all -inf is 0/0. Fill with a large negative number and zero those rows, or use where.")
def test_cross_attention_tokens_without_image_give_zero(student, reference):
    """Tokens before the first marker, and every token when there is no marker: exactly 0 (both rules)."""
    for immediate in (True, False):
        mine, _ = twins(student, reference, ATTN, (4, 2, 2), {"only_immediate": immediate}, seed=30)
        x, media = attention_inputs(31, 2, 4, 1, 2, 4)
        with torch.no_grad():
            got = mine(x, media, bools([0, 0, 1, 0], [0, 0, 0, 0]))
        expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
        expect_close(got[0, :2], torch.zeros(2, 4, dtype=torch.float64), 0.0,
                     what=f"tokens before the first marker (only_immediate={immediate})")
        expect_close(got[1], torch.zeros(4, 4, dtype=torch.float64), 0.0,
                     what=f"a sequence without marker (only_immediate={immediate})")


@exercise(ATTN, hint="Rows with no visible image must give finite gradients: an additive -inf mask (scores + mask) "
                     "sends NaN back into the scores even when nan_to_num cleans the forward pass; masked_fill with "
                     "torch.finfo(dtype).min, then zero those rows' weights.")
def test_cross_attention_finite_gradients_without_image(student, reference):
    """A backward pass through tokens without an image: the output matches and every gradient is finite."""
    mine, ref = twins(student, reference, ATTN, (4, 2, 2), seed=32)
    x, media = attention_inputs(33, 1, 4, 2, 2, 4)
    locations = bools([0, 1, 0, 0])
    out, finite = probe(student, output_and_input_gradients, mine, x, media, locations)
    with torch.no_grad():
        same_tensor(out, ref(x, media, locations), "the output")
    expect(finite, "a gradient of x or media is missing or contains NaN or inf")


@exercise(ATTN, hint="With media_locations=None there is no mask: every token attends to every media token of every "
                     "image.")
def test_cross_attention_without_locations_sees_everything(student, reference):
    """media_locations None, two images of 3 tokens: the reference's output (every token sees all 6)."""
    same_output_as_reference(student, reference, ATTN, (4, 2, 2), 34, (2, 3, 2, 3), what="the output without media_locations")


@exercise(ATTN, weight=3, hint="q = to_q(norm(x)), k | v = to_kv(media as (B, M*N, dim)), heads of dim_head, scores / "
                               "sqrt(dim_head), masked by media_attention_mask, softmax, @ v, to_out; 0 for tokens with no "
                               "image; arguments unchanged.", broad=True)
def test_cross_attention_matches_reference(student, reference):
    """Five configurations (1 to 3 heads of 1 to 5, dim 2 to 7, both rules), batch 1 to 2, 1 to 5 tokens, 1 to 3
    images of 1 to 3 tokens, float32 and float64, random markers and None: the reference's outputs."""
    rng = random.Random(36)
    configs = [((2, 1, 1), True), ((5, 3, 2), True), ((7, 2, 5), False), ((4, 1, 3), True), ((6, 2, 3), False)]
    for number, (args, immediate) in enumerate(configs):
        for dtype in (torch.float64, torch.float32):
            mine, ref = twins(student, reference, ATTN, args, {"only_immediate": immediate}, seed=40 + number, dtype=dtype)
            cases = attention_cases(rng, args[0], dtype)
            with torch.no_grad():
                expect_same_as_reference(mine, ref, cases, f"MaskedCrossAttention{args} (only_immediate={immediate})",
                                         compare=same_tensor)


@exercise(ATTN, hint="Keep the computation in autograd (no .detach(), no in-place writes into tensors autograd needs): "
                     "every parameter must get the reference's gradient.")
def test_cross_attention_gradients(student, reference):
    """A backward pass with markers: the gradients of x, media and every parameter."""
    mine, ref = twins(student, reference, ATTN, (4, 2, 3), seed=45)
    x, media = attention_inputs(46, 2, 4, 2, 2, 4)
    expect_same_module_gradients(student, mine, ref, (x, media, bools([1, 0, 1, 0], [0, 1, 0, 0])),
                                 randn(2, 4, 4, seed=47), "MaskedCrossAttention(4, 2, 3)")


# GatedCrossAttentionBlock ------------------------------------------------------------------------------

BLOCK = "GatedCrossAttentionBlock"


@exercise(BLOCK, weight=2, hint="Parameters: attn (a MaskedCrossAttention), attn_gate and ff_gate of shape (1,), and ff "
                                "= nn.Sequential(LayerNorm, Linear(dim, int(dim * ff_mult), bias=False), GELU, "
                                "Linear(..., dim, bias=False)).")
def test_block_parameters(student):
    """dim 4, 2 heads of 3, ff_mult 1.5: attn.*, attn_gate (1,), ff.0 (4,), ff.1 (6, 4), ff.3 (4, 6), ff_gate (1,)."""
    got = probe(student, parameter_shapes, student.GatedCrossAttentionBlock(4, 2, 3, ff_mult=1.5))
    expected = {"attn.norm.weight": (4,), "attn.norm.bias": (4,), "attn.to_q.weight": (6, 4), "attn.to_kv.weight": (12, 4),
                "attn.to_out.weight": (4, 6), "attn_gate": (1,), "ff.0.weight": (4,), "ff.0.bias": (4,),
                "ff.1.weight": (6, 4), "ff.3.weight": (4, 6), "ff_gate": (1,)}
    expect_equal(dict(sorted(got.items())), dict(sorted(expected.items())), "the parameters' names and shapes")


@exercise(BLOCK, weight=2, hint="Both gates start at 0 (torch.zeros(1)): tanh(0) = 0 closes the block.")
def test_block_gates_start_at_zero(student):
    """A fresh block: attn_gate and ff_gate are [0.0]."""
    tensors = probe(student, parameter_copies, student.GatedCrossAttentionBlock(4, 2, 2))
    expect_equal([tensors.get(name, torch.ones(1)).tolist() for name in ("attn_gate", "ff_gate")], [[0.0], [0.0]],
                 "[attn_gate, ff_gate] at the start")


@exercise(BLOCK, weight=2, hint="At initialisation the block must return x exactly: gates 0, and the residual form "
                                "x + tanh(gate) * f(x) (not tanh(gate) * f(x) alone, not a sigmoid gate).")
def test_block_is_the_identity_at_init(student):
    """A fresh block (its attention and feed-forward random) returns x exactly, with and without markers."""
    block = student.GatedCrossAttentionBlock(4, 2, 2)
    x, media = randn(2, 3, 4, seed=50).float(), randn(2, 2, 3, 4, seed=51).float()
    for locations in (None, bools([1, 0, 1], [0, 1, 0])):
        got = block(x, media, locations)
        expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
        expect_close(got, x, 0.0, what=f"the output of a fresh block (media_locations {'None' if locations is None else 'given'})")


@exercise(BLOCK, weight=2, hint="Multiply by tanh(gate), not by the gate itself: x + torch.tanh(self.attn_gate) * "
                                "attn(...).")
def test_block_uses_tanh_of_the_gates(student, reference):
    """attn_gate = 1.5, ff_gate = 0 (then the reverse): x + tanh(1.5) * attn(x, ...), as the reference."""
    mine, ref = twins(student, reference, BLOCK, (4, 2, 2), seed=52, gates=False)
    x, media = attention_inputs(53, 1, 3, 1, 2, 4)
    for attn_gate, ff_gate in ((1.5, 0.0), (0.0, -1.5)):
        tensors = {k: v.detach().clone() for k, v in ref.named_parameters()}
        tensors["attn_gate"], tensors["ff_gate"] = torch.tensor([attn_gate]), torch.tensor([ff_gate])
        probe(student, load_parameters, mine, tensors, "float64")
        ref.load_state_dict(tensors, strict=False)
        with torch.no_grad():
            same_tensor(mine(x, media, bools([1, 0, 0])), ref(x, media, bools([1, 0, 0])),
                        f"the output with attn_gate {attn_gate}, ff_gate {ff_gate}")


@exercise(BLOCK, weight=2, hint="Apply the feed-forward to the x that already includes the gated attention "
                                "(sequential), not to the block's input (parallel).")
def test_block_feed_forward_reads_the_updated_x(student, reference):
    """Both gates open: the reference's output."""
    mine, ref = twins(student, reference, BLOCK, (4, 2, 2), seed=54)
    with torch.no_grad():
        for name in ("attn_gate", "ff_gate"):
            getattr(ref, name).fill_(1.0)
    probe(student, load_parameters, mine, {k: v.detach().clone() for k, v in ref.named_parameters()}, "float64")
    x, media = attention_inputs(55, 2, 3, 1, 2, 4)
    with torch.no_grad():
        same_tensor(mine(x, media), ref(x, media), "the output with both gates at 1")


@exercise(BLOCK, hint="Pass only_immediate on: MaskedCrossAttention(dim, heads, dim_head, only_immediate).")
def test_block_passes_only_immediate(student):
    """GatedCrossAttentionBlock(4, 2, 2, only_immediate=False).attn.only_immediate is False; True by default."""
    expect_equal([student.GatedCrossAttentionBlock(4, 2, 2, only_immediate=False).attn.only_immediate,
                  student.GatedCrossAttentionBlock(4, 2, 2).attn.only_immediate], [False, True],
                 "attn.only_immediate with only_immediate=False, then by default")


@exercise(BLOCK, weight=3, hint="x + tanh(attn_gate) * attn(x, media, media_locations), then + tanh(ff_gate) * ff(x) "
                                "with ff = LayerNorm, Linear, exact GELU, Linear; arguments unchanged.", broad=True)
def test_block_matches_reference(student, reference):
    """Four configurations (dim 2 to 6, 1 to 3 heads, ff_mult 1 to 4, both rules), random gates, float32 and float64,
    random markers and None: the reference's outputs."""
    rng = random.Random(56)
    configs = [((2, 1, 1), {"ff_mult": 1}), ((4, 2, 3), {}), ((6, 3, 2), {"ff_mult": 2, "only_immediate": False}),
               ((5, 1, 5), {"ff_mult": 1.6})]
    for number, (args, kwargs) in enumerate(configs):
        for dtype in (torch.float64, torch.float32):
            mine, ref = twins(student, reference, BLOCK, args, kwargs, seed=60 + number, dtype=dtype)
            cases = attention_cases(rng, args[0], dtype)
            with torch.no_grad():
                expect_same_as_reference(mine, ref, cases, f"GatedCrossAttentionBlock{args} {kwargs}", compare=same_tensor)


def gate_gradients(block, x, media, locations):
    """Backward through a block: [attn_gate.grad, ff_gate.grad] (None where none arrived)."""
    import torch
    for p in block.parameters():
        p.grad = None
    out = block(x, media, locations)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
    return [None if block.attn_gate.grad is None else block.attn_gate.grad.clone(),
            None if block.ff_gate.grad is None else block.ff_gate.grad.clone()]


@exercise(BLOCK, hint="The gates must be trainable nn.Parameters used in forward through tanh: at 0, tanh'(0) = 1, so "
                      "they get a gradient from the first step (a gate that is a plain tensor, or detached, never opens).")
def test_block_gates_get_gradients_at_init(student, reference):
    """Gates at 0, the rest random: the gates' gradients are the reference's (non-zero)."""
    mine, ref = twins(student, reference, BLOCK, (4, 2, 2), seed=65, gates=False)
    x, media = attention_inputs(66, 1, 3, 1, 2, 4)
    locations = bools([1, 0, 0])
    got = probe(student, gate_gradients, mine, x, media, locations)
    expected = gate_gradients(ref, x, media, locations)
    for name, g, e in zip(("attn_gate", "ff_gate"), got, expected):
        expect(g is not None, f"no gradient reached {name}")
        expect_close(g, e, 1e-9, what=f"the gradient of {name} at initialisation")


@exercise(BLOCK, hint="Keep everything in autograd: every parameter, x and media must get the reference's gradients.")
def test_block_gradients(student, reference):
    """A backward pass with random gates: the gradients of x, media and every parameter."""
    mine, ref = twins(student, reference, BLOCK, (4, 2, 2), seed=67)
    x, media = attention_inputs(68, 2, 3, 2, 2, 4)
    expect_same_module_gradients(student, mine, ref, (x, media, bools([1, 0, 1], [0, 1, 0])), randn(2, 3, 4, seed=69),
                                 "GatedCrossAttentionBlock(4, 2, 2)")
