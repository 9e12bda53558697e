"""Plausible wrong solutions for 06-mixture-of-experts."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "06-mixture-of-experts"

ROUTE = '''
def top_k_route(logits, k):
    probs = torch.softmax(logits, dim=-1, dtype=torch.promote_types(logits.dtype, torch.float32))
    top, indices = probs.topk(k, dim=-1)
    return top / top.sum(dim=-1, keepdim=True), indices
'''

MOE = '''
class MoELayer(nn.Module):
    def __init__(self, d_model, d_hidden, n_experts, top_k):
        super().__init__()
        self.top_k = top_k
        self.router = nn.Linear(d_model, n_experts, bias=False)
        self.experts = nn.ModuleList(Expert(d_model, d_hidden) for _ in range(n_experts))

    def route(self, logits):
        return top_k_route(logits, self.top_k)

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        logits = self.router(x)
        weights, indices = self.route(logits)
        weights = weights.to(x.dtype)
        y = torch.zeros_like(x)
        for e, expert in enumerate(self.experts):
            token, slot = torch.where(indices == e)
            y = y.index_add(0, token, weights[token, slot, None] * expert(x[token]))
        return y.reshape(shape), logits.reshape(*shape[:-1], -1)
'''

BALANCE = '''
def load_balancing_loss(router_logits, k):
    n_experts = router_logits.shape[-1]
    logits = router_logits.reshape(-1, n_experts)
    probs = torch.softmax(logits, dim=-1, dtype=torch.promote_types(logits.dtype, torch.float32))
    chosen = probs.topk(k, dim=-1).indices
    f = torch.bincount(chosen.reshape(-1), minlength=n_experts).to(probs.dtype) / logits.shape[0]
    return n_experts * (f * probs.mean(dim=0)).sum()
'''

Z_LOSS = '''
def router_z_loss(router_logits):
    logits = router_logits.to(torch.promote_types(router_logits.dtype, torch.float32))
    return torch.logsumexp(logits, dim=-1).pow(2).mean()
'''

BIASED = '''
def biased_top_k_route(logits, bias, k):
    scores = torch.sigmoid(logits.to(torch.promote_types(logits.dtype, torch.float32)))
    indices = (scores + bias).topk(k, dim=-1).indices
    chosen = scores.gather(-1, indices)
    return chosen / chosen.sum(dim=-1, keepdim=True), indices
'''

UPDATE = '''
def update_bias(bias, indices, n_experts, speed):
    load = torch.bincount(indices.reshape(-1), minlength=n_experts).to(bias.dtype)
    return bias + speed * torch.sign(indices.numel() / n_experts - load)
'''

MOE_PER_TOKEN = variant(MOE, ('''        for e, expert in enumerate(self.experts):
            token, slot = torch.where(indices == e)
            y = y.index_add(0, token, weights[token, slot, None] * expert(x[token]))
''', '''        rows = []
        for t in range(x.shape[0]):
            rows.append(sum(w * self.experts[e](x[t]) for w, e in zip(weights[t], indices[t].tolist())))
        y = torch.stack(rows)
'''))

MOE_CAPACITY = variant(MOE, ('''            token, slot = torch.where(indices == e)
''', '''            token, slot = torch.where(indices == e)
            capacity = -(-x.shape[0] * self.top_k // len(self.experts))
            token, slot = token[:capacity], slot[:capacity]
'''))

MUTANTS = [
    # top_k_route
    Mutant("top_k_route", "top-k probabilities without renormalising (Qwen-MoE's default)",
           variant(ROUTE, ("return top / top.sum(dim=-1, keepdim=True), indices", "return top, indices")),
           "renormalise"),
    Mutant("top_k_route", "softmax in the logits' own dtype (bfloat16 stays bfloat16)",
           variant(ROUTE, (", dtype=torch.promote_types(logits.dtype, torch.float32))", ")")), "float32"),
    Mutant("top_k_route", "softmax always in float32 (float64 loses precision)",
           variant(ROUTE, ("dtype=torch.promote_types(logits.dtype, torch.float32)", "dtype=torch.float32")),
           "float64"),
    Mutant("top_k_route", "softmax over the first axis (tokens) instead of the experts",
           variant(ROUTE, ("probs = torch.softmax(logits, dim=-1,", "probs = torch.softmax(logits, dim=0,")),
           "last axis"),
    Mutant("top_k_route", "equal weights 1/k for the chosen experts",
           variant(ROUTE, ("return top / top.sum(dim=-1, keepdim=True), indices",
                           "return torch.full_like(top, 1.0 / k), indices")), "renormalise"),
    Mutant("top_k_route", "the k smallest probabilities (largest=False)",
           variant(ROUTE, ("probs.topk(k, dim=-1)", "probs.topk(k, dim=-1, largest=False)")), "largest"),
    Mutant("top_k_route", "weights detached from the logits",
           variant(ROUTE, ("return top / top.sum(dim=-1, keepdim=True), indices",
                           "return (top / top.sum(dim=-1, keepdim=True)).detach(), indices")), "detach"),
    Mutant("top_k_route", "hand-written softmax without subtracting the max: overflows",
           variant(ROUTE, ("probs = torch.softmax(logits, dim=-1, dtype=torch.promote_types(logits.dtype, torch.float32))",
                           "e = logits.to(torch.promote_types(logits.dtype, torch.float32)).exp()\n"
                           "    probs = e / e.sum(dim=-1, keepdim=True)")), "overflow"),
    Mutant("top_k_route", "sigmoid scores instead of a softmax",
           variant(ROUTE, ("probs = torch.softmax(logits, dim=-1, dtype=torch.promote_types(logits.dtype, torch.float32))",
                           "probs = torch.sigmoid(logits.to(torch.promote_types(logits.dtype, torch.float32)))")),
           "sigmoid"),
    Mutant("top_k_route", "renormalised by the largest weight instead of the sum",
           variant(ROUTE, ("return top / top.sum(dim=-1, keepdim=True), indices",
                           "return top / top[..., :1], indices")), "sum"),

    # MoELayer
    Mutant("MoELayer", "a Python loop over tokens (correct values)", MOE_PER_TOKEN, "loop"),
    Mutant("MoELayer", "tokens beyond an expert's capacity dropped silently", MOE_CAPACITY, "dropped"),
    Mutant("MoELayer", "the routing weights ignored (experts' outputs summed)",
           variant(MOE, ("weights[token, slot, None] * expert(x[token])", "expert(x[token])")), "weight"),
    Mutant("MoELayer", "calls top_k_route directly instead of self.route",
           variant(MOE, ("weights, indices = self.route(logits)", "weights, indices = top_k_route(logits, self.top_k)")),
           "self.route"),
    Mutant("MoELayer", "weights not cast to x's dtype (bfloat16 x gives float32 y)",
           variant(MOE, ("        weights = weights.to(x.dtype)\n", ""),
                   ("y = torch.zeros_like(x)", "y = torch.zeros_like(x, dtype=weights.dtype)")), "cast the weights"),
    Mutant("MoELayer", "only each token's first choice is used",
           variant(MOE, ("token, slot = torch.where(indices == e)", "token, slot = torch.where(indices[:, :1] == e)")),
           "sum over the k experts"),
    Mutant("MoELayer", "each expert called once per slot of the top-k (k calls per expert)",
           variant(MOE, ('''        for e, expert in enumerate(self.experts):
            token, slot = torch.where(indices == e)
            y = y.index_add(0, token, weights[token, slot, None] * expert(x[token]))
''', '''        for slot in range(self.top_k):
            for e, expert in enumerate(self.experts):
                token = torch.where(indices[:, slot] == e)[0]
                y = y.index_add(0, token, weights[token, slot, None] * expert(x[token]))
''')), "once"),
    Mutant("MoELayer", "returns the router probabilities instead of the logits",
           variant(MOE, ("return y.reshape(shape), logits.reshape(*shape[:-1], -1)",
                         "return y.reshape(shape), logits.softmax(-1).reshape(*shape[:-1], -1)")), "logits"),
    Mutant("MoELayer", "x.view instead of reshape: fails on non-contiguous input",
           variant(MOE, ("x = x.reshape(-1, shape[-1])", "x = x.view(-1, shape[-1])")), "non-contiguous"),
    Mutant("MoELayer", "a comprehension over tokens to build the groups",
           variant(MOE, ("            token, slot = torch.where(indices == e)\n",
                         "            pairs = [(t, j) for t in range(x.shape[0]) for j in range(self.top_k) "
                         "if indices[t, j] == e]\n"
                         "            token = torch.tensor([t for t, _ in pairs], dtype=torch.long)\n"
                         "            slot = torch.tensor([j for _, j in pairs], dtype=torch.long)\n")), "loop"),

    # load_balancing_loss
    Mutant("load_balancing_loss", "without the factor E",
           variant(BALANCE, ("return n_experts * (f * probs.mean(dim=0)).sum()", "return (f * probs.mean(dim=0)).sum()")),
           "factor"),
    Mutant("load_balancing_loss", "f computed from the soft probabilities (f = P)",
           variant(BALANCE, ("f = torch.bincount(chosen.reshape(-1), minlength=n_experts).to(probs.dtype) / logits.shape[0]",
                             "f = probs.mean(dim=0)")), "soft"),
    Mutant("load_balancing_loss", "f counts only each token's first choice",
           variant(BALANCE, ("torch.bincount(chosen.reshape(-1),", "torch.bincount(chosen[:, 0],")), "all k"),
    Mutant("load_balancing_loss", "f divided by N * k (a balanced router gives 1, not k)",
           variant(BALANCE, ("/ logits.shape[0]", "/ (logits.shape[0] * k)")), "not 1"),
    Mutant("load_balancing_loss", "P from the renormalised top-k weights instead of all probabilities",
           variant(BALANCE, ("return n_experts * (f * probs.mean(dim=0)).sum()",
                             "top = probs.gather(-1, chosen)\n"
                             "    kept = torch.zeros_like(probs).scatter(-1, chosen, top / top.sum(-1, keepdim=True))\n"
                             "    return n_experts * (f * kept.mean(dim=0)).sum()")), "all experts"),
    Mutant("load_balancing_loss", "probabilities detached (no gradient)",
           variant(BALANCE, ("return n_experts * (f * probs.mean(dim=0)).sum()",
                             "return n_experts * (f * probs.detach().mean(dim=0)).sum()")), "detach"),
    Mutant("load_balancing_loss", "softmax in the logits' dtype (bfloat16 loss)",
           variant(BALANCE, (", dtype=torch.promote_types(logits.dtype, torch.float32))", ")")), "float32"),

    # router_z_loss
    Mutant("router_z_loss", "logsumexp not squared",
           variant(Z_LOSS, (".pow(2).mean()", ".mean()")), "square"),
    Mutant("router_z_loss", "summed over tokens instead of averaged",
           variant(Z_LOSS, (".pow(2).mean()", ".pow(2).sum()")), "mean, not sum"),
    Mutant("router_z_loss", "log(sum(exp)) by hand: overflows",
           variant(Z_LOSS, ("torch.logsumexp(logits, dim=-1)", "logits.exp().sum(dim=-1).log()")), "logsumexp"),
    Mutant("router_z_loss", "the max logit instead of the logsumexp",
           variant(Z_LOSS, ("torch.logsumexp(logits, dim=-1)", "logits.amax(dim=-1)")), "max alone"),
    Mutant("router_z_loss", "logsumexp over the tokens (first axis)",
           variant(Z_LOSS, ("torch.logsumexp(logits, dim=-1)", "torch.logsumexp(logits, dim=0)")), "dim=-1"),
    Mutant("router_z_loss", "the mean of the squared logits",
           variant(Z_LOSS, ("torch.logsumexp(logits, dim=-1).pow(2).mean()", "logits.pow(2).mean()")),
           "not of the logits"),
    Mutant("router_z_loss", "returns a Python float (.item())",
           variant(Z_LOSS, (".pow(2).mean()", ".pow(2).mean().item()")), ".item()"),

    # biased_top_k_route
    Mutant("biased_top_k_route", "the bias fed into the combine weights",
           variant(BIASED, ("chosen = scores.gather(-1, indices)", "chosen = (scores + bias).gather(-1, indices)")),
           "never reach the weights"),
    Mutant("biased_top_k_route", "the bias ignored when choosing",
           variant(BIASED, ("(scores + bias).topk(k, dim=-1)", "scores.topk(k, dim=-1)")), "which experts"),
    Mutant("biased_top_k_route", "chosen by logits + bias (before the sigmoid)",
           variant(BIASED, ("(scores + bias).topk(k, dim=-1)", "(logits + bias).topk(k, dim=-1)")), "logits + bias"),
    Mutant("biased_top_k_route", "softmax scores instead of sigmoid",
           variant(BIASED, ("scores = torch.sigmoid(logits.to(torch.promote_types(logits.dtype, torch.float32)))",
                            "scores = torch.softmax(logits.to(torch.promote_types(logits.dtype, torch.float32)), -1)")),
           "sigmoid"),
    Mutant("biased_top_k_route", "chosen scores not renormalised",
           variant(BIASED, ("return chosen / chosen.sum(dim=-1, keepdim=True), indices", "return chosen, indices")),
           "divide"),
    Mutant("biased_top_k_route", "the bias subtracted",
           variant(BIASED, ("(scores + bias).topk(k, dim=-1)", "(scores - bias).topk(k, dim=-1)")), "which experts"),

    # update_bias
    Mutant("update_bias", "the sign reversed (busy experts favoured)",
           variant(UPDATE, ("torch.sign(indices.numel() / n_experts - load)", "torch.sign(load - indices.numel() / n_experts)")),
           "down"),
    Mutant("update_bias", "a step proportional to the load error",
           variant(UPDATE, ("torch.sign(indices.numel() / n_experts - load)", "(indices.numel() / n_experts - load)")),
           "not proportional"),
    Mutant("update_bias", "the mean load counts tokens, not picks (N / E)",
           variant(UPDATE, ("indices.numel() / n_experts", "indices.shape[0] / n_experts")), "numel"),
    Mutant("update_bias", "experts at the mean moved too (where instead of sign)",
           variant(UPDATE, ("return bias + speed * torch.sign(indices.numel() / n_experts - load)",
                            "return bias + torch.where(load < indices.numel() / n_experts, speed, -speed)")),
           "sign(0) = 0"),
    Mutant("update_bias", "bias updated in place and returned",
           variant(UPDATE, ("return bias + speed * torch.sign(indices.numel() / n_experts - load)",
                            "return bias.add_(speed * torch.sign(indices.numel() / n_experts - load))")), "in place"),
    Mutant("update_bias", "loads counted from each token's first choice only",
           variant(UPDATE, ("torch.bincount(indices.reshape(-1),", "torch.bincount(indices[..., 0].reshape(-1),")),
           "all k picks"),
    Mutant("update_bias", "the result in float64 whatever bias's dtype",
           variant(UPDATE, (".to(bias.dtype)", ".double()"), ("return bias + speed", "return bias.double() + speed")),
           "dtype"),
]
