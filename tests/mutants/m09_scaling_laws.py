"""Plausible wrong solutions for 09-scaling-laws."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "09-scaling-laws"

FLOPS = '''
def training_flops(n_params, n_tokens):
    return 6 * n_params * n_tokens
'''

EXACT = '''
def transformer_training_flops(config, batch_size, seq_len):
    d, layers = config.hidden_size, config.num_hidden_layers
    q_dim = config.num_attention_heads * config.head_dim
    kv_dim = config.num_key_value_heads * config.head_dim
    per_layer = 2 * d * q_dim + 2 * d * kv_dim + 3 * d * config.intermediate_size
    weights = layers * per_layer + d * config.vocab_size
    attention = 12 * layers * batch_size * seq_len ** 2 * q_dim
    return 6 * weights * batch_size * seq_len + attention
'''

POWER = '''
def fit_power_law(x, y):
    u = torch.log(torch.as_tensor(x, dtype=torch.float64))
    v = torch.log(torch.as_tensor(y, dtype=torch.float64))
    du = u - u.mean()
    b = (du * (v - v.mean())).sum() / (du * du).sum()
    return math.exp(v.mean() - b * u.mean()), b.item()
'''

OBJECTIVE = '''
def chinchilla_objective(theta, N, D, L, delta=1e-3):
    a, b, e, alpha, beta = theta
    log_N, log_D = torch.log(N), torch.log(D)
    terms = torch.stack([a - alpha * log_N, b - beta * log_D, e.expand_as(log_N)])
    predicted = torch.logsumexp(terms, dim=0)
    return F.huber_loss(predicted, torch.log(L), reduction="sum", delta=delta)
'''

FIT = '''
def fit_chinchilla(N, D, L, grid, delta=1e-3):
    best_value, best_theta = math.inf, None
    for start in grid:
        theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.LBFGS([theta], lr=1.0, max_iter=100, history_size=10, tolerance_grad=1e-9,
                                      tolerance_change=1e-12, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = chinchilla_objective(theta, N, D, L, delta)
            loss.backward()
            return loss

        optimizer.step(closure)
        with torch.no_grad():
            value = chinchilla_objective(theta, N, D, L, delta).item()
        if value < best_value:
            best_value, best_theta = value, theta.detach()
    a, b, e, alpha, beta = best_theta.tolist()
    return {"E": math.exp(e), "A": math.exp(a), "B": math.exp(b), "alpha": alpha, "beta": beta}
'''

OPTIMAL = '''
def compute_optimal(fit, C):
    alpha, beta = fit["alpha"], fit["beta"]
    G = (alpha * fit["A"] / (beta * fit["B"])) ** (1 / (alpha + beta))
    return G * (C / 6) ** (beta / (alpha + beta)), (C / 6) ** (alpha / (alpha + beta)) / G
'''

ISOFLOP = '''
def isoflop_minimum(N, L):
    x = torch.log(torch.as_tensor(N, dtype=torch.float64))
    y = torch.as_tensor(L, dtype=torch.float64)
    if len(x) < 3:
        raise ValueError("a parabola needs at least 3 points")
    X = torch.stack([x ** 2, x, torch.ones_like(x)], dim=1)
    c2, c1, c0 = torch.linalg.lstsq(X, y[:, None]).solution[:, 0].tolist()
    if c2 <= 0:
        raise ValueError("the parabola opens downwards: no minimum")
    return math.exp(-c1 / (2 * c2)), c0 - c1 ** 2 / (4 * c2)
'''

# an objective written inside the fit, so that a mutant can change it there
FIT_OWN_OBJECTIVE = variant(FIT, ("def fit_chinchilla(N, D, L, grid, delta=1e-3):\n", '''def fit_chinchilla(N, D, L, grid, delta=1e-3):
    def objective(theta):
        a, b, e, alpha, beta = theta
        predicted = torch.logsumexp(torch.stack([a - alpha * torch.log(N), b - beta * torch.log(D),
                                                 e.expand_as(N)]), dim=0)
        return F.huber_loss(predicted, torch.log(L), reduction="sum", delta=delta)

'''), ("            loss = chinchilla_objective(theta, N, D, L, delta)", "            loss = objective(theta)"),
    ("            value = chinchilla_objective(theta, N, D, L, delta).item()", "            value = objective(theta).item()"))

MUTANTS = [
    # training_flops
    Mutant("training_flops", "2ND: the forward pass only", variant(FLOPS, ("6 *", "2 *")), "2ND"),
    Mutant("training_flops", "4ND: backward counted as forward", variant(FLOPS, ("6 *", "4 *")), "6 FLOPs per parameter"),
    Mutant("training_flops", "6N + D", variant(FLOPS, ("6 * n_params * n_tokens", "6 * n_params + n_tokens")),
           "proportion"),
    Mutant("training_flops", "as a float (loses exactness past 2^53)",
           variant(FLOPS, ("6 * n_params * n_tokens", "6.0 * n_params * n_tokens")), "exact"),
    Mutant("training_flops", "6N: the tokens forgotten", variant(FLOPS, ("6 * n_params * n_tokens", "6 * n_params")),
           "6 * N * D"),
    Mutant("training_flops", "FLOPs per token divided by the batch of 1e6",
           variant(FLOPS, ("6 * n_params * n_tokens", "6 * n_params * n_tokens // 10 ** 6")), "6 FLOPs per parameter"),

    # transformer_training_flops
    Mutant("transformer_training_flops", "no attention term",
           variant(EXACT, ("    return 6 * weights * batch_size * seq_len + attention", "    return 6 * weights * batch_size * seq_len")),
           "attention term"),
    Mutant("transformer_training_flops", "attention counted forward only (4, not 12)",
           variant(EXACT, ("attention = 12 *", "attention = 4 *")), "forward only"),
    Mutant("transformer_training_flops", "attention halved for the causal mask",
           variant(EXACT, ("attention = 12 *", "attention = 6 *")), "causal"),
    Mutant("transformer_training_flops", "k and v with all the query heads (GQA ignored)",
           variant(EXACT, ("kv_dim = config.num_key_value_heads * config.head_dim", "kv_dim = q_dim")),
           "num_key_value_heads"),
    Mutant("transformer_training_flops", "the embedding counted as a product",
           variant(EXACT, ("d * config.vocab_size", "2 * d * config.vocab_size")), "embedding"),
    Mutant("transformer_training_flops", "the output head left out",
           variant(EXACT, ("weights = layers * per_layer + d * config.vocab_size", "weights = layers * per_layer")),
           "output head"),
    Mutant("transformer_training_flops", "hidden_size as the attention width",
           variant(EXACT, ("q_dim = config.num_attention_heads * config.head_dim", "q_dim = config.hidden_size"),
                   ("kv_dim = config.num_key_value_heads * config.head_dim",
                    "kv_dim = config.num_key_value_heads * config.hidden_size // config.num_attention_heads")),
           "head_dim"),
    Mutant("transformer_training_flops", "the attention term's T^2 written as T",
           variant(EXACT, ("seq_len ** 2", "seq_len")), "attention term"),

    # fit_power_law
    Mutant("fit_power_law", "fitted in linear space (log y against x)",
           variant(POWER, ("    u = torch.log(torch.as_tensor(x, dtype=torch.float64))", "    u = torch.as_tensor(x, dtype=torch.float64)")),
           "log space"),
    Mutant("fit_power_law", "returns log a instead of a",
           variant(POWER, ("return math.exp(v.mean() - b * u.mean()), b.item()", "return (v.mean() - b * u.mean()).item(), b.item()")),
           "not log a"),
    Mutant("fit_power_law", "returns (b, a)",
           variant(POWER, ("return math.exp(v.mean() - b * u.mean()), b.item()", "return b.item(), math.exp(v.mean() - b * u.mean())")),
           "in this order"),
    Mutant("fit_power_law", "regresses log x on log y and inverts the slope",
           variant(POWER, ("b = (du * (v - v.mean())).sum() / (du * du).sum()",
                           "b = ((v - v.mean()) ** 2).sum() / (du * (v - v.mean())).sum()")), "log x on log y"),
    Mutant("fit_power_law", "log10 for the fit, exp for a",
           variant(POWER, ("torch.log(torch.as_tensor(x,", "torch.log10(torch.as_tensor(x,"),
                   ("torch.log(torch.as_tensor(y,", "torch.log10(torch.as_tensor(y,")), "natural logs"),
    Mutant("fit_power_law", "computed in the input's dtype (float32 stays float32)",
           variant(POWER, ("torch.as_tensor(x, dtype=torch.float64)", "torch.as_tensor(x)"),
                   ("torch.as_tensor(y, dtype=torch.float64)", "torch.as_tensor(y)")), "float64"),
    Mutant("fit_power_law", "returns tensors",
           variant(POWER, ("return math.exp(v.mean() - b * u.mean()), b.item()", "return torch.exp(v.mean() - b * u.mean()), b")),
           "Python floats"),

    # chinchilla_objective
    Mutant("chinchilla_objective", "least squares instead of Huber",
           variant(OBJECTIVE, ('F.huber_loss(predicted, torch.log(L), reduction="sum", delta=delta)',
                               '((predicted - torch.log(L)) ** 2).sum()')), "least squares"),
    Mutant("chinchilla_objective", "the mean instead of the sum",
           variant(OBJECTIVE, ('reduction="sum"', 'reduction="mean"')), "not the mean"),
    Mutant("chinchilla_objective", "fitted in linear space (L_hat - L)",
           variant(OBJECTIVE, ('F.huber_loss(predicted, torch.log(L),', 'F.huber_loss(predicted.exp(), L,')),
           "log L"),
    Mutant("chinchilla_objective", "alpha and beta swapped",
           variant(OBJECTIVE, ("a - alpha * log_N, b - beta * log_D", "a - beta * log_N, b - alpha * log_D")),
           "alpha goes"),
    Mutant("chinchilla_objective", "delta fixed at 1e-3",
           variant(OBJECTIVE, ("delta=delta)", "delta=1e-3)")), "delta argument"),
    Mutant("chinchilla_objective", "smooth_l1_loss (divides by delta)",
           variant(OBJECTIVE, ('F.huber_loss(predicted, torch.log(L), reduction="sum", delta=delta)',
                               'F.smooth_l1_loss(predicted, torch.log(L), reduction="sum", beta=delta)')),
           "smooth_l1_loss"),
    Mutant("chinchilla_objective", "returns a Python float",
           variant(OBJECTIVE, ('reduction="sum", delta=delta)', 'reduction="sum", delta=delta).item()')), "0-dim"),

    # fit_chinchilla
    Mutant("fit_chinchilla", "one initial point: only the grid's first start",
           variant(FIT, ("    for start in grid:", "    for start in grid[:1]:")), "EVERY start"),
    Mutant("fit_chinchilla", "keeps the last start, not the best",
           variant(FIT, ("        if value < best_value:", "        if True:")), "not the last"),
    Mutant("fit_chinchilla", "least squares instead of Huber",
           variant(FIT_OWN_OBJECTIVE, ('F.huber_loss(predicted, torch.log(L), reduction="sum", delta=delta)',
                                       '((predicted - torch.log(L)) ** 2).sum()')), "least squares"),
    Mutant("fit_chinchilla", "fitted in linear space",
           variant(FIT_OWN_OBJECTIVE, ('F.huber_loss(predicted, torch.log(L),', 'F.huber_loss(predicted.exp(), L,')),
           "log L"),
    Mutant("fit_chinchilla", "alpha and beta swapped in the result",
           variant(FIT, ('"alpha": alpha, "beta": beta}', '"alpha": beta, "beta": alpha}')), "lowest final objective"),
    Mutant("fit_chinchilla", "returns log A, log B, log E",
           variant(FIT, ('{"E": math.exp(e), "A": math.exp(a), "B": math.exp(b),', '{"E": e, "A": a, "B": b,')),
           "not their logarithms"),
    Mutant("fit_chinchilla", "delta not passed on",
           variant(FIT, ("            loss = chinchilla_objective(theta, N, D, L, delta)", "            loss = chinchilla_objective(theta, N, D, L)"),
                   ("            value = chinchilla_objective(theta, N, D, L, delta).item()",
                    "            value = chinchilla_objective(theta, N, D, L).item()")), "Pass delta on"),
    Mutant("fit_chinchilla", "Adam for 50 steps instead of L-BFGS",
           variant(FIT, ('''        optimizer = torch.optim.LBFGS([theta], lr=1.0, max_iter=100, history_size=10, tolerance_grad=1e-9,
                                      tolerance_change=1e-12, line_search_fn="strong_wolfe")''',
                         "        optimizer = torch.optim.Adam([theta], lr=0.01)"),
                   ("        optimizer.step(closure)", "        for _ in range(50):\n            optimizer.step(closure)")),
           "L-BFGS"),

    # compute_optimal
    Mutant("compute_optimal", "alpha and beta swapped in the exponents",
           variant(OPTIMAL, ("(C / 6) ** (beta / (alpha + beta)), (C / 6) ** (alpha / (alpha + beta))",
                             "(C / 6) ** (alpha / (alpha + beta)), (C / 6) ** (beta / (alpha + beta))")),
           "Swapping alpha and beta"),
    Mutant("compute_optimal", "C instead of C / 6",
           variant(OPTIMAL, ("G * (C / 6) ** (beta / (alpha + beta)), (C / 6) ** (alpha / (alpha + beta)) / G",
                             "G * C ** (beta / (alpha + beta)), C ** (alpha / (alpha + beta)) / G")), "C / 6"),
    Mutant("compute_optimal", "G inverted",
           variant(OPTIMAL, ("(alpha * fit[\"A\"] / (beta * fit[\"B\"]))", "(beta * fit[\"B\"] / (alpha * fit[\"A\"]))")),
           "multiplies N_opt"),
    Mutant("compute_optimal", "G without the power 1/(alpha+beta)",
           variant(OPTIMAL, (" ** (1 / (alpha + beta))", "")), "raised to 1/(alpha+beta)"),
    Mutant("compute_optimal", "math.pow (fails on tensors)",
           variant(OPTIMAL, ("G * (C / 6) ** (beta / (alpha + beta)), (C / 6) ** (alpha / (alpha + beta)) / G",
                             "G * math.pow(C / 6, beta / (alpha + beta)), math.pow(C / 6, alpha / (alpha + beta)) / G")),
           "arithmetic operators"),
    Mutant("compute_optimal", "D_opt = C / N_opt (the 6 forgotten)",
           variant(OPTIMAL, ("(C / 6) ** (alpha / (alpha + beta)) / G", "C / (G * (C / 6) ** (beta / (alpha + beta)))")),
           "C / 6"),

    # isoflop_minimum
    Mutant("isoflop_minimum", "the parabola in N, not log N",
           variant(ISOFLOP, ("    x = torch.log(torch.as_tensor(N, dtype=torch.float64))", "    x = torch.as_tensor(N, dtype=torch.float64) / 1e6"),
                   ("math.exp(-c1 / (2 * c2))", "-c1 / (2 * c2) * 1e6")), "log N"),
    Mutant("isoflop_minimum", "the smallest measured loss instead of the vertex",
           variant(ISOFLOP, ("    return math.exp(-c1 / (2 * c2)), c0 - c1 ** 2 / (4 * c2)",
                             "    best = int(y.argmin())\n    return math.exp(x[best].item()), y[best].item()")),
           "not at the smallest measured loss"),
    Mutant("isoflop_minimum", "vertex at +c1 / (2 c2)",
           variant(ISOFLOP, ("math.exp(-c1 / (2 * c2))", "math.exp(c1 / (2 * c2))")), "log N"),
    Mutant("isoflop_minimum", "returns log N_opt",
           variant(ISOFLOP, ("math.exp(-c1 / (2 * c2))", "-c1 / (2 * c2)")), "not x*"),
    Mutant("isoflop_minimum", "no ValueError when the parabola opens downwards",
           variant(ISOFLOP, ('''    if c2 <= 0:
        raise ValueError("the parabola opens downwards: no minimum")
''', "")), "no minimum"),
    Mutant("isoflop_minimum", "L_opt = c0",
           variant(ISOFLOP, ("c0 - c1 ** 2 / (4 * c2)", "c0")), "c0 - c1^2 / (4 c2)"),
    Mutant("isoflop_minimum", "no ValueError for two points (an exact fit through them)",
           variant(ISOFLOP, ('''    if len(x) < 3:
        raise ValueError("a parabola needs at least 3 points")
''', "")), "fewer than 3"),
]
