"""13-generation: edge-case bugs the text's domain exposes (-inf replaced by a finite number, in-place
augmented assignment, shortcuts that return the caller's tensor, a scatter along the wrong dimension, other
samplers than torch.multinomial, an off-by-one length, the wrong finished score in the stopping rule), and
correct solutions written in unusual ways. Each solution replaces the whole solution cell of its exercise."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m13_generation import BEAM as BEAM_PLAIN
from tests.mutants.m13_generation import GENERATE as GENERATE_PLAIN
from tests.mutants.m13_generation import TEMPERATURE as TEMPERATURE_PLAIN
from tests.mutants.m13_generation import TOP_K as TOP_K_PLAIN
from tests.mutants.m13_generation import TOP_P as TOP_P_PLAIN

ASSIGNMENT = "13-generation"

TEMPERATURE = "apply_temperature"
TOP_K = "top_k_filter"
TOP_P = "top_p_filter"
GENERATE = "generate"
BEAM = "beam_search"

WRONG = [
    # apply_temperature -----------------------------------------------------------------------------
    Wrong(TEMPERATURE, "0 accepted: only negative temperatures rejected",
          variant(TEMPERATURE_PLAIN, ("if temperature <= 0:", "if temperature < 0:")), "Raise ValueError"),
    Wrong(TEMPERATURE, "logits /= temperature: an in-place augmented assignment",
          variant(TEMPERATURE_PLAIN, ("    return logits / temperature", "    logits /= temperature\n    return logits")), "in place"),
    Wrong(TEMPERATURE, "computed in float64: float32 and bfloat16 logits come back as float64",
          variant(TEMPERATURE_PLAIN, ("return logits / temperature", "return logits.double() / temperature")), "dtype"),
    Wrong(TEMPERATURE, "clamped to avoid infinities: -inf becomes -1e4",
          variant(TEMPERATURE_PLAIN, ("return logits / temperature", "return (logits / temperature).clamp(min=-1e4)")), "-inf"),

    # top_k_filter ----------------------------------------------------------------------------------
    Wrong(TOP_K, "the k-th value without keepdim: rows compared with the wrong threshold",
          variant(TOP_K_PLAIN, ("torch.topk(logits, k, dim=-1).values[..., -1:]", "torch.topk(logits, k, dim=-1).values[..., -1]")),
          "each row with its own"),
    Wrong(TOP_K, "logits[logits < kth] = -inf: the caller's tensor changed",
          variant(TOP_K_PLAIN, ('    return logits.masked_fill(logits < kth_largest, float("-inf"))',
                                '    logits[logits < kth_largest] = float("-inf")\n    return logits')), "in place"),
    Wrong(TOP_K, "a shortcut for k >= vocab that returns the caller's tensor",
          variant(TOP_K_PLAIN, ("    k = min(k, logits.shape[-1])\n", "    if k >= logits.shape[-1]:\n        return logits\n")),
          "itself"),
    Wrong(TOP_K, "-1e9 instead of -inf",
          variant(TOP_K_PLAIN, ('float("-inf")', "-1e9")), "-inf"),

    # top_p_filter ----------------------------------------------------------------------------------
    Wrong(TOP_P, "scatter along dimension 0: right for 1-D logits only",
          variant(TOP_P_PLAIN, ("remove_sorted.scatter(-1, order, remove_sorted)", "remove_sorted.scatter(0, order, remove_sorted)")),
          "LAST dimension"),
    Wrong(TOP_P, "a shortcut for p = 1 that returns the caller's tensor",
          variant(TOP_P_PLAIN, ("    sorted_logits, order =", "    if p == 1:\n        return logits\n    sorted_logits, order =")),
          "itself"),
    Wrong(TOP_P, "descending order, kept while the mass before a token is below p: ties resolved the other way",
          variant(TOP_P_PLAIN, ("torch.sort(logits, dim=-1, stable=True)", "torch.sort(logits, dim=-1, descending=True, stable=True)"),
                  ("cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)",
                   "probabilities = sorted_logits.softmax(dim=-1)\n    before = probabilities.cumsum(dim=-1) - probabilities"),
                  ("remove_sorted = cumulative <= 1 - p", "remove_sorted = before >= p"),
                  ("remove_sorted[..., -1] = False", "remove_sorted[..., 0] = False")), "stable=True"),

    # generate --------------------------------------------------------------------------------------
    Wrong(GENERATE, "torch.distributions.Categorical: another sampling algorithm, another random stream",
          variant(GENERATE_PLAIN, ("next_id = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)[:, 0]",
                                   "torch.manual_seed(seed + len(ids))\n                next_id = torch.distributions.Categorical(logits=logits).sample()")),
          "multinomial"),
    Wrong(GENERATE, "the Gumbel-max trick: the right distribution, another random stream",
          variant(GENERATE_PLAIN, ("next_id = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)[:, 0]",
                                   "gumbel = -torch.log(-torch.log(torch.rand(logits.shape, generator=generator)))\n"
                                   "                next_id = (logits + gumbel).argmax(dim=-1)")), "multinomial"),
    Wrong(GENERATE, "a Python list returned instead of a tensor",
          variant(GENERATE_PLAIN, ("    return ids\n", "    return ids.tolist()\n")), "1-D torch.long"),
    Wrong(GENERATE, "the context cropped to the last 8 tokens",
          variant(GENERATE_PLAIN, ("logits = model(ids[None])[0][:, -1, :].float()", "logits = model(ids[None, -8:])[0][:, -1, :].float()")),
          "LAST position"),

    # beam_search -----------------------------------------------------------------------------------
    Wrong(BEAM, "the length penalty off by one: (t + 1) ** length_penalty",
          variant(BEAM_PLAIN, ("done.append((score / t ** length_penalty, tokens))", "done.append((score / (t + 1) ** length_penalty, tokens))")),
          "length_penalty"),
    Wrong(BEAM, "the early stop compares with the best finished score instead of the worst",
          variant(BEAM_PLAIN, ("<= done[-1][0]", "<= done[0][0]")), "Stop once"),
    Wrong(BEAM, "every finished sequence kept, not only the num_beams best",
          variant(BEAM_PLAIN, ("done = sorted(done, key=lambda hypothesis: hypothesis[0], reverse=True)[:num_beams]",
                               "done = sorted(done, key=lambda hypothesis: hypothesis[0], reverse=True)")), "Stop once"),
]

CORRECT = [
    Correct(TEMPERATURE, "multiplication by the inverse", variant(TEMPERATURE_PLAIN, ("logits / temperature", "logits * (1.0 / temperature)"))),
    Correct(TEMPERATURE, "a clone divided in place", variant(TEMPERATURE_PLAIN, ("logits / temperature", "logits.clone().div_(temperature)"))),
    Correct(TOP_K, "torch.kthvalue from below", variant(TOP_K_PLAIN, (
        "kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]",
        "kth_largest = torch.kthvalue(logits, logits.shape[-1] - k + 1, dim=-1, keepdim=True).values"))),
    Correct(TOP_K, "a descending sort and torch.where", '''
def top_k_filter(logits, k):
    if k < 1:
        raise ValueError("k must be at least 1")
    k = min(k, logits.shape[-1])
    threshold = logits.sort(dim=-1, descending=True).values[..., k - 1:k]
    return torch.where(logits >= threshold, logits, torch.full_like(logits, float("-inf")))
'''),
    Correct(TOP_P, "the inverse permutation with gather", variant(TOP_P_PLAIN, (
        "remove = remove_sorted.scatter(-1, order, remove_sorted)", "remove = remove_sorted.gather(-1, order.argsort(dim=-1))"))),
    Correct(TOP_P, "one row at a time", '''
def top_p_filter(logits, p):
    if not 0 < p <= 1:
        raise ValueError("p must be in (0, 1]")
    rows = logits.reshape(-1, logits.shape[-1])
    filtered = []
    for row in rows:
        sorted_row, order = torch.sort(row, stable=True)
        remove = sorted_row.softmax(dim=0).cumsum(dim=0) <= 1 - p
        remove[-1] = False
        mask = torch.zeros_like(remove)
        mask[order] = remove
        filtered.append(torch.where(mask, torch.tensor(float("-inf"), dtype=row.dtype), row))
    return torch.stack(filtered).reshape(logits.shape)
'''),
    Correct(GENERATE, "the global generator seeded with torch.manual_seed", variant(GENERATE_PLAIN, (
        "    generator = torch.Generator().manual_seed(seed)\n", "    torch.manual_seed(seed)\n"),
        ("torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)", "torch.multinomial(F.softmax(logits, dim=-1), 1)"))),
    Correct(GENERATE, "a Python list of ids, a tensor at the end", '''
def generate(model, ids, max_new_tokens, temperature=1.0, top_k=0, top_p=1.0, greedy=False, eos_id=None, seed=0):
    generator = torch.Generator().manual_seed(seed)
    tokens = ids.tolist()
    for _ in range(max_new_tokens):
        with torch.no_grad():
            scores = model(torch.tensor([tokens]))[0][:, -1].to(torch.float32)
        if greedy:
            token = int(scores[0].argmax())
        else:
            scores = apply_temperature(scores, temperature) if temperature != 1 else scores
            scores = top_k_filter(scores, top_k) if top_k else scores
            scores = top_p_filter(scores, top_p) if top_p < 1 else scores
            token = int(torch.multinomial(scores.softmax(dim=-1), num_samples=1, generator=generator))
        tokens.append(token)
        if eos_id is not None and token == eos_id:
            break
    return torch.tensor(tokens, dtype=torch.long)
'''),
    Correct(BEAM, "each beam's own top 2 * num_beams, then the best of their union", variant(BEAM_PLAIN, (
        "            scores, indices = sums.flatten().topk(2 * num_beams)\n",
        "            per_beam = sums.topk(min(2 * num_beams, sums.shape[-1]), dim=-1)\n"
        "            flat_ids = per_beam.indices + torch.arange(len(running))[:, None] * sums.shape[-1]\n"
        "            best = per_beam.values.flatten().topk(2 * num_beams)\n"
        "            scores, indices = best.values, flat_ids.flatten()[best.indices]\n"))),
    Correct(BEAM, "finished sequences in a heap", '''
import heapq


def beam_search(model, ids, num_beams, max_new_tokens, length_penalty=1.0, eos_id=None):
    running = [(0.0, ids.tolist())]
    finished = []  # a min-heap of (score, tokens): the worst kept on top
    for t in range(1, max_new_tokens + 1):
        with torch.no_grad():
            logits = model(torch.tensor([beam for _, beam in running]))[0][:, -1, :].float()
        totals = torch.tensor([[total] for total, _ in running]) + torch.log_softmax(logits, dim=-1)
        scores, indices = torch.topk(totals.reshape(-1), 2 * num_beams)
        next_running = []
        for rank in range(2 * num_beams):
            beam, token = divmod(int(indices[rank]), logits.shape[-1])
            tokens = running[beam][1] + [token]
            score = float(scores[rank])
            if token == eos_id or t == max_new_tokens:
                if rank < num_beams:
                    heapq.heappush(finished, (score / t ** length_penalty, tokens))
                    if len(finished) > num_beams:
                        heapq.heappop(finished)
            elif len(next_running) < num_beams:
                next_running.append((score, tokens))
        running = next_running
        if not running:
            break
        if len(finished) == num_beams and running[0][0] / t ** length_penalty <= finished[0][0]:
            break
    return torch.tensor(max(finished)[1])
'''),
]
