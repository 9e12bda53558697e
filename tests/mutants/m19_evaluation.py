"""Plausible wrong solutions for 19-evaluation."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "19-evaluation"

LOGPROB = '''
def choice_logprob(model, context_ids, continuation_ids):
    context, continuation = [int(i) for i in context_ids], [int(i) for i in continuation_ids]
    if not context:
        raise ValueError("the context needs at least one token")
    if not continuation:
        return 0.0
    ids = torch.tensor(context + continuation)
    with torch.no_grad():
        logits = model(ids[None, :-1])[0][0]
    logprobs = logits.double().log_softmax(-1)[len(context) - 1:]
    return logprobs.gather(-1, ids[len(context):, None]).sum().item()
'''

MC = '''
def multiple_choice_metrics(logprobs, choices, gold):
    def first_best(scores):
        best = 0
        for i, score in enumerate(scores):
            if score > scores[best]:
                best = i
        return best

    per_character = [lp / len(choice) for lp, choice in zip(logprobs, choices)]
    per_byte = [lp / len(choice.encode("utf-8")) for lp, choice in zip(logprobs, choices)]
    return {"acc": float(first_best(logprobs) == gold), "acc_norm": float(first_best(per_character) == gold),
            "acc_bytes": float(first_best(per_byte) == gold)}
'''

PPL = '''
def perplexity_metrics(loglikelihoods, texts, token_counts):
    total = sum(loglikelihoods)
    words = sum(len(re.split(r"\\s+", text)) for text in texts)
    nbytes = sum(len(text.encode("utf-8")) for text in texts)
    return {"token_perplexity": math.exp(-total / sum(token_counts)), "word_perplexity": math.exp(-total / words),
            "byte_perplexity": math.exp(-total / nbytes), "bits_per_byte": -total / (nbytes * math.log(2))}
'''

BOOT = '''
def bootstrap_stderr(values, iterations):
    chunk = min(1000, iterations)
    means = []
    for c in range(iterations // chunk):
        rng = random.Random(c)
        for _ in range(chunk):
            sample = rng.choices(values, k=len(values))
            means.append(sum(sample) / len(sample))
    center = sum(means) / len(means)
    return math.sqrt(sum((m - center) ** 2 for m in means) / (len(means) - 1))
'''

WIN = '''
def win_rate_matrix(judgments, n_models):
    points = torch.zeros(n_models, n_models, dtype=torch.float64)
    games = torch.zeros(n_models, n_models, dtype=torch.float64)
    for i, j, first, swapped in judgments:
        if first == "first" and swapped == "second":
            score = 1.0
        elif first == "second" and swapped == "first":
            score = 0.0
        else:
            score = 0.5
        points[i, j] += score
        points[j, i] += 1.0 - score
        games[i, j] += 1
        games[j, i] += 1
    rates = points / games
    rates.fill_diagonal_(float("nan"))
    return rates
'''

MUTANTS = [
    # choice_logprob
    Mutant("choice_logprob", "no shift: the logits at each token's own position",
           variant(LOGPROB, ("logits = model(ids[None, :-1])[0][0]", "logits = model(ids[None])[0][0]"),
                   ("[len(context) - 1:]", "[len(context):]")), "LAST CONTEXT position"),
    Mutant("choice_logprob", "the context's tokens added too",
           variant(LOGPROB, ("logprobs = logits.double().log_softmax(-1)[len(context) - 1:]",
                             "logprobs = logits.double().log_softmax(-1)"),
                   ("ids[len(context):, None]", "ids[1:, None]")), "continuation's tokens"),
    Mutant("choice_logprob", "the mean instead of the sum",
           variant(LOGPROB, (".sum().item()", ".mean().item()")), "EVERY continuation token"),
    Mutant("choice_logprob", "log_softmax in the model's dtype",
           variant(LOGPROB, ("logits.double().log_softmax(-1)", "logits.log_softmax(-1).double()")), "float64"),
    Mutant("choice_logprob", "a 0-d tensor instead of a float",
           variant(LOGPROB, (".sum().item()", ".sum()"), ("return 0.0", "return torch.tensor(0.0)")), "float"),
    Mutant("choice_logprob", "no ValueError for an empty context (index -1 wraps around)",
           variant(LOGPROB, ('    if not context:\n        raise ValueError("the context needs at least one token")\n', "")),
           "ValueError"),
    Mutant("choice_logprob", "one model call per continuation token",
           '''
def choice_logprob(model, context_ids, continuation_ids):
    ids = [int(i) for i in context_ids]
    if not ids:
        raise ValueError("empty context")
    total = 0.0
    with torch.no_grad():
        for token in [int(i) for i in continuation_ids]:
            logits = model(torch.tensor([ids]))[0][0, -1]
            total += logits.double().log_softmax(-1)[token].item()
            ids.append(token)
    return total
''', "once"),

    # multiple_choice_metrics
    Mutant("multiple_choice_metrics", "acc_norm per UTF-8 byte",
           variant(MC, ("per_character = [lp / len(choice) for", "per_character = [lp / len(choice.encode()) for")),
           "CHARACTERS"),
    Mutant("multiple_choice_metrics", "acc_bytes per character",
           variant(MC, ('per_byte = [lp / len(choice.encode("utf-8")) for', "per_byte = [lp / len(choice) for")),
           "BYTES"),
    Mutant("multiple_choice_metrics", "ties go to the last index",
           variant(MC, ("if score > scores[best]:", "if score >= scores[best]:")), "FIRST index"),
    Mutant("multiple_choice_metrics", "acc on the normalised scores",
           variant(MC, ('"acc": float(first_best(logprobs) == gold)', '"acc": float(first_best(per_character) == gold)')),
           "RAW"),
    Mutant("multiple_choice_metrics", "bools instead of floats",
           variant(MC, ('"acc": float(first_best(logprobs) == gold)', '"acc": first_best(logprobs) == gold')),
           "float"),
    Mutant("multiple_choice_metrics", "the smallest log-likelihood picked (a loss read as a likelihood)",
           variant(MC, ("if score > scores[best]:", "if score < scores[best]:")), "Compare raw"),

    # perplexity_metrics
    Mutant("perplexity_metrics", "the mean of per-document perplexities",
           '''
def perplexity_metrics(loglikelihoods, texts, token_counts):
    n = len(texts)
    words = [len(re.split(r"\\s+", t)) for t in texts]
    nbytes = [max(1, len(t.encode("utf-8"))) for t in texts]
    return {"token_perplexity": sum(math.exp(-l / c) for l, c in zip(loglikelihoods, token_counts)) / n,
            "word_perplexity": sum(math.exp(-l / w) for l, w in zip(loglikelihoods, words)) / n,
            "byte_perplexity": sum(math.exp(-l / b) for l, b in zip(loglikelihoods, nbytes)) / n,
            "bits_per_byte": sum(-l / b / math.log(2) for l, b in zip(loglikelihoods, nbytes)) / n}
''', "TOTAL"),
    Mutant("perplexity_metrics", "words counted with str.split()",
           variant(PPL, ('len(re.split(r"\\s+", text))', "max(1, len(text.split()))")), "re.split"),
    Mutant("perplexity_metrics", "characters instead of bytes",
           variant(PPL, ('len(text.encode("utf-8"))', "len(text)")), "UTF-8"),
    Mutant("perplexity_metrics", "bits per byte in nats",
           variant(PPL, ("-total / (nbytes * math.log(2))", "-total / nbytes")), "ln 2"),
    Mutant("perplexity_metrics", "token perplexity over the number of texts",
           variant(PPL, ("math.exp(-total / sum(token_counts))", "math.exp(-total / len(texts))")), "token_counts"),
    Mutant("perplexity_metrics", "tensors instead of floats",
           variant(PPL, ('"token_perplexity": math.exp(-total / sum(token_counts))',
                         '"token_perplexity": torch.tensor(-total / sum(token_counts)).exp()')), "float"),

    # bootstrap_stderr
    Mutant("bootstrap_stderr", "one generator for all draws",
           variant(BOOT, ("        rng = random.Random(c)\n", ""),
                   ("    means = []\n", "    means = []\n    rng = random.Random(0)\n")), "own random.Random(c)"),
    Mutant("bootstrap_stderr", "the population standard deviation",
           variant(BOOT, ("/ (len(means) - 1))", "/ len(means))")), "(number of draws - 1)"),
    Mutant("bootstrap_stderr", "resamples without replacement",
           variant(BOOT, ("rng.choices(values, k=len(values))", "rng.sample(values, k=len(values))")), "with replacement"),
    Mutant("bootstrap_stderr", "every iteration drawn, the remainder kept",
           variant(BOOT, ("    for c in range(iterations // chunk):", "    for c in range(-(-iterations // chunk)):"),
                   ("        for _ in range(chunk):", "        for _ in range(min(chunk, iterations - c * chunk)):")),
           "dropped"),
    Mutant("bootstrap_stderr", "a numpy generator",
           '''
import numpy as np


def bootstrap_stderr(values, iterations):
    rng = np.random.default_rng(0)
    means = [rng.choice(values, size=len(values)).mean() for _ in range(iterations)]
    return float(np.std(means, ddof=1))
''', "random.Random"),
    Mutant("bootstrap_stderr", "a tensor instead of a float",
           variant(BOOT, ("    return math.sqrt(sum((m - center) ** 2 for m in means) / (len(means) - 1))",
                          "    return torch.tensor(means, dtype=torch.float64).std()")), "float"),

    # win_rate_matrix
    Mutant("win_rate_matrix", "the first game's verdict only",
           variant(WIN, ('if first == "first" and swapped == "second":', 'if first == "first":'),
                   ('elif first == "second" and swapped == "first":', 'elif first == "second":')), "BOTH"),
    Mutant("win_rate_matrix", "the swapped verdict read from the same side",
           variant(WIN, ('if first == "first" and swapped == "second":', 'if first == "first" and swapped == "first":'),
                   ('elif first == "second" and swapped == "first":', 'elif first == "second" and swapped == "second":')),
           "both positions"),
    Mutant("win_rate_matrix", "ties skipped: not counted as games",
           variant(WIN, ("        else:\n            score = 0.5\n", "        else:\n            continue\n")), "0.5"),
    Mutant("win_rate_matrix", "the second model's points never counted",
           variant(WIN, ("        points[j, i] += 1.0 - score\n", "")), "orientation"),
    Mutant("win_rate_matrix", "zeros where no game",
           variant(WIN, ("    rates = points / games\n    rates.fill_diagonal_(float(\"nan\"))\n",
                         "    rates = points / games.clamp(min=1)\n")), "NaN"),
    Mutant("win_rate_matrix", "float32",
           variant(WIN, ("points = torch.zeros(n_models, n_models, dtype=torch.float64)",
                         "points = torch.zeros(n_models, n_models)"),
                   ("games = torch.zeros(n_models, n_models, dtype=torch.float64)", "games = torch.zeros(n_models, n_models)")),
           "float64"),
]
