"""12-rlhf-alignment: edge-case bugs the text's domain exposes (overflow of a hand-written softplus, a mask
rolled around the sequence, NaN for an empty mask, a long mask used as indices, in-place changes, a float32
detour, a clamp in place of + 1e-4), and correct solutions written in unusual ways (softplus, binary
cross-entropy with logits, cross_entropy, loops, torch.var, expm1). Each solution replaces the whole solution
cell of its exercise."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m12_rlhf_alignment import DPO as DPO_PLAIN
from tests.mutants.m12_rlhf_alignment import GROUP as GROUP_PLAIN
from tests.mutants.m12_rlhf_alignment import KL as KL_PLAIN
from tests.mutants.m12_rlhf_alignment import PPO as PPO_PLAIN
from tests.mutants.m12_rlhf_alignment import REWARD as REWARD_PLAIN
from tests.mutants.m12_rlhf_alignment import SEQ as SEQ_PLAIN

ASSIGNMENT = "12-rlhf-alignment"

REWARD = "reward_model_loss"
SEQ = "sequence_logprobs"
DPO = "dpo_loss"
PPO = "ppo_clip_loss"
GROUP = "group_advantages"
KL = "kl_k3"

WRONG = [
    # reward_model_loss -------------------------------------------------------------------------------
    Wrong(REWARD, "softplus written by hand, log1p(exp(-margin)): exp overflows for margins of -1000",
          variant(REWARD_PLAIN, ("-F.logsigmoid(chosen_rewards - rejected_rewards).mean()",
                                 "torch.log1p(torch.exp(rejected_rewards - chosen_rewards)).mean()")), "logsigmoid"),
    Wrong(REWARD, "the margin computed in place in the chosen rewards",
          variant(REWARD_PLAIN, ("    return -F.logsigmoid(chosen_rewards - rejected_rewards).mean()",
                                 "    margin = chosen_rewards.sub_(rejected_rewards)\n    return -F.logsigmoid(margin).mean()")), "in place"),
    Wrong(REWARD, "the loss returned in float32 whatever the rewards' dtype",
          variant(REWARD_PLAIN, (".mean()", ".mean().float()")), "dtype"),
    Wrong(REWARD, "the sum divided by len(): right for 1-D rewards only",
          variant(REWARD_PLAIN, (".mean()", ".sum() / len(chosen_rewards)")), "mean"),

    # sequence_logprobs -------------------------------------------------------------------------------
    Wrong(SEQ, "ids and mask rolled by one: the last position scores the first token",
          variant(SEQ_PLAIN, ("F.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None])",
                              "F.log_softmax(logits, dim=-1).gather(-1, torch.roll(ids, -1, dims=1)[:, :, None])"),
                  ("completion_mask[:, 1:]", "torch.roll(completion_mask, -1, dims=1)")), "completion_mask[:, 0] is ignored"),
    Wrong(SEQ, "torch.where with the mask as the condition: integer and float masks fail",
          variant(SEQ_PLAIN, ("(token_logps * completion_mask[:, 1:].to(token_logps.dtype)).sum(dim=-1)",
                              "torch.where(completion_mask[:, 1:], token_logps, 0.0).sum(dim=-1)")), "Convert the mask"),
    Wrong(SEQ, "the first mask position cleared in place in the caller's mask",
          variant(SEQ_PLAIN, ("    token_logps =", "    completion_mask[:, 0] = 0\n    token_logps =")), "in place"),
    Wrong(SEQ, "summed over the whole batch: one number instead of (B,)",
          variant(SEQ_PLAIN, (".sum(dim=-1)", ".sum()")), "(B,)"),

    # dpo_loss ----------------------------------------------------------------------------------------
    Wrong(DPO, "log(sigmoid) clamped at 1e-7: the loss is capped at 16.1 for large margins",
          variant(DPO_PLAIN, ("-F.logsigmoid(beta * (chosen_logratios - rejected_logratios))",
                              "-torch.log(torch.sigmoid(beta * (chosen_logratios - rejected_logratios)).clamp(min=1e-7))")),
          "logsigmoid"),
    Wrong(DPO, "the policy's log-probabilities changed in place",
          variant(DPO_PLAIN, ("    chosen_logratios = policy_chosen_logps - ref_chosen_logps",
                              "    chosen_logratios = policy_chosen_logps.sub_(ref_chosen_logps)")), "in place"),
    Wrong(DPO, "the loss computed in float32",
          variant(DPO_PLAIN, ("rejected_logratios)).mean()", "rejected_logratios)).mean().float()")), "dtype"),

    # ppo_clip_loss -----------------------------------------------------------------------------------
    Wrong(PPO, "boolean indexing per_token[mask.bool()].mean(): NaN when the mask keeps nothing",
          variant(PPO_PLAIN, ("    mask = mask.to(per_token.dtype)\n    return (per_token * mask).sum() / mask.sum().clamp(min=1)",
                              "    return per_token[mask.bool()].mean()")), "clamp(min=1)"),
    Wrong(PPO, "per_token[mask] with an integer mask: the mask used as indices",
          variant(PPO_PLAIN, ("    mask = mask.to(per_token.dtype)\n    return (per_token * mask).sum() / mask.sum().clamp(min=1)",
                              "    kept = per_token[mask]\n    return kept.sum() / max(mask.sum().item(), 1)")), "Convert the mask"),
    Wrong(PPO, "the log-ratio computed in place in logps",
          variant(PPO_PLAIN, ("ratio = torch.exp(logps - old_logps)", "ratio = torch.exp(logps.sub_(old_logps))")), "in place"),
    Wrong(PPO, "advantages always unsqueezed: (B, T) advantages broadcast to (B, T, T)",
          variant(PPO_PLAIN, ("    ratio = torch.exp", "    advantages = advantages.unsqueeze(-1)\n    ratio = torch.exp")), "masked token mean"),

    # group_advantages --------------------------------------------------------------------------------
    Wrong(GROUP, "std.clamp(min=1e-4) instead of std + 1e-4",
          variant(GROUP_PLAIN, ("(std + 1e-4)", "std.clamp(min=1e-4)")), "std + 1e-4"),
    Wrong(GROUP, "the rewards centred in place",
          variant(GROUP_PLAIN, ("    groups = rewards.reshape(-1, group_size)\n    mean = groups.mean(dim=1, keepdim=True)",
                                "    groups = rewards.view(-1, group_size)\n    mean = groups.mean(dim=1, keepdim=True)\n"
                                "    std = groups.std(dim=1, keepdim=True)\n    groups -= mean\n    mean = 0")),
          "in place"),
    Wrong(GROUP, "only group_size < 1 rejected: groups of one give NaN",
          variant(GROUP_PLAIN, ("if group_size < 2 or", "if group_size < 1 or")), "Raise ValueError"),
    Wrong(GROUP, "statistics in float32: float64 rewards lose precision",
          variant(GROUP_PLAIN, ("    mean = groups.mean(dim=1, keepdim=True)\n    std = groups.std(dim=1, keepdim=True)",
                                "    mean = groups.float().mean(dim=1, keepdim=True).to(groups.dtype)\n"
                                "    std = groups.float().std(dim=1, keepdim=True).to(groups.dtype)")), "max abs difference"),

    # kl_k3 -------------------------------------------------------------------------------------------
    Wrong(KL, "the log-ratio computed in place in ref_logps",
          variant(KL_PLAIN, ("log_ratio = ref_logps - logps", "log_ratio = ref_logps.sub_(logps)")), "in place"),
    Wrong(KL, "computed in float32",
          variant(KL_PLAIN, ("log_ratio = ref_logps - logps", "log_ratio = (ref_logps - logps).float()")), "dtype"),
    Wrong(KL, "the absolute log-ratio: exp(|d|) - |d| - 1",
          variant(KL_PLAIN, ("log_ratio = ref_logps - logps", "log_ratio = (ref_logps - logps).abs()")), "reference minus policy"),
]

CORRECT = [
    Correct(REWARD, "softplus(rejected - chosen), the same function",
            variant(REWARD_PLAIN, ("-F.logsigmoid(chosen_rewards - rejected_rewards).mean()",
                                   "F.softplus(rejected_rewards - chosen_rewards).mean()"))),
    Correct(REWARD, "binary cross-entropy with logits against a target of 1",
            variant(REWARD_PLAIN, ("-F.logsigmoid(chosen_rewards - rejected_rewards).mean()",
                                   "F.binary_cross_entropy_with_logits(chosen_rewards - rejected_rewards, "
                                   "torch.ones_like(chosen_rewards))"))),
    Correct(SEQ, "F.cross_entropy on the shifted logits, per token",
            '''
def sequence_logprobs(logits, ids, completion_mask):
    per_token = -F.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")
    return (per_token * completion_mask[:, 1:].to(per_token.dtype)).sum(dim=-1)
'''),
    Correct(SEQ, "a loop over the positions",
            '''
def sequence_logprobs(logits, ids, completion_mask):
    batch = torch.arange(ids.shape[0])
    total = torch.zeros(ids.shape[0], dtype=logits.dtype)
    for t in range(1, ids.shape[1]):
        keep = completion_mask[:, t] != 0
        token = F.log_softmax(logits[:, t - 1], dim=-1)[batch, ids[:, t]]
        total = total + torch.where(keep, token, torch.zeros_like(token))
    return total
'''),
    Correct(DPO, "softplus of the negative margin, rewards computed first",
            '''
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    chosen_rewards = beta * (policy_chosen_logps - ref_chosen_logps)
    rejected_rewards = beta * (policy_rejected_logps - ref_rejected_logps)
    loss = F.softplus(rejected_rewards - chosen_rewards).mean()
    return loss, chosen_rewards.detach(), rejected_rewards.detach()
'''),
    Correct(DPO, "policy and reference margins first, then their difference",
            '''
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    policy_margin = policy_chosen_logps - policy_rejected_logps
    ref_margin = ref_chosen_logps - ref_rejected_logps
    loss = -F.logsigmoid(beta * (policy_margin - ref_margin)).mean()
    with torch.no_grad():
        chosen = beta * (policy_chosen_logps - ref_chosen_logps)
        rejected = beta * (policy_rejected_logps - ref_rejected_logps)
    return loss, chosen, rejected
'''),
    Correct(PPO, "-min(A * ratio, A * clip(ratio)) and torch.where for the mask",
            '''
def ppo_clip_loss(logps, old_logps, advantages, mask, epsilon=0.2):
    ratio = (logps - old_logps).exp()
    objective = torch.min(advantages * ratio, advantages * ratio.clamp(1 - epsilon, 1 + epsilon))
    keep = mask.bool()
    total = torch.where(keep, -objective, torch.zeros_like(objective)).sum()
    return total / max(int(keep.sum()), 1)
'''),
    Correct(PPO, "the ratio as a quotient of probabilities",
            variant(PPO_PLAIN, ("ratio = torch.exp(logps - old_logps)", "ratio = torch.exp(logps) / torch.exp(old_logps)"))),
    Correct(GROUP, "torch.var(...).sqrt() and broadcasting by view",
            '''
def group_advantages(rewards, group_size):
    if group_size < 2 or len(rewards) % group_size:
        raise ValueError("need groups of at least 2 that divide the rewards")
    groups = rewards.view(len(rewards) // group_size, group_size)
    centred = groups - groups.mean(dim=1, keepdim=True)
    return (centred / (groups.var(dim=1, keepdim=True).sqrt() + 1e-4)).flatten()
'''),
    Correct(GROUP, "a loop over the groups with the sums written out",
            '''
def group_advantages(rewards, group_size):
    if group_size < 2 or rewards.numel() % group_size != 0:
        raise ValueError("bad group size")
    pieces = []
    for start in range(0, rewards.numel(), group_size):
        group = rewards[start:start + group_size]
        mean = group.sum() / group_size
        std = (((group - mean) ** 2).sum() / (group_size - 1)).sqrt()
        pieces.append((group - mean) / (std + 1e-4))
    return torch.cat(pieces)
'''),
    Correct(KL, "expm1(d) - d",
            variant(KL_PLAIN, ("torch.exp(log_ratio) - log_ratio - 1", "torch.expm1(log_ratio) - log_ratio"))),
    Correct(KL, "written with d = logps - ref_logps: exp(-d) + d - 1",
            '''
def kl_k3(logps, ref_logps):
    d = logps - ref_logps
    return (-d).exp() + d - 1
'''),
]
