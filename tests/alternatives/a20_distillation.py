"""20-distillation: edge-case bugs the text's domain exposes (a maximum subtracted over the whole tensor, a check
for T == 0 only, an integer mask used as indices, a mean per sequence first, labels or logits changed in place,
a float32 detour, a temperature on one side only, the teacher's states changed through a detached view), and
correct solutions written in unusual ways (log_softmax(...).exp(), F.kl_div with probabilities, cross-entropy
minus entropy, F.cross_entropy's mean with nan_to_num, kd_loss reused for the two KLs, explicit mixture sums,
F.mse_loss with reduction="none", boolean indexing). Each solution replaces the whole solution cell of its
exercise."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m20_distillation import DIST as DIST_PLAIN
from tests.mutants.m20_distillation import FEATURE as FEATURE_PLAIN
from tests.mutants.m20_distillation import JSD as JSD_PLAIN
from tests.mutants.m20_distillation import KD as KD_PLAIN
from tests.mutants.m20_distillation import SOFT as SOFT_PLAIN

ASSIGNMENT = "20-distillation"

SOFT = "soft_targets"
KD = "kd_loss"
DIST = "distillation_loss"
JSD = "generalized_jsd"
FEATURE = "FeatureDistiller"

WRONG = [
    # soft_targets ------------------------------------------------------------------------------------
    Wrong(SOFT, "the maximum subtracted over the whole tensor, not per row: rows far below it underflow to 0 / 0",
          variant(SOFT_PLAIN, ("    return F.softmax(logits / temperature, dim=-1)",
                               "    z = logits / temperature\n    e = torch.exp(z - z.max())\n"
                               "    return e / e.sum(dim=-1, keepdim=True)")), "F.softmax"),
    Wrong(SOFT, "only T == 0 rejected: a negative temperature reverses the order silently",
          variant(SOFT_PLAIN, ("if not temperature > 0:", "if temperature == 0:")), "Raise ValueError"),
    Wrong(SOFT, "computed in float64 whatever the logits' dtype",
          variant(SOFT_PLAIN, ("F.softmax(logits / temperature, dim=-1)", "F.softmax(logits.double() / temperature, dim=-1)")),
          "dtype"),
    Wrong(SOFT, "divided in place, except at T = 1",
          variant(SOFT_PLAIN, ("    return F.softmax(logits / temperature, dim=-1)",
                               "    if temperature != 1:\n        logits.div_(temperature)\n    return F.softmax(logits, dim=-1)")),
          "in place"),

    # kd_loss -----------------------------------------------------------------------------------------
    Wrong(KD, "the mask used as an index: an integer mask picks positions 0 and 1",
          variant(KD_PLAIN, (
              "    keep = torch.ones_like(per_position) if mask is None else mask.to(per_position.dtype)\n"
              "    return temperature ** 2 * (per_position * keep).sum() / keep.sum().clamp(min=1)",
              "    kept = per_position.reshape(-1) if mask is None else per_position[mask]\n"
              "    return temperature ** 2 * kept.sum() / max(kept.numel(), 1)")), "convert a boolean or integer mask"),
    Wrong(KD, "temperature * 2 instead of temperature ** 2 (the same at T = 2)",
          variant(KD_PLAIN, ("return temperature ** 2 *", "return temperature * 2 *")), "temperature ** 2"),
    Wrong(KD, "a mean per sequence first, then over the sequences",
          variant(KD_PLAIN, (
              "    return temperature ** 2 * (per_position * keep).sum() / keep.sum().clamp(min=1)",
              "    if per_position.dim() < 2:\n"
              "        return temperature ** 2 * (per_position * keep).sum() / keep.sum().clamp(min=1)\n"
              "    per_sequence = (per_position * keep).sum(-1) / keep.sum(-1).clamp(min=1)\n"
              "    return temperature ** 2 * per_sequence.mean()")), "kept positions only"),
    Wrong(KD, "the teacher's logits divided in place",
          variant(KD_PLAIN, ("    teacher_logps = F.log_softmax(teacher_logits.detach() / temperature, dim=-1)",
                             "    teacher_logits = teacher_logits.detach()\n    teacher_logits /= temperature\n"
                             "    teacher_logps = F.log_softmax(teacher_logits, dim=-1)")), "in place"),

    # distillation_loss -------------------------------------------------------------------------------
    Wrong(DIST, "flatten(0, -2): fails on the 1-D logits of a single position",
          variant(DIST_PLAIN, ("student_logits.reshape(-1, vocab), labels.reshape(-1)",
                               "student_logits.flatten(0, -2), labels.flatten()")), "any leading dimensions"),
    Wrong(DIST, "the cross-entropy not scaled by 1 - alpha",
          variant(DIST_PLAIN, ("alpha * soft + (1 - alpha) * hard", "alpha * soft + hard")), "alpha weighs the SOFT"),
    Wrong(DIST, "the ignored labels replaced by 0 in the caller's tensor",
          variant(DIST_PLAIN, ("    vocab = student_logits.shape[-1]", "    labels[~keep] = 0\n    vocab = student_logits.shape[-1]"),
                  ("ignore_index=-100,\n                           reduction=\"sum\")",
                   "reduction=\"none\")[keep.reshape(-1)].sum()")), "in place"),
    Wrong(DIST, "the KD term at temperature 1, the temperature used for the cross-entropy",
          variant(DIST_PLAIN, ("kd_loss(student_logits, teacher_logits, temperature, mask=keep)",
                               "kd_loss(student_logits, teacher_logits, 1.0, mask=keep)"),
                  ("F.cross_entropy(student_logits.reshape(-1, vocab)", "F.cross_entropy((student_logits / temperature).reshape(-1, vocab)")),
          "temperature 1"),

    # generalized_jsd ---------------------------------------------------------------------------------
    Wrong(JSD, "masked positions zeroed but counted: a mean over every position",
          variant(JSD_PLAIN, ("    return per_position[keep].sum() / keep.sum().clamp(min=1)",
                              "    return (per_position * keep).sum() / max(per_position.numel(), 1)")), "not -100"),
    Wrong(JSD, "only beta > 1 rejected, log(beta) as trl computes it: NaN for a negative beta",
          variant(JSD_PLAIN, ("if not 0 <= beta <= 1:", "if beta > 1:"),
                  ("math.log1p(-beta)", "torch.log1p(torch.tensor(-beta, dtype=student_logps.dtype))"),
                  ("math.log(beta)", "torch.log(torch.tensor(beta, dtype=student_logps.dtype))")), "Raise ValueError"),
    Wrong(JSD, "the temperature applied to the student only",
          variant(JSD_PLAIN, ("F.log_softmax(teacher_logits.detach() / temperature, dim=-1)", "F.log_softmax(teacher_logits.detach(), dim=-1)")),
          "Divide both logits"),
    Wrong(JSD, "the teacher not detached",
          variant(JSD_PLAIN, ("teacher_logits.detach() / temperature", "teacher_logits / temperature")), "detach"),

    # FeatureDistiller --------------------------------------------------------------------------------
    Wrong(FEATURE, "the mask used as an index: an integer mask picks positions 0 and 1",
          variant(FEATURE_PLAIN, (
              "        keep = torch.ones_like(per_position) if mask is None else mask.to(per_position.dtype)\n"
              "        return (per_position * keep).sum() / keep.sum().clamp(min=1)",
              "        kept = per_position.reshape(-1) if mask is None else per_position[mask]\n"
              "        return kept.sum() / max(kept.numel(), 1)")), "convert a boolean or integer mask"),
    Wrong(FEATURE, "the teacher's states projected down to the student's width",
          variant(FEATURE_PLAIN, ("nn.Linear(student_dim, teacher_dim, bias=False)", "nn.Linear(teacher_dim, student_dim, bias=False)"),
                  ("((self.proj(student_hidden) - teacher_hidden.detach()) ** 2)",
                   "((student_hidden - self.proj(teacher_hidden.detach())) ** 2)")), "(teacher_dim, student_dim)"),
    Wrong(FEATURE, "the masked mean by boolean indexing: NaN when nothing is kept",
          variant(FEATURE_PLAIN, (
              "        keep = torch.ones_like(per_position) if mask is None else mask.to(per_position.dtype)\n"
              "        return (per_position * keep).sum() / keep.sum().clamp(min=1)",
              "        return per_position.mean() if mask is None else per_position[mask.bool()].mean()")), "clamped"),
    Wrong(FEATURE, "the difference computed in the teacher's tensor, through a detached view",
          variant(FEATURE_PLAIN, ("        per_position = ((self.proj(student_hidden) - teacher_hidden.detach()) ** 2).mean(dim=-1)",
                                  "        difference = teacher_hidden.detach()\n"
                                  "        difference -= self.proj(student_hidden).detach()\n"
                                  "        per_position = (difference ** 2).mean(dim=-1) + 0 * self.proj(student_hidden).sum()")),
          "in place"),
]

CORRECT = [
    Correct(SOFT, "log_softmax(...).exp()", variant(SOFT_PLAIN, ("F.softmax(logits / temperature, dim=-1)",
                                                               "F.log_softmax(logits / temperature, dim=-1).exp()"))),
    Correct(SOFT, "the maximum of each row subtracted by hand", '''
def soft_targets(logits, temperature=1.0):
    if temperature <= 0 or temperature != temperature:
        raise ValueError("the temperature must be positive")
    z = logits / temperature
    e = torch.exp(z - z.amax(dim=-1, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)
'''),
    Correct(KD, "F.kl_div with the teacher's probabilities, flattened positions and boolean selection", '''
def kd_loss(student_logits, teacher_logits, temperature=1.0, mask=None):
    vocab = student_logits.shape[-1]
    student_logps = F.log_softmax(student_logits / temperature, dim=-1).reshape(-1, vocab)
    teacher_probs = F.softmax(teacher_logits.detach() / temperature, dim=-1).reshape(-1, vocab)
    if mask is not None:
        keep = mask.reshape(-1).bool()
        student_logps, teacher_probs = student_logps[keep], teacher_probs[keep]
    if student_logps.shape[0] == 0:
        return student_logits.sum() * 0
    return F.kl_div(student_logps, teacher_probs, reduction="batchmean") * temperature ** 2
'''),
    Correct(KD, "cross-entropy with the soft targets minus the teacher's entropy", variant(KD_PLAIN, (
        "    per_position = (teacher_logps.exp() * (teacher_logps - student_logps)).sum(dim=-1)",
        "    teacher_probs = teacher_logps.exp()\n"
        "    cross_entropy = -(teacher_probs * student_logps).sum(dim=-1)\n"
        "    entropy = -(teacher_probs * teacher_logps).sum(dim=-1)\n"
        "    per_position = cross_entropy - entropy"))),
    Correct(DIST, "F.cross_entropy's mean, NaN turned into 0", variant(DIST_PLAIN, (
        "    hard = F.cross_entropy(student_logits.reshape(-1, vocab), labels.reshape(-1), ignore_index=-100,\n"
        "                           reduction=\"sum\") / keep.sum().clamp(min=1)",
        "    hard = torch.nan_to_num(F.cross_entropy(student_logits.reshape(-1, vocab), labels.reshape(-1), ignore_index=-100))"))),
    Correct(DIST, "log_softmax and gather, labels made safe with where", '''
def distillation_loss(student_logits, teacher_logits, labels, temperature=2.0, alpha=0.5):
    keep = labels != -100
    safe = torch.where(keep, labels, torch.zeros_like(labels))
    nll = -F.log_softmax(student_logits, dim=-1).gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    weights = keep.to(nll.dtype)
    hard = (nll * weights).sum() / weights.sum().clamp(min=1)
    return alpha * kd_loss(student_logits, teacher_logits, temperature, keep) + (1 - alpha) * hard
'''),
    Correct(JSD, "explicit sums, without F.kl_div", '''
def generalized_jsd(student_logits, teacher_logits, labels=None, beta=0.5, temperature=1.0):
    if beta < 0 or beta > 1:
        raise ValueError("beta must be in [0, 1]")
    log_q = torch.log_softmax(student_logits / temperature, dim=-1)
    log_p = torch.log_softmax(teacher_logits.detach() / temperature, dim=-1)
    if beta == 0:
        per_position = (log_p.exp() * (log_p - log_q)).sum(-1)
    elif beta == 1:
        per_position = (log_q.exp() * (log_q - log_p)).sum(-1)
    else:
        log_m = torch.logaddexp(log_q + math.log(1 - beta), log_p + math.log(beta))
        per_position = (beta * (log_p.exp() * (log_p - log_m)).sum(-1)
                        + (1 - beta) * (log_q.exp() * (log_q - log_m)).sum(-1))
    weights = torch.ones_like(per_position) if labels is None else (labels != -100).to(per_position.dtype)
    return (per_position * weights).sum() / weights.sum().clamp(min=1)
'''),
    Correct(JSD, "the forward KL through kd_loss", variant(JSD_PLAIN, (
        "    student_logps = F.log_softmax(student_logits / temperature, dim=-1)",
        "    if beta == 0:\n"
        "        return kd_loss(student_logits, teacher_logits, temperature, None if labels is None else labels != -100) / temperature ** 2\n"
        "    student_logps = F.log_softmax(student_logits / temperature, dim=-1)"))),
    Correct(FEATURE, "F.mse_loss(reduction='none') and a matrix product with the weight", variant(FEATURE_PLAIN, (
        "        per_position = ((self.proj(student_hidden) - teacher_hidden.detach()) ** 2).mean(dim=-1)",
        "        projected = student_hidden @ self.proj.weight.T\n"
        "        per_position = F.mse_loss(projected, teacher_hidden.detach(), reduction='none').mean(dim=-1)"))),
    Correct(FEATURE, "boolean selection of the kept positions", variant(FEATURE_PLAIN, (
        "        keep = torch.ones_like(per_position) if mask is None else mask.to(per_position.dtype)\n"
        "        return (per_position * keep).sum() / keep.sum().clamp(min=1)",
        "        if mask is None:\n            return per_position.mean()\n"
        "        kept = per_position[mask.bool()]\n"
        "        return kept.mean() if kept.numel() else per_position.sum() * 0"))),
]
