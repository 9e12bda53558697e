"""Plausible wrong solutions for 13-generation."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "13-generation"

TEMPERATURE = '''
def apply_temperature(logits, temperature):
    if temperature <= 0:
        raise ValueError("the temperature must be positive")
    return logits / temperature
'''

TOP_K = '''
def top_k_filter(logits, k):
    if k < 1:
        raise ValueError("k must be at least 1")
    k = min(k, logits.shape[-1])
    kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth_largest, float("-inf"))
'''

TOP_P = '''
def top_p_filter(logits, p):
    if not 0 < p <= 1:
        raise ValueError("p must be in (0, 1]")
    sorted_logits, order = torch.sort(logits, dim=-1, stable=True)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove_sorted = cumulative <= 1 - p
    remove_sorted[..., -1] = False
    remove = remove_sorted.scatter(-1, order, remove_sorted)
    return logits.masked_fill(remove, float("-inf"))
'''

GENERATE = '''
def generate(model, ids, max_new_tokens, temperature=1.0, top_k=0, top_p=1.0, greedy=False, eos_id=None, seed=0):
    generator = torch.Generator().manual_seed(seed)
    ids = ids.clone()
    with torch.no_grad():
        for _ in range(max_new_tokens):
            logits = model(ids[None])[0][:, -1, :].float()
            if greedy:
                next_id = logits.argmax(dim=-1)
            else:
                if temperature != 1.0:
                    logits = apply_temperature(logits, temperature)
                if top_k > 0:
                    logits = top_k_filter(logits, top_k)
                if top_p < 1.0:
                    logits = top_p_filter(logits, top_p)
                next_id = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)[:, 0]
            ids = torch.cat((ids, next_id))
            if next_id.item() == eos_id:
                break
    return ids
'''

BEAM = '''
def beam_search(model, ids, num_beams, max_new_tokens, length_penalty=1.0, eos_id=None):
    running = [(0.0, ids.tolist())]
    done = []
    with torch.no_grad():
        for t in range(1, max_new_tokens + 1):
            logits = model(torch.tensor([tokens for _, tokens in running]))[0][:, -1, :].float()
            sums = torch.tensor([total for total, _ in running])[:, None] + F.log_softmax(logits, dim=-1)
            scores, indices = sums.flatten().topk(2 * num_beams)
            candidates = []
            for rank, (score, index) in enumerate(zip(scores.tolist(), indices.tolist())):
                beam, token = divmod(index, logits.shape[-1])
                tokens = running[beam][1] + [token]
                if token == eos_id or t == max_new_tokens:
                    if rank < num_beams:
                        done.append((score / t ** length_penalty, tokens))
                else:
                    candidates.append((score, tokens))
            done = sorted(done, key=lambda hypothesis: hypothesis[0], reverse=True)[:num_beams]
            running = candidates[:num_beams]
            if not running or (len(done) == num_beams and running[0][0] / t ** length_penalty <= done[-1][0]):
                break
    return torch.tensor(done[0][1])
'''

MUTANTS = [
    # apply_temperature
    Mutant("apply_temperature", "multiplied by the temperature instead of divided",
           variant(TEMPERATURE, ("logits / temperature", "logits * temperature")), "Divide the logits"),
    Mutant("apply_temperature", "no ValueError: T = 0 divides by zero",
           variant(TEMPERATURE, ('    if temperature <= 0:\n        raise ValueError("the temperature must be positive")\n', "")),
           "Raise ValueError"),
    Mutant("apply_temperature", "only T = 0 rejected: negative temperatures flip the distribution",
           variant(TEMPERATURE, ("if temperature <= 0:", "if temperature == 0:")), "Raise ValueError"),
    Mutant("apply_temperature", "divided in place: the caller's logits change",
           variant(TEMPERATURE, ("return logits / temperature", "return logits.div_(temperature)")), "in place"),
    Mutant("apply_temperature", "the logits returned as they are at T = 1",
           variant(TEMPERATURE, ("    return logits / temperature", "    if temperature == 1:\n        return logits\n    return logits / temperature")),
           "returned the logits tensor itself"),
    Mutant("apply_temperature", "converted to float32: float64 and bfloat16 logits change dtype",
           variant(TEMPERATURE, ("return logits / temperature", "return logits.float() / temperature")), "dtype"),
    # top_k_filter
    Mutant("top_k_filter", "ties at the k-th value dropped: exactly k tokens kept by index",
           variant(TOP_K, ('''    kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth_largest, float("-inf"))''',
                           '''    keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, torch.topk(logits, k, dim=-1).indices, True)
    return logits.masked_fill(~keep, float("-inf"))''')), "Keep ties"),
    Mutant("top_k_filter", "off by one: the (k+1)-th largest as the threshold",
           variant(TOP_K, ("k = min(k, logits.shape[-1])", "k = min(k + 1, logits.shape[-1])")), "exactly the k largest"),
    Mutant("top_k_filter", "ties removed too: <= the k-th largest",
           variant(TOP_K, ("logits < kth_largest", "logits <= kth_largest")), "k = 1 keeps only the maximum"),
    Mutant("top_k_filter", "k not capped at the vocabulary: topk fails for k > vocab",
           variant(TOP_K, ("    k = min(k, logits.shape[-1])\n", "")), "larger than the vocabulary"),
    Mutant("top_k_filter", "masked in place: the caller's logits change",
           variant(TOP_K, ('return logits.masked_fill(logits < kth_largest, float("-inf"))',
                           'return logits.masked_fill_(logits < kth_largest, float("-inf"))')), "in place"),
    Mutant("top_k_filter", "one threshold for the whole batch instead of each row's own",
           variant(TOP_K, ("kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]",
                           "kth_largest = torch.topk(logits.flatten(), k).values[-1]")), "each row with its own"),
    Mutant("top_k_filter", "no ValueError for k < 1",
           variant(TOP_K, ('    if k < 1:\n        raise ValueError("k must be at least 1")\n', "")), "Raise ValueError"),
    # top_p_filter
    Mutant("top_p_filter", "the token that crosses p removed: descending cumulative > p removed",
           '''
def top_p_filter(logits, p):
    if not 0 < p <= 1:
        raise ValueError("p must be in (0, 1]")
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True, stable=True)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove_sorted = cumulative > p
    remove_sorted[..., 0] = False
    remove = remove_sorted.scatter(-1, order, remove_sorted)
    return logits.masked_fill(remove, float("-inf"))
''', "crosses p"),
    Mutant("top_p_filter", "no token kept for a small p: the most likely one is removed too",
           variant(TOP_P, ("    remove_sorted[..., -1] = False\n", "")), "at least one"),
    Mutant("top_p_filter", "the boundary kept: < 1 - p instead of <=",
           variant(TOP_P, ("cumulative <= 1 - p", "cumulative < 1 - p")), "EQUALS 1 - p"),
    Mutant("top_p_filter", "the first token of the sorted order kept instead of the last (the least likely)",
           variant(TOP_P, ("remove_sorted[..., -1] = False", "remove_sorted[..., 0] = False")), "at least one"),
    Mutant("top_p_filter", "the mask used in sorted order, not scattered back",
           variant(TOP_P, ("remove = remove_sorted.scatter(-1, order, remove_sorted)", "remove = remove_sorted")), "scatter"),
    Mutant("top_p_filter", "masked in place: the caller's logits change",
           variant(TOP_P, ('return logits.masked_fill(remove, float("-inf"))', 'return logits.masked_fill_(remove, float("-inf"))')),
           "in place"),
    Mutant("top_p_filter", "the cumulative sum of the logits instead of the probabilities",
           variant(TOP_P, ("cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)", "cumulative = sorted_logits.cumsum(dim=-1)")),
           "crosses p"),
    Mutant("top_p_filter", "a descending sort reversed: ties in the other order",
           variant(TOP_P, ("    sorted_logits, order = torch.sort(logits, dim=-1, stable=True)\n",
                           "    sorted_logits, order = torch.sort(logits, dim=-1, descending=True, stable=True)\n"
                           "    sorted_logits, order = sorted_logits.flip(-1), order.flip(-1)\n")),
           "stable=True"),
    # generate
    Mutant("generate", "the softmax over the batch dimension: every token equally likely",
           variant(GENERATE, ("torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)",
                              "torch.multinomial(F.softmax(logits, dim=0), 1, generator=generator)")), "softmax"),
    Mutant("generate", "the argmax over the batch dimension instead of the vocabulary",
           variant(GENERATE, ("next_id = logits.argmax(dim=-1)", "next_id = logits.argmax(dim=0)")), "dim=-1"),
    Mutant("generate", "the first position's logits instead of the last",
           variant(GENERATE, ("logits = model(ids[None])[0][:, -1, :].float()", "logits = model(ids[None])[0][:, 0, :].float()")),
           "LAST position"),
    Mutant("generate", "a new generator seeded at every step: the same random number each time",
           variant(GENERATE, ("next_id = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)[:, 0]",
                              "next_id = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=torch.Generator().manual_seed(seed))[:, 0]")),
           "ONE torch.Generator"),
    Mutant("generate", "the global RNG, never seeded: not reproducible",
           variant(GENERATE, ("torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)",
                              "torch.multinomial(F.softmax(logits, dim=-1), 1)")), "seed"),
    Mutant("generate", "top-p applied before the temperature",
           variant(GENERATE, ('''                if temperature != 1.0:
                    logits = apply_temperature(logits, temperature)
                if top_k > 0:
                    logits = top_k_filter(logits, top_k)
                if top_p < 1.0:
                    logits = top_p_filter(logits, top_p)''', '''                if top_p < 1.0:
                    logits = top_p_filter(logits, top_p)
                if top_k > 0:
                    logits = top_k_filter(logits, top_k)
                if temperature != 1.0:
                    logits = apply_temperature(logits, temperature)''')), "order"),
    Mutant("generate", "eos_id appended but generation goes on",
           variant(GENERATE, ("            if next_id.item() == eos_id:\n                break\n", "")), "eos_id"),
    Mutant("generate", "eos_id not kept in the output",
           variant(GENERATE, ('''            ids = torch.cat((ids, next_id))
            if next_id.item() == eos_id:
                break''', '''            if next_id.item() == eos_id:
                break
            ids = torch.cat((ids, next_id))''')), "kept in the output"),
    Mutant("generate", "the temperature ignored",
           variant(GENERATE, ("                    logits = apply_temperature(logits, temperature)\n", "                    pass\n")),
           "temperature"),
    # beam_search
    Mutant("beam_search", "no length penalty: finished sequences compared by their plain sums",
           variant(BEAM, ("done.append((score / t ** length_penalty, tokens))", "done.append((score, tokens))"),
                   ("running[0][0] / t ** length_penalty <= done[-1][0]", "running[0][0] <= done[-1][0]")), "length_penalty"),
    Mutant("beam_search", "EOS beams kept running: an eos candidate is extended like any other",
           variant(BEAM, ("if token == eos_id or t == max_new_tokens:", "if t == max_new_tokens:")), "eos"),
    Mutant("beam_search", "any eos candidate finishes, even below the first num_beams",
           variant(BEAM, ("                    if rank < num_beams:\n                        done.append", "                    if True:\n                        done.append")),
           "first num_beams"),
    Mutant("beam_search", "raw logits summed instead of log-probabilities (no log_softmax)",
           variant(BEAM, ("F.log_softmax(logits, dim=-1)", "logits")), "log_softmax"),
    Mutant("beam_search", "the prompt length counted in the length penalty",
           variant(BEAM, ("done.append((score / t ** length_penalty, tokens))", "done.append((score / len(tokens) ** length_penalty, tokens))")),
           "the prompt not"),
    Mutant("beam_search", "runs to max_new_tokens without the early stop",
           variant(BEAM, ("if not running or (len(done) == num_beams and running[0][0] / t ** length_penalty <= done[-1][0]):",
                          "if not running:")), "Stop once"),
]
