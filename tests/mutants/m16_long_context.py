"""Plausible wrong solutions for 16-long-context."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "16-long-context"

ROPE = '''
def rope_inv_freq(head_dim, base=10000.0):
    if head_dim < 2 or head_dim % 2:
        raise ValueError("head_dim must be even and at least 2")
    return 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
'''

PI = '''
def position_interpolation(inv_freq, factor):
    if factor < 1:
        raise ValueError("the scale factor must be at least 1")
    return inv_freq / factor
'''

NTK = '''
def ntk_inv_freq(head_dim, base, factor):
    if factor < 1:
        raise ValueError("the scale factor must be at least 1")
    if head_dim < 4 or head_dim % 2:
        raise ValueError("head_dim must be even and at least 4")
    return rope_inv_freq(head_dim, base * factor ** (head_dim / (head_dim - 2)))
'''

YARN = '''
def yarn_inv_freq(head_dim, base, factor, original_max_position, beta_fast=32, beta_slow=1):
    if factor < 1:
        raise ValueError("the scale factor must be at least 1")

    def corr(turns):
        return head_dim * math.log(original_max_position / (2 * math.pi * turns)) / (2 * math.log(base))

    low = max(math.floor(corr(beta_fast)), 0)
    high = min(math.ceil(corr(beta_slow)), head_dim - 1)
    if low == high:
        high += 0.001
    theta = rope_inv_freq(head_dim, base)
    ramp = ((torch.arange(head_dim // 2, dtype=torch.float32) - low) / (high - low)).clamp(0, 1)
    inv_freq = theta / factor * ramp + theta * (1 - ramp)
    return inv_freq, 0.1 * math.log(factor) + 1.0
'''

ROTARY = '''
class ScaledRotaryEmbedding(nn.Module):
    def __init__(self, inv_freq, attention_factor=1.0):
        super().__init__()
        self.register_buffer("inv_freq", inv_freq.detach().clone().float(), persistent=False)
        self.attention_factor = float(attention_factor)

    def forward(self, seq_len):
        positions = torch.arange(seq_len, device=self.inv_freq.device, dtype=torch.float32)
        angles = torch.outer(positions, self.inv_freq.float())
        angles = torch.cat((angles, angles), dim=-1)
        return angles.cos() * self.attention_factor, angles.sin() * self.attention_factor
'''

LOSS = '''
def loss_by_position(model, ids):
    with torch.no_grad():
        logits = model(ids)[0].float()
        losses = F.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")
    return losses.mean(dim=0)
'''

MUTANTS = [
    # rope_inv_freq
    Mutant("rope_inv_freq", "arange(head_dim) / head_dim: every dimension instead of every pair",
           variant(ROPE, ("torch.arange(0, head_dim, 2, dtype=torch.float32)", "torch.arange(0, head_dim // 2, dtype=torch.float32)")),
           "even numbers"),
    Mutant("rope_inv_freq", "the exponent without the minus sign: base ** (2i/d)",
           variant(ROPE, ("1.0 / base ** (", "base ** (")), "base ** (-2i / head_dim)"),
    Mutant("rope_inv_freq", "divided by head_dim - 2 (the last pair reaches 1/base)",
           variant(ROPE, ("/ head_dim)", "/ (head_dim - 2))")), "even numbers"),
    Mutant("rope_inv_freq", "a fixed base of 10000",
           variant(ROPE, ("1.0 / base **", "1.0 / 10000.0 **")), "base argument"),
    Mutant("rope_inv_freq", "float64 frequencies",
           variant(ROPE, ("dtype=torch.float32", "dtype=torch.float64")), "float32"),
    Mutant("rope_inv_freq", "no check of head_dim",
           variant(ROPE, ("    if head_dim < 2 or head_dim % 2:\n        raise ValueError(\"head_dim must be even and at least 2\")\n", "")),
           "ValueError"),
    Mutant("rope_inv_freq", "a cache keyed on head_dim alone",
           '''
_CACHE = {}


def rope_inv_freq(head_dim, base=10000.0):
    if head_dim < 2 or head_dim % 2:
        raise ValueError("head_dim must be even and at least 2")
    if head_dim not in _CACHE:
        _CACHE[head_dim] = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    return _CACHE[head_dim].clone()
''', "no cache"),
    # position_interpolation
    Mutant("position_interpolation", "multiplied by the factor",
           variant(PI, ("inv_freq / factor", "inv_freq * factor")), "Divide every frequency"),
    Mutant("position_interpolation", "divided by the factor squared",
           variant(PI, ("inv_freq / factor", "inv_freq / factor ** 2")), "Divide every frequency"),
    Mutant("position_interpolation", "divided in place",
           variant(PI, ("return inv_freq / factor", "inv_freq /= factor\n    return inv_freq.clone()")), "in place"),
    Mutant("position_interpolation", "inv_freq itself returned for factor 1",
           variant(PI, ("    return inv_freq / factor", "    if factor == 1:\n        return inv_freq\n    return inv_freq / factor")),
           "new tensor"),
    Mutant("position_interpolation", "no check of the factor",
           variant(PI, ("    if factor < 1:\n        raise ValueError(\"the scale factor must be at least 1\")\n", "")), "ValueError"),
    Mutant("position_interpolation", "always float32",
           variant(PI, ("inv_freq / factor", "inv_freq.float() / factor")), "dtype"),
    Mutant("position_interpolation", "floor division",
           variant(PI, ("inv_freq / factor", "inv_freq // factor")), "Divide every frequency"),
    # ntk_inv_freq
    Mutant("ntk_inv_freq", "the base times the factor (exponent 1)",
           variant(NTK, ("base * factor ** (head_dim / (head_dim - 2))", "base * factor")), "d/(d-2)"),
    Mutant("ntk_inv_freq", "exponent d / (d - 1)",
           variant(NTK, ("(head_dim / (head_dim - 2))", "(head_dim / (head_dim - 1))")), "d/(d-2)"),
    Mutant("ntk_inv_freq", "exponent (d - 2) / d",
           variant(NTK, ("(head_dim / (head_dim - 2))", "((head_dim - 2) / head_dim)")), "d/(d-2)"),
    Mutant("ntk_inv_freq", "the base divided by the scale",
           variant(NTK, ("base * factor **", "base / factor **")), "d/(d-2)"),
    Mutant("ntk_inv_freq", "PI's frequencies instead",
           variant(NTK, ("return rope_inv_freq(head_dim, base * factor ** (head_dim / (head_dim - 2)))",
                         "return rope_inv_freq(head_dim, base) / factor")), "d/(d-2)"),
    Mutant("ntk_inv_freq", "no check of head_dim (ZeroDivisionError at 2)",
           variant(NTK, ("    if head_dim < 4 or head_dim % 2:\n        raise ValueError(\"head_dim must be even and at least 4\")\n", "")),
           "ValueError"),
    # yarn_inv_freq
    Mutant("yarn_inv_freq", "the ramp over the dimension 2i instead of the pair index",
           variant(YARN, ("torch.arange(head_dim // 2, dtype=torch.float32)", "torch.arange(0, head_dim, 2, dtype=torch.float32)")),
           "PAIR index"),
    Mutant("yarn_inv_freq", "interpolation and extrapolation swapped",
           variant(YARN, ("theta / factor * ramp + theta * (1 - ramp)", "theta * ramp + theta / factor * (1 - ramp)")),
           "keep theta"),
    Mutant("yarn_inv_freq", "no outward rounding (truncate=False)",
           variant(YARN, ("low = max(math.floor(corr(beta_fast)), 0)", "low = max(corr(beta_fast), 0)"),
                   ("high = min(math.ceil(corr(beta_slow)), head_dim - 1)", "high = min(corr(beta_slow), head_dim - 1)")),
           "outwards"),
    Mutant("yarn_inv_freq", "the attention factor 0.1 ln s alone",
           variant(YARN, ("0.1 * math.log(factor) + 1.0", "0.1 * math.log(factor)")), "0.1 * ln(factor) + 1"),
    Mutant("yarn_inv_freq", "turns counted in the new context L * s",
           variant(YARN, ("math.log(original_max_position /", "math.log(original_max_position * factor /")), "original_max_position"),
    Mutant("yarn_inv_freq", "low not clamped at 0",
           variant(YARN, ("low = max(math.floor(corr(beta_fast)), 0)", "low = math.floor(corr(beta_fast))")), "pair 0"),
    Mutant("yarn_inv_freq", "betas swapped",
           variant(YARN, ("corr(beta_fast)), 0)", "corr(beta_slow)), 0)"), ("corr(beta_slow)), head_dim - 1)", "corr(beta_fast)), head_dim - 1)")),
           "beta_fast"),
    Mutant("yarn_inv_freq", "no 0.001 when low == high (division by zero)",
           variant(YARN, ("    if low == high:\n        high += 0.001\n", "")), "0.001"),
    # ScaledRotaryEmbedding
    Mutant("ScaledRotaryEmbedding", "interleaved angles (repeat_interleave) instead of the half-split layout",
           variant(ROTARY, ("angles = torch.cat((angles, angles), dim=-1)", "angles = angles.repeat_interleave(2, dim=-1)")),
           "repeat_interleave"),
    Mutant("ScaledRotaryEmbedding", "the attention factor on cos only",
           variant(ROTARY, ("angles.sin() * self.attention_factor", "angles.sin()")), "BOTH cos and sin"),
    Mutant("ScaledRotaryEmbedding", "the attention factor squared",
           variant(ROTARY, ("return angles.cos() * self.attention_factor, angles.sin() * self.attention_factor",
                            "return angles.cos() * self.attention_factor ** 2, angles.sin() * self.attention_factor ** 2")),
           "not its square"),
    Mutant("ScaledRotaryEmbedding", "a persistent buffer (in state_dict: the checkpoint no longer loads)",
           variant(ROTARY, ("inv_freq.detach().clone().float(), persistent=False)", "inv_freq.detach().clone().float())")),
           "persistent=False"),
    Mutant("ScaledRotaryEmbedding", "the caller's tensor kept without a copy",
           variant(ROTARY, ("inv_freq.detach().clone().float()", "inv_freq.float()")), "copy"),
    Mutant("ScaledRotaryEmbedding", "positions from 1",
           variant(ROTARY, ("torch.arange(seq_len,", "torch.arange(1, seq_len + 1,")), "outer(arange(seq_len), inv_freq)"),
    Mutant("ScaledRotaryEmbedding", "the buffer's dtype after .double(): float64 cos and sin",
           variant(ROTARY, ("angles = torch.outer(positions, self.inv_freq.float())",
                            "angles = torch.outer(positions.to(self.inv_freq.dtype), self.inv_freq)")), "float32"),
    Mutant("ScaledRotaryEmbedding", "inv_freq as a Parameter",
           variant(ROTARY, ('self.register_buffer("inv_freq", inv_freq.detach().clone().float(), persistent=False)',
                            "self.inv_freq = nn.Parameter(inv_freq.detach().clone().float(), requires_grad=False)")),
           "register_buffer"),
    # loss_by_position
    Mutant("loss_by_position", "each position scored on its own token (no shift)",
           variant(LOSS, ("logits[:, :-1].transpose(1, 2), ids[:, 1:]", "logits[:, :-1].transpose(1, 2), ids[:, :-1]")),
           "ids[:, 1:]"),
    Mutant("loss_by_position", "the logits shifted the wrong way",
           variant(LOSS, ("logits[:, :-1].transpose(1, 2), ids[:, 1:]", "logits[:, 1:].transpose(1, 2), ids[:, :-1]")),
           "ids[:, 1:]"),
    Mutant("loss_by_position", "averaged over positions instead of the batch",
           variant(LOSS, ("losses.mean(dim=0)", "losses.mean(dim=1)")), "Average over the batch"),
    Mutant("loss_by_position", "summed over the batch",
           variant(LOSS, ("losses.mean(dim=0)", "losses.sum(dim=0)")), "Average over the batch"),
    Mutant("loss_by_position", "a graph built (no no_grad)",
           '''
def loss_by_position(model, ids):
    logits = model(ids)[0].float()
    losses = F.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")
    return losses.mean(dim=0)
''', "no_grad"),
    Mutant("loss_by_position", "the model's dtype kept (float64 losses for a float64 model)",
           variant(LOSS, ("logits = model(ids)[0].float()", "logits = model(ids)[0]")), ".float()"),
    Mutant("loss_by_position", "log-probabilities instead of losses (sign)",
           variant(LOSS, ("return losses.mean(dim=0)", "return -losses.mean(dim=0)")), "ids[:, 1:]"),
]
