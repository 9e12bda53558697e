"""11-lora: edge-case bugs the text's domain exposes (integer division, views of non-contiguous inputs,
Parameters lost by .to(), shallow copies, suffix matching, .grad instead of requires_grad, order of the
saved names), and correct solutions written in unusual ways. Each solution replaces the whole solution
cell of its exercise (the other exercises stay the reference's)."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m11_lora import APPLY as APPLY_PLAIN
from tests.mutants.m11_lora import LORA as LORA_PLAIN
from tests.mutants.m11_lora import MERGE as MERGE_PLAIN

ASSIGNMENT = "11-lora"

LORA = "LoRALinear"
MERGE = "merged_linear"
APPLY = "apply_lora"
COUNT = "count_trainable"
SAVE = "lora_state_dict"

WRONG = [
    # LoRALinear ------------------------------------------------------------------------------------
    Wrong(LORA, "integer division for the scaling: alpha // r is 0 for alpha = 1, r = 3",
          variant(LORA_PLAIN, ("alpha / math.sqrt(r) if use_rslora else alpha / r",
                               "alpha / math.sqrt(r) if use_rslora else float(alpha // r)")), "alpha / r"),
    Wrong(LORA, "x.view(-1, in_features): fails on a non-contiguous x",
          variant(LORA_PLAIN, ('''        update = self.dropout(x) @ self.lora_A.T @ self.lora_B.T
''', '''        flat = self.dropout(x).view(-1, x.shape[-1])
        update = (flat @ self.lora_A.T @ self.lora_B.T).view(*x.shape[:-1], -1)
''')), "x.view"),
    Wrong(LORA, "nn.Parameter(...).to(dtype): for a float64 base the result is no longer a Parameter",
          variant(LORA_PLAIN, ("        like_base = dict(dtype=base.weight.dtype, device=base.weight.device)\n", ""),
                  ("self.lora_A = nn.Parameter(torch.empty(r, base.in_features, **like_base))",
                   "self.lora_A = nn.Parameter(torch.empty(r, base.in_features)).to(base.weight.dtype)"),
                  ("self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, **like_base))",
                   "self.lora_B = nn.Parameter(torch.zeros(base.out_features, r)).to(base.weight.dtype)")),
          "base.weight's dtype"),
    Wrong(LORA, "the base called under torch.no_grad() instead of being frozen",
          variant(LORA_PLAIN, ("        self.base.requires_grad_(False)\n", ""),
                  ("        return self.base(x) + self.scaling * update",
                   "        with torch.no_grad():\n            frozen = self.base(x)\n        return frozen + self.scaling * update")),
          "Freeze the base"),
    Wrong(LORA, "torch.mm: only 2-D inputs",
          variant(LORA_PLAIN, ("update = self.dropout(x) @ self.lora_A.T @ self.lora_B.T",
                               "update = torch.mm(torch.mm(self.dropout(x), self.lora_A.T), self.lora_B.T)")),
          "ANY leading dimensions"),

    # merged_linear ---------------------------------------------------------------------------------
    Wrong(MERGE, "the bias wrapped in a new Parameter that shares the base's storage",
          variant(MERGE_PLAIN, ("            merged.bias.copy_(base.bias)\n",
                                "            merged.bias = nn.Parameter(base.bias.data)\n")), "shares its storage"),
    Wrong(MERGE, "copy.copy of the base: a shallow copy whose weight is the base's, changed in place", '''
def merged_linear(layer):
    merged = copy.copy(layer.base)
    with torch.no_grad():
        merged.weight += layer.scaling * layer.lora_B @ layer.lora_A
    return merged
''', "in place"),
    Wrong(MERGE, "the update computed in float32: float64 layers lose precision",
          variant(MERGE_PLAIN, ("base.weight + layer.scaling * layer.lora_B @ layer.lora_A",
                                "base.weight + (layer.scaling * layer.lora_B.float() @ layer.lora_A.float()).to(base.weight.dtype)")),
          "float64 stays float64"),

    # apply_lora ------------------------------------------------------------------------------------
    Wrong(APPLY, "matches names by suffix: 'proj' wraps q_proj, v_proj and o_proj",
          variant(APPLY_PLAIN, ('name.rpartition(".")[2] in target_names', "name.endswith(tuple(target_names))")),
          "own name"),
    Wrong(APPLY, "wraps a deep copy of each target, not the module itself",
          variant(APPLY_PLAIN, ("LoRALinear(getattr(parent, child_name), r, alpha, dropout, use_rslora)",
                                "LoRALinear(copy.deepcopy(getattr(parent, child_name)), r, alpha, dropout, use_rslora)")),
          "Wrap the module that is there"),
    Wrong(APPLY, "dropout and use_rslora passed in the wrong order",
          variant(APPLY_PLAIN, ("LoRALinear(getattr(parent, child_name), r, alpha, dropout, use_rslora)",
                                "LoRALinear(getattr(parent, child_name), r, alpha, use_rslora, dropout)")),
          "Pass r, alpha, dropout and use_rslora on"),
    Wrong(APPLY, "returns None (changes the model in place only)",
          variant(APPLY_PLAIN, ("    return model\n", "")), "return model"),

    # count_trainable -------------------------------------------------------------------------------
    Wrong(COUNT, "p.grad is not None instead of requires_grad: a fresh model counts 0", '''
def count_trainable(model):
    parameters = list(model.parameters())
    return sum(p.numel() for p in parameters if p.grad is not None), sum(p.numel() for p in parameters)
''', "requires_grad"),
    Wrong(COUNT, "len(p): counts rows, not elements", '''
def count_trainable(model):
    parameters = list(model.parameters())
    return sum(len(p) for p in parameters if p.requires_grad), sum(len(p) for p in parameters)
''', "Count elements (p.numel())"),
    Wrong(COUNT, "a list instead of a tuple", '''
def count_trainable(model):
    parameters = list(model.parameters())
    return [sum(p.numel() for p in parameters if p.requires_grad), sum(p.numel() for p in parameters)]
''', "tuple"),

    # lora_state_dict -------------------------------------------------------------------------------
    Wrong(SAVE, "detach() is not a copy: the saved tensors share the model's memory", '''
def lora_state_dict(model):
    return {name: p.detach() for name, p in model.named_parameters() if name.rpartition(".")[2] in ("lora_A", "lora_B")}
''', "copies"),
    Wrong(SAVE, "names sorted: the head's adapter comes first, not in the state_dict's order", '''
def lora_state_dict(model):
    state = model.state_dict()
    return {name: state[name].clone() for name in sorted(state) if name.rpartition(".")[2] in ("lora_A", "lora_B")}
''', "in the state_dict's order"),
    Wrong(SAVE, "state_dict(keep_vars=True): Parameters cloned with their autograd history", '''
def lora_state_dict(model):
    return {name: tensor.clone() for name, tensor in model.state_dict(keep_vars=True).items()
            if name.rpartition(".")[2] in ("lora_A", "lora_B")}
''', "autograd history"),
]

CORRECT = [
    # LoRALinear ------------------------------------------------------------------------------------
    Correct(LORA, "einsum, a normal init of A, F.dropout with the training flag", '''
class LoRALinear(nn.Module):
    def __init__(self, base, r, alpha, dropout=0.0, use_rslora=False):
        super().__init__()
        if not r >= 1:
            raise ValueError("r >= 1")
        for p in base.parameters():
            p.requires_grad = False
        self.base, self.p = base, dropout
        self.scaling = float(alpha / (r ** 0.5 if use_rslora else r))
        w = base.weight
        self.lora_A = nn.Parameter(torch.randn(r, w.shape[1], dtype=w.dtype, device=w.device) / r)
        self.lora_B = nn.Parameter(w.new_zeros(w.shape[0], r))

    def forward(self, x):
        dropped = F.dropout(x, self.p, self.training)
        return self.base(x) + self.scaling * torch.einsum("...i,ri,or->...o", dropped, self.lora_A, self.lora_B)
'''),
    Correct(LORA, "F.linear with the merged weight when nothing is dropped", '''
class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0, use_rslora: bool = False):
        super().__init__()
        if r <= 0:
            raise ValueError(f"rank {r}")
        base.weight.requires_grad_(False)
        if base.bias is not None:
            base.bias.requires_grad_(False)
        self.base = base
        self.scaling = alpha / math.sqrt(r) if use_rslora else alpha / r
        self.lora_A = nn.Parameter(torch.empty_like(base.weight[:1].expand(r, -1)))
        self.lora_B = nn.Parameter(torch.zeros_like(base.weight[:, :1].expand(-1, r)))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        if self.training and self.dropout.p > 0:
            return self.base(x) + self.scaling * F.linear(F.linear(self.dropout(x), self.lora_A), self.lora_B)
        return F.linear(x, self.base.weight + self.scaling * self.lora_B @ self.lora_A, self.base.bias)
'''),

    # merged_linear ---------------------------------------------------------------------------------
    Correct(MERGE, "a deep copy of the base, then add_ on the copy", '''
def merged_linear(layer):
    merged = copy.deepcopy(layer.base)
    with torch.no_grad():
        merged.weight.add_(layer.lora_B @ layer.lora_A, alpha=layer.scaling)
    return merged
'''),
    Correct(MERGE, "new Parameters assigned, the product through its transpose", '''
def merged_linear(layer):
    base = layer.base
    merged = nn.Linear(base.in_features, base.out_features, bias=base.bias is not None).to(base.weight.dtype)
    delta = (layer.lora_A.T @ layer.lora_B.T).T * layer.scaling
    merged.weight = nn.Parameter((base.weight + delta).detach().clone())
    if base.bias is not None:
        merged.bias = nn.Parameter(base.bias.detach().clone())
    return merged
'''),

    # apply_lora ------------------------------------------------------------------------------------
    Correct(APPLY, "a recursive walk over named_children", '''
def apply_lora(model, target_names, r, alpha, dropout=0.0, use_rslora=False):
    for p in model.parameters():
        p.requires_grad = False
    wrapped = []

    def visit(module):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.Linear) and child_name in target_names:
                setattr(module, child_name, LoRALinear(child, r, alpha, dropout=dropout, use_rslora=use_rslora))
                wrapped.append(child_name)
            else:
                visit(child)

    visit(model)
    if not wrapped:
        raise ValueError(f"none of {target_names} found")
    return model
'''),
    Correct(APPLY, "a dict of modules, a set of names, the parent's _modules", '''
def apply_lora(model, target_names, r, alpha, dropout=0.0, use_rslora=False):
    wanted = set(target_names)
    modules = dict(model.named_modules())
    chosen = [name for name, m in modules.items() if type(m) is nn.Linear and name.split(".")[-1] in wanted]
    if len(chosen) == 0:
        raise ValueError("nothing to adapt")
    model.requires_grad_(False)
    for name in chosen:
        parent, _, child = name.rpartition(".")
        modules[parent]._modules[child] = LoRALinear(modules[name], r, alpha, dropout, use_rslora)
    return model
'''),

    # count_trainable -------------------------------------------------------------------------------
    Correct(COUNT, "duplicates removed by id over named_parameters(remove_duplicate=False)", '''
def count_trainable(model):
    unique = {id(p): p for _, p in model.named_parameters(remove_duplicate=False)}
    trainable = total = 0
    for p in unique.values():
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return (trainable, total)
'''),
    Correct(COUNT, "map and filter", '''
def count_trainable(model):
    parameters = list(model.parameters())
    return sum(map(torch.numel, filter(lambda p: p.requires_grad, parameters))), sum(map(torch.numel, parameters))
'''),

    # lora_state_dict -------------------------------------------------------------------------------
    Correct(SAVE, "named_parameters, detached and cloned", '''
def lora_state_dict(model):
    saved = {}
    for name, p in model.named_parameters():
        if name == "lora_A" or name == "lora_B" or name.endswith((".lora_A", ".lora_B")):
            saved[name] = p.detach().clone()
    return saved
'''),
    Correct(SAVE, "from the modules that hold an adapter", '''
def lora_state_dict(model):
    saved = {}
    for name, module in model.named_modules():
        prefix = f"{name}." if name else ""
        for part in ("lora_A", "lora_B"):
            if isinstance(getattr(module, part, None), torch.Tensor):
                saved[prefix + part] = getattr(module, part).detach().clone()
    return saved
'''),
]
