"""Plausible wrong solutions for 08-training-loss."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "08-training-loss"

CE = '''
def cross_entropy(logits, targets, ignore_index=-100):
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    targets = targets.reshape(-1)
    keep = targets != ignore_index
    rows = logits.reshape(-1, logits.shape[-1])[keep]
    labels = targets[keep]
    top = rows.amax(dim=-1, keepdim=True).detach()
    log_sum_exp = top.squeeze(-1) + (rows - top).exp().sum(dim=-1).log()
    return (log_sum_exp - rows.gather(-1, labels[:, None]).squeeze(-1)).mean()
'''

ADAMW = '''
class AdamW(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
                p.mul_(1 - group["lr"] * group["weight_decay"])
                m.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                m_hat = m / (1 - beta1 ** t)
                v_hat = v / (1 - beta2 ** t)
                p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))
'''

CLIP = '''
def clip_grad_norm(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    factor = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(factor)
    return total
'''

LR = '''
def lr_schedule(step, max_lr, min_lr, warmup_steps, total_steps, stable_steps=0):
    decay_start = warmup_steps + stable_steps
    if total_steps <= decay_start:
        raise ValueError("nothing left to decay")
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step < decay_start:
        return float(max_lr)
    progress = min((step - decay_start) / (total_steps - decay_start), 1.0)
    return min_lr + 0.5 * (max_lr - min_lr) * (1 + math.cos(math.pi * progress))
'''

STEP = '''
def train_step(model, optimizer, inputs, targets, accumulation_steps):
    rows = inputs.shape[0]
    if rows % accumulation_steps:
        raise ValueError("not divisible")
    n_total = int((targets != -100).sum())
    if n_total == 0:
        raise ValueError("every target is ignored")
    optimizer.zero_grad()
    batch_loss = 0.0
    size = rows // accumulation_steps
    for x, y in zip(inputs.split(size), targets.split(size)):
        n = int((y != -100).sum())
        if n == 0:
            continue
        loss = cross_entropy(model(x), y) * (n / n_total)
        loss.backward()
        batch_loss += loss.item()
    optimizer.step()
    return batch_loss
'''

SFT = '''
def sft_example(prompt_ids, response_ids, bos_id, eos_id, pad_id, max_length):
    if pad_id in (bos_id, eos_id):
        raise ValueError("PAD must differ from BOS and EOS")
    input_ids = [bos_id, *prompt_ids, *response_ids, eos_id]
    if len(input_ids) > max_length:
        raise ValueError("too long")
    n_masked = 1 + len(prompt_ids)
    labels = [-100] * n_masked + input_ids[n_masked:]
    padding = max_length - len(input_ids)
    return input_ids + [pad_id] * padding, labels + [-100] * padding
'''

CHECKPOINT = '''
def save_checkpoint(path, model, optimizer, step):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                "rng": torch.get_rng_state()}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.set_rng_state(checkpoint["rng"])
    return checkpoint["step"]
'''

MUTANTS = [
    # cross_entropy
    Mutant("cross_entropy", "mean over every position, ignored ones counted as 0",
           variant(CE, ("    rows = logits.reshape(-1, logits.shape[-1])[keep]\n    labels = targets[keep]\n",
                        "    rows = logits.reshape(-1, logits.shape[-1])\n    labels = targets.clamp(min=0)\n"),
                   ("return (log_sum_exp - rows.gather(-1, labels[:, None]).squeeze(-1)).mean()",
                    "return ((log_sum_exp - rows.gather(-1, labels[:, None]).squeeze(-1)) * keep).mean()")),
           "not by every position"),
    Mutant("cross_entropy", "log(sum(exp)) without subtracting the max: overflows",
           variant(CE, ("log_sum_exp = top.squeeze(-1) + (rows - top).exp().sum(dim=-1).log()",
                        "log_sum_exp = rows.exp().sum(dim=-1).log()")), "overflow"),
    Mutant("cross_entropy", "ignores the ignore_index argument (always -100)",
           variant(CE, ("keep = targets != ignore_index", "keep = targets != -100")), "ignore_index argument"),
    Mutant("cross_entropy", "the sum instead of the mean",
           variant(CE, (".squeeze(-1)).mean()", ".squeeze(-1)).sum()")), "Compare with the reference"),
    Mutant("cross_entropy", "computed in the logits' dtype (bfloat16 stays bfloat16)",
           variant(CE, ("    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))\n", "")), "promote_types"),
    Mutant("cross_entropy", "always float32 (float64 loses precision)",
           variant(CE, ("logits.to(torch.promote_types(logits.dtype, torch.float32))", "logits.float()")), "float64"),
    Mutant("cross_entropy", "assumes a batch axis: (N, V) logits only",
           variant(CE, ("rows = logits.reshape(-1, logits.shape[-1])[keep]", "rows = logits.flatten(0, -2)[keep]")),
           "single position"),
    Mutant("cross_entropy", "uses F.cross_entropy",
           variant(CE, ("    top = rows.amax(dim=-1, keepdim=True).detach()\n", ""),
                   ("    log_sum_exp = top.squeeze(-1) + (rows - top).exp().sum(dim=-1).log()\n"
                    "    return (log_sum_exp - rows.gather(-1, labels[:, None]).squeeze(-1)).mean()",
                    "    return F.cross_entropy(rows, labels)")), "shortcuts"),

    # AdamW
    Mutant("AdamW", "L2 regularisation: weight decay added to the gradient",
           variant(ADAMW, ('''                p.mul_(1 - group["lr"] * group["weight_decay"])
                m.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)''', '''                g = p.grad + group["weight_decay"] * p
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)''')), "decoupled"),
    Mutant("AdamW", "no bias correction",
           variant(ADAMW, ("m_hat = m / (1 - beta1 ** t)", "m_hat = m"), ("v_hat = v / (1 - beta2 ** t)", "v_hat = v")),
           "Bias correction"),
    Mutant("AdamW", "eps inside the square root",
           variant(ADAMW, ('(v_hat.sqrt() + group["eps"])', '(v_hat + group["eps"]).sqrt()')), "outside the square root"),
    Mutant("AdamW", "decay applied after the Adam update",
           variant(ADAMW, ('                p.mul_(1 - group["lr"] * group["weight_decay"])\n', ''),
                   ('p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))',
                    'p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))\n'
                    '                p.mul_(1 - group["lr"] * group["weight_decay"])')), "Decay first"),
    Mutant("AdamW", "weight decay not multiplied by the learning rate",
           variant(ADAMW, ('p.mul_(1 - group["lr"] * group["weight_decay"])', 'p.mul_(1 - group["weight_decay"])')),
           "1 - lr * weight_decay"),
    Mutant("AdamW", "one global step counter instead of each parameter's",
           variant(ADAMW, ('''        for group in self.param_groups:
            beta1''', '''        self.t = getattr(self, "t", 0) + 1
        for group in self.param_groups:
            beta1'''), ('t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]',
                        'm, v = state["exp_avg"], state["exp_avg_sq"]\n                t = self.t')), "own state['step']"),
    Mutant("AdamW", "hyperparameters of the first group for every group",
           variant(ADAMW, ('''        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:''', '''        first = self.param_groups[0]
        for group in self.param_groups:
            beta1, beta2 = first["betas"]
            for p in group["params"]:'''), ('p.mul_(1 - group["lr"] * group["weight_decay"])',
                                            'p.mul_(1 - first["lr"] * first["weight_decay"])'),
                   ('p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))',
                    'p.sub_(first["lr"] * m_hat / (v_hat.sqrt() + first["eps"]))')), "each group"),
    Mutant("AdamW", "decays parameters that have no gradient",
           variant(ADAMW, ('''                if p.grad is None:
                    continue''', '''                if p.grad is None:
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    continue''')), "no decay"),

    # clip_grad_norm
    Mutant("clip_grad_norm", "each tensor clipped to max_norm separately",
           variant(CLIP, ('''    for g in grads:
        g.mul_(factor)''', '''    for g in grads:
        g.mul_(torch.clamp(max_norm / (torch.linalg.vector_norm(g) + 1e-6), max=1.0))''')), "GLOBAL norm"),
    Mutant("clip_grad_norm", "returns the norm after clipping",
           variant(CLIP, ("    return total", "    return total * factor")), "BEFORE"),
    Mutant("clip_grad_norm", "always rescales to max_norm, even when the norm is smaller",
           variant(CLIP, ("factor = torch.clamp(max_norm / (total + 1e-6), max=1.0)", "factor = max_norm / (total + 1e-6)")),
           "min(1"),
    Mutant("clip_grad_norm", "reads a generator twice (nothing left to clip)",
           variant(CLIP, ('''    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))''',
                          '''    squares = [p.grad.pow(2).sum() for p in parameters if p.grad is not None]
    if not squares:
        return torch.tensor(0.0)
    total = torch.stack(squares).sum().sqrt()
    grads = [p.grad for p in parameters if p.grad is not None]''')), "generator"),
    Mutant("clip_grad_norm", "the sum of the per-tensor norms instead of the global L2 norm",
           variant(CLIP, ("total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))",
                          "total = torch.stack([torch.linalg.vector_norm(g) for g in grads]).sum()")), "norm"),
    Mutant("clip_grad_norm", "factor without the 1e-6",
           variant(CLIP, ("max_norm / (total + 1e-6)", "max_norm / total")), "1e-6"),
    Mutant("clip_grad_norm", "returns a Python float",
           variant(CLIP, ("    return total", "    return total.item()")), "0-dim tensor"),
    Mutant("clip_grad_norm", "crashes on parameters without grad",
           variant(CLIP, ("grads = [p.grad for p in parameters if p.grad is not None]",
                          "grads = [p.grad for p in parameters]")), "None"),

    # lr_schedule
    Mutant("lr_schedule", "warmup off by one: step / W (step 0 has lr 0)",
           variant(LR, ("max_lr * (step + 1) / warmup_steps", "max_lr * step / warmup_steps")), "(step + 1) / W"),
    Mutant("lr_schedule", "cosine progress counted from step 0, not from the end of the warmup",
           variant(LR, ("progress = min((step - decay_start) / (total_steps - decay_start), 1.0)",
                        "progress = min(step / total_steps, 1.0)")), "progress"),
    Mutant("lr_schedule", "cosine decays to 0, ignoring min_lr",
           variant(LR, ("return min_lr + 0.5 * (max_lr - min_lr) * (1 + math.cos(math.pi * progress))",
                        "return 0.5 * max_lr * (1 + math.cos(math.pi * progress))")), "Compare with the reference"),
    Mutant("lr_schedule", "no cap: the cosine rises again after total_steps",
           variant(LR, ("progress = min((step - decay_start) / (total_steps - decay_start), 1.0)",
                        "progress = (step - decay_start) / (total_steps - decay_start)")), "Cap the progress"),
    Mutant("lr_schedule", "stable phase ignored",
           variant(LR, ("decay_start = warmup_steps + stable_steps", "decay_start = warmup_steps")), "stable_steps"),
    Mutant("lr_schedule", "returns a tensor (torch.cos)",
           variant(LR, ("math.cos(math.pi * progress)", "torch.cos(torch.tensor(math.pi * progress))")), "Python float"),

    # train_step
    Mutant("train_step", "loss not divided by the accumulation steps",
           variant(STEP, ("loss = cross_entropy(model(x), y) * (n / n_total)", "loss = cross_entropy(model(x), y)")),
           "k times too large"),
    Mutant("train_step", "each micro-batch's mean divided by k (ignores uneven token counts)",
           variant(STEP, ("loss = cross_entropy(model(x), y) * (n / n_total)",
                          "loss = cross_entropy(model(x), y) / accumulation_steps")), "n_i / N"),
    Mutant("train_step", "no zero_grad: stale gradients leak in",
           variant(STEP, ("    optimizer.zero_grad()\n", "")), "zero_grad"),
    Mutant("train_step", "optimizer.step after every micro-batch",
           variant(STEP, ("        batch_loss += loss.item()\n    optimizer.step()",
                          "        batch_loss += loss.item()\n        optimizer.step()")), "once"),
    Mutant("train_step", "empty micro-batches not skipped (NaN gradients)",
           variant(STEP, ("        if n == 0:\n            continue\n", "")), "NaN"),
    Mutant("train_step", "returns the last micro-batch's loss",
           variant(STEP, ("batch_loss += loss.item()", "batch_loss = loss.item()")), "sum of the weighted"),
    Mutant("train_step", "zero_grad between micro-batches (only the last one counts)",
           variant(STEP, ("        loss.backward()", "        optimizer.zero_grad()\n        loss.backward()")),
           "add up in .grad"),

    # sft_example
    Mutant("sft_example", "the first response token masked (the seed's off-by-one)",
           variant(SFT, ("n_masked = 1 + len(prompt_ids)", "n_masked = 2 + len(prompt_ids)")), "off-by-one"),
    Mutant("sft_example", "PAD == BOS allowed",
           variant(SFT, ("if pad_id in (bos_id, eos_id):", "if pad_id == eos_id:")), "PAD must differ from BOS"),
    Mutant("sft_example", "padding found by id: content tokens equal to pad_id masked",
           variant(SFT, ("    return input_ids + [pad_id] * padding, labels + [-100] * padding",
                         "    input_ids = input_ids + [pad_id] * padding\n"
                         "    return input_ids, [-100 if i == pad_id else l for i, l in zip(input_ids, labels + [0] * padding)]")),
           "by position"),
    Mutant("sft_example", "EOS masked",
           variant(SFT, ("labels = [-100] * n_masked + input_ids[n_masked:]",
                         "labels = [-100] * n_masked + input_ids[n_masked:-1] + [-100]")), "stop"),
    Mutant("sft_example", "labels of the padding are pad_id, not -100",
           variant(SFT, ("labels + [-100] * padding", "labels + [pad_id] * padding")), "Padding positions"),
    Mutant("sft_example", "silently truncates instead of raising",
           variant(SFT, ('''    if len(input_ids) > max_length:
        raise ValueError("too long")''', '''    input_ids = input_ids[:max_length]''')), "truncation"),
    Mutant("sft_example", "labels shifted already (labels[t] = input_ids[t + 1])",
           variant(SFT, ("labels = [-100] * n_masked + input_ids[n_masked:]",
                         "labels = [-100] * (n_masked - 1) + input_ids[n_masked:] + [-100]")), "Compare"),

    # checkpoint
    Mutant("checkpoint", "optimizer state not saved",
           variant(CHECKPOINT, ('    optimizer.load_state_dict(checkpoint["optimizer"])\n', '')), "optimizer"),
    Mutant("checkpoint", "RNG state not restored",
           variant(CHECKPOINT, ('    torch.set_rng_state(checkpoint["rng"])\n', '')), "RNG"),
    Mutant("checkpoint", "model loaded with strict=False",
           variant(CHECKPOINT, ('model.load_state_dict(checkpoint["model"])',
                                'model.load_state_dict(checkpoint["model"], strict=False)')), "strict"),
    Mutant("checkpoint", "returns the step after (step + 1)",
           variant(CHECKPOINT, ('    return checkpoint["step"]', '    return checkpoint["step"] + 1')), "saved step"),
    Mutant("checkpoint", "saves the model only, under other keys",
           variant(CHECKPOINT, ('''    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                "rng": torch.get_rng_state()}, path)''', '''    torch.save({"weights": model.state_dict(), "step": step}, path)'''),
                   ('''    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.set_rng_state(checkpoint["rng"])''', '''    model.load_state_dict(checkpoint["weights"])''')), "keys"),
    Mutant("checkpoint", "model weights not restored (returns the step only)",
           variant(CHECKPOINT, ('    model.load_state_dict(checkpoint["model"])\n', '')), "load_state_dict"),
]
