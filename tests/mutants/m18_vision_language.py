"""Plausible wrong solutions for 18-vision-language."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "18-vision-language"

PATCHIFY = '''
def patchify(images, patch_size):
    if images.dim() != 4:
        raise ValueError("images must have shape (B, C, H, W)")
    batch, channels, height, width = images.shape
    p = patch_size
    if height % p or width % p:
        raise ValueError("the image size is not a multiple of the patch size")
    grid = images.reshape(batch, channels, height // p, p, width // p, p)
    grid = grid.permute(0, 2, 4, 1, 3, 5)
    return grid.reshape(batch, (height // p) * (width // p), channels * p * p)
'''

EMBED = '''
class PatchEmbedding(nn.Module):
    def __init__(self, image_size, patch_size, in_channels, dim):
        super().__init__()
        if image_size % patch_size:
            raise ValueError("image_size is not a multiple of patch_size")
        self.image_size = image_size
        self.patch_size = patch_size
        num_patches = (image_size // patch_size) ** 2
        self.proj = nn.Linear(in_channels * patch_size * patch_size, dim)
        self.pos_embedding = nn.Parameter(torch.randn(num_patches, dim) * 0.02)

    def forward(self, images):
        if tuple(images.shape[-2:]) != (self.image_size, self.image_size):
            raise ValueError("wrong image size")
        return self.proj(patchify(images, self.patch_size)) + self.pos_embedding
'''

MASK = '''
def media_attention_mask(media_locations, num_media, only_immediate=True):
    seen = media_locations.long().cumsum(dim=-1)
    image_number = torch.arange(1, num_media + 1, device=media_locations.device)
    if only_immediate:
        return seen[..., None] == image_number
    return seen[..., None] >= image_number
'''

ATTN = '''
class MaskedCrossAttention(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64, only_immediate=True):
        super().__init__()
        self.heads, self.dim_head, self.only_immediate = heads, dim_head, only_immediate
        inner = heads * dim_head
        self.norm = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, 2 * inner, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(self, x, media, media_locations=None):
        batch, length, _ = x.shape
        num_media, per_image = media.shape[1], media.shape[2]
        h, d = self.heads, self.dim_head
        q = self.to_q(self.norm(x)).reshape(batch, length, h, d).transpose(1, 2)
        k, v = self.to_kv(media.reshape(batch, num_media * per_image, -1)).chunk(2, dim=-1)
        k = k.reshape(batch, num_media * per_image, h, d).transpose(1, 2)
        v = v.reshape(batch, num_media * per_image, h, d).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d)
        if media_locations is None:
            weights = scores.softmax(dim=-1)
        else:
            allowed = media_attention_mask(media_locations, num_media, self.only_immediate)
            allowed = allowed.repeat_interleave(per_image, dim=-1)[:, None]
            scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
            weights = scores.softmax(dim=-1).masked_fill(~allowed, 0.0)
        out = (weights @ v).transpose(1, 2).reshape(batch, length, h * d)
        return self.to_out(out)
'''

BLOCK = '''
class GatedCrossAttentionBlock(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64, ff_mult=4, only_immediate=True):
        super().__init__()
        self.attn = MaskedCrossAttention(dim, heads, dim_head, only_immediate)
        self.attn_gate = nn.Parameter(torch.zeros(1))
        inner = int(dim * ff_mult)
        self.ff = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, inner, bias=False), nn.GELU(),
                                nn.Linear(inner, dim, bias=False))
        self.ff_gate = nn.Parameter(torch.zeros(1))

    def forward(self, x, media, media_locations=None):
        x = x + torch.tanh(self.attn_gate) * self.attn(x, media, media_locations)
        return x + torch.tanh(self.ff_gate) * self.ff(x)
'''

MUTANTS = [
    # patchify
    Mutant("patchify", "the patch grid read column by column",
           variant(PATCHIFY, ("grid.permute(0, 2, 4, 1, 3, 5)", "grid.permute(0, 4, 2, 1, 3, 5)")), "row-major"),
    Mutant("patchify", "channels last inside a patch (pixels first)",
           variant(PATCHIFY, ("grid.permute(0, 2, 4, 1, 3, 5)", "grid.permute(0, 2, 4, 3, 5, 1)")), "channel first"),
    Mutant("patchify", "a plain reshape, no permute: pixels of different patches mixed",
           variant(PATCHIFY, ("    grid = grid.permute(0, 2, 4, 1, 3, 5)\n", "")), "row-major"),
    Mutant("patchify", "rows and columns swapped inside a patch",
           variant(PATCHIFY, ("grid.permute(0, 2, 4, 1, 3, 5)", "grid.permute(0, 2, 4, 1, 5, 3)")), "channel first"),
    Mutant("patchify", "the grid computed with H for both sides",
           variant(PATCHIFY, ("grid = images.reshape(batch, channels, height // p, p, width // p, p)",
                              "grid = images.reshape(batch, channels, height // p, p, -1, p)"),
                   ("(height // p) * (width // p)", "(height // p) ** 2")), "H and W may differ"),
    Mutant("patchify", "no size check: the border cut off",
           variant(PATCHIFY, ("    if height % p or width % p:\n        raise ValueError(\"the image size is not a multiple of the patch size\")\n",
                              "    images = images[:, :, :height - height % p, :width - width % p]\n    height, width = height - height % p, width - width % p\n")),
           "ValueError"),
    Mutant("patchify", "converted to float",
           variant(PATCHIFY, ("    grid = images.reshape(", "    images = images.float()\n    grid = images.reshape(")), "dtype"),
    Mutant("patchify", "F.unfold without the transpose: (B, C*p*p, N)",
           variant(PATCHIFY, ("    grid = images.reshape(batch, channels, height // p, p, width // p, p)\n    grid = grid.permute(0, 2, 4, 1, 3, 5)\n    return grid.reshape(batch, (height // p) * (width // p), channels * p * p)",
                              "    return torch.nn.functional.unfold(images, p, stride=p)")), "row-major"),
    # PatchEmbedding
    Mutant("PatchEmbedding", "no position embedding added",
           variant(EMBED, ("self.proj(patchify(images, self.patch_size)) + self.pos_embedding",
                           "self.proj(patchify(images, self.patch_size))")), "pos_embedding"),
    Mutant("PatchEmbedding", "position embedding initialised to zeros",
           variant(EMBED, ("torch.randn(num_patches, dim) * 0.02", "torch.zeros(num_patches, dim)")), "randn"),
    Mutant("PatchEmbedding", "proj without bias",
           variant(EMBED, ("patch_size * patch_size, dim)", "patch_size * patch_size, dim, bias=False)")), "with bias"),
    Mutant("PatchEmbedding", "one position vector for all patches",
           variant(EMBED, ("torch.randn(num_patches, dim) * 0.02", "torch.randn(1, dim) * 0.02")), "pos_embedding"),
    Mutant("PatchEmbedding", "patches with the channels last (not a Conv2d's order)",
           variant(EMBED, ("return self.proj(patchify(images, self.patch_size)) + self.pos_embedding",
                           "p = self.patch_size\n        b, c, hh, ww = images.shape\n"
                           "        patches = images.reshape(b, c, hh // p, p, ww // p, p).permute(0, 2, 4, 3, 5, 1)\n"
                           "        return self.proj(patches.reshape(b, -1, c * p * p)) + self.pos_embedding")), "Conv2d"),
    Mutant("PatchEmbedding", "no ValueError for other image sizes",
           variant(EMBED, ("        if tuple(images.shape[-2:]) != (self.image_size, self.image_size):\n            raise ValueError(\"wrong image size\")\n", "")),
           "ValueError"),
    Mutant("PatchEmbedding", "the position embedding not a Parameter (never trained)",
           variant(EMBED, ("self.pos_embedding = nn.Parameter(torch.randn(num_patches, dim) * 0.02)",
                           "self.register_buffer('pos_embedding', torch.randn(num_patches, dim) * 0.02)")), "pos_embedding"),
    # media_attention_mask
    Mutant("media_attention_mask", "an exclusive count: the marker does not see its own image",
           variant(MASK, ("seen = media_locations.long().cumsum(dim=-1)",
                          "seen = media_locations.long().cumsum(dim=-1) - media_locations.long()")), "INCLUDING"),
    Mutant("media_attention_mask", "every earlier image even with only_immediate",
           variant(MASK, ("return seen[..., None] == image_number", "return seen[..., None] >= image_number")), "=="),
    Mutant("media_attention_mask", "images counted from 0: tokens before any marker see image 1",
           variant(MASK, ("torch.arange(1, num_media + 1,", "torch.arange(0, num_media,")), "no image"),
    Mutant("media_attention_mask", "the rule ignored: always the latest image",
           variant(MASK, ("    return seen[..., None] >= image_number", "    return seen[..., None] == image_number")), ">="),
    Mutant("media_attention_mask", "0/1 integers instead of bools",
           variant(MASK, ("        return seen[..., None] == image_number", "        return (seen[..., None] == image_number).long()")),
           "bool"),
    Mutant("media_attention_mask", "the cumsum over the batch dimension",
           variant(MASK, ("cumsum(dim=-1)", "cumsum(dim=0)")), "last dimension"),
    Mutant("media_attention_mask", "the last image clipped: tokens after too many markers see image M",
           variant(MASK, ("seen = media_locations.long().cumsum(dim=-1)",
                          "seen = media_locations.long().cumsum(dim=-1).clamp(max=num_media)")), "more markers"),
    # MaskedCrossAttention
    Mutant("MaskedCrossAttention", "scaled by 1 / sqrt(dim) instead of 1 / sqrt(dim_head)",
           variant(ATTN, ("/ math.sqrt(d)", "/ math.sqrt(x.shape[-1])")), "sqrt(dim_head)"),
    Mutant("MaskedCrossAttention", "no scale at all",
           variant(ATTN, ("scores = q @ k.transpose(-2, -1) / math.sqrt(d)", "scores = q @ k.transpose(-2, -1)")),
           "sqrt(dim_head)"),
    Mutant("MaskedCrossAttention", "keys and values swapped",
           variant(ATTN, ("k, v = self.to_kv(", "v, k = self.to_kv(")), "FIRST"),
    Mutant("MaskedCrossAttention", "the media normalised too",
           variant(ATTN, ("self.to_kv(media.reshape(", "self.to_kv(self.norm(media).reshape(")), "text only"),
    Mutant("MaskedCrossAttention", "no LayerNorm on the text",
           variant(ATTN, ("q = self.to_q(self.norm(x))", "q = self.to_q(x)")), "q = to_q(norm(x))"),
    Mutant("MaskedCrossAttention", "-inf fill: NaN for tokens without an image",
           variant(ATTN, ("scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)\n            weights = scores.softmax(dim=-1).masked_fill(~allowed, 0.0)",
                          "scores = scores.masked_fill(~allowed, float('-inf'))\n            weights = scores.softmax(dim=-1)")), "not NaN"),
    Mutant("MaskedCrossAttention", "large negative fill without zeroing: uniform attention for tokens without an image",
           variant(ATTN, ("weights = scores.softmax(dim=-1).masked_fill(~allowed, 0.0)", "weights = scores.softmax(dim=-1)")),
           "exactly 0"),
    Mutant("MaskedCrossAttention", "the mask ignored",
           variant(ATTN, ("        if media_locations is None:\n", "        if True:\n")), "mask"),
    Mutant("MaskedCrossAttention", "the mask repeated image-major (repeat instead of repeat_interleave)",
           variant(ATTN, ("allowed.repeat_interleave(per_image, dim=-1)", "allowed.repeat(1, 1, per_image)")), "repeat_interleave"),
    Mutant("MaskedCrossAttention", "heads split as (dim_head, heads)",
           variant(ATTN, ("q = self.to_q(self.norm(x)).reshape(batch, length, h, d).transpose(1, 2)",
                          "q = self.to_q(self.norm(x)).reshape(batch, length, d, h).transpose(1, 3).transpose(2, 3)")),
           "head by head"),
    Mutant("MaskedCrossAttention", "the rule fixed at construction (only_immediate read in __init__)",
           variant(ATTN, ("self.heads, self.dim_head, self.only_immediate = heads, dim_head, only_immediate",
                          "self.heads, self.dim_head, self.only_immediate = heads, dim_head, only_immediate\n        self._rule = only_immediate"),
                   ("media_attention_mask(media_locations, num_media, self.only_immediate)",
                    "media_attention_mask(media_locations, num_media, self._rule)")), "self.only_immediate"),
    Mutant("MaskedCrossAttention", "to_out with a bias",
           variant(ATTN, ("self.to_out = nn.Linear(inner, dim, bias=False)", "self.to_out = nn.Linear(inner, dim)")), "bias=False"),
    # GatedCrossAttentionBlock
    Mutant("GatedCrossAttentionBlock", "the gates used without tanh",
           variant(BLOCK, ("x = x + torch.tanh(self.attn_gate) * self.attn", "x = x + self.attn_gate * self.attn"),
                   ("return x + torch.tanh(self.ff_gate) * self.ff(x)", "return x + self.ff_gate * self.ff(x)")), "tanh"),
    Mutant("GatedCrossAttentionBlock", "gates initialised to 1",
           variant(BLOCK, ("self.attn_gate = nn.Parameter(torch.zeros(1))", "self.attn_gate = nn.Parameter(torch.ones(1))"),
                   ("self.ff_gate = nn.Parameter(torch.zeros(1))", "self.ff_gate = nn.Parameter(torch.ones(1))")), "start at 0"),
    Mutant("GatedCrossAttentionBlock", "a sigmoid gate (0.5 at init)",
           variant(BLOCK, ("x = x + torch.tanh(self.attn_gate) * self.attn", "x = x + torch.sigmoid(self.attn_gate) * self.attn"),
                   ("return x + torch.tanh(self.ff_gate) * self.ff(x)", "return x + torch.sigmoid(self.ff_gate) * self.ff(x)")),
           "return x exactly"),
    Mutant("GatedCrossAttentionBlock", "attention and feed-forward in parallel on the block's input",
           variant(BLOCK, ("        x = x + torch.tanh(self.attn_gate) * self.attn(x, media, media_locations)\n        return x + torch.tanh(self.ff_gate) * self.ff(x)",
                           "        return x + torch.tanh(self.attn_gate) * self.attn(x, media, media_locations) + torch.tanh(self.ff_gate) * self.ff(x)")),
           "sequential"),
    Mutant("GatedCrossAttentionBlock", "no residual: the gated branch replaces x",
           variant(BLOCK, ("return x + torch.tanh(self.ff_gate) * self.ff(x)", "return torch.tanh(self.ff_gate) * self.ff(x)")),
           "residual"),
    Mutant("GatedCrossAttentionBlock", "GELU's tanh approximation",
           variant(BLOCK, ("nn.GELU()", "nn.GELU(approximate='tanh')")), "exact GELU"),
    Mutant("GatedCrossAttentionBlock", "the feed-forward without its LayerNorm",
           variant(BLOCK, ("nn.Sequential(nn.LayerNorm(dim), nn.Linear", "nn.Sequential(nn.Identity(), nn.Linear")), "LayerNorm"),
    Mutant("GatedCrossAttentionBlock", "only_immediate not passed on",
           variant(BLOCK, ("MaskedCrossAttention(dim, heads, dim_head, only_immediate)", "MaskedCrossAttention(dim, heads, dim_head)")),
           "only_immediate on"),
    Mutant("GatedCrossAttentionBlock", "the gates plain tensors (never trained)",
           variant(BLOCK, ("self.attn_gate = nn.Parameter(torch.zeros(1))", "self.register_buffer('attn_gate', torch.zeros(1))"),
                   ("self.ff_gate = nn.Parameter(torch.zeros(1))", "self.register_buffer('ff_gate', torch.zeros(1))")), "attn_gate"),
]
