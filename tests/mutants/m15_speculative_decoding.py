"""Plausible wrong solutions for 15-speculative-decoding."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "15-speculative-decoding"

ACCEPT = '''
def accept_draft_token(p, q, token, u):
    return bool(u < p[token] / q[token])
'''

RESIDUAL = '''
def residual_distribution(p, q):
    residual = (p - q).clamp(min=0)
    total = residual.sum(dim=-1, keepdim=True)
    return torch.where(total > 0, residual / total, p)
'''

STEP = '''
def speculative_step(p, q, draft_tokens, uniforms):
    k = len(draft_tokens)
    emitted = []
    for i in range(k):
        if not accept_draft_token(p[i], q[i], draft_tokens[i], uniforms[i]):
            return emitted + [sample_from(residual_distribution(p[i], q[i]), uniforms[k])]
        emitted.append(int(draft_tokens[i]))
    return emitted + [sample_from(p[k], uniforms[k])]
'''

RATE = '''
def acceptance_rate(p, q):
    return torch.minimum(p, q).sum(dim=-1)
'''

EXPECTED = '''
def expected_tokens_per_step(alpha, k):
    if alpha == 1:
        return float(k + 1)
    return (1 - alpha ** (k + 1)) / (1 - alpha)
'''

GREEDY = '''
def speculative_greedy(target, draft, ids, max_new_tokens, k):
    prompt_length = len(ids)
    with torch.no_grad():
        while len(ids) - prompt_length < max_new_tokens:
            n = min(k, max_new_tokens - (len(ids) - prompt_length) - 1)
            sequence = ids
            for _ in range(n):
                next_id = draft(sequence[None])[0][0, -1].argmax()
                sequence = torch.cat((sequence, next_id[None]))
            choices = target(sequence[None])[0][0, len(ids) - 1:].argmax(dim=-1)
            drafted = sequence[len(ids):]
            accepted = 0
            while accepted < n and drafted[accepted] == choices[accepted]:
                accepted += 1
            ids = torch.cat((ids, drafted[:accepted], choices[accepted:accepted + 1]))
    return ids.clone()
'''

MUTANTS = [
    # accept_draft_token
    Mutant("accept_draft_token", "u <= p/q: the boundary accepted",
           variant(ACCEPT, ("u < p[token]", "u <= p[token]")), "strict"),
    Mutant("accept_draft_token", "the ratio inverted: q/p",
           variant(ACCEPT, ("p[token] / q[token]", "q[token] / p[token]")), "the target's probability over the draft's"),
    Mutant("accept_draft_token", "accepted when u is ABOVE the ratio",
           variant(ACCEPT, ("u < p[token]", "u > p[token]")), "the target's probability over the draft's"),
    Mutant("accept_draft_token", "the target's largest probability instead of the token's",
           variant(ACCEPT, ("p[token] / q[token]", "p.max() / q[token]")), "drafted token"),
    Mutant("accept_draft_token", "the draft ignored: u < p[token]",
           variant(ACCEPT, ("u < p[token] / q[token]", "u < p[token]")), "the target's probability over the draft's"),
    Mutant("accept_draft_token", "a 0-dimensional tensor returned instead of a bool",
           variant(ACCEPT, ("return bool(u < p[token] / q[token])", "return u < p[token] / q[token]")), "Python bool"),
    Mutant("accept_draft_token", "accepted outright when p >= q, else u < p (the ratio forgotten)",
           variant(ACCEPT, ("return bool(u < p[token] / q[token])", "return bool(p[token] >= q[token] or u < p[token])")),
           "the target's probability over the draft's"),
    # residual_distribution
    Mutant("residual_distribution", "no clamp: (p - q) normalised, negative probabilities",
           variant(RESIDUAL, ("(p - q).clamp(min=0)", "(p - q)")), "positive part"),
    Mutant("residual_distribution", "|p - q| instead of max(0, p - q)",
           variant(RESIDUAL, ("(p - q).clamp(min=0)", "(p - q).abs()")), "positive part"),
    Mutant("residual_distribution", "max(0, q - p): the draft's excess instead of the target's",
           variant(RESIDUAL, ("(p - q).clamp(min=0)", "(q - p).clamp(min=0)")), "positive part"),
    Mutant("residual_distribution", "not normalised",
           variant(RESIDUAL, ("return torch.where(total > 0, residual / total, p)", "return residual")), "its own sum"),
    Mutant("residual_distribution", "no edge case: 0 / 0 = NaN where p == q",
           variant(RESIDUAL, ("return torch.where(total > 0, residual / total, p)", "return residual / total")), "p equals q"),
    Mutant("residual_distribution", "zeros where p == q",
           variant(RESIDUAL, ("residual / total, p)", "residual / total, torch.zeros_like(p))")), "p equals q"),
    Mutant("residual_distribution", "the uniform distribution where p == q",
           variant(RESIDUAL, ("residual / total, p)", "residual / total, torch.full_like(p, 1 / p.shape[-1]))")), "p equals q"),
    Mutant("residual_distribution", "normalised by the sum over all dimensions",
           variant(RESIDUAL, ("residual.sum(dim=-1, keepdim=True)", "residual.sum()")), "LAST dimension"),
    Mutant("residual_distribution", "clamped in place: p is changed",
           variant(RESIDUAL, ("residual = (p - q).clamp(min=0)", "residual = p.sub_(q).clamp_(min=0)")), "in place"),
    # speculative_step
    Mutant("speculative_step", "the seed course's bug: resampled from p after a rejection",
           variant(STEP, ("sample_from(residual_distribution(p[i], q[i]), uniforms[k])", "sample_from(p[i], uniforms[k])")),
           "residual_distribution(p[i], q[i])"),
    Mutant("speculative_step", "resampled from q after a rejection",
           variant(STEP, ("sample_from(residual_distribution(p[i], q[i]), uniforms[k])", "sample_from(q[i], uniforms[k])")),
           "residual_distribution(p[i], q[i])"),
    Mutant("speculative_step", "no bonus token after full acceptance",
           variant(STEP, ("    return emitted + [sample_from(p[k], uniforms[k])]", "    return emitted")), "bonus token"),
    Mutant("speculative_step", "the bonus token drawn from p[k - 1]",
           variant(STEP, ("sample_from(p[k], uniforms[k])", "sample_from(p[k - 1], uniforms[k])")), "bonus token"),
    Mutant("speculative_step", "the final token drawn with the uniform of the rejected position",
           variant(STEP, ("sample_from(residual_distribution(p[i], q[i]), uniforms[k])",
                          "sample_from(residual_distribution(p[i], q[i]), uniforms[i])")), "LAST uniform"),
    Mutant("speculative_step", "rejected drafts skipped, later ones still accepted",
           '''
def speculative_step(p, q, draft_tokens, uniforms):
    k = len(draft_tokens)
    emitted = []
    for i in range(k):
        if accept_draft_token(p[i], q[i], draft_tokens[i], uniforms[i]):
            emitted.append(int(draft_tokens[i]))
    return emitted + [sample_from(p[k], uniforms[k])]
''', "FIRST rejection"),
    Mutant("speculative_step", "the residual of the next row",
           variant(STEP, ("residual_distribution(p[i], q[i])", "residual_distribution(p[i + 1], q[min(i + 1, k - 1)])")),
           "residual_distribution(p[i], q[i])"),
    Mutant("speculative_step", "its own acceptance test with <=",
           variant(STEP, ("if not accept_draft_token(p[i], q[i], draft_tokens[i], uniforms[i]):",
                          "if not uniforms[i] <= p[i][draft_tokens[i]] / q[i][draft_tokens[i]]:")), "u < p/q"),
    # acceptance_rate
    Mutant("acceptance_rate", "the maximum instead of the minimum",
           variant(RATE, ("torch.minimum(p, q)", "torch.maximum(p, q)")), "element-wise minimum"),
    Mutant("acceptance_rate", "the mean instead of the sum",
           variant(RATE, ("torch.minimum(p, q).sum(dim=-1)", "torch.minimum(p, q).mean(dim=-1)")), "element-wise minimum"),
    Mutant("acceptance_rate", "sum(p * q)",
           variant(RATE, ("torch.minimum(p, q).sum(dim=-1)", "(p * q).sum(dim=-1)")), "element-wise minimum"),
    Mutant("acceptance_rate", "1 - sum|p - q|: the total variation's half forgotten",
           variant(RATE, ("torch.minimum(p, q).sum(dim=-1)", "1 - (p - q).abs().sum(dim=-1)")), "element-wise minimum"),
    Mutant("acceptance_rate", "summed over every dimension",
           variant(RATE, ("torch.minimum(p, q).sum(dim=-1)", "torch.minimum(p, q).sum()")), "LAST dimension"),
    Mutant("acceptance_rate", "keepdim=True: a trailing dimension of 1",
           variant(RATE, ("sum(dim=-1)", "sum(dim=-1, keepdim=True)")), "LAST dimension"),
    Mutant("acceptance_rate", "computed in float64 whatever the inputs",
           variant(RATE, ("torch.minimum(p, q).sum(dim=-1)", "torch.minimum(p.double(), q.double()).sum(dim=-1)")), "dtype"),
    # expected_tokens_per_step
    Mutant("expected_tokens_per_step", "alpha ** k: the bonus token forgotten",
           variant(EXPECTED, ("alpha ** (k + 1)", "alpha ** k")), "k + 1"),
    Mutant("expected_tokens_per_step", "no case for alpha = 1: division by zero",
           variant(EXPECTED, ("    if alpha == 1:\n        return float(k + 1)\n", "")), "alpha = 1"),
    Mutant("expected_tokens_per_step", "k at alpha = 1 (the bonus token forgotten there)",
           variant(EXPECTED, ("return float(k + 1)", "return float(k)")), "alpha = 1"),
    Mutant("expected_tokens_per_step", "1 / (1 - alpha): as if k were infinite",
           variant(EXPECTED, ("(1 - alpha ** (k + 1)) / (1 - alpha)", "1 / (1 - alpha)")), "k + 1"),
    Mutant("expected_tokens_per_step", "1 + k * alpha: accepts counted as independent of the first rejection",
           variant(EXPECTED, ("(1 - alpha ** (k + 1)) / (1 - alpha)", "1 + k * alpha")), "k + 1"),
    Mutant("expected_tokens_per_step", "1 + (1 - alpha ** k) / (1 - alpha): the final token counted as a certain extra",
           variant(EXPECTED, ("(1 - alpha ** (k + 1)) / (1 - alpha)", "1 + (1 - alpha ** k) / (1 - alpha)")), "k + 1"),
    # speculative_greedy
    Mutant("speculative_greedy", "the draft's token appended at the first mismatch",
           variant(GREEDY, ("ids = torch.cat((ids, drafted[:accepted], choices[accepted:accepted + 1]))",
                            "ids = torch.cat((ids, drafted[:accepted + 1] if accepted < n else torch.cat((drafted, choices[n:]))))")),
           "target's argmax"),
    Mutant("speculative_greedy", "no bonus token when every draft matches",
           variant(GREEDY, ("ids = torch.cat((ids, drafted[:accepted], choices[accepted:accepted + 1]))",
                            "ids = torch.cat((ids, drafted[:accepted], choices[accepted:accepted + 1] if accepted < n or n == 0 else choices[:0]))")),
           "bonus"),
    Mutant("speculative_greedy", "always k drafts, the surplus cut at the end",
           variant(GREEDY, ("n = min(k, max_new_tokens - (len(ids) - prompt_length) - 1)", "n = k"),
                   ("    return ids.clone()", "    return ids[:prompt_length + max_new_tokens].clone()")),
           "max_new_tokens - generated - 1"),
    Mutant("speculative_greedy", "always k drafts, nothing cut: too many tokens",
           variant(GREEDY, ("n = min(k, max_new_tokens - (len(ids) - prompt_length) - 1)", "n = k")), "max_new_tokens"),
    Mutant("speculative_greedy", "one target call per draft token to verify it",
           variant(GREEDY, ("choices = target(sequence[None])[0][0, len(ids) - 1:].argmax(dim=-1)",
                            "choices = torch.stack([target(sequence[None, :j])[0][0, -1].argmax() for j in range(len(ids), len(sequence) + 1)])")),
           "ONE target call"),
    Mutant("speculative_greedy", "the target's logits read one position late",
           variant(GREEDY, ("choices = target(sequence[None])[0][0, len(ids) - 1:].argmax(dim=-1)",
                            "choices = torch.cat((target(sequence[None])[0][0, len(ids):].argmax(dim=-1), target(sequence[None])[0][0, -1:].argmax(dim=-1)))")),
           "argmax"),
    Mutant("speculative_greedy", "drafts compared with the draft's own argmax: every draft accepted",
           variant(GREEDY, ("while accepted < n and drafted[accepted] == choices[accepted]:", "while accepted < n:")),
           "target's argmax"),
]
