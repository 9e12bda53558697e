"""09-scaling-laws: edge-case bugs the text's domain exposes (in-place changes of the caller's data, lists,
float32 inputs, big ints, tensors of budgets, the grid's order), and correct solutions written in unusual
ways. Each solution replaces the whole solution cell of its exercise (the other exercises stay the
reference's)."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m09_scaling_laws import EXACT, FIT, FLOPS, ISOFLOP, OBJECTIVE, OPTIMAL, POWER

ASSIGNMENT = "09-scaling-laws"

WRONG = [
    # training_flops
    Wrong("training_flops", "int() of the result: floats come back as ints",
          variant(FLOPS, ("return 6 * n_params * n_tokens", "return int(6 * n_params * n_tokens)")), "float"),
    Wrong("training_flops", "float() of the parameters: ints lose exactness",
          variant(FLOPS, ("return 6 * n_params * n_tokens", "return 6 * float(n_params) * n_tokens")), "exact"),
    Wrong("training_flops", "a model of no parameters counted as one",
          variant(FLOPS, ("return 6 * n_params * n_tokens", "return 6 * max(n_params, 1) * n_tokens")),
          "6 * n_params * n_tokens"),

    # transformer_training_flops
    Wrong("transformer_training_flops", "the norms' gains counted as weights",
          variant(EXACT, ("weights = layers * per_layer + d * config.vocab_size",
                          "weights = layers * (per_layer + 2 * d) + d * config.vocab_size + d")), "q_dim"),
    Wrong("transformer_training_flops", "a true division makes the count a float",
          variant(EXACT, ("attention = 12 * layers * batch_size * seq_len ** 2 * q_dim",
                          "attention = 12 * layers * batch_size * seq_len ** 2 * q_dim / 1")), "int"),
    Wrong("transformer_training_flops", "attention over the key/value width",
          variant(EXACT, ("seq_len ** 2 * q_dim", "seq_len ** 2 * kv_dim")), "q_dim"),

    # fit_power_law
    Wrong("fit_power_law", "takes the logarithm of the caller's tensor in place",
          variant(POWER, ("    u = torch.log(torch.as_tensor(x, dtype=torch.float64))",
                          "    u = torch.as_tensor(x, dtype=torch.float64).log_()")), "in place"),
    Wrong("fit_power_law", "torch.log on the raw arguments: lists fail",
          variant(POWER, ("    u = torch.log(torch.as_tensor(x, dtype=torch.float64))\n    v = torch.log(torch.as_tensor(y, dtype=torch.float64))",
                          "    u = torch.log(x).double()\n    v = torch.log(y).double()")), "as_tensor"),
    Wrong("fit_power_law", "the mean of the slopes between neighbouring points", '''
def fit_power_law(x, y):
    u = torch.log(torch.as_tensor(x, dtype=torch.float64))
    v = torch.log(torch.as_tensor(y, dtype=torch.float64))
    order = u.argsort()
    u, v = u[order], v[order]
    b = ((v[1:] - v[:-1]) / (u[1:] - u[:-1])).mean()
    return math.exp(v.mean() - b * u.mean()), b.item()
''', "Least squares"),

    # chinchilla_objective
    Wrong("chinchilla_objective", "e used as E (not exponentiated)", '''
def chinchilla_objective(theta, N, D, L, delta=1e-3):
    a, b, e, alpha, beta = theta
    predicted = torch.log(torch.exp(a) / N ** alpha + torch.exp(b) / D ** beta + e)
    return F.huber_loss(predicted, torch.log(L), reduction="sum", delta=delta)
''', "log E"),
    Wrong("chinchilla_objective", "a hand-written Huber without the delta / 2", '''
def chinchilla_objective(theta, N, D, L, delta=1e-3):
    a, b, e, alpha, beta = theta
    predicted = torch.logsumexp(torch.stack([a - alpha * torch.log(N), b - beta * torch.log(D), e.expand_as(N)]), dim=0)
    r = (predicted - torch.log(L)).abs()
    return torch.where(r <= delta, r ** 2 / 2, delta * r).sum()
''', "Huber loss"),
    Wrong("chinchilla_objective", "the logarithm of the caller's losses taken in place",
          variant(OBJECTIVE, ("torch.log(L), reduction", "L.log_(), reduction")), "in place"),

    # fit_chinchilla
    Wrong("fit_chinchilla", "takes the logarithm of the caller's N in place (and exp of it for the fit)",
          variant(FIT, ("    best_value, best_theta = math.inf, None\n",
                        "    N = N.log_().exp()\n    best_value, best_theta = math.inf, None\n")), "in place"),
    Wrong("fit_chinchilla", "L-BFGS stopped after 10 iterations",
          variant(FIT, ("max_iter=100", "max_iter=10")), "max_iter=100"),
    Wrong("fit_chinchilla", "keeps the start with the lowest objective at its START",
          variant(FIT, ("        optimizer.step(closure)\n        with torch.no_grad():\n            value = chinchilla_objective(theta, N, D, L, delta).item()",
                        "        with torch.no_grad():\n            value = chinchilla_objective(theta, N, D, L, delta).item()\n        optimizer.step(closure)")),
          "lowest final objective"),

    # compute_optimal
    Wrong("compute_optimal", "stores G in the caller's fit",
          variant(OPTIMAL, ("    G = (alpha", "    G = fit[\"G\"] = (alpha")), "in place"),
    Wrong("compute_optimal", "C / 6 ** exponent (precedence)",
          variant(OPTIMAL, ("G * (C / 6) ** (beta / (alpha + beta)), (C / 6) ** (alpha / (alpha + beta)) / G",
                            "G * C / 6 ** (beta / (alpha + beta)), C / 6 ** (alpha / (alpha + beta)) / G")), "C / 6"),
    Wrong("compute_optimal", "float(C): a tensor of budgets fails",
          variant(OPTIMAL, ("    G = (alpha", "    C = float(C)\n    G = (alpha")), "arithmetic operators"),

    # isoflop_minimum
    Wrong("isoflop_minimum", "the parabola through the three lowest points only",
          variant(ISOFLOP, ("    X = torch.stack(", "    keep = y.argsort()[:3]\n    x, y = x[keep], y[keep]\n    X = torch.stack(")),
          "least squares"),
    Wrong("isoflop_minimum", "the logarithm of the caller's N in place",
          variant(ISOFLOP, ("    x = torch.log(torch.as_tensor(N, dtype=torch.float64))",
                            "    x = torch.as_tensor(N, dtype=torch.float64).log_()")), "in place"),
    Wrong("isoflop_minimum", "the vertex's loss read at the nearest measured size",
          variant(ISOFLOP, ("    return math.exp(-c1 / (2 * c2)), c0 - c1 ** 2 / (4 * c2)",
                            "    nearest = int((x + c1 / (2 * c2)).abs().argmin())\n"
                            "    return math.exp(-c1 / (2 * c2)), y[nearest].item()")), "c0 - c1^2 / (4 c2)"),
]

CORRECT = [
    Correct("training_flops", "three times the forward pass's 2ND",
            variant(FLOPS, ("return 6 * n_params * n_tokens", "forward = 2 * n_params * n_tokens\n    return 3 * forward"))),
    Correct("training_flops", "the sum of forward and backward",
            variant(FLOPS, ("return 6 * n_params * n_tokens", "return n_params * n_tokens * 2 + n_params * n_tokens * 4"))),

    Correct("transformer_training_flops", "a sum over the shapes of every product", '''
def transformer_training_flops(config, batch_size, seq_len):
    d, hd = config.hidden_size, config.head_dim
    heads, kv = config.num_attention_heads, config.num_key_value_heads
    layer = [(d, heads * hd), (d, kv * hd), (d, kv * hd), (heads * hd, d),
             (d, config.intermediate_size), (d, config.intermediate_size), (config.intermediate_size, d)]
    weights = config.num_hidden_layers * sum(i * o for i, o in layer) + d * config.vocab_size
    tokens = batch_size * seq_len
    forward = 2 * weights * tokens + config.num_hidden_layers * batch_size * 2 * (2 * seq_len * seq_len * heads * hd)
    return 3 * forward
'''),
    Correct("transformer_training_flops", "per token, times the tokens", '''
def transformer_training_flops(config, batch_size, seq_len):
    d, layers = config.hidden_size, config.num_hidden_layers
    width = config.num_attention_heads * config.head_dim
    kv_width = config.num_key_value_heads * config.head_dim
    per_token = 6 * (layers * (2 * d * width + 2 * d * kv_width + 3 * d * config.intermediate_size)
                     + d * config.vocab_size) + 12 * layers * seq_len * width
    return per_token * batch_size * seq_len
'''),

    Correct("fit_power_law", "torch.linalg.lstsq on [1, log x]", '''
def fit_power_law(x, y):
    u = torch.log(torch.tensor(x, dtype=torch.float64) if isinstance(x, list) else x.double())
    v = torch.log(torch.tensor(y, dtype=torch.float64) if isinstance(y, list) else y.double())
    X = torch.stack([torch.ones_like(u), u], dim=1)
    intercept, slope = torch.linalg.lstsq(X, v[:, None]).solution[:, 0].tolist()
    return math.exp(intercept), slope
'''),
    Correct("fit_power_law", "numpy's polyfit", '''
def fit_power_law(x, y):
    u = np.log(np.asarray(x, dtype=np.float64))
    v = np.log(np.asarray(y, dtype=np.float64))
    slope, intercept = np.polyfit(u, v, 1)
    return float(np.exp(intercept)), float(slope)
'''),

    Correct("chinchilla_objective", "log of a sum of exps and a hand-written Huber", '''
def chinchilla_objective(theta, N, D, L, delta=1e-3):
    a, b, e, alpha, beta = theta[0], theta[1], theta[2], theta[3], theta[4]
    predicted = torch.log(torch.exp(a - alpha * torch.log(N)) + torch.exp(b - beta * torch.log(D)) + torch.exp(e))
    r = (predicted - torch.log(L)).abs()
    return torch.where(r <= delta, 0.5 * r ** 2, delta * (r - 0.5 * delta)).sum()
'''),
    Correct("chinchilla_objective", "the law in linear space, then its logarithm",
            variant(OBJECTIVE, ('''    terms = torch.stack([a - alpha * log_N, b - beta * log_D, e.expand_as(log_N)])
    predicted = torch.logsumexp(terms, dim=0)''', '''    predicted = torch.log(a.exp() * N ** -alpha + b.exp() * D ** -beta + e.exp())'''))),

    Correct("fit_chinchilla", "every start's end point kept, then the minimum",
            variant(FIT, ("    best_value, best_theta = math.inf, None\n", "    ends = []\n"),
                    ("""        with torch.no_grad():
            value = chinchilla_objective(theta, N, D, L, delta).item()
        if value < best_value:
            best_value, best_theta = value, theta.detach()
    a, b, e, alpha, beta = best_theta.tolist()
""", """        ends.append((chinchilla_objective(theta, N, D, L, delta).item(), theta.detach().tolist()))
    value, (a, b, e, alpha, beta) = min(ends, key=lambda end: end[0])
"""), ('return {"E": math.exp(e), "A": math.exp(a), "B": math.exp(b), "alpha": alpha, "beta": beta}',
       'return dict(E=math.exp(e), A=math.exp(a), B=math.exp(b), alpha=alpha, beta=beta)'))),
    Correct("fit_chinchilla", "the closure's value read back, and the result in another key order",
            variant(FIT, ("        optimizer.step(closure)\n        with torch.no_grad():\n            value = chinchilla_objective(theta, N, D, L, delta).item()",
                          "        optimizer.step(closure)\n        value = closure().item()"),
                    ('return {"E": math.exp(e), "A": math.exp(a), "B": math.exp(b), "alpha": alpha, "beta": beta}',
                     'return {"alpha": alpha, "beta": beta, "A": math.exp(a), "B": math.exp(b), "E": math.exp(e)}'))),

    Correct("compute_optimal", "D_opt from N_opt and the budget", '''
def compute_optimal(fit, C):
    alpha, beta, A, B = fit["alpha"], fit["beta"], fit["A"], fit["B"]
    n_opt = ((alpha * A) / (beta * B) * (C / 6) ** beta) ** (1 / (alpha + beta))
    return n_opt, C / 6 / n_opt
'''),
    Correct("compute_optimal", "a and b named as in the paper",
            variant(OPTIMAL, ("    return G * (C / 6) ** (beta / (alpha + beta)), (C / 6) ** (alpha / (alpha + beta)) / G",
                              "    a, b = beta / (alpha + beta), alpha / (alpha + beta)\n    return G * (C / 6) ** a, G ** -1 * (C / 6) ** b"))),

    Correct("isoflop_minimum", "log10 and a power of 10 (the vertex does not depend on the base)",
            variant(ISOFLOP, ("    x = torch.log(torch.as_tensor(N, dtype=torch.float64))", "    x = torch.log10(torch.as_tensor(N, dtype=torch.float64))"),
                    ("math.exp(-c1 / (2 * c2))", "10 ** (-c1 / (2 * c2))"))),
    Correct("isoflop_minimum", "centred log N and numpy's polyfit", '''
def isoflop_minimum(N, L):
    x = np.log(np.asarray(N, dtype=np.float64))
    y = np.asarray(L, dtype=np.float64)
    if len(x) < 3:
        raise ValueError("need 3 points")
    centre = x.mean()
    c2, c1, c0 = np.polyfit(x - centre, y, 2)
    if c2 <= 0:
        raise ValueError("no minimum")
    return float(np.exp(centre - c1 / (2 * c2))), float(c0 - c1 ** 2 / (4 * c2))
'''),
]
