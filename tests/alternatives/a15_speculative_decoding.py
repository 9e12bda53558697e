"""15-speculative-decoding: edge-case bugs the text's domain exposes (the boundary u = p/q written as a product,
an exception at u = 0, 0/0 hidden by nan_to_num or an epsilon, one p == q test for a whole batch, a changed
argument, an int for a bool, a float for a tensor, a step that keeps the rejected token, a draft that reads only
part of the sequence, an off-by-one number of drafts), and correct solutions written in unusual ways. Each
solution replaces the whole solution cell of its exercise."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m15_speculative_decoding import ACCEPT as ACCEPT_PLAIN
from tests.mutants.m15_speculative_decoding import EXPECTED as EXPECTED_PLAIN
from tests.mutants.m15_speculative_decoding import GREEDY as GREEDY_PLAIN
from tests.mutants.m15_speculative_decoding import RATE as RATE_PLAIN
from tests.mutants.m15_speculative_decoding import RESIDUAL as RESIDUAL_PLAIN
from tests.mutants.m15_speculative_decoding import STEP as STEP_PLAIN

ASSIGNMENT = "15-speculative-decoding"

ACCEPT = "accept_draft_token"
RESIDUAL = "residual_distribution"
STEP = "speculative_step"
RATE = "acceptance_rate"
EXPECTED = "expected_tokens_per_step"
GREEDY = "speculative_greedy"

WRONG = [
    # accept_draft_token ----------------------------------------------------------------------------
    Wrong(ACCEPT, "written as a product, u * q <= p: the boundary accepted",
          variant(ACCEPT_PLAIN, ("u < p[token] / q[token]", "u * q[token] <= p[token]")), "strict"),
    Wrong(ACCEPT, "in log space: log(0) raises for u = 0 or p = 0",
          '''
import math


def accept_draft_token(p, q, token, u):
    return bool(math.log(u) < math.log(p[token]) - math.log(q[token]))
''', "raised"),
    Wrong(ACCEPT, "an int (1 or 0) instead of a bool",
          variant(ACCEPT_PLAIN, ("return bool(u < p[token] / q[token])", "return int(u < p[token] / q[token])")), "bool"),
    Wrong(ACCEPT, "a fresh random draw instead of u",
          variant(ACCEPT_PLAIN, ("return bool(u < p[token] / q[token])", "return bool(torch.rand(()) < p[token] / q[token])")),
          "the target's probability over the draft's"),

    # residual_distribution -------------------------------------------------------------------------
    Wrong(RESIDUAL, "nan_to_num: zeros where p == q",
          variant(RESIDUAL_PLAIN, ("return torch.where(total > 0, residual / total, p)", "return torch.nan_to_num(residual / total)")),
          "p equals q"),
    Wrong(RESIDUAL, "an epsilon under the division: zeros where p == q",
          variant(RESIDUAL_PLAIN, ("return torch.where(total > 0, residual / total, p)", "return residual / total.clamp(min=1e-12)")),
          "p equals q"),
    Wrong(RESIDUAL, "one p == q test for the whole batch",
          variant(RESIDUAL_PLAIN, ("    return torch.where(total > 0, residual / total, p)",
                                   "    if total.sum() == 0:\n        return p.clone()\n    return residual / total")),
          "LAST dimension"),
    Wrong(RESIDUAL, "p itself returned where p == q",
          variant(RESIDUAL_PLAIN, ("    residual = (p - q).clamp(min=0)", "    if torch.equal(p, q):\n        return p\n    residual = (p - q).clamp(min=0)")),
          "itself"),
    Wrong(RESIDUAL, "normalised along the first dimension",
          variant(RESIDUAL_PLAIN, ("residual.sum(dim=-1, keepdim=True)", "residual.sum(dim=0, keepdim=True)")), "LAST dimension"),

    # speculative_step ------------------------------------------------------------------------------
    Wrong(STEP, "the rejected draft kept before the residual token",
          '''
def speculative_step(p, q, draft_tokens, uniforms):
    k = len(draft_tokens)
    emitted = []
    for i in range(k):
        emitted.append(int(draft_tokens[i]))
        if not accept_draft_token(p[i], q[i], draft_tokens[i], uniforms[i]):
            return emitted + [sample_from(residual_distribution(p[i], q[i]), uniforms[k])]
    return emitted + [sample_from(p[k], uniforms[k])]
''', "residual_distribution(p[i], q[i])"),
    Wrong(STEP, "the final token drawn with the next uniform, uniforms[i + 1]",
          variant(STEP_PLAIN, ("sample_from(residual_distribution(p[i], q[i]), uniforms[k])",
                               "sample_from(residual_distribution(p[i], q[i]), uniforms[i + 1])")), "LAST uniform"),
    Wrong(STEP, "p's row replaced by the residual in place",
          variant(STEP_PLAIN, ("            return emitted + [sample_from(residual_distribution(p[i], q[i]), uniforms[k])]",
                               "            p[i] = residual_distribution(p[i], q[i])\n            return emitted + [sample_from(p[i], uniforms[k])]")),
          "in place"),
    Wrong(STEP, "the bonus token drawn from the residual of the last rows",
          variant(STEP_PLAIN, ("    return emitted + [sample_from(p[k], uniforms[k])]",
                               "    return emitted + [sample_from(residual_distribution(p[k], q[k - 1]) if k else p[k], uniforms[k])]")),
          "bonus token"),

    # acceptance_rate -------------------------------------------------------------------------------
    Wrong(RATE, "a Python float instead of a tensor",
          variant(RATE_PLAIN, ("return torch.minimum(p, q).sum(dim=-1)", "return torch.minimum(p, q).sum().item()")), "tensor"),
    Wrong(RATE, "summed along the first dimension",
          variant(RATE_PLAIN, ("sum(dim=-1)", "sum(dim=0)")), "LAST dimension"),
    Wrong(RATE, "computed in float32 whatever the inputs",
          variant(RATE_PLAIN, ("torch.minimum(p, q).sum(dim=-1)", "torch.minimum(p.float(), q.float()).sum(dim=-1)")), "dtype"),

    # expected_tokens_per_step ----------------------------------------------------------------------
    Wrong(EXPECTED, "the sum of alpha ** i for i < k: the bonus token forgotten",
          '''
def expected_tokens_per_step(alpha, k):
    return float(sum(alpha ** i for i in range(k)))
''', "k + 1"),
    Wrong(EXPECTED, "alpha = 1 caught as ZeroDivisionError, returning k",
          '''
def expected_tokens_per_step(alpha, k):
    try:
        return (1 - alpha ** (k + 1)) / (1 - alpha)
    except ZeroDivisionError:
        return float(k)
''', "alpha = 1"),
    Wrong(EXPECTED, "a tensor instead of a number",
          variant(EXPECTED_PLAIN, ("    return (1 - alpha ** (k + 1)) / (1 - alpha)", "    return torch.tensor((1 - alpha ** (k + 1)) / (1 - alpha))")),
          "a number"),
    Wrong(EXPECTED, "floor division",
          variant(EXPECTED_PLAIN, ("(1 - alpha ** (k + 1)) / (1 - alpha)", "(1 - alpha ** (k + 1)) // (1 - alpha)")), "k + 1"),

    # speculative_greedy ----------------------------------------------------------------------------
    Wrong(GREEDY, "the draft reads only the last token and this step's drafts",
          variant(GREEDY_PLAIN, ("next_id = draft(sequence[None])[0][0, -1].argmax()", "next_id = draft(sequence[None, len(ids) - 1:])[0][0, -1].argmax()")),
          "whole sequence so far"),
    Wrong(GREEDY, "one draft too many per step, the surplus cut at the end",
          variant(GREEDY_PLAIN, ("n = min(k, max_new_tokens - (len(ids) - prompt_length) - 1)", "n = min(k, max_new_tokens - (len(ids) - prompt_length))"),
                  ("    return ids.clone()", "    return ids[:prompt_length + max_new_tokens].clone()")),
          "max_new_tokens - generated - 1"),
    Wrong(GREEDY, "the token after a mismatch computed by another target call",
          variant(GREEDY_PLAIN, ("ids = torch.cat((ids, drafted[:accepted], choices[accepted:accepted + 1]))",
                                 "ids = torch.cat((ids, drafted[:accepted]))\n"
                                 "            ids = torch.cat((ids, target(ids[None])[0][0, -1].argmax()[None]))")),
          "ONE target call"),
    Wrong(GREEDY, "the prompt left out of the result",
          variant(GREEDY_PLAIN, ("    return ids.clone()", "    return ids[prompt_length:].clone()")), "the prompt first"),
]

CORRECT = [
    Correct(ACCEPT, "a product: u * q < p", variant(ACCEPT_PLAIN, ("u < p[token] / q[token]", "u * q[token] < p[token]"))),
    Correct(ACCEPT, "min(1, p/q) as a Python float",
            variant(ACCEPT_PLAIN, ("return bool(u < p[token] / q[token])", "return u < min(1.0, (p[token] / q[token]).item())"))),
    Correct(RESIDUAL, "relu and NaN replaced by p", '''
def residual_distribution(p, q):
    residual = torch.relu(p - q)
    normalised = residual / residual.sum(dim=-1, keepdim=True)
    return torch.where(torch.isnan(normalised), p, normalised)
'''),
    Correct(RESIDUAL, "one row at a time", '''
def residual_distribution(p, q):
    rows = []
    for p_row, q_row in zip(p.reshape(-1, p.shape[-1]), q.reshape(-1, q.shape[-1])):
        residual = torch.clamp(p_row - q_row, min=0)
        rows.append(residual / residual.sum() if residual.sum() > 0 else p_row.clone())
    return torch.stack(rows).reshape(p.shape)
'''),
    Correct(STEP, "the number accepted first, then the tokens", '''
def speculative_step(p, q, draft_tokens, uniforms):
    k = len(draft_tokens)
    n = next((i for i in range(k) if not accept_draft_token(p[i], q[i], draft_tokens[i], uniforms[i])), k)
    last = residual_distribution(p[n], q[n]) if n < k else p[k]
    return [int(token) for token in draft_tokens[:n]] + [sample_from(last, uniforms[-1])]
'''),
    Correct(STEP, "recursion over the drafts", '''
def speculative_step(p, q, draft_tokens, uniforms, _i=0):
    k = len(draft_tokens)
    if _i == k:
        return [sample_from(p[k], uniforms[k])]
    if not accept_draft_token(p[_i], q[_i], draft_tokens[_i], uniforms[_i]):
        return [sample_from(residual_distribution(p[_i], q[_i]), uniforms[k])]
    return [int(draft_tokens[_i])] + speculative_step(p, q, draft_tokens, uniforms, _i + 1)
'''),
    Correct(RATE, "one minus the total variation distance",
            variant(RATE_PLAIN, ("torch.minimum(p, q).sum(dim=-1)", "1 - 0.5 * (p - q).abs().sum(dim=-1)"))),
    Correct(RATE, "torch.min with two tensors",
            variant(RATE_PLAIN, ("torch.minimum(p, q).sum(dim=-1)", "torch.min(p, q).sum(-1)"))),
    Correct(EXPECTED, "the sum of powers", '''
def expected_tokens_per_step(alpha, k):
    return float(sum(alpha ** i for i in range(k + 1)))
'''),
    Correct(EXPECTED, "Horner's loop", '''
def expected_tokens_per_step(alpha, k):
    total = 1.0
    for _ in range(k):
        total = 1.0 + alpha * total
    return total
'''),
    Correct(GREEDY, "matches counted with cumprod", variant(GREEDY_PLAIN, (
        '''            accepted = 0
            while accepted < n and drafted[accepted] == choices[accepted]:
                accepted += 1''',
        '''            accepted = int((drafted == choices[:n]).long().cumprod(0).sum())'''))),
    Correct(GREEDY, "Python lists, a tensor at the end", '''
def speculative_greedy(target, draft, ids, max_new_tokens, k):
    tokens, goal = ids.tolist(), len(ids) + max_new_tokens
    with torch.no_grad():
        while len(tokens) < goal:
            start = len(tokens)
            proposal = list(tokens)
            for _ in range(min(k, goal - start - 1)):
                proposal.append(int(draft(torch.tensor([proposal]))[0][0, -1].argmax()))
            best = target(torch.tensor([proposal]))[0][0, start - 1:].argmax(-1).tolist()
            for position, token in enumerate(proposal[start:]):
                if token != best[position]:
                    break
                tokens.append(token)
            tokens.append(best[len(tokens) - start])
    return torch.tensor(tokens)
'''),
]
