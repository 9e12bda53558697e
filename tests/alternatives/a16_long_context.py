"""16-long-context: edge-case bugs the text's domain exposes (a head_dim of 0 accepted, a cache that returns one
tensor twice, a factor of exactly 1 rejected, a factor rounded to an int, an in-place division, an exponent over d
instead of d - 2, head_dim 2 dividing by zero, bounds rounded to the nearest integer, the 0.001 tested before the
clamp, high clamped at the last pair, a tensor or a square root for the attention factor, a buffer that shares the
caller's storage, an int attention factor, the batch and positions mixed up by a reshape, T = 1 crashing), and
correct solutions written in unusual ways. Each solution replaces the whole solution cell of its exercise."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m16_long_context import LOSS as LOSS_PLAIN
from tests.mutants.m16_long_context import NTK as NTK_PLAIN
from tests.mutants.m16_long_context import PI as PI_PLAIN
from tests.mutants.m16_long_context import ROPE as ROPE_PLAIN
from tests.mutants.m16_long_context import ROTARY as ROTARY_PLAIN
from tests.mutants.m16_long_context import YARN as YARN_PLAIN

ASSIGNMENT = "16-long-context"

ROPE = "rope_inv_freq"
PI = "position_interpolation"
NTK = "ntk_inv_freq"
YARN = "yarn_inv_freq"
ROTARY = "ScaledRotaryEmbedding"
LOSS = "loss_by_position"

WRONG = [
    # rope_inv_freq ---------------------------------------------------------------------------------
    Wrong(ROPE, "only odd head_dims rejected: 0 and -2 give empty tensors",
          variant(ROPE_PLAIN, ("if head_dim < 2 or head_dim % 2:", "if head_dim % 2:")), "below 2"),
    Wrong(ROPE, "functools.lru_cache: two calls return one tensor",
          '''
import functools


@functools.lru_cache(maxsize=None)
def rope_inv_freq(head_dim, base=10000.0):
    if head_dim < 2 or head_dim % 2:
        raise ValueError("head_dim must be even and at least 2")
    return 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
''', "same mutable object"),
    Wrong(ROPE, "a list of floats",
          '''
def rope_inv_freq(head_dim, base=10000.0):
    if head_dim < 2 or head_dim % 2:
        raise ValueError("head_dim must be even and at least 2")
    return [base ** (-2 * i / head_dim) for i in range(head_dim // 2)]
''', "tensor"),

    # position_interpolation --------------------------------------------------------------------------
    Wrong(PI, "factor 1 rejected (factor <= 1 raises)",
          variant(PI_PLAIN, ("if factor < 1:", "if factor <= 1:")), "new tensor"),
    Wrong(PI, "the factor rounded to an int",
          variant(PI_PLAIN, ("return inv_freq / factor", "return inv_freq / int(factor)")), "Divide every frequency"),
    Wrong(PI, "torch.div with out=inv_freq: in place",
          variant(PI_PLAIN, ("return inv_freq / factor", "return torch.div(inv_freq, factor, out=inv_freq).clone()")),
          "in place"),

    # ntk_inv_freq ------------------------------------------------------------------------------------
    Wrong(NTK, "each pair divided by factor ** (2i / d): the exponent over d, not d - 2",
          '''
def ntk_inv_freq(head_dim, base, factor):
    if factor < 1:
        raise ValueError("the scale factor must be at least 1")
    if head_dim < 4 or head_dim % 2:
        raise ValueError("head_dim must be even and at least 4")
    return rope_inv_freq(head_dim, base) / factor ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
''', "d/(d-2)"),
    Wrong(NTK, "head_dim 2 not rejected: ZeroDivisionError",
          variant(NTK_PLAIN, ("if head_dim < 4 or head_dim % 2:", "if head_dim % 2:")), "at least 4"),
    Wrong(NTK, "only factors <= 0 rejected",
          variant(NTK_PLAIN, ("if factor < 1:", "if factor <= 0:")), "ValueError"),

    # yarn_inv_freq -----------------------------------------------------------------------------------
    Wrong(YARN, "bounds rounded to the nearest integer",
          variant(YARN_PLAIN, ("math.floor(corr(beta_fast))", "round(corr(beta_fast))"),
                  ("math.ceil(corr(beta_slow))", "round(corr(beta_slow))")), "outwards"),
    Wrong(YARN, "the square root of the attention factor (as if it went on the logits)",
          variant(YARN_PLAIN, ("0.1 * math.log(factor) + 1.0", "math.sqrt(0.1 * math.log(factor) + 1.0)")),
          "0.1 * ln(factor) + 1"),
    Wrong(YARN, "the attention factor as a 0-d tensor",
          variant(YARN_PLAIN, ("return inv_freq, 0.1 * math.log(factor) + 1.0",
                               "return inv_freq, torch.tensor(0.1 * math.log(factor) + 1.0, dtype=torch.float64)")),
          "Python float"),
    Wrong(YARN, "low == high tested before clamping low at 0: 0 / 0 when both end at 0",
          variant(YARN_PLAIN, ("    low = max(math.floor(corr(beta_fast)), 0)\n    high = min(math.ceil(corr(beta_slow)), head_dim - 1)\n"
                               "    if low == high:\n        high += 0.001\n",
                               "    low = math.floor(corr(beta_fast))\n    high = min(math.ceil(corr(beta_slow)), head_dim - 1)\n"
                               "    if low == high:\n        high += 0.001\n    low = max(low, 0)\n")), "0.001"),
    Wrong(YARN, "high clamped at the last pair (head_dim // 2 - 1) instead of head_dim - 1",
          variant(YARN_PLAIN, ("min(math.ceil(corr(beta_slow)), head_dim - 1)", "min(math.ceil(corr(beta_slow)), head_dim // 2 - 1)")),
          "head_dim - 1"),

    # ScaledRotaryEmbedding ---------------------------------------------------------------------------
    Wrong(ROTARY, "detach() shares the caller's storage: a later change reaches the module",
          variant(ROTARY_PLAIN, ("inv_freq.detach().clone().float()", "inv_freq.detach().float()")), "copy"),
    Wrong(ROTARY, "the attention factor kept as given (an int stays an int)",
          variant(ROTARY_PLAIN, ("self.attention_factor = float(attention_factor)", "self.attention_factor = attention_factor")),
          "float(attention_factor)"),
    Wrong(ROTARY, "a plain attribute instead of a buffer",
          variant(ROTARY_PLAIN, ('self.register_buffer("inv_freq", inv_freq.detach().clone().float(), persistent=False)',
                                 "self.inv_freq = inv_freq.detach().clone().float()")), "register_buffer"),
    Wrong(ROTARY, "the factor on the angles instead of on cos and sin",
          variant(ROTARY_PLAIN, ("return angles.cos() * self.attention_factor, angles.sin() * self.attention_factor",
                                 "angles = angles * self.attention_factor\n        return angles.cos(), angles.sin()")),
          "BOTH cos and sin"),

    # loss_by_position --------------------------------------------------------------------------------
    Wrong(LOSS, "flattened, then viewed as (T - 1, B): batch and positions mixed up",
          '''
def loss_by_position(model, ids):
    batch, length = ids.shape
    with torch.no_grad():
        logits = model(ids)[0].float()
        losses = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none")
    return losses.view(length - 1, batch).mean(dim=1)
''', "Average over the batch"),
    Wrong(LOSS, "divided by T instead of B",
          variant(LOSS_PLAIN, ("return losses.mean(dim=0)", "return losses.sum(dim=0) / ids.shape[1]")), "Average over the batch"),
    Wrong(LOSS, "the model run on ids[:, :-1]: fails for T = 1",
          '''
def loss_by_position(model, ids):
    with torch.no_grad():
        logits = model(ids[:, :-1])[0].float()
        losses = F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
    return losses.mean(dim=0)
''', "T = 1"),
]

CORRECT = [
    # rope_inv_freq
    Correct(ROPE, "exp(-ln(base) * 2i / d) in float32",
            '''
def rope_inv_freq(head_dim, base=10000.0):
    if not (head_dim >= 2 and head_dim % 2 == 0):
        raise ValueError(f"bad head_dim {head_dim}")
    return torch.exp(-math.log(base) * torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
'''),
    Correct(ROPE, "float64, then float32",
            '''
def rope_inv_freq(head_dim, base=10000.0):
    if head_dim < 2 or head_dim % 2 != 0:
        raise ValueError("odd")
    exponents = torch.linspace(0, (head_dim - 2) / head_dim, head_dim // 2, dtype=torch.float64)
    return (float(base) ** -exponents).to(torch.float32)
'''),
    # position_interpolation
    Correct(PI, "times the reciprocal",
            variant(PI_PLAIN, ("return inv_freq / factor", "return inv_freq * (1.0 / factor)"))),
    Correct(PI, "clone, then divide in place",
            '''
def position_interpolation(inv_freq, factor):
    if not factor >= 1:
        raise ValueError("factor")
    result = inv_freq.clone()
    result.div_(factor)
    return result
'''),
    # ntk_inv_freq
    Correct(NTK, "each pair divided by factor ** (2i / (d - 2))",
            '''
def ntk_inv_freq(head_dim, base, factor):
    if factor < 1 or head_dim < 4 or head_dim % 2:
        raise ValueError("bad arguments")
    i = torch.arange(0, head_dim, 2, dtype=torch.float64)
    return (float(base) ** (-i / head_dim) / float(factor) ** (i / (head_dim - 2))).float()
'''),
    Correct(NTK, "the new base in float64, its own formula",
            '''
def ntk_inv_freq(head_dim, base, factor):
    if factor < 1:
        raise ValueError("factor")
    if head_dim % 2 or head_dim < 4:
        raise ValueError("head_dim")
    new_base = base * factor ** (head_dim / (head_dim - 2))
    return (1.0 / new_base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)).to(torch.float32)
'''),
    # yarn_inv_freq
    Correct(YARN, "transformers' form: an extrapolation factor 1 - ramp",
            '''
def yarn_inv_freq(head_dim, base, factor, original_max_position, beta_fast=32, beta_slow=1):
    if factor < 1:
        raise ValueError("factor")

    def find_correction_dim(num_rotations):
        return (head_dim * math.log(original_max_position / (num_rotations * 2 * math.pi))) / (2 * math.log(base))

    low = max(math.floor(find_correction_dim(beta_fast)), 0)
    high = min(math.ceil(find_correction_dim(beta_slow)), head_dim - 1)
    if low == high:
        high += 0.001
    pos_freqs = base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    if head_dim % 2 or head_dim < 2:
        raise ValueError("head_dim")
    extrapolation = 1 - torch.clamp((torch.arange(head_dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
    inv_freq = (1.0 / (factor * pos_freqs)) * (1 - extrapolation) + (1.0 / pos_freqs) * extrapolation
    return inv_freq, float(0.1 * math.log(factor) + 1) if factor > 1 else 1.0
'''),
    Correct(YARN, "float64 throughout, log in base `base`, torch.lerp",
            '''
def yarn_inv_freq(head_dim, base, factor, original_max_position, beta_fast=32, beta_slow=1):
    if factor < 1:
        raise ValueError("factor")
    theta = rope_inv_freq(head_dim, base).double()
    half = head_dim / 2
    low = max(math.floor(half * math.log(original_max_position / (2 * math.pi * beta_fast), base)), 0)
    high = min(math.ceil(half * math.log(original_max_position / (2 * math.pi * beta_slow), base)), head_dim - 1)
    if high == low:
        high = high + 0.001
    ramp = ((torch.arange(head_dim // 2, dtype=torch.float64) - low) / (high - low)).clamp(min=0.0, max=1.0)
    return torch.lerp(theta, theta / factor, ramp).float(), 1.0 + math.log(factor) / 10
'''),
    # ScaledRotaryEmbedding
    Correct(ROTARY, "broadcast product and repeat(1, 2); the buffer from a list",
            '''
class ScaledRotaryEmbedding(nn.Module):
    def __init__(self, inv_freq, attention_factor=1.0):
        super().__init__()
        self.register_buffer("inv_freq", torch.tensor(inv_freq.tolist(), dtype=torch.float32), persistent=False)
        self.attention_factor = attention_factor * 1.0

    def forward(self, seq_len):
        inv_freq = self.inv_freq.float()
        angles = torch.arange(seq_len, dtype=torch.float32, device=inv_freq.device)[:, None] * inv_freq[None, :]
        angles = angles.repeat(1, 2)
        return self.attention_factor * torch.cos(angles), self.attention_factor * torch.sin(angles)
'''),
    Correct(ROTARY, "einsum; cos and sin halves concatenated separately",
            '''
class ScaledRotaryEmbedding(nn.Module):
    def __init__(self, inv_freq, attention_factor=1.0):
        super().__init__()
        self.attention_factor = float(attention_factor)
        self.register_buffer("inv_freq", inv_freq.to(torch.float32, copy=True), persistent=False)

    def forward(self, seq_len):
        t = torch.arange(seq_len, dtype=torch.float32, device=self.inv_freq.device)
        freqs = torch.einsum("i,j->ij", t, self.inv_freq.to(torch.float32))
        cos, sin = freqs.cos(), freqs.sin()
        return torch.cat([cos, cos], -1) * self.attention_factor, torch.cat([sin, sin], -1) * self.attention_factor
'''),
    # loss_by_position
    Correct(LOSS, "log_softmax and gather, under inference_mode",
            '''
def loss_by_position(model, ids):
    with torch.inference_mode():
        log_probs = model(ids)[0].float().log_softmax(dim=-1)[:, :-1]
        picked = log_probs.gather(-1, ids[:, 1:, None])[..., 0]
    return -picked.mean(dim=0)
'''),
    Correct(LOSS, "a loop over positions, no_grad as a decorator",
            '''
@torch.no_grad()
def loss_by_position(model, ids):
    logits = model(ids)[0].float()
    values = [F.cross_entropy(logits[:, t], ids[:, t + 1]) for t in range(ids.shape[1] - 1)]
    return torch.stack(values) if values else torch.zeros(0)
'''),
]
