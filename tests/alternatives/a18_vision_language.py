"""18-vision-language: edge-case bugs the text's domain exposes (a batch of one squeezed away, a size check on one
side only, square grids assumed, a position embedding that is not a parameter, markers wrapped around, a mask of
the wrong layout, NaN gradients hidden by nan_to_num, float32 scores, a scalar gate, a detached gate, an in-place
residual), and correct solutions written in unusual ways. Each solution replaces the whole solution cell of its
exercise."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m18_vision_language import ATTN as ATTN_PLAIN
from tests.mutants.m18_vision_language import BLOCK as BLOCK_PLAIN
from tests.mutants.m18_vision_language import EMBED as EMBED_PLAIN
from tests.mutants.m18_vision_language import MASK as MASK_PLAIN
from tests.mutants.m18_vision_language import PATCHIFY as PATCHIFY_PLAIN

ASSIGNMENT = "18-vision-language"

PATCHIFY = "patchify"
EMBED = "PatchEmbedding"
MASK = "media_attention_mask"
ATTN = "MaskedCrossAttention"
BLOCK = "GatedCrossAttentionBlock"

# the reference's lines from the scores to the attention weights, which two correct variants replace
SCORES_TO_WEIGHTS = (
    "        scores = q @ k.transpose(-2, -1) / math.sqrt(d)\n"
    "        if media_locations is None:\n"
    "            weights = scores.softmax(dim=-1)\n"
    "        else:\n"
    "            allowed = media_attention_mask(media_locations, num_media, self.only_immediate)\n"
    "            allowed = allowed.repeat_interleave(per_image, dim=-1)[:, None]\n"
    "            scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)\n"
    "            weights = scores.softmax(dim=-1).masked_fill(~allowed, 0.0)\n")

WRONG = [
    # patchify ----------------------------------------------------------------------------------------
    Wrong(PATCHIFY, "squeeze(): a batch of one loses its batch dimension",
          variant(PATCHIFY_PLAIN, ("channels * p * p)", "channels * p * p).squeeze()")), "the shape"),
    Wrong(PATCHIFY, "the size check on the height only",
          variant(PATCHIFY_PLAIN, ("if height % p or width % p:", "if height % p:")), "ValueError"),
    Wrong(PATCHIFY, "a loop over a square grid of patches",
          variant(PATCHIFY_PLAIN, ("    grid = images.reshape(batch, channels, height // p, p, width // p, p)\n"
                                   "    grid = grid.permute(0, 2, 4, 1, 3, 5)\n"
                                   "    return grid.reshape(batch, (height // p) * (width // p), channels * p * p)",
                                   "    side = height // p\n"
                                   "    patches = [images[:, :, i * p:(i + 1) * p, j * p:(j + 1) * p].reshape(batch, -1)\n"
                                   "               for i in range(side) for j in range(side)]\n"
                                   "    return torch.stack(patches, dim=1)")),
          "H and W may differ"),

    # PatchEmbedding ----------------------------------------------------------------------------------
    Wrong(EMBED, "nn.Parameter(...) * 0.02: a plain tensor, not a registered parameter",
          variant(EMBED_PLAIN, ("nn.Parameter(torch.randn(num_patches, dim) * 0.02)", "nn.Parameter(torch.randn(num_patches, dim)) * 0.02")),
          "pos_embedding"),
    Wrong(EMBED, "position embedding of standard deviation 1",
          variant(EMBED_PLAIN, ("torch.randn(num_patches, dim) * 0.02", "torch.randn(num_patches, dim)")), "randn * 0.02"),
    Wrong(EMBED, "the image size checked on the height only",
          variant(EMBED_PLAIN, ("if tuple(images.shape[-2:]) != (self.image_size, self.image_size):",
                                "if images.shape[-2] != self.image_size:")), "ValueError"),
    Wrong(EMBED, "num_patches = image_size // patch_size (one row of patches)",
          variant(EMBED_PLAIN, ("num_patches = (image_size // patch_size) ** 2", "num_patches = image_size // patch_size")),
          "pos_embedding"),

    # media_attention_mask ----------------------------------------------------------------------------
    Wrong(MASK, "image numbers wrapped around when there are more markers than images",
          variant(MASK_PLAIN, ("        return seen[..., None] == image_number",
                               "        return (seen[..., None] > 0) & ((seen[..., None] - 1) % num_media + 1 == image_number)")),
          "more markers"),
    Wrong(MASK, "one_hot of the count: raises when there are more markers than images",
          '''
def media_attention_mask(media_locations, num_media, only_immediate=True):
    seen = media_locations.long().cumsum(dim=-1)
    immediate = torch.nn.functional.one_hot(seen, num_media + 1)[..., 1:].bool()
    if only_immediate:
        return immediate
    return immediate.int().cummax(dim=-2).values.bool()
''', "raised"),
    Wrong(MASK, "the layout (B, M, T)",
          variant(MASK_PLAIN, ("        return seen[..., None] == image_number", "        return (seen[..., None] == image_number).transpose(-1, -2)"),
                  ("    return seen[..., None] >= image_number", "    return (seen[..., None] >= image_number).transpose(-1, -2)")),
          "shape"),

    # MaskedCrossAttention ----------------------------------------------------------------------------
    Wrong(ATTN, "an additive -inf mask and nan_to_num: 0 in the forward pass, NaN gradients",
          variant(ATTN_PLAIN, ("scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)\n            weights = scores.softmax(dim=-1).masked_fill(~allowed, 0.0)",
                               "scores = scores + torch.zeros_like(scores).masked_fill(~allowed, float('-inf'))\n            weights = torch.nan_to_num(scores.softmax(dim=-1))")),
          "NaN"),
    Wrong(ATTN, "the mask applied after the softmax, without renormalising",
          variant(ATTN_PLAIN, ("scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)\n            weights = scores.softmax(dim=-1).masked_fill(~allowed, 0.0)",
                               "weights = scores.softmax(dim=-1) * allowed")), "changing image"),
    Wrong(ATTN, "the mask built per media token instead of per image",
          variant(ATTN_PLAIN, ("allowed = media_attention_mask(media_locations, num_media, self.only_immediate)\n            allowed = allowed.repeat_interleave(per_image, dim=-1)[:, None]",
                               "allowed = media_attention_mask(media_locations, num_media * per_image, self.only_immediate)[:, None]")),
          "repeat_interleave"),
    Wrong(ATTN, "scores computed in float32 whatever the dtype",
          variant(ATTN_PLAIN, ("scores = q @ k.transpose(-2, -1) / math.sqrt(d)",
                               "scores = (q.float() @ k.float().transpose(-2, -1) / math.sqrt(d)).to(q.dtype)")),
          "max abs difference"),

    # GatedCrossAttentionBlock ------------------------------------------------------------------------
    Wrong(BLOCK, "the feed-forward reads the attention's output instead of the updated x",
          variant(BLOCK_PLAIN, ("        x = x + torch.tanh(self.attn_gate) * self.attn(x, media, media_locations)\n        return x + torch.tanh(self.ff_gate) * self.ff(x)",
                                "        attended = self.attn(x, media, media_locations)\n        x = x + torch.tanh(self.attn_gate) * attended\n        return x + torch.tanh(self.ff_gate) * self.ff(attended)")),
          "already includes"),
    Wrong(BLOCK, "gates of shape () instead of (1,)",
          variant(BLOCK_PLAIN, ("self.attn_gate = nn.Parameter(torch.zeros(1))", "self.attn_gate = nn.Parameter(torch.zeros(()))"),
                  ("self.ff_gate = nn.Parameter(torch.zeros(1))", "self.ff_gate = nn.Parameter(torch.zeros(()))")), "attn_gate"),
    Wrong(BLOCK, "the gates detached: they never get a gradient",
          variant(BLOCK_PLAIN, ("torch.tanh(self.attn_gate)", "torch.tanh(self.attn_gate.detach())"),
                  ("torch.tanh(self.ff_gate)", "torch.tanh(self.ff_gate.detach())")), "no gradient reached"),
    Wrong(BLOCK, "an in-place residual: the caller's x changes",
          variant(BLOCK_PLAIN, ("        x = x + torch.tanh(self.attn_gate) * self.attn(x, media, media_locations)\n        return x + torch.tanh(self.ff_gate) * self.ff(x)",
                                "        x += torch.tanh(self.attn_gate) * self.attn(x, media, media_locations)\n        x += torch.tanh(self.ff_gate) * self.ff(x)\n        return x")),
          "in place"),
]

CORRECT = [
    Correct(PATCHIFY, "F.unfold in float64, transposed and cast back", '''
def patchify(images, patch_size):
    if images.dim() != 4:
        raise ValueError("images must have shape (B, C, H, W)")
    if images.shape[2] % patch_size or images.shape[3] % patch_size:
        raise ValueError("the image size is not a multiple of the patch size")
    columns = torch.nn.functional.unfold(images.double(), patch_size, stride=patch_size)  # (B, C*p*p, N)
    return columns.transpose(1, 2).to(images.dtype).contiguous()
'''),
    Correct(PATCHIFY, "slices in two loops, stacked", '''
def patchify(images, patch_size):
    if len(images.shape) != 4:
        raise ValueError("images must have shape (B, C, H, W)")
    batch, channels, height, width = images.shape
    p = patch_size
    if height % p != 0 or width % p != 0:
        raise ValueError("the image size is not a multiple of the patch size")
    patches = []
    for top in range(0, height, p):
        for left in range(0, width, p):
            patches.append(images[:, :, top:top + p, left:left + p].reshape(batch, channels * p * p))
    return torch.stack(patches, dim=1)
'''),
    Correct(EMBED, "a convolution with proj's weight reshaped", variant(EMBED_PLAIN, (
        "return self.proj(patchify(images, self.patch_size)) + self.pos_embedding",
        "p = self.patch_size\n        weight = self.proj.weight.reshape(self.proj.out_features, -1, p, p)\n"
        "        out = torch.nn.functional.conv2d(images, weight, self.proj.bias, stride=p)\n"
        "        return out.flatten(2).transpose(1, 2) + self.pos_embedding"))),
    Correct(EMBED, "einsum with proj's weight and bias", variant(EMBED_PLAIN, (
        "return self.proj(patchify(images, self.patch_size)) + self.pos_embedding",
        "patches = patchify(images, self.patch_size)\n"
        "        return torch.einsum('bnk,dk->bnd', patches, self.proj.weight) + self.proj.bias + self.pos_embedding[None]"))),
    Correct(MASK, "torch.cumsum on the bools and torch.eq / torch.ge, as flamingo-pytorch", '''
def media_attention_mask(media_locations, num_media, only_immediate=True):
    text_time = torch.cumsum(media_locations, dim=-1)
    media_time = torch.arange(num_media) + 1
    compare = torch.eq if only_immediate else torch.ge
    return compare(text_time.unsqueeze(-1), media_time)
'''),
    Correct(MASK, "every earlier image as the running maximum of the latest-image mask", '''
def media_attention_mask(media_locations, num_media, only_immediate=True):
    seen = media_locations.long().cumsum(dim=-1)
    latest = torch.stack([seen == j for j in range(1, num_media + 1)], dim=-1)
    if only_immediate:
        return latest
    return latest.int().cummax(dim=-2).values.bool()
'''),
    Correct(ATTN, "einsum, head by head, with torch.where", variant(ATTN_PLAIN, (
        SCORES_TO_WEIGHTS,
        "        scores = torch.einsum('bhid,bhjd->bhij', q * d ** -0.5, k)\n"
        "        if media_locations is None:\n"
        "            allowed = torch.ones(batch, 1, length, num_media * per_image, dtype=torch.bool)\n"
        "        else:\n"
        "            allowed = media_attention_mask(media_locations, num_media, self.only_immediate)\n"
        "            allowed = allowed[..., None].expand(-1, -1, -1, per_image).reshape(batch, 1, length, -1)\n"
        "        scores = torch.where(allowed, scores, torch.full_like(scores, torch.finfo(scores.dtype).min))\n"
        "        weights = scores.softmax(dim=-1) * allowed.any(dim=-1, keepdim=True)\n"))),
    Correct(ATTN, "scaled_dot_product_attention with an additive mask, rows without an image zeroed", variant(ATTN_PLAIN, (
        SCORES_TO_WEIGHTS +
        "        out = (weights @ v).transpose(1, 2).reshape(batch, length, h * d)\n",
        "        if media_locations is None:\n"
        "            out = F.scaled_dot_product_attention(q, k, v)\n"
        "        else:\n"
        "            allowed = media_attention_mask(media_locations, num_media, self.only_immediate)\n"
        "            allowed = allowed.repeat_interleave(per_image, dim=-1)[:, None]\n"
        "            bias = torch.zeros(allowed.shape, dtype=q.dtype).masked_fill(~allowed, torch.finfo(q.dtype).min)\n"
        "            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias) * allowed.any(dim=-1, keepdim=True)\n"
        "        out = out.transpose(1, 2).reshape(batch, length, h * d)\n"))),
    Correct(BLOCK, "flamingo-pytorch's form: branch * gate.tanh() + x", variant(BLOCK_PLAIN, (
        "        x = x + torch.tanh(self.attn_gate) * self.attn(x, media, media_locations)\n        return x + torch.tanh(self.ff_gate) * self.ff(x)",
        "        x = self.attn(x, media, media_locations=media_locations) * self.attn_gate.tanh() + x\n"
        "        x = self.ff(x) * self.ff_gate.tanh() + x\n        return x"))),
    Correct(BLOCK, "the feed-forward's layers built one by one, the gates from torch.tensor([0.])", '''
class GatedCrossAttentionBlock(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64, ff_mult=4, only_immediate=True):
        super().__init__()
        hidden = int(dim * ff_mult)
        self.attn = MaskedCrossAttention(dim, heads=heads, dim_head=dim_head, only_immediate=only_immediate)
        self.attn_gate = nn.Parameter(torch.tensor([0.0]))
        layers = [nn.LayerNorm(dim), nn.Linear(dim, hidden, bias=False), nn.GELU(approximate="none"),
                  nn.Linear(hidden, dim, bias=False)]
        self.ff = nn.Sequential(*layers)
        self.ff_gate = nn.Parameter(torch.tensor([0.0]))

    def forward(self, x, media, media_locations=None):
        attended = x + self.attn_gate.tanh() * self.attn(x, media, media_locations)
        return attended + self.ff_gate.tanh() * self.ff(attended)
'''),
]
