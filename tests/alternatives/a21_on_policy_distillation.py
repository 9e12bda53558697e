"""21-on-policy-distillation: edge-case bugs the text's domain exposes (a mask used as indices, the mean per
sequence first, the teacher's logits changed in place, a float32 detour, the maximum subtracted over the whole
tensor, an estimator clamped at 0, log-probabilities changed in place, a 0-d mask of nothing) and correct
solutions written in unusual ways (F.kl_div with log_target, logsumexp, boolean indexing, a REINFORCE
loss written as a product with the stop-gradient trick, k3 from exp and log directly). Each solution replaces
the whole solution cell of its exercise."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m21_on_policy_distillation import EST as EST_PLAIN
from tests.mutants.m21_on_policy_distillation import OPD as OPD_PLAIN
from tests.mutants.m21_on_policy_distillation import RKL as RKL_PLAIN

ASSIGNMENT = "21-on-policy-distillation"

RKL = "per_token_reverse_kl"
EST = "kl_estimators"
OPD = "on_policy_distillation_loss"

WRONG = [
    # per_token_reverse_kl
    Wrong(RKL, "the mean per sequence first, then over sequences: unequal kept counts weigh differently",
          variant(RKL_PLAIN, ("    return (per_position * keep).sum() / keep.sum().clamp(min=1)",
                              "    if keep.dim() < 2:\n        return (per_position * keep).sum() / keep.sum().clamp(min=1)\n"
                              "    return ((per_position * keep).sum(-1) / keep.sum(-1).clamp(min=1)).mean()")),
          "kept positions only"),
    Wrong(RKL, "an integer mask used as indices: positions 0 and 1, not the kept ones",
          variant(RKL_PLAIN, ("    keep = torch.ones_like(per_position) if mask is None else mask.to(per_position.dtype)\n"
                              "    return (per_position * keep).sum() / keep.sum().clamp(min=1)",
                              "    if mask is None:\n        return per_position.mean()\n"
                              "    kept = per_position[mask]\n    return kept.sum() / max(int(mask.bool().sum()), 1)")),
          "kept positions only"),
    Wrong(RKL, "the maximum subtracted over the whole tensor: rows far below it underflow",
          variant(RKL_PLAIN, ("    student_logps = F.log_softmax(student_logits, dim=-1)",
                              "    z = student_logits - student_logits.max()\n"
                              "    student_logps = z - z.exp().sum(-1, keepdim=True).log()")), "log_softmax"),
    Wrong(RKL, "the teacher's logits shifted in place by their maximum (for stability)",
          variant(RKL_PLAIN, ("    teacher_logps = F.log_softmax(teacher_logits.detach(), dim=-1)",
                              "    teacher_logits.sub_(teacher_logits.max().detach())\n"
                              "    teacher_logps = F.log_softmax(teacher_logits.detach(), dim=-1)")), "changed"),
    # kl_estimators
    Wrong(EST, "k1 clamped at 0 to look like a divergence: biased",
          variant(EST_PLAIN, ("    k1 = log_ratio", "    k1 = log_ratio.clamp(min=0)")), "STUDENT's log-probability first"),
    Wrong(EST, "the log-probabilities changed in place",
          variant(EST_PLAIN, ("    log_ratio = logp_student - logp_teacher",
                              "    logp_student -= logp_teacher\n    log_ratio = logp_student")), "changed"),
    Wrong(EST, "k3 in float32 whatever the inputs' dtype",
          variant(EST_PLAIN, ("    k3 = torch.expm1(-log_ratio) + log_ratio", "    k3 = (torch.expm1(-log_ratio) + log_ratio).float()")),
          "dtype"),
    # on_policy_distillation_loss
    Wrong(OPD, "the mean per sequence first, then over sequences",
          variant(OPD_PLAIN, ("    return (per_token * keep).sum() / keep.sum().clamp(min=1)",
                              "    if keep.dim() < 2:\n        return (per_token * keep).sum() / keep.sum().clamp(min=1)\n"
                              "    return ((per_token * keep).sum(-1) / keep.sum(-1).clamp(min=1)).mean()")), "kept tokens only"),
    Wrong(OPD, "the advantage normalised by its standard deviation, as in GRPO",
          variant(OPD_PLAIN, ("    per_token = -advantage * student_logprobs",
                              "    if advantage.numel() > 1:\n        advantage = advantage / (advantage.std() + 1e-8)\n"
                              "    per_token = -advantage * student_logprobs")), "two minus signs"),
    Wrong(OPD, "a Python float returned when nothing is kept",
          variant(OPD_PLAIN, ("    return (per_token * keep).sum() / keep.sum().clamp(min=1)",
                              "    if keep.sum() == 0:\n        return 0.0\n    return (per_token * keep).sum() / keep.sum()")),
          "tensor"),
]

CORRECT = [
    Correct(RKL, "F.kl_div with log_target: kl_div(log p, log q) = sum q (log q - log p)", '''
def per_token_reverse_kl(student_logits, teacher_logits, mask=None):
    log_q = F.log_softmax(student_logits, dim=-1)
    log_p = F.log_softmax(teacher_logits, dim=-1).detach()
    per_position = F.kl_div(log_p, log_q, reduction="none", log_target=True).sum(-1)
    if mask is None:
        return per_position.mean()
    keep = mask.bool()
    if not keep.any():
        return per_position.sum() * 0
    return per_position[keep].mean()
'''),
    Correct(RKL, "log-probabilities from logsumexp, q from exp, boolean indexing", '''
def per_token_reverse_kl(student_logits, teacher_logits, mask=None):
    log_q = student_logits - torch.logsumexp(student_logits, dim=-1, keepdim=True)
    t = teacher_logits.detach()
    log_p = t - torch.logsumexp(t, dim=-1, keepdim=True)
    per_position = torch.sum(torch.exp(log_q) * (log_q - log_p), dim=-1)
    keep = torch.ones(per_position.shape, dtype=torch.bool) if mask is None else mask.bool()
    kept = per_position[keep]
    return kept.sum() / max(kept.numel(), 1)
'''),
    Correct(EST, "k3 from exp and log of the ratio, k2 from k1", '''
def kl_estimators(logp_student, logp_teacher):
    k1 = logp_student - logp_teacher
    log_r = -k1
    k3 = log_r.exp() - 1 - log_r
    return (k1, k1 * k1 / 2, k3)
'''),
    Correct(EST, "torch.sub and torch.square, a tuple built from a list", '''
def kl_estimators(logp_student, logp_teacher):
    d = torch.sub(logp_student, logp_teacher)
    return tuple([d.clone(), 0.5 * torch.square(d), torch.exp(-d) - 1 + d])
'''),
    Correct(OPD, "the stop-gradient trick: log q times a detached copy of its coefficient", '''
def on_policy_distillation_loss(student_logprobs, teacher_logprobs, mask=None):
    coefficient = (student_logprobs - teacher_logprobs).detach()
    if mask is None:
        mask = torch.ones_like(student_logprobs, dtype=torch.bool)
    keep = mask.bool()
    if not keep.any():
        return (student_logprobs * 0).sum()
    return (coefficient * student_logprobs)[keep].mean()
'''),
    Correct(OPD, "torch.where on the mask and an explicit count", '''
def on_policy_distillation_loss(student_logprobs, teacher_logprobs, mask=None):
    advantage = teacher_logprobs.detach() - student_logprobs.detach()
    terms = -(advantage * student_logprobs)
    if mask is not None:
        terms = torch.where(mask.bool(), terms, torch.zeros_like(terms))
        count = int(mask.bool().sum())
    else:
        count = terms.numel()
    return terms.sum() / max(count, 1)
'''),
]
