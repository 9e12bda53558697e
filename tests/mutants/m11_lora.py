"""Plausible wrong solutions for 11-lora."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "11-lora"

LORA = '''
class LoRALinear(nn.Module):
    def __init__(self, base, r, alpha, dropout=0.0, use_rslora=False):
        super().__init__()
        if r < 1:
            raise ValueError("r must be at least 1")
        self.base = base
        self.base.requires_grad_(False)
        self.scaling = alpha / math.sqrt(r) if use_rslora else alpha / r
        like_base = dict(dtype=base.weight.dtype, device=base.weight.device)
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features, **like_base))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, **like_base))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        update = self.dropout(x) @ self.lora_A.T @ self.lora_B.T
        return self.base(x) + self.scaling * update
'''

MERGE = '''
def merged_linear(layer):
    base = layer.base
    merged = nn.Linear(base.in_features, base.out_features, bias=base.bias is not None,
                       dtype=base.weight.dtype, device=base.weight.device)
    with torch.no_grad():
        merged.weight.copy_(base.weight + layer.scaling * layer.lora_B @ layer.lora_A)
        if base.bias is not None:
            merged.bias.copy_(base.bias)
    return merged
'''

APPLY = '''
def apply_lora(model, target_names, r, alpha, dropout=0.0, use_rslora=False):
    model.requires_grad_(False)
    targets = [name for name, module in model.named_modules()
               if isinstance(module, nn.Linear) and name.rpartition(".")[2] in target_names]
    if not targets:
        raise ValueError("no nn.Linear has one of the target names")
    for name in targets:
        parent_name, _, child_name = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child_name, LoRALinear(getattr(parent, child_name), r, alpha, dropout, use_rslora))
    return model
'''

COUNT = '''
def count_trainable(model):
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())
'''

SAVE = '''
def lora_state_dict(model):
    return {name: tensor.clone() for name, tensor in model.state_dict().items()
            if name.rpartition(".")[2] in ("lora_A", "lora_B")}
'''

MUTANTS = [
    # LoRALinear
    Mutant("LoRALinear", "the base is never frozen (the seed's bug: 88% of the parameters trained)",
           variant(LORA, ("        self.base.requires_grad_(False)\n", "")), "Freeze the base"),
    Mutant("LoRALinear", "only the base's weight is frozen, its bias still trains",
           variant(LORA, ("self.base.requires_grad_(False)", "self.base.weight.requires_grad_(False)")),
           "weight AND its bias"),
    Mutant("LoRALinear", "A and B with swapped shapes: A (in, r), B (r, out)",
           variant(LORA, ("torch.empty(r, base.in_features, **like_base)", "torch.empty(base.in_features, r, **like_base)"),
                   ("torch.zeros(base.out_features, r, **like_base)", "torch.zeros(r, base.out_features, **like_base)"),
                   ("self.dropout(x) @ self.lora_A.T @ self.lora_B.T", "self.dropout(x) @ self.lora_A @ self.lora_B")),
           "(r, in_features)"),
    Mutant("LoRALinear", "B initialised at random: the adapted model no longer starts as the base",
           variant(LORA, ("torch.zeros(base.out_features, r, **like_base)",
                          "0.01 * torch.randn(base.out_features, r, **like_base)")), "lora_B starts at zero"),
    Mutant("LoRALinear", "the roles reversed: A zeros and B random",
           variant(LORA, ("torch.zeros(base.out_features, r, **like_base)", "torch.empty(base.out_features, r, **like_base)"),
                   ("torch.empty(r, base.in_features, **like_base)", "torch.zeros(r, base.in_features, **like_base)"),
                   ("nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))", "nn.init.kaiming_uniform_(self.lora_B, a=math.sqrt(5))")),
           "starts at zero"),
    Mutant("LoRALinear", "A and B both zero: nothing ever learns",
           variant(LORA, ("torch.empty(r, base.in_features, **like_base)", "torch.zeros(r, base.in_features, **like_base)"),
                   ("        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))\n", "")), "Initialise lora_A at random"),
    Mutant("LoRALinear", "scaling r / alpha",
           variant(LORA, ("alpha / math.sqrt(r) if use_rslora else alpha / r", "math.sqrt(r) / alpha if use_rslora else r / alpha")),
           "not r / alpha"),
    Mutant("LoRALinear", "scaling alpha, not divided by r",
           variant(LORA, ("alpha / math.sqrt(r) if use_rslora else alpha / r", "float(alpha)")), "alpha / r"),
    Mutant("LoRALinear", "rsLoRA ignored: alpha / r always",
           variant(LORA, ("alpha / math.sqrt(r) if use_rslora else alpha / r", "alpha / r")), "alpha / sqrt(r)"),
    Mutant("LoRALinear", "dropout applied in eval mode too (F.dropout without training=)",
           variant(LORA, ("self.dropout = nn.Dropout(dropout)", "self.p = dropout"),
                   ("self.dropout(x) @ self.lora_A.T", "F.dropout(x, self.p) @ self.lora_A.T")), "training mode only"),
    Mutant("LoRALinear", "dropout applied to the frozen path too",
           variant(LORA, ("        update = self.dropout(x) @ self.lora_A.T @ self.lora_B.T\n",
                          "        x = self.dropout(x)\n        update = x @ self.lora_A.T @ self.lora_B.T\n")),
           "frozen path"),
    Mutant("LoRALinear", "dropout applied to the update instead of the adapter's input",
           variant(LORA, ("self.dropout(x) @ self.lora_A.T @ self.lora_B.T", "self.dropout(x @ self.lora_A.T @ self.lora_B.T)")),
           "adapter's INPUT"),
    Mutant("LoRALinear", "the base's bias dropped",
           variant(LORA, ("return self.base(x) + self.scaling * update", "return F.linear(x, self.base.weight) + self.scaling * update")),
           "Keep the base's bias"),
    Mutant("LoRALinear", "A and B always float32, whatever the base's dtype",
           variant(LORA, ("like_base = dict(dtype=base.weight.dtype, device=base.weight.device)", "like_base = dict()")),
           "base.weight's dtype"),
    Mutant("LoRALinear", "r = 0 accepted",
           variant(LORA, ('        if r < 1:\n            raise ValueError("r must be at least 1")\n', "")), "Raise ValueError"),
    Mutant("LoRALinear", "A detached in forward: A never learns",
           variant(LORA, ("self.dropout(x) @ self.lora_A.T", "self.dropout(x) @ self.lora_A.detach().T")), "no .detach()"),
    Mutant("LoRALinear", "a copy of the base kept instead of the module given",
           variant(LORA, ("self.base = base\n", "self.base = copy.deepcopy(base)\n")), "Keep the module you are given"),

    # merged_linear
    Mutant("merged_linear", "B @ A transposed: A.T @ B.T",
           variant(MERGE, ("layer.lora_B @ layer.lora_A", "layer.lora_A.T @ layer.lora_B.T")), "order B @ A"),
    Mutant("merged_linear", "merged into the base in place and the base returned",
           variant(MERGE, ('''    merged = nn.Linear(base.in_features, base.out_features, bias=base.bias is not None,
                       dtype=base.weight.dtype, device=base.weight.device)
    with torch.no_grad():
        merged.weight.copy_(base.weight + layer.scaling * layer.lora_B @ layer.lora_A)
        if base.bias is not None:
            merged.bias.copy_(base.bias)
    return merged''', '''    with torch.no_grad():
        base.weight += layer.scaling * layer.lora_B @ layer.lora_A
    return base''')), "in place"),
    Mutant("merged_linear", "base.weight updated in place, then copied into a new layer (merging twice adds it twice)",
           variant(MERGE, ("merged.weight.copy_(base.weight + layer.scaling * layer.lora_B @ layer.lora_A)",
                           "merged.weight.copy_(base.weight.add_(layer.scaling * layer.lora_B @ layer.lora_A))")),
           "in place"),
    Mutant("merged_linear", "the scaling forgotten",
           variant(MERGE, ("base.weight + layer.scaling * layer.lora_B @ layer.lora_A", "base.weight + layer.lora_B @ layer.lora_A")),
           "scaling"),
    Mutant("merged_linear", "the bias dropped",
           variant(MERGE, ("bias=base.bias is not None,", "bias=False,"),
                   ("        if base.bias is not None:\n            merged.bias.copy_(base.bias)\n", "")),
           "bias=base.bias is not None"),
    Mutant("merged_linear", "always float32",
           variant(MERGE, ("dtype=base.weight.dtype, device=base.weight.device", "device=base.weight.device")),
           "base weight's dtype"),
    Mutant("merged_linear", "the base's bias shared, not copied",
           variant(MERGE, ("            merged.bias.copy_(base.bias)\n", "            merged.bias = base.bias\n")),
           "shares its storage"),

    # apply_lora
    Mutant("apply_lora", "the rest of the model never frozen (embeddings, norms, head train)",
           variant(APPLY, ("    model.requires_grad_(False)\n", "")), "Freeze the whole model"),
    Mutant("apply_lora", "only the first target replaced",
           variant(APPLY, ("    for name in targets:\n", "    for name in targets[:1]:\n")), "EVERY nn.Linear"),
    Mutant("apply_lora", "works on a copy and returns it",
           variant(APPLY, ("    model.requires_grad_(False)\n", "    model = copy.deepcopy(model)\n    model.requires_grad_(False)\n")),
           "in place"),
    Mutant("apply_lora", "matches a target anywhere in the dotted name",
           variant(APPLY, ('name.rpartition(".")[2] in target_names', "any(t in name for t in target_names)")), "own name"),
    Mutant("apply_lora", "wraps any module with a matching name, not only nn.Linear",
           variant(APPLY, ("isinstance(module, nn.Linear) and name", "name")), "nn.Linear"),
    Mutant("apply_lora", "no ValueError when nothing matches",
           variant(APPLY, ('    if not targets:\n        raise ValueError("no nn.Linear has one of the target names")\n', "")),
           "Raise ValueError"),
    Mutant("apply_lora", "dropout and use_rslora not passed on",
           variant(APPLY, ("LoRALinear(getattr(parent, child_name), r, alpha, dropout, use_rslora)",
                           "LoRALinear(getattr(parent, child_name), r, alpha)")), "use_rslora on"),
    Mutant("apply_lora", "the model frozen after wrapping: the adapters are frozen too",
           variant(APPLY, ("    model.requires_grad_(False)\n", ""),
                   ("    return model\n", "    model.requires_grad_(False)\n    return model\n")), "lora_A and lora_B"),

    # count_trainable
    Mutant("count_trainable", "every parameter counted as trainable",
           variant(COUNT, (" if p.requires_grad)", ")")), "only the parameters with p.requires_grad"),
    Mutant("count_trainable", "tensors counted, not elements",
           variant(COUNT, ("trainable = sum(p.numel() for p", "trainable = sum(1 for p"),
                   ("sum(p.numel() for p in model.parameters())\n", "sum(1 for p in model.parameters())\n")),
           "not of elements (p.numel())"),
    Mutant("count_trainable", "(total, trainable): the order swapped",
           variant(COUNT, ("    return trainable, sum(p.numel() for p in model.parameters())",
                           "    return sum(p.numel() for p in model.parameters()), trainable")), "the order is swapped"),
    Mutant("count_trainable", "tied weights counted twice",
           variant(COUNT, ("trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)",
                           "trainable = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False) if p.requires_grad)"),
                   ("sum(p.numel() for p in model.parameters())\n",
                    "sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))\n")),
           "shared by two modules"),
    Mutant("count_trainable", "the total read from the state_dict (buffers and tied weights counted)",
           variant(COUNT, ("sum(p.numel() for p in model.parameters())\n", "sum(t.numel() for t in model.state_dict().values())\n")),
           "Buffers"),
    Mutant("count_trainable", "the trainable fraction returned",
           variant(COUNT, ("    return trainable, sum(p.numel() for p in model.parameters())",
                           "    return trainable / sum(p.numel() for p in model.parameters())")), "tuple of two Python ints"),

    # lora_state_dict
    Mutant("lora_state_dict", "no copies: the saved tensors change when training continues",
           variant(SAVE, ("{name: tensor.clone() for", "{name: tensor for")), "copies"),
    Mutant("lora_state_dict", "every trainable parameter saved",
           variant(SAVE, ('''    return {name: tensor.clone() for name, tensor in model.state_dict().items()
            if name.rpartition(".")[2] in ("lora_A", "lora_B")}''',
                           '''    return {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}''')),
           "Select by name"),
    Mutant("lora_state_dict", "the whole state_dict saved",
           variant(SAVE, ('''
            if name.rpartition(".")[2] in ("lora_A", "lora_B")}''', "}")), "lora_A or lora_B"),
    Mutant("lora_state_dict", "saved under the short names lora_A and lora_B (they overwrite each other)",
           variant(SAVE, ("{name: tensor.clone() for", '{name.rpartition(".")[2]: tensor.clone() for')), "full dotted names"),
    Mutant("lora_state_dict", "the Parameters cloned with their autograd history",
           variant(SAVE, ('''    return {name: tensor.clone() for name, tensor in model.state_dict().items()
            if name.rpartition(".")[2] in ("lora_A", "lora_B")}''',
                           '''    return {name: p.clone() for name, p in model.named_parameters()
            if name.rpartition(".")[2] in ("lora_A", "lora_B")}''')), "detached"),
    Mutant("lora_state_dict", "only lora_A saved",
           variant(SAVE, ('in ("lora_A", "lora_B")', '== "lora_A"')), "lora_A or lora_B"),
]
