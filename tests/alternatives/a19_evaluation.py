"""19-evaluation: edge-case bugs the text's domain exposes (an empty continuation, tensors as ids, the last
context position read twice, a per-token mean, ties after normalisation, characters beyond the BMP, empty and
whitespace-edged texts, a chunk count rounded up, a changed argument, an inconsistent verdict counted as a
win), and correct solutions written in unusual ways. Each solution replaces the whole solution cell of its
exercise."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m19_evaluation import BOOT as BOOT_PLAIN
from tests.mutants.m19_evaluation import LOGPROB as LOGPROB_PLAIN
from tests.mutants.m19_evaluation import MC as MC_PLAIN
from tests.mutants.m19_evaluation import PPL as PPL_PLAIN
from tests.mutants.m19_evaluation import WIN as WIN_PLAIN

ASSIGNMENT = "19-evaluation"

LOGPROB = "choice_logprob"
MC = "multiple_choice_metrics"
PPL = "perplexity_metrics"
BOOT = "bootstrap_stderr"
WIN = "win_rate_matrix"

WRONG = [
    # choice_logprob ---------------------------------------------------------------------------------
    Wrong(LOGPROB, "an empty continuation is not special-cased: the model scores a slice that starts one too early",
          variant(LOGPROB_PLAIN, ("    if not continuation:\n        return 0.0\n", ""),
                  ("logprobs = logits.double().log_softmax(-1)[len(context) - 1:]",
                   "logprobs = logits.double().log_softmax(-1)[len(context) - 1:len(context) - 1 + len(continuation)]")),
          "empty"),
    Wrong(LOGPROB, "torch.cat of the raw arguments: fails for lists",
          '''
def choice_logprob(model, context_ids, continuation_ids):
    if len(context_ids) == 0:
        raise ValueError("empty context")
    if len(continuation_ids) == 0:
        return 0.0
    ids = torch.cat((context_ids, continuation_ids))
    with torch.no_grad():
        logprobs = model(ids[None, :-1])[0][0].double().log_softmax(-1)
    n = len(context_ids)
    return logprobs[n - 1:].gather(-1, ids[n:, None]).sum().item()
''', "lists of int"),
    Wrong(LOGPROB, "the last token's logits used for every continuation token",
          variant(LOGPROB_PLAIN, ("return logprobs.gather(-1, ids[len(context):, None]).sum().item()",
                                  "return logprobs[:1].expand(len(continuation), -1).gather(-1, ids[len(context):, None]).sum().item()")),
          "scored by the logits"),
    Wrong(LOGPROB, "the model's float32 sum, converted at the end",
          variant(LOGPROB_PLAIN, ("logprobs = logits.double().log_softmax(-1)[len(context) - 1:]",
                                  "logprobs = logits.float().log_softmax(-1)[len(context) - 1:]"),
                  (".sum().item()", ".sum().double().item()")), "float64"),

    Wrong(LOGPROB, "the continuation appended to the caller's context list",
          '''
def choice_logprob(model, context_ids, continuation_ids):
    if len(context_ids) == 0:
        raise ValueError("empty context")
    n = len(context_ids)
    ids = context_ids
    ids.extend(int(i) for i in continuation_ids) if isinstance(ids, list) else None
    ids = torch.as_tensor([int(i) for i in ids] if isinstance(ids, list) else
                          [int(i) for i in context_ids] + [int(i) for i in continuation_ids])
    if len(ids) == n:
        return 0.0
    with torch.no_grad():
        logprobs = model(ids[None, :-1])[0][0].double().log_softmax(-1)
    return logprobs[n - 1:].gather(-1, ids[n:, None]).sum().item()
''', "changed its argument"),

    # multiple_choice_metrics ------------------------------------------------------------------------
    Wrong(MC, "the byte count of a UTF-16 encoding (a 4-byte character counted as 2 units)",
          variant(MC_PLAIN, ('len(choice.encode("utf-8"))', 'len(choice.encode("utf-16-le")) // 2')), "BYTES"),
    Wrong(MC, "max() over (score, index) pairs: ties go to the larger index",
          '''
def multiple_choice_metrics(logprobs, choices, gold):
    def pick(scores):
        return max((s, i) for i, s in enumerate(scores))[1]

    return {"acc": float(pick(logprobs) == gold),
            "acc_norm": float(pick([lp / len(c) for lp, c in zip(logprobs, choices)]) == gold),
            "acc_bytes": float(pick([lp / len(c.encode("utf-8")) for lp, c in zip(logprobs, choices)]) == gold)}
''', "FIRST index"),
    Wrong(MC, "the normalisation written back into the caller's list",
          '''
def multiple_choice_metrics(logprobs, choices, gold):
    def first_best(scores):
        return scores.index(max(scores))

    acc = float(first_best(logprobs) == gold)
    raw = list(logprobs)
    for i, choice in enumerate(choices):
        logprobs[i] = raw[i] / len(choice)
    acc_norm = float(first_best(logprobs) == gold)
    per_byte = [lp / len(c.encode("utf-8")) for lp, c in zip(raw, choices)]
    return {"acc": acc, "acc_norm": acc_norm, "acc_bytes": float(first_best(per_byte) == gold)}
''', "changed its argument"),
    Wrong(MC, "characters counted after stripping the leading space",
          variant(MC_PLAIN, ("per_character = [lp / len(choice) for", "per_character = [lp / max(1, len(choice.strip())) for")),
          "CHARACTERS"),

    # perplexity_metrics -----------------------------------------------------------------------------
    Wrong(PPL, "words split on single spaces only",
          variant(PPL_PLAIN, ('len(re.split(r"\\s+", text))', 'len(text.split(" "))')), "re.split"),
    Wrong(PPL, "leading and trailing whitespace stripped before counting words",
          variant(PPL_PLAIN, ('len(re.split(r"\\s+", text))', 'len(re.split(r"\\s+", text.strip()))')), "re.split"),
    Wrong(PPL, "bits per byte from the token count",
          variant(PPL_PLAIN, ('"bits_per_byte": -total / (nbytes * math.log(2))',
                              '"bits_per_byte": -total / (sum(token_counts) * math.log(2))')), "ln 2"),
    Wrong(PPL, "the caller's list sorted in place",
          variant(PPL_PLAIN, ("    total = sum(loglikelihoods)\n", "    loglikelihoods.sort()\n    total = sum(loglikelihoods)\n")),
          "changed its argument"),

    # bootstrap_stderr -------------------------------------------------------------------------------
    Wrong(BOOT, "chunk count rounded up",
          variant(BOOT_PLAIN, ("for c in range(iterations // chunk):", "for c in range(math.ceil(iterations / chunk)):")),
          "dropped"),
    Wrong(BOOT, "chunks of 100 draws",
          variant(BOOT_PLAIN, ("chunk = min(1000, iterations)", "chunk = min(100, iterations)")), "chunk"),
    Wrong(BOOT, "each draw picks indices with randrange",
          variant(BOOT_PLAIN, ("sample = rng.choices(values, k=len(values))",
                               "sample = [values[rng.randrange(len(values))] for _ in values]")), "rng.choices"),
    Wrong(BOOT, "the draws seeded from the chunk count, not the chunk index",
          variant(BOOT_PLAIN, ("rng = random.Random(c)", "rng = random.Random(c + 1)")), "random.Random(c)"),

    # win_rate_matrix --------------------------------------------------------------------------------
    Wrong(WIN, "one win and one tie counted as a win",
          variant(WIN_PLAIN, ('if first == "first" and swapped == "second":',
                              'if (first, swapped) in {("first", "second"), ("first", "tie"), ("tie", "second")}:'),
                  ('elif first == "second" and swapped == "first":',
                   'elif (first, swapped) in {("second", "first"), ("second", "tie"), ("tie", "first")}:')), "tie"),
    Wrong(WIN, "the diagonal left at NaN but unplayed pairs set to 0.5",
          variant(WIN_PLAIN, ("    rates = points / games\n", "    rates = torch.where(games > 0, points / games.clamp(min=1), 0.5)\n")),
          "NaN"),
    Wrong(WIN, "the judgments list emptied while reading it",
          variant(WIN_PLAIN, ("    for i, j, first, swapped in judgments:\n",
                              "    while judgments:\n        i, j, first, swapped = judgments.pop()\n")),
          "changed its argument"),
    Wrong(WIN, "the pair's rate overwritten by its last judgment",
          '''
def win_rate_matrix(judgments, n_models):
    rates = torch.full((n_models, n_models), float("nan"), dtype=torch.float64)
    for i, j, first, swapped in judgments:
        score = 1.0 if (first, swapped) == ("first", "second") else 0.0 if (first, swapped) == ("second", "first") else 0.5
        rates[i, j], rates[j, i] = score, 1.0 - score
    return rates
''', "both"),
]

CORRECT = [
    Correct(LOGPROB, "cross_entropy with reduction='sum', negated",
            '''
import torch.nn.functional as F


def choice_logprob(model, context_ids, continuation_ids):
    context = torch.as_tensor(context_ids, dtype=torch.long).reshape(-1)
    continuation = torch.as_tensor(continuation_ids, dtype=torch.long).reshape(-1)
    if context.numel() == 0:
        raise ValueError("empty context")
    if continuation.numel() == 0:
        return 0.0
    ids = torch.cat((context, continuation))
    with torch.no_grad():
        logits = model(ids[None])[0][0, len(context) - 1:-1].double()
    return -F.cross_entropy(logits, continuation, reduction="sum").item()
'''),
    Correct(LOGPROB, "logits minus logsumexp, a Python loop over the positions",
            '''
def choice_logprob(model, context_ids, continuation_ids):
    ids = [int(i) for i in context_ids] + [int(i) for i in continuation_ids]
    start = len(context_ids)
    if start == 0:
        raise ValueError("no context")
    if len(ids) == start:
        return 0.0
    with torch.no_grad():
        logits = model(torch.tensor([ids[:-1]]))[0][0].to(torch.float64)
    total = 0.0
    for t in range(start, len(ids)):
        row = logits[t - 1]
        total += float(row[ids[t]] - torch.logsumexp(row, dim=0))
    return total
'''),
    Correct(MC, "numpy.argmax, as lm-eval",
            '''
import numpy as np


def multiple_choice_metrics(logprobs, choices, gold):
    lls = np.array(logprobs, dtype=np.float64)
    chars = np.array([float(len(c)) for c in choices])
    nbytes = np.array([float(len(c.encode("utf-8"))) for c in choices])
    return {"acc": 1.0 if int(np.argmax(lls)) == gold else 0.0,
            "acc_norm": 1.0 if int(np.argmax(lls / chars)) == gold else 0.0,
            "acc_bytes": 1.0 if int(np.argmax(lls / nbytes)) == gold else 0.0}
'''),
    Correct(MC, "list.index(max(...)) in a dict comprehension",
            '''
def multiple_choice_metrics(logprobs, choices, gold):
    lengths = {"acc": [1] * len(choices), "acc_norm": [len(c) for c in choices],
               "acc_bytes": [len(c.encode("utf-8")) for c in choices]}
    result = {}
    for name, divisors in lengths.items():
        scores = [lp / d for lp, d in zip(logprobs, divisors)]
        result[name] = float(scores.index(max(scores)) == gold)
    return result
'''),
    Correct(PPL, "counts in a loop, log2 of the byte perplexity",
            '''
def perplexity_metrics(loglikelihoods, texts, token_counts):
    total, words, nbytes, tokens = 0.0, 0, 0, 0
    for ll, text, count in zip(loglikelihoods, texts, token_counts):
        total += ll
        words += len(re.split(r"\\s+", text))
        nbytes += len(text.encode("utf-8"))
        tokens += count
    byte_perplexity = math.exp(-total / nbytes)
    return {"token_perplexity": math.exp(-total / tokens), "word_perplexity": math.exp(-total / words),
            "byte_perplexity": byte_perplexity, "bits_per_byte": -total / nbytes / math.log(2)}
'''),
    Correct(PPL, "re.compile and bytes(text, 'utf-8')",
            '''
WHITESPACE = re.compile(r"\\s+")


def perplexity_metrics(loglikelihoods, texts, token_counts):
    nll = -sum(loglikelihoods)
    words = sum(len(WHITESPACE.split(t)) for t in texts)
    nbytes = sum(len(bytes(t, "utf-8")) for t in texts)
    return dict(token_perplexity=math.exp(nll / sum(token_counts)), word_perplexity=math.exp(nll / words),
                byte_perplexity=math.exp(nll / nbytes), bits_per_byte=nll / nbytes / math.log(2))
'''),
    Correct(BOOT, "statistics.stdev over a list comprehension",
            '''
import statistics


def bootstrap_stderr(values, iterations):
    size = min(1000, iterations)
    means = []
    for chunk_index in range(iterations // size):
        generator = random.Random(chunk_index)
        means += [sum(s) / len(s) for s in (generator.choices(values, k=len(values)) for _ in range(size))]
    center = sum(means) / len(means)
    return (sum((m - center) ** 2 for m in means) / (len(means) - 1)) ** 0.5
'''),
    Correct(BOOT, "a generator function of the draws",
            '''
def bootstrap_stderr(values, iterations):
    def draws():
        chunk = min(1000, iterations)
        for c in range(iterations // chunk):
            rng = random.Random(c)
            for _ in range(chunk):
                yield rng.choices(values, k=len(values))

    means = [sum(s) / len(s) for s in draws()]
    mu = sum(means) / len(means)
    return math.sqrt(sum((m - mu) ** 2 for m in means) / (len(means) - 1))
'''),
    Correct(WIN, "a dict of outcomes, then a NaN-filled tensor",
            '''
def win_rate_matrix(judgments, n_models):
    outcome = {("first", "second"): 1.0, ("second", "first"): 0.0}
    totals = {}
    for i, j, first, swapped in judgments:
        score = outcome.get((first, swapped), 0.5)
        for a, b, s in ((i, j, score), (j, i, 1.0 - score)):
            points, games = totals.get((a, b), (0.0, 0))
            totals[a, b] = (points + s, games + 1)
    rates = torch.full((n_models, n_models), float("nan"), dtype=torch.float64)
    for (a, b), (points, games) in totals.items():
        rates[a, b] = points / games
    return rates
'''),
    Correct(WIN, "scores mapped to ±1 and averaged",
            '''
def win_rate_matrix(judgments, n_models):
    margin = torch.zeros(n_models, n_models, dtype=torch.float64)
    games = torch.zeros(n_models, n_models, dtype=torch.float64)
    for i, j, first, swapped in judgments:
        m = (first == "first") - (first == "second") - (swapped == "first") + (swapped == "second")
        m = 1.0 if m == 2 else -1.0 if m == -2 else 0.0
        margin[i, j] += m
        margin[j, i] -= m
        games[i, j] += 1
        games[j, i] += 1
    rates = 0.5 + 0.5 * margin / games
    eye = torch.eye(n_models, dtype=torch.bool)
    return torch.where(eye, torch.tensor(float("nan"), dtype=torch.float64), rates)
'''),
]
