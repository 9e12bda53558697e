"""Plausible wrong solutions for 12-rlhf-alignment."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "12-rlhf-alignment"

REWARD = '''
def reward_model_loss(chosen_rewards, rejected_rewards):
    return -F.logsigmoid(chosen_rewards - rejected_rewards).mean()
'''

SEQ = '''
def sequence_logprobs(logits, ids, completion_mask):
    token_logps = F.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    return (token_logps * completion_mask[:, 1:].to(token_logps.dtype)).sum(dim=-1)
'''

DPO = '''
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    chosen_logratios = policy_chosen_logps - ref_chosen_logps
    rejected_logratios = policy_rejected_logps - ref_rejected_logps
    loss = -F.logsigmoid(beta * (chosen_logratios - rejected_logratios)).mean()
    return loss, beta * chosen_logratios.detach(), beta * rejected_logratios.detach()
'''

PPO = '''
def ppo_clip_loss(logps, old_logps, advantages, mask, epsilon=0.2):
    ratio = torch.exp(logps - old_logps)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1 - epsilon, 1 + epsilon)
    per_token = torch.maximum(unclipped, clipped)
    mask = mask.to(per_token.dtype)
    return (per_token * mask).sum() / mask.sum().clamp(min=1)
'''

GROUP = '''
def group_advantages(rewards, group_size):
    if group_size < 2 or rewards.shape[0] % group_size != 0:
        raise ValueError("the rewards do not split into groups of at least 2")
    groups = rewards.reshape(-1, group_size)
    mean = groups.mean(dim=1, keepdim=True)
    std = groups.std(dim=1, keepdim=True)
    return ((groups - mean) / (std + 1e-4)).reshape(-1)
'''

KL = '''
def kl_k3(logps, ref_logps):
    log_ratio = ref_logps - logps
    return torch.exp(log_ratio) - log_ratio - 1
'''

MUTANTS = [
    # reward_model_loss
    Mutant("reward_model_loss", "the rewards swapped: -logsigmoid(rejected - chosen)",
           variant(REWARD, ("chosen_rewards - rejected_rewards", "rejected_rewards - chosen_rewards")), "chosen reward first"),
    Mutant("reward_model_loss", "summed over the pairs instead of averaged",
           variant(REWARD, (".mean()", ".sum()")), ".mean()"),
    Mutant("reward_model_loss", "-log(sigmoid(.)): inf when the margin is very negative",
           variant(REWARD, ("-F.logsigmoid(chosen_rewards - rejected_rewards)", "-torch.log(torch.sigmoid(chosen_rewards - rejected_rewards))")),
           "logsigmoid"),
    Mutant("reward_model_loss", "returned as a Python float with .item()",
           variant(REWARD, (".mean()", ".mean().item()")), "no .item()"),
    Mutant("reward_model_loss", "the rewards detached: no gradient reaches the reward model",
           variant(REWARD, ("(chosen_rewards - rejected_rewards)", "(chosen_rewards - rejected_rewards).detach()")), "no .detach()"),
    Mutant("reward_model_loss", "the mean over the last dimension only",
           variant(REWARD, (".mean()", ".mean(dim=-1)")), "only one dimension"),
    # sequence_logprobs
    Mutant("sequence_logprobs", "no shift: logits[:, t] paired with ids[:, t]",
           variant(SEQ, ("F.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None])", "F.log_softmax(logits, dim=-1).gather(-1, ids[:, :, None])"),
                   ("completion_mask[:, 1:]", "completion_mask")), "Shift by one"),
    Mutant("sequence_logprobs", "the mean over the completion's tokens instead of the sum",
           variant(SEQ, ("    return (token_logps * completion_mask[:, 1:].to(token_logps.dtype)).sum(dim=-1)",
                         "    mask = completion_mask[:, 1:].to(token_logps.dtype)\n"
                         "    return (token_logps * mask).sum(dim=-1) / mask.sum(dim=-1).clamp(min=1)")), "not .mean()"),
    Mutant("sequence_logprobs", "the mask not shifted with the tokens: completion_mask[:, :-1]",
           variant(SEQ, ("completion_mask[:, 1:]", "completion_mask[:, :-1]")), "completion_mask[:, 1:]"),
    Mutant("sequence_logprobs", "softmax(...).log(): -inf for large logits",
           variant(SEQ, ("F.log_softmax(logits[:, :-1], dim=-1)", "F.softmax(logits[:, :-1], dim=-1).log()")), "log_softmax"),
    Mutant("sequence_logprobs", "no mask: the prompt and the padding summed too",
           variant(SEQ, ("(token_logps * completion_mask[:, 1:].to(token_logps.dtype))", "token_logps")), "Sum only where"),
    Mutant("sequence_logprobs", "computed on detached logits",
           variant(SEQ, ("F.log_softmax(logits[:, :-1], dim=-1)", "F.log_softmax(logits[:, :-1].detach(), dim=-1)")), "no .detach()"),
    # dpo_loss
    Mutant("dpo_loss", "log-ratios reversed: reference minus policy",
           variant(DPO, ("policy_chosen_logps - ref_chosen_logps", "ref_chosen_logps - policy_chosen_logps"),
                   ("policy_rejected_logps - ref_rejected_logps", "ref_rejected_logps - policy_rejected_logps")), "policy minus reference"),
    Mutant("dpo_loss", "beta outside the logsigmoid",
           variant(DPO, ("-F.logsigmoid(beta * (chosen_logratios - rejected_logratios)).mean()",
                         "-beta * F.logsigmoid(chosen_logratios - rejected_logratios).mean()")), "INSIDE"),
    Mutant("dpo_loss", "the rewards not detached",
           variant(DPO, ("beta * chosen_logratios.detach(), beta * rejected_logratios.detach()",
                         "beta * chosen_logratios, beta * rejected_logratios")), "Detach the implicit rewards"),
    Mutant("dpo_loss", "-log(sigmoid(.)): inf for very negative margins",
           variant(DPO, ("-F.logsigmoid(beta * (chosen_logratios - rejected_logratios))",
                         "-torch.log(torch.sigmoid(beta * (chosen_logratios - rejected_logratios)))")), "logsigmoid"),
    Mutant("dpo_loss", "beta fixed at 0.1 whatever the argument",
           variant(DPO, ("    chosen_logratios = policy_chosen_logps", "    beta = 0.1\n    chosen_logratios = policy_chosen_logps")), "beta argument"),
    Mutant("dpo_loss", "the loss summed over pairs",
           variant(DPO, ("rejected_logratios)).mean()", "rejected_logratios)).sum()")), ".mean()"),
    # ppo_clip_loss
    Mutant("ppo_clip_loss", "torch.minimum of the negated objectives: the optimistic bound",
           variant(PPO, ("torch.maximum(unclipped, clipped)", "torch.minimum(unclipped, clipped)")), "torch.maximum"),
    Mutant("ppo_clip_loss", "no clipping: -A * ratio only",
           variant(PPO, ("per_token = torch.maximum(unclipped, clipped)", "per_token = unclipped")), "Clip the ratio"),
    Mutant("ppo_clip_loss", "epsilon fixed at 0.2",
           variant(PPO, ("torch.clamp(ratio, 1 - epsilon, 1 + epsilon)", "torch.clamp(ratio, 0.8, 1.2)")), "epsilon argument"),
    Mutant("ppo_clip_loss", "the mean over every token, masked ones included in the count",
           variant(PPO, ("(per_token * mask).sum() / mask.sum().clamp(min=1)", "(per_token * mask).mean()")),
           "not the mean over every token"),
    Mutant("ppo_clip_loss", "each sequence averaged first, then the sequences (trl's 'grpo' aggregation)",
           variant(PPO, ("(per_token * mask).sum() / mask.sum().clamp(min=1)",
                         "((per_token * mask).sum(dim=-1) / mask.sum(dim=-1).clamp(min=1)).mean()")), "not a mean per sequence"),
    Mutant("ppo_clip_loss", "the ratio from detached log-probabilities: no gradient",
           variant(PPO, ("torch.exp(logps - old_logps)", "torch.exp(logps.detach() - old_logps)")), "no .detach()"),
    # group_advantages
    Mutant("group_advantages", "the biased std (divide by group_size)",
           variant(GROUP, ("groups.std(dim=1, keepdim=True)", "groups.std(dim=1, keepdim=True, correction=0)")), "UNBIASED"),
    Mutant("group_advantages", "no 1e-4: NaN for a group of equal rewards",
           variant(GROUP, ("(std + 1e-4)", "std")), "not NaN"),
    Mutant("group_advantages", "epsilon inside the square root: sqrt(var + 1e-4)",
           variant(GROUP, ("std = groups.std(dim=1, keepdim=True)", "std = (groups.var(dim=1, keepdim=True) + 1e-4).sqrt()"),
                   ("(std + 1e-4)", "std")), "not to the variance"),
    Mutant("group_advantages", "groups interleaved: reshape(group_size, -1)",
           variant(GROUP, ("groups = rewards.reshape(-1, group_size)", "groups = rewards.reshape(group_size, -1).T"),
                   ("return ((groups - mean) / (std + 1e-4)).reshape(-1)", "return ((groups - mean) / (std + 1e-4)).T.reshape(-1)")),
           "consecutive"),
    Mutant("group_advantages", "the whole batch normalised at once",
           variant(GROUP, ("groups.mean(dim=1, keepdim=True)", "groups.mean()"), ("groups.std(dim=1, keepdim=True)", "groups.std()")),
           "not the whole batch"),
    Mutant("group_advantages", "no ValueError",
           variant(GROUP, ('    if group_size < 2 or rewards.shape[0] % group_size != 0:\n        raise ValueError("the rewards do not split into groups of at least 2")\n', "")),
           "Raise ValueError"),
    # kl_k3
    Mutant("kl_k3", "the ratio reversed: log_ratio = logps - ref_logps",
           variant(KL, ("log_ratio = ref_logps - logps", "log_ratio = logps - ref_logps")), "reference minus policy"),
    Mutant("kl_k3", "k1: logps - ref_logps",
           variant(KL, ("return torch.exp(log_ratio) - log_ratio - 1", "return -log_ratio")), "exp(log_ratio) - log_ratio - 1"),
    Mutant("kl_k3", "k2: (log ratio)^2 / 2",
           variant(KL, ("return torch.exp(log_ratio) - log_ratio - 1", "return log_ratio ** 2 / 2")), "exp(log_ratio) - log_ratio - 1"),
    Mutant("kl_k3", "the -1 forgotten",
           variant(KL, ("torch.exp(log_ratio) - log_ratio - 1", "torch.exp(log_ratio) - log_ratio")), "never negative"),
    Mutant("kl_k3", "computed on detached log-probabilities",
           variant(KL, ("log_ratio = ref_logps - logps", "log_ratio = ref_logps - logps.detach()")), "no .detach()"),
    Mutant("kl_k3", "averaged to one number instead of per token",
           variant(KL, ("torch.exp(log_ratio) - log_ratio - 1", "(torch.exp(log_ratio) - log_ratio - 1).mean()")), "same shape"),
]
