"""Plausible wrong solutions for 20-distillation."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "20-distillation"

SOFT = '''
def soft_targets(logits, temperature=1.0):
    if not temperature > 0:
        raise ValueError("the temperature must be positive")
    return F.softmax(logits / temperature, dim=-1)
'''

KD = '''
def kd_loss(student_logits, teacher_logits, temperature=1.0, mask=None):
    teacher_logps = F.log_softmax(teacher_logits.detach() / temperature, dim=-1)
    student_logps = F.log_softmax(student_logits / temperature, dim=-1)
    per_position = (teacher_logps.exp() * (teacher_logps - student_logps)).sum(dim=-1)
    keep = torch.ones_like(per_position) if mask is None else mask.to(per_position.dtype)
    return temperature ** 2 * (per_position * keep).sum() / keep.sum().clamp(min=1)
'''

DIST = '''
def distillation_loss(student_logits, teacher_logits, labels, temperature=2.0, alpha=0.5):
    keep = labels != -100
    soft = kd_loss(student_logits, teacher_logits, temperature, mask=keep)
    vocab = student_logits.shape[-1]
    hard = F.cross_entropy(student_logits.reshape(-1, vocab), labels.reshape(-1), ignore_index=-100,
                           reduction="sum") / keep.sum().clamp(min=1)
    return alpha * soft + (1 - alpha) * hard
'''

JSD = '''
def generalized_jsd(student_logits, teacher_logits, labels=None, beta=0.5, temperature=1.0):
    if not 0 <= beta <= 1:
        raise ValueError("beta must be in [0, 1]")
    student_logps = F.log_softmax(student_logits / temperature, dim=-1)
    teacher_logps = F.log_softmax(teacher_logits.detach() / temperature, dim=-1)
    if beta == 0:
        per_token = F.kl_div(student_logps, teacher_logps, reduction="none", log_target=True)
    elif beta == 1:
        per_token = F.kl_div(teacher_logps, student_logps, reduction="none", log_target=True)
    else:
        mixture_logps = torch.logsumexp(torch.stack([student_logps + math.log1p(-beta),
                                                     teacher_logps + math.log(beta)]), dim=0)
        per_token = (beta * F.kl_div(mixture_logps, teacher_logps, reduction="none", log_target=True)
                     + (1 - beta) * F.kl_div(mixture_logps, student_logps, reduction="none", log_target=True))
    per_position = per_token.sum(dim=-1)
    keep = torch.ones_like(per_position, dtype=torch.bool) if labels is None else labels != -100
    return per_position[keep].sum() / keep.sum().clamp(min=1)
'''

FEATURE = '''
class FeatureDistiller(nn.Module):
    def __init__(self, student_dim, teacher_dim):
        super().__init__()
        self.proj = nn.Linear(student_dim, teacher_dim, bias=False)

    def forward(self, student_hidden, teacher_hidden, mask=None):
        per_position = ((self.proj(student_hidden) - teacher_hidden.detach()) ** 2).mean(dim=-1)
        keep = torch.ones_like(per_position) if mask is None else mask.to(per_position.dtype)
        return (per_position * keep).sum() / keep.sum().clamp(min=1)
'''

KD_RETURN = "    return temperature ** 2 * (per_position * keep).sum() / keep.sum().clamp(min=1)"

MUTANTS = [
    # soft_targets
    Mutant("soft_targets", "the logits multiplied by the temperature",
           variant(SOFT, ("logits / temperature", "logits * temperature")), "DIVIDE"),
    Mutant("soft_targets", "the softmax over the first dimension",
           variant(SOFT, ("dim=-1", "dim=0")), "LAST dimension"),
    Mutant("soft_targets", "exp / sum written by hand: exp(1000) overflows",
           variant(SOFT, ("    return F.softmax(logits / temperature, dim=-1)",
                          "    e = torch.exp(logits / temperature)\n    return e / e.sum(dim=-1, keepdim=True)")), "F.softmax"),
    Mutant("soft_targets", "no ValueError for a temperature of 0 or below",
           variant(SOFT, ('    if not temperature > 0:\n        raise ValueError("the temperature must be positive")\n', "")),
           "Raise ValueError"),
    Mutant("soft_targets", "the logits divided in place",
           variant(SOFT, ("    return F.softmax(logits / temperature, dim=-1)",
                          "    logits /= temperature\n    return F.softmax(logits, dim=-1)")), "in place"),
    Mutant("soft_targets", "the result in float32 whatever the logits' dtype",
           variant(SOFT, ("F.softmax(logits / temperature, dim=-1)", "F.softmax(logits / temperature, dim=-1).float()")),
           "dtype"),
    # kd_loss
    Mutant("kd_loss", "the reverse KL: the student's distribution weighs the sum",
           variant(KD, ("(teacher_logps.exp() * (teacher_logps - student_logps))",
                        "(student_logps.exp() * (student_logps - teacher_logps))")), "KL(teacher || student)"),
    Mutant("kd_loss", "no T^2 factor",
           variant(KD, ("return temperature ** 2 * (per_position", "return (per_position")), "temperature ** 2"),
    Mutant("kd_loss", "only the teacher softened by the temperature",
           variant(KD, ("F.log_softmax(student_logits / temperature, dim=-1)", "F.log_softmax(student_logits, dim=-1)")),
           "BOTH logits"),
    Mutant("kd_loss", "F.kl_div with reduction='mean': divided by the vocabulary too",
           variant(KD, (KD_RETURN, "    if mask is not None:\n        raise NotImplementedError('no mask')\n"
                                   "    return temperature ** 2 * F.kl_div(student_logps, teacher_logps, reduction='mean', "
                                   "log_target=True)")), "reduction='mean'"),
    Mutant("kd_loss", "F.kl_div with reduction='batchmean' on (..., V): divided by the first dimension only",
           variant(KD, (KD_RETURN, "    if mask is not None:\n        per_position = per_position[mask.bool()]\n"
                                   "        return temperature ** 2 * per_position.sum() / max(len(per_position), 1)\n"
                                   "    return temperature ** 2 * F.kl_div(student_logps, teacher_logps, reduction='batchmean', "
                                   "log_target=True)")), "first dimension"),
    Mutant("kd_loss", "the mask ignored in the count: divided by every position",
           variant(KD, (".sum() / keep.sum().clamp(min=1)", ".sum() / keep.numel()")), "kept positions only"),
    Mutant("kd_loss", "softmax(...).log(): NaN where a teacher probability underflows",
           variant(KD, ("F.log_softmax(teacher_logits.detach() / temperature, dim=-1)",
                        "F.softmax(teacher_logits.detach() / temperature, dim=-1).log()"),
                   ("F.log_softmax(student_logits / temperature, dim=-1)",
                    "F.softmax(student_logits / temperature, dim=-1).log()")), "log_softmax"),
    Mutant("kd_loss", "the teacher not detached",
           variant(KD, ("teacher_logits.detach() / temperature", "teacher_logits / temperature")), "detach"),
    Mutant("kd_loss", "a mask that keeps nothing gives NaN",
           variant(KD, ("keep.sum().clamp(min=1)", "keep.sum()")), "clamp(min=1)"),
    # distillation_loss
    Mutant("distillation_loss", "alpha on the cross-entropy instead of the soft term",
           variant(DIST, ("alpha * soft + (1 - alpha) * hard", "(1 - alpha) * soft + alpha * hard")), "alpha weighs the SOFT"),
    Mutant("distillation_loss", "the cross-entropy at the temperature too",
           variant(DIST, ("F.cross_entropy(student_logits.reshape(-1, vocab)",
                          "F.cross_entropy((student_logits / temperature).reshape(-1, vocab)")), "temperature 1"),
    Mutant("distillation_loss", "the KD term over every position, ignored ones included",
           variant(DIST, ("kd_loss(student_logits, teacher_logits, temperature, mask=keep)",
                          "kd_loss(student_logits, teacher_logits, temperature)")), "NEITHER term"),
    Mutant("distillation_loss", "the cross-entropy divided by every position",
           variant(DIST, ('reduction="sum") / keep.sum().clamp(min=1)', 'reduction="sum") / labels.numel()')),
           "MEAN over the positions"),
    Mutant("distillation_loss", "F.cross_entropy's mean: NaN when every label is -100",
           variant(DIST, ('ignore_index=-100,\n                           reduction="sum") / keep.sum().clamp(min=1)',
                          'ignore_index=-100)')), "return 0"),
    Mutant("distillation_loss", "labels shifted by one inside the loss",
           variant(DIST, ("    keep = labels != -100",
                          "    labels = torch.cat([labels[..., 1:], torch.full_like(labels[..., :1], -100)], dim=-1)\n"
                          "    keep = labels != -100")), "no shift"),
    Mutant("distillation_loss", "default temperature 1 and alpha 0.9",
           variant(DIST, ("temperature=2.0, alpha=0.5", "temperature=1.0, alpha=0.9")), "defaults"),
    # generalized_jsd
    Mutant("generalized_jsd", "the mixture formula at beta = 0 too: 0 instead of the forward KL",
           variant(JSD, ("    if beta == 0:\n        per_token = F.kl_div(student_logps, teacher_logps, reduction=\"none\", log_target=True)\n    elif",
                         "    if")), "beta = 0 is the forward KL"),
    Mutant("generalized_jsd", "beta = 1 computed as the forward KL",
           variant(JSD, ("per_token = F.kl_div(teacher_logps, student_logps, reduction=\"none\", log_target=True)",
                         "per_token = F.kl_div(student_logps, teacher_logps, reduction=\"none\", log_target=True)")),
           "beta = 1 is the reverse KL"),
    Mutant("generalized_jsd", "the mixture weights swapped: the student weighted by beta",
           variant(JSD, ("student_logps + math.log1p(-beta)", "student_logps + math.log(beta)"),
                   ("teacher_logps + math.log(beta)", "teacher_logps + math.log1p(-beta)")), "teacher carries the weight beta"),
    Mutant("generalized_jsd", "Hinton's T^2 factor added",
           variant(JSD, ("    return per_position[keep].sum() / keep.sum().clamp(min=1)",
                         "    return temperature ** 2 * per_position[keep].sum() / keep.sum().clamp(min=1)")), "T^2"),
    Mutant("generalized_jsd", "the labels ignored",
           variant(JSD, ("if labels is None else labels != -100", "")), "not -100"),
    Mutant("generalized_jsd", "trl's no-label reduction: the sum divided by the first dimension",
           variant(JSD, ("    return per_position[keep].sum() / keep.sum().clamp(min=1)",
                         "    if labels is None:\n        return per_position.sum() / per_position.shape[0] if per_position.dim() else per_position\n"
                         "    return per_position[keep].sum() / keep.sum().clamp(min=1)")), "every position counts once"),
    Mutant("generalized_jsd", "log M as the log of a sum of probabilities: -inf where both underflow",
           variant(JSD, ("torch.logsumexp(torch.stack([student_logps + math.log1p(-beta),\n                                                     teacher_logps + math.log(beta)]), dim=0)",
                         "torch.log((1 - beta) * student_logps.exp() + beta * teacher_logps.exp())")), "logsumexp"),
    Mutant("generalized_jsd", "no ValueError for beta outside [0, 1]",
           variant(JSD, ('    if not 0 <= beta <= 1:\n        raise ValueError("beta must be in [0, 1]")\n', ""),
                   ("math.log1p(-beta)", "torch.log1p(torch.tensor(-beta, dtype=student_logps.dtype))"),
                   ("math.log(beta)", "torch.log(torch.tensor(beta, dtype=student_logps.dtype))")), "Raise ValueError"),
    # FeatureDistiller
    Mutant("FeatureDistiller", "a projection with a bias",
           variant(FEATURE, ("nn.Linear(student_dim, teacher_dim, bias=False)", "nn.Linear(student_dim, teacher_dim)")), "No bias"),
    Mutant("FeatureDistiller", "the squared error summed over the features",
           variant(FEATURE, ("** 2).mean(dim=-1)", "** 2).sum(dim=-1)")), "not a sum over features"),
    Mutant("FeatureDistiller", "the root of the mean squared error",
           variant(FEATURE, ("return (per_position * keep).sum() / keep.sum().clamp(min=1)",
                             "return ((per_position * keep).sum() / keep.sum().clamp(min=1)).sqrt()")), "not a square root"),
    Mutant("FeatureDistiller", "the mask ignored",
           variant(FEATURE, ("if mask is None else mask.to(per_position.dtype)", "")), "kept positions"),
    Mutant("FeatureDistiller", "the teacher's states not detached",
           variant(FEATURE, ("teacher_hidden.detach()", "teacher_hidden")), "detach the teacher"),
    Mutant("FeatureDistiller", "the projection zero-initialised",
           variant(FEATURE, ("        self.proj = nn.Linear(student_dim, teacher_dim, bias=False)",
                             "        self.proj = nn.Linear(student_dim, teacher_dim, bias=False)\n"
                             "        nn.init.zeros_(self.proj.weight)")), "default initialisation"),
    Mutant("FeatureDistiller", "the student's states detached: no gradient to the student",
           variant(FEATURE, ("self.proj(student_hidden)", "self.proj(student_hidden.detach())")), "student's states"),
]
