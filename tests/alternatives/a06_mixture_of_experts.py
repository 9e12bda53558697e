"""06-mixture-of-experts: edge-case bugs the text's domain exposes (in-place changes of the caller's
tensors, leading dimensions, dtypes, fractional mean loads, idle experts, order of the chosen experts,
loops hidden in the batch), and correct solutions written in unusual ways. Each solution replaces the
whole solution cell of its exercise (the other exercises stay the reference's)."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m06_mixture_of_experts import BALANCE as LB_PLAIN
from tests.mutants.m06_mixture_of_experts import MOE as MOE_WHERE
from tests.mutants.m06_mixture_of_experts import UPDATE as UPDATE_PLAIN

ASSIGNMENT = "06-mixture-of-experts"

ROUTE = "top_k_route"
MOE = "MoELayer"
LB = "load_balancing_loss"
Z = "router_z_loss"
BIASED = "biased_top_k_route"
UPDATE = "update_bias"

# the given part of the MoELayer cell (__init__ and route); each MoELayer solution below adds its own forward
MOE_GIVEN = MOE_WHERE[:MOE_WHERE.index("    def forward")]

# a plain correct forward, sorted by expert: the solutions below that differ from it are written as that difference
MOE_SORTED = MOE_GIVEN + '''
    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        logits = self.router(x)
        weights, indices = self.route(logits)
        flat = indices.reshape(-1)
        order = flat.argsort(stable=True)
        counts = torch.bincount(flat, minlength=len(self.experts)).tolist()
        tokens = order // self.top_k
        pair_weights = weights.reshape(-1, 1)[order].to(x.dtype)
        y = torch.zeros_like(x)
        for expert, chosen, w in zip(self.experts, tokens.split(counts), pair_weights.split(counts)):
            y = y.index_add(0, chosen, w * expert(x[chosen]))
        return y.reshape(shape), logits.reshape(*shape[:-1], -1)
'''

WRONG = [
    # top_k_route -----------------------------------------------------------------------------------
    Wrong(ROUTE, "subtracts the row max from the caller's logits in place, for stability", '''
def top_k_route(logits, k):
    logits.sub_(logits.amax(dim=-1, keepdim=True))
    probs = torch.softmax(logits, dim=-1, dtype=torch.promote_types(logits.dtype, torch.float32))
    top, indices = probs.topk(k, dim=-1)
    return top / top.sum(dim=-1, keepdim=True), indices
''', "in place"),
    Wrong(ROUTE, "flattens to (N, n_experts) and never restores the leading dimensions", '''
def top_k_route(logits, k):
    flat = logits.reshape(-1, logits.shape[-1])
    probs = torch.softmax(flat, dim=-1, dtype=torch.promote_types(flat.dtype, torch.float32))
    top, indices = probs.topk(k, dim=-1)
    return top / top.sum(dim=-1, keepdim=True), indices
''', "leading dimensions"),
    Wrong(ROUTE, "argsort ascending and the last k columns: the chosen experts in increasing order", '''
def top_k_route(logits, k):
    probs = torch.softmax(logits, dim=-1, dtype=torch.promote_types(logits.dtype, torch.float32))
    indices = probs.argsort(dim=-1)[..., -k:]
    top = probs.gather(-1, indices)
    return top / top.sum(dim=-1, keepdim=True), indices
''', "decreasing order"),
    Wrong(ROUTE, "a module-level cache keyed on k alone", '''
_ROUTES = {}


def top_k_route(logits, k):
    if k not in _ROUTES:
        probs = torch.softmax(logits, dim=-1, dtype=torch.promote_types(logits.dtype, torch.float32))
        top, indices = probs.topk(k, dim=-1)
        _ROUTES[k] = (top / top.sum(dim=-1, keepdim=True), indices)
    return _ROUTES[k]
''', "earlier call"),
    Wrong(ROUTE, "always computes in float64 (float32 logits give float64 weights)", '''
def top_k_route(logits, k):
    probs = torch.softmax(logits.double(), dim=-1)
    top, indices = probs.topk(k, dim=-1)
    return top / top.sum(dim=-1, keepdim=True), indices
''', "float32"),

    # MoELayer --------------------------------------------------------------------------------------
    Wrong(MOE, "a token that chose the expert gets the SUM of its k weights", variant(
        MOE_WHERE, ("            token, slot = torch.where(indices == e)\n"
                    "            y = y.index_add(0, token, weights[token, slot, None] * expert(x[token]))\n",
                    "            chosen = (indices == e).any(dim=-1).nonzero().squeeze(-1)\n"
                    "            y = y.index_add(0, chosen, weights[chosen].sum(-1, keepdim=True) * expert(x[chosen]))\n")),
        "weight"),
    Wrong(MOE, "pair p read as token p % N instead of p // k", variant(
        MOE_SORTED, ("tokens = order // self.top_k", "tokens = order % x.shape[0]")), "self.route chose"),
    Wrong(MOE, "the vectorised code run once per sequence of the batch", variant(
        MOE_WHERE, ("    def forward(self, x):\n",
                    "    def forward(self, x):\n"
                    "        if x.dim() > 2:\n"
                    "            outputs = [self.forward(row) for row in x.unbind(0)]\n"
                    "            return torch.stack([y for y, _ in outputs]), torch.stack([l for _, l in outputs])\n")),
        "batch rows"),
    Wrong(MOE, "router logits returned flat (N, n_experts)", variant(
        MOE_SORTED, ("return y.reshape(shape), logits.reshape(*shape[:-1], -1)", "return y.reshape(shape), logits")),
        "(..., n_experts)"),

    # load_balancing_loss ---------------------------------------------------------------------------
    Wrong(LB, "N taken as the first dimension (batch) instead of every row", variant(
        LB_PLAIN, ("/ logits.shape[0]", "/ router_logits.shape[0]"),
        ("probs.mean(dim=0)", "probs.sum(dim=0) / router_logits.shape[0]")), "every row"),
    Wrong(LB, "f built with one_hot(...).float(): float32 counts in a float64 loss", variant(
        LB_PLAIN, ("f = torch.bincount(chosen.reshape(-1), minlength=n_experts).to(probs.dtype) / logits.shape[0]",
                   "f = F.one_hot(chosen, n_experts).float().sum(dim=(0, 1)) / logits.shape[0]")), "float64"),
    Wrong(LB, "P averaged only over the tokens that chose the expert", variant(
        LB_PLAIN, ("return n_experts * (f * probs.mean(dim=0)).sum()",
                   "picked = F.one_hot(chosen, n_experts).sum(1).to(probs.dtype)\n"
                   "    P = (probs * picked).sum(0) / picked.sum(0).clamp(min=1)\n"
                   "    return n_experts * (f * P).sum()")), "mean over tokens"),

    # router_z_loss ---------------------------------------------------------------------------------
    Wrong(Z, "always float32 (float64 logits lose precision)", '''
def router_z_loss(router_logits):
    return torch.logsumexp(router_logits.float(), dim=-1).pow(2).mean()
''', "float64"),
    Wrong(Z, "shifts the caller's logits in place for stability", '''
def router_z_loss(router_logits):
    m = router_logits.amax(dim=-1, keepdim=True)
    router_logits.sub_(m)
    lse = torch.logsumexp(router_logits.to(torch.promote_types(router_logits.dtype, torch.float32)), dim=-1)
    return (lse + m.squeeze(-1)).pow(2).mean()
''', "in place"),
    Wrong(Z, "divides by the first dimension instead of the number of tokens", '''
def router_z_loss(router_logits):
    logits = router_logits.to(torch.promote_types(router_logits.dtype, torch.float32))
    return torch.logsumexp(logits, dim=-1).pow(2).sum() / logits.shape[0]
''', "mean"),
    Wrong(Z, "one global max subtracted (rows far below it underflow to log 0)", '''
def router_z_loss(router_logits):
    logits = router_logits.to(torch.promote_types(router_logits.dtype, torch.float32))
    m = logits.max()
    return (m + (logits - m).exp().sum(dim=-1).log()).pow(2).mean()
''', "logsumexp"),

    # biased_top_k_route ----------------------------------------------------------------------------
    Wrong(BIASED, "adds the bias to the scores in place, then gathers the weights from them", '''
def biased_top_k_route(logits, bias, k):
    scores = torch.sigmoid(logits.to(torch.promote_types(logits.dtype, torch.float32)))
    indices = scores.add_(bias).topk(k, dim=-1).indices
    chosen = scores.gather(-1, indices)
    return chosen / chosen.sum(dim=-1, keepdim=True), indices
''', "never reach the weights"),
    Wrong(BIASED, "sigmoid in the logits' dtype (bfloat16 scores)", '''
def biased_top_k_route(logits, bias, k):
    scores = torch.sigmoid(logits)
    indices = (scores + bias).topk(k, dim=-1).indices
    chosen = scores.gather(-1, indices).to(torch.promote_types(logits.dtype, torch.float32))
    return chosen / chosen.sum(dim=-1, keepdim=True), indices
''', "float32"),
    Wrong(BIASED, "divides by the sum of ALL scores", '''
def biased_top_k_route(logits, bias, k):
    scores = torch.sigmoid(logits.to(torch.promote_types(logits.dtype, torch.float32)))
    indices = (scores + bias).topk(k, dim=-1).indices
    return scores.gather(-1, indices) / scores.sum(dim=-1, keepdim=True), indices
''', "k chosen scores"),
    Wrong(BIASED, "chosen experts listed by expert number", '''
def biased_top_k_route(logits, bias, k):
    scores = torch.sigmoid(logits.to(torch.promote_types(logits.dtype, torch.float32)))
    indices = (scores + bias).topk(k, dim=-1).indices.sort(dim=-1).values
    chosen = scores.gather(-1, indices)
    return chosen / chosen.sum(dim=-1, keepdim=True), indices
''', "decreasing order"),

    # update_bias -----------------------------------------------------------------------------------
    Wrong(UPDATE, "unique(return_counts=True): idle experts missing, counts shifted", '''
def update_bias(bias, indices, n_experts, speed):
    _, counts = indices.unique(return_counts=True)
    load = torch.zeros_like(bias)
    load[:len(counts)] = counts.to(bias.dtype)
    return bias + speed * torch.sign(indices.numel() / n_experts - load)
''', "minlength"),
    Wrong(UPDATE, "integer division for the mean load", variant(
        UPDATE_PLAIN, ("indices.numel() / n_experts", "indices.numel() // n_experts")), "need not be whole"),
    Wrong(UPDATE, "step clamped to the load error (smaller than speed for fractional errors)", variant(
        UPDATE_PLAIN, ("torch.sign(indices.numel() / n_experts - load)",
                       "torch.clamp(indices.numel() / n_experts - load, -1, 1)")), "torch.sign"),
    Wrong(UPDATE, "a running bias kept between calls (per number of experts)", '''
_RUNNING = {}


def update_bias(bias, indices, n_experts, speed):
    running = _RUNNING.setdefault(n_experts, bias.clone())
    load = torch.bincount(indices.reshape(-1), minlength=n_experts).to(bias.dtype)
    running += speed * torch.sign(indices.numel() / n_experts - load)
    return running.clone()
''', "earlier call"),
    Wrong(UPDATE, "bias += step, then a copy returned", '''
def update_bias(bias, indices, n_experts, speed):
    load = torch.bincount(indices.reshape(-1), minlength=n_experts).to(bias.dtype)
    bias += speed * torch.sign(indices.numel() / n_experts - load)
    return bias.clone()
''', "in place"),
]

CORRECT = [
    Correct(ROUTE, "softmax over the top-k logits only (the same numbers)", '''
def top_k_route(logits, k):
    top_logits, indices = logits.topk(k, dim=-1)
    return torch.softmax(top_logits, dim=-1, dtype=torch.promote_types(logits.dtype, torch.float32)), indices
'''),
    Correct(ROUTE, "a stable softmax by hand, then a descending sort", '''
def top_k_route(logits, k):
    z = logits.to(torch.promote_types(logits.dtype, torch.float32))
    e = (z - z.amax(dim=-1, keepdim=True)).exp()
    probs = e / e.sum(dim=-1, keepdim=True)
    values, order = torch.sort(probs, dim=-1, descending=True)
    top, indices = values[..., :k], order[..., :k]
    return top / top.sum(dim=-1, keepdim=True), indices
'''),
    Correct(MOE, "a one-hot combine matrix and nonzero per expert, index_add_ in place", MOE_GIVEN + '''
    def forward(self, x):
        *lead, d = x.shape
        x = x.reshape(-1, d)
        logits = self.router(x)
        weights, indices = self.route(logits)
        # combine[t, e] = the weight of expert e for token t (0 when not chosen)
        combine = (F.one_hot(indices, len(self.experts)) * weights.unsqueeze(-1)).sum(dim=1).to(x.dtype)
        chosen_mask = F.one_hot(indices, len(self.experts)).sum(dim=1) > 0
        y = x.new_zeros(x.shape)
        for e, expert in enumerate(self.experts):
            rows = chosen_mask[:, e].nonzero().squeeze(-1)
            y.index_add_(0, rows, combine[rows, e, None] * expert(x[rows]))
        return y.reshape(*lead, d), logits.reshape(*lead, -1)
'''),
    Correct(MOE, "an unstable argsort and experts with no tokens skipped", variant(
        MOE_SORTED, ("order = flat.argsort(stable=True)", "order = torch.argsort(flat)"),
        ("            y = y.index_add(0, chosen, w * expert(x[chosen]))\n",
         "            if chosen.numel():\n"
         "                y = y.index_add(0, chosen, w * expert(x[chosen]))\n"))),
    Correct(LB, "one-hot counts and a dot product", '''
def load_balancing_loss(router_logits, k):
    E = router_logits.shape[-1]
    probs = torch.softmax(router_logits.reshape(-1, E), dim=-1,
                          dtype=torch.promote_types(router_logits.dtype, torch.float32))
    picks = F.one_hot(probs.topk(k, dim=-1).indices, E).sum(dim=(0, 1)).to(probs.dtype)
    return E * torch.dot(picks / probs.shape[0], probs.mean(dim=0))
'''),
    Correct(LB, "Hugging Face's per-slot layout: a (k, E) table of fractions", '''
def load_balancing_loss(router_logits, k):
    E = router_logits.shape[-1]
    probs = torch.softmax(router_logits.reshape(-1, E), dim=-1,
                          dtype=torch.promote_types(router_logits.dtype, torch.float32))
    _, selected = torch.topk(probs, k, dim=-1)
    tokens_per_expert = F.one_hot(selected, E).to(probs.dtype).mean(dim=0)   # (k, E)
    return (tokens_per_expert * probs.mean(dim=0).unsqueeze(0)).sum() * E
'''),
    Correct(Z, "a stable logsumexp by hand", '''
def router_z_loss(router_logits):
    z = router_logits.to(torch.promote_types(router_logits.dtype, torch.float32))
    m = z.amax(dim=-1, keepdim=True)
    lse = m.squeeze(-1) + (z - m).exp().sum(dim=-1).log()
    return (lse * lse).mean()
'''),
    Correct(Z, "through log_softmax: logsumexp = logit - log_softmax(logit)", '''
def router_z_loss(router_logits):
    z = router_logits.to(torch.promote_types(router_logits.dtype, torch.float32))
    lse = (z - F.log_softmax(z, dim=-1)).amax(dim=-1)
    return torch.mean(lse ** 2)
'''),
    Correct(BIASED, "a descending sort of the biased scores and take_along_dim", '''
def biased_top_k_route(logits, bias, k):
    s = logits.to(torch.promote_types(logits.dtype, torch.float32)).sigmoid()
    indices = torch.sort(s + bias, dim=-1, descending=True).indices[..., :k]
    chosen = torch.take_along_dim(s, indices, dim=-1)
    return chosen / chosen.sum(dim=-1, keepdim=True), indices
'''),
    Correct(BIASED, "F.normalize with p=1 for the weights", '''
def biased_top_k_route(logits, bias, k):
    scores = 1 / (1 + torch.exp(-logits.to(torch.promote_types(logits.dtype, torch.float32))))
    _, indices = torch.topk(scores + bias, k, dim=-1)
    return F.normalize(scores.gather(-1, indices), p=1, dim=-1), indices
'''),
    Correct(UPDATE, "histc counts (as Hugging Face does) and a mask per direction", '''
def update_bias(bias, indices, n_experts, speed):
    load = torch.histc(indices.double().reshape(-1), bins=n_experts, min=0, max=n_experts)
    mean = indices.numel() / n_experts
    step = torch.zeros_like(bias)
    step[load > mean] = -speed
    step[load < mean] = speed
    return bias + step
'''),
    Correct(UPDATE, "one-hot counts and torch.sgn on a float64 error", '''
def update_bias(bias, indices, n_experts, speed):
    load = F.one_hot(indices.reshape(-1), n_experts).sum(dim=0)
    error = indices.numel() / n_experts - load.double()
    return (bias + speed * torch.sgn(error).to(bias.dtype)).to(bias.dtype)
'''),
]
