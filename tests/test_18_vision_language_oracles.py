"""Oracle tests for notebook 18 (vision-language): the reference solutions against implementations nobody on this
project wrote. `flamingo-pytorch` (0.1.2, Phil Wang) for MaskedCrossAttention and GatedCrossAttentionBlock: its
parameters have the reference's names and shapes (norm, to_q, to_kv, to_out; attn_gate, ff = LayerNorm, Linear,
GELU, Linear; ff_gate), so its state_dict loads into the reference's; every parameter is set to seeded random
values first (LayerNorms too), and the gates away from 0, since at 0 both blocks are the identity. `nn.Conv2d` for
PatchEmbedding; `einops.rearrange` and `F.unfold` for patchify.

One difference is by design: with `only_attend_immediate_media=False`, flamingo-pytorch gives a token that comes
before every image a uniform attention over all media (it zeroes such rows only in the immediate mode); the
reference gives it 0 in both modes, as the notebook states. test_flamingo_all_media_mode_attends_before_any_image
shows the difference; the other comparisons in that mode use sequences that start with a marker.
"""
import pytest
import torch
import torch.nn.functional as F
from einops import rearrange
from flamingo_pytorch import GatedCrossAttentionBlock
from flamingo_pytorch.flamingo_pytorch import MaskedCrossAttention

from autograder.notebook import load_reference


@pytest.fixture(scope="module")
def ref():
    return load_reference("18-vision-language")


def randomise(module, seed):
    """Seeded random parameters: gates 0.5·normal, LayerNorm weights 1 + 0.3·normal and biases 0.3·normal,
    matrices normal / sqrt(fan_in)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=generator, dtype=p.dtype)
            if name.endswith("gate"):
                p.copy_(0.5 * noise)
            elif p.dim() > 1:
                p.copy_(noise / p.shape[-1] ** 0.5)
            elif name.endswith("weight"):
                p.copy_(1 + 0.3 * noise)
            else:
                p.copy_(0.3 * noise)
    return module


def inputs(seed, batch, length, num_media, per_image, dim):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, length, dim, generator=generator, dtype=torch.float64),
            torch.randn(batch, num_media, per_image, dim, generator=generator, dtype=torch.float64))


LOCATIONS = torch.tensor([[1, 0, 0, 1, 0, 1, 0], [0, 0, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 1]], dtype=torch.bool)
STARTING_WITH_A_MARKER = torch.tensor([[1, 0, 0, 1, 0, 1, 0], [1, 0, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 1]],
                                      dtype=torch.bool)


@pytest.mark.parametrize("shape, p", [((2, 3, 8, 12), 4), ((1, 1, 6, 6), 1), ((3, 2, 6, 4), 2), ((1, 3, 5, 5), 5)])
def test_patchify_matches_einops_and_unfold(ref, shape, p):
    images = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ours = ref.patchify(images, p)
    assert torch.equal(ours, rearrange(images, "b c (h p1) (w p2) -> b (h w) (c p1 p2)", p1=p, p2=p))
    assert torch.equal(ours, F.unfold(images, p, stride=p).transpose(1, 2))


@pytest.mark.parametrize("dtype, atol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_patch_embedding_equals_conv2d(ref, dtype, atol):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 8, 4, stride=4).to(dtype)
    embedding = ref.PatchEmbedding(16, 4, 3, 8).to(dtype)
    with torch.no_grad():
        embedding.proj.weight.copy_(conv.weight.reshape(8, -1))
        embedding.proj.bias.copy_(conv.bias)
        images = torch.randn(2, 3, 16, 16, dtype=dtype)
        expected = conv(images).flatten(2).transpose(1, 2) + embedding.pos_embedding
        assert (embedding(images) - expected).abs().max() < atol


@pytest.mark.parametrize("immediate", [True, False])
@pytest.mark.parametrize("dim, heads, dim_head", [(8, 2, 3), (6, 1, 5), (12, 4, 4)])
def test_masked_cross_attention_matches_flamingo(ref, immediate, dim, heads, dim_head):
    theirs = randomise(MaskedCrossAttention(dim=dim, heads=heads, dim_head=dim_head,
                                            only_attend_immediate_media=immediate).double(), seed=dim)
    ours = ref.MaskedCrossAttention(dim, heads, dim_head, only_immediate=immediate).double()
    ours.load_state_dict(theirs.state_dict())
    x, media = inputs(dim + 1, 3, 7, 3, 4, dim)
    locations = LOCATIONS if immediate else STARTING_WITH_A_MARKER
    with torch.no_grad():
        assert (ours(x, media, locations) - theirs(x, media, locations)).abs().max() < 1e-12
        assert (ours(x, media) - theirs(x, media)).abs().max() < 1e-12
    if immediate:  # tokens before their first image: exactly 0 in both
        assert ours(x, media, locations)[1, :2].abs().max() == 0


def test_flamingo_all_media_mode_attends_before_any_image(ref):
    """The one difference: before any image, flamingo-pytorch's all-media mode attends uniformly; the reference gives 0."""
    theirs = randomise(MaskedCrossAttention(dim=8, heads=2, dim_head=3, only_attend_immediate_media=False).double(), 1)
    ours = ref.MaskedCrossAttention(8, 2, 3, only_immediate=False).double()
    ours.load_state_dict(theirs.state_dict())
    x, media = inputs(2, 3, 7, 3, 4, 8)
    with torch.no_grad():
        mine, other = ours(x, media, LOCATIONS), theirs(x, media, LOCATIONS)
    assert mine[1, :2].abs().max() == 0 and other[1, :2].abs().max() > 0.01
    assert (mine[:, 2:] - other[:, 2:]).abs().max() < 1e-12  # every token from position 2 on has seen a marker


@pytest.mark.parametrize("immediate", [True, False])
@pytest.mark.parametrize("dim, heads, dim_head, ff_mult", [(8, 2, 3, 2), (6, 3, 2, 4)])
def test_gated_block_matches_flamingo(ref, immediate, dim, heads, dim_head, ff_mult):
    theirs = GatedCrossAttentionBlock(dim=dim, heads=heads, dim_head=dim_head, ff_mult=ff_mult,
                                      only_attend_immediate_media=immediate).double()
    ours = ref.GatedCrossAttentionBlock(dim, heads, dim_head, ff_mult, only_immediate=immediate).double()
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    x, media = inputs(dim, 3, 7, 3, 2, dim)
    locations = LOCATIONS if immediate else STARTING_WITH_A_MARKER
    randomise(theirs.attn, seed=5)
    randomise(theirs.ff, seed=6)
    ours.load_state_dict(theirs.state_dict())
    with torch.no_grad():  # gates at 0: both the identity
        assert torch.equal(ours(x, media, locations), x) and torch.equal(theirs(x, media, locations), x)
    randomise(theirs, seed=7)
    ours.load_state_dict(theirs.state_dict())
    xs = [x.clone().requires_grad_(True) for _ in range(2)]
    out_ours, out_theirs = ours(xs[0], media, locations), theirs(xs[1], media, locations)
    assert (out_ours - out_theirs).abs().max() < 1e-12
    weight = torch.randn(out_ours.shape, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    (out_ours * weight).sum().backward()
    (out_theirs * weight).sum().backward()
    assert (xs[0].grad - xs[1].grad).abs().max() < 1e-12
    theirs_grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert (p.grad - theirs_grads[name].grad).abs().max() < 1e-12, name
