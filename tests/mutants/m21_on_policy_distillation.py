"""Plausible wrong solutions for 21-on-policy-distillation."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "21-on-policy-distillation"

RKL = '''
def per_token_reverse_kl(student_logits, teacher_logits, mask=None):
    student_logps = F.log_softmax(student_logits, dim=-1)
    teacher_logps = F.log_softmax(teacher_logits.detach(), dim=-1)
    per_position = (student_logps.exp() * (student_logps - teacher_logps)).sum(dim=-1)
    keep = torch.ones_like(per_position) if mask is None else mask.to(per_position.dtype)
    return (per_position * keep).sum() / keep.sum().clamp(min=1)
'''

EST = '''
def kl_estimators(logp_student, logp_teacher):
    log_ratio = logp_student - logp_teacher
    k1 = log_ratio
    k2 = 0.5 * log_ratio ** 2
    k3 = torch.expm1(-log_ratio) + log_ratio
    return k1, k2, k3
'''

OPD = '''
def on_policy_distillation_loss(student_logprobs, teacher_logprobs, mask=None):
    advantage = -(student_logprobs - teacher_logprobs).detach()
    per_token = -advantage * student_logprobs
    keep = torch.ones_like(per_token) if mask is None else mask.to(per_token.dtype)
    return (per_token * keep).sum() / keep.sum().clamp(min=1)
'''

MUTANTS = [
    # per_token_reverse_kl
    Mutant("per_token_reverse_kl", "the forward KL: the teacher's distribution weighs the sum",
           variant(RKL, ("(student_logps.exp() * (student_logps - teacher_logps))",
                         "(teacher_logps.exp() * (teacher_logps - student_logps))")), "STUDENT first"),
    Mutant("per_token_reverse_kl", "a mean over the vocabulary instead of a sum",
           variant(RKL, (".sum(dim=-1)", ".mean(dim=-1)")), "Sum over the vocabulary"),
    Mutant("per_token_reverse_kl", "the mask ignored",
           variant(RKL, ("if mask is None else mask.to(per_position.dtype)", "")), "kept positions only"),
    Mutant("per_token_reverse_kl", "no clamp: a mask that keeps nothing gives NaN",
           variant(RKL, ("keep.sum().clamp(min=1)", "keep.sum()")), "clamp(min=1)"),
    Mutant("per_token_reverse_kl", "softmax(...).log(): -inf for underflowing probabilities",
           variant(RKL, ("F.log_softmax(student_logits, dim=-1)", "F.softmax(student_logits, dim=-1).log()"),
                   ("F.log_softmax(teacher_logits.detach(), dim=-1)", "F.softmax(teacher_logits.detach(), dim=-1).log()")),
           "log_softmax"),
    Mutant("per_token_reverse_kl", "the teacher not detached",
           variant(RKL, ("teacher_logits.detach()", "teacher_logits")), "detach"),
    Mutant("per_token_reverse_kl", "q detached: only log q carries the gradient",
           variant(RKL, ("(student_logps.exp() *", "(student_logps.exp().detach() *")), "both q's factors"),
    Mutant("per_token_reverse_kl", "a Python float returned",
           variant(RKL, ("    return (per_position * keep).sum() / keep.sum().clamp(min=1)",
                         "    return ((per_position * keep).sum() / keep.sum().clamp(min=1)).item()")), "0-d tensor"),
    # kl_estimators
    Mutant("kl_estimators", "k1 the wrong way round: log p - log q",
           variant(EST, ("    k1 = log_ratio", "    k1 = -log_ratio")), "STUDENT's log-probability first"),
    Mutant("kl_estimators", "k2 without the half",
           variant(EST, ("k2 = 0.5 * log_ratio ** 2", "k2 = log_ratio ** 2")), "the half matters"),
    Mutant("kl_estimators", "k3 with r = q / p",
           variant(EST, ("torch.expm1(-log_ratio) + log_ratio", "torch.expm1(log_ratio) - log_ratio")), "teacher over the"),
    Mutant("kl_estimators", "k3 = (r - 1) + log r",
           variant(EST, ("torch.expm1(-log_ratio) + log_ratio", "torch.expm1(-log_ratio) - log_ratio")), "MINUS log r"),
    Mutant("kl_estimators", "r from probabilities: 0 / 0 near -1000",
           variant(EST, ("    k3 = torch.expm1(-log_ratio) + log_ratio",
                         "    r = logp_teacher.exp() / logp_student.exp()\n    k3 = (r - 1) - r.log()")), "log-ratio"),
    Mutant("kl_estimators", "k2 and k3 swapped",
           variant(EST, ("return k1, k2, k3", "return k1, k3, k2")), "in this order"),
    Mutant("kl_estimators", "a list instead of a tuple",
           variant(EST, ("return k1, k2, k3", "return [k1, k2, k3]")), "tuple"),
    Mutant("kl_estimators", "each estimator averaged to a number",
           variant(EST, ("return k1, k2, k3", "return k1.mean(), k2.mean(), k3.mean()")), "no reduction"),
    # on_policy_distillation_loss
    Mutant("on_policy_distillation_loss", "the advantage not detached",
           variant(OPD, ("(student_logprobs - teacher_logprobs).detach()", "(student_logprobs - teacher_logprobs.detach())")),
           "Detach the advantage"),
    Mutant("on_policy_distillation_loss", "the loss's sign flipped: +mean(A log q)",
           variant(OPD, ("per_token = -advantage * student_logprobs", "per_token = advantage * student_logprobs")),
           "two minus signs"),
    Mutant("on_policy_distillation_loss", "the advantage's sign flipped: A = log q - log p",
           variant(OPD, ("advantage = -(student_logprobs", "advantage = (student_logprobs")), "two minus signs"),
    Mutant("on_policy_distillation_loss", "the mask ignored",
           variant(OPD, ("if mask is None else mask.to(per_token.dtype)", "")), "kept tokens only"),
    Mutant("on_policy_distillation_loss", "no clamp: NaN when nothing is kept",
           variant(OPD, ("keep.sum().clamp(min=1)", "keep.sum()")), "clamp(min=1)"),
    Mutant("on_policy_distillation_loss", "the mean over all tokens, masked ones counted as 0",
           variant(OPD, ("/ keep.sum().clamp(min=1)", "/ keep.numel()")), "kept tokens only"),
    Mutant("on_policy_distillation_loss", "the k1 estimate as the loss: mean(log q - log p), gradient 1/n",
           variant(OPD, ("per_token = -advantage * student_logprobs", "per_token = student_logprobs - teacher_logprobs.detach()")),
           "two minus signs"),
    Mutant("on_policy_distillation_loss", "the teacher gets the gradient: A detached, log p not",
           variant(OPD, ("per_token = -advantage * student_logprobs",
                         "per_token = -advantage * (student_logprobs - teacher_logprobs)")), "two minus signs"),
]
