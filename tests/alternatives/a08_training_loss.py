"""08-training-loss: edge-case bugs the text's domain exposes (in-place changes of the caller's data,
other ignore_index values, generators, boundaries of the schedule, aliasing between the returned lists,
exact fits, restarted random streams), and correct solutions written in unusual ways. Each solution
replaces the whole solution cell of its exercise (the other exercises stay the reference's)."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m08_training_loss import CHECKPOINT as CHECKPOINT_PLAIN

ASSIGNMENT = "08-training-loss"

CE = "cross_entropy"
ADAMW = "AdamW"
CLIP = "clip_grad_norm"
LR = "lr_schedule"
STEP = "train_step"
SFT = "sft_example"
CHECKPOINT = "checkpoint"

ADAMW_INIT = '''
class AdamW(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
'''

WRONG = [
    # cross_entropy ---------------------------------------------------------------------------------
    Wrong(CE, "subtracts the row max from the caller's logits in place", '''
def cross_entropy(logits, targets, ignore_index=-100):
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    logits.sub_(logits.amax(dim=-1, keepdim=True))
    flat, labels = logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)
    keep = labels != ignore_index
    rows = flat[keep]
    return (rows.exp().sum(-1).log() - rows.gather(-1, labels[keep, None]).squeeze(-1)).mean()
''', "in place"),
    Wrong(CE, "log of a softmax computed first: underflows to log 0 for large logits", '''
def cross_entropy(logits, targets, ignore_index=-100):
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    flat, labels = logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)
    keep = labels != ignore_index
    shifted = (flat[keep] - flat[keep].amax(-1, keepdim=True)).exp()
    probs = shifted / shifted.sum(-1, keepdim=True)
    return -probs.gather(-1, labels[keep, None]).log().mean()
''', "NaN or inf"),
    Wrong(CE, "ignored positions found as targets < 0 (wrong for ignore_index 0)", '''
def cross_entropy(logits, targets, ignore_index=-100):
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    flat, labels = logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)
    keep = labels >= 0
    rows = flat[keep]
    top = rows.amax(-1, keepdim=True).detach()
    return (top.squeeze(-1) + (rows - top).exp().sum(-1).log() - rows.gather(-1, labels[keep, None]).squeeze(-1)).mean()
''', "ignore_index argument"),

    # AdamW -----------------------------------------------------------------------------------------
    Wrong(ADAMW, "only the first parameter group is updated", ADAMW_INIT + '''
        group = self.param_groups[0]
        beta1, beta2 = group["betas"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
            state["step"] += 1
            p.mul_(1 - group["lr"] * group["weight_decay"])
            state["exp_avg"].mul_(beta1).add_(p.grad, alpha=1 - beta1)
            state["exp_avg_sq"].mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
            m_hat = state["exp_avg"] / (1 - beta1 ** state["step"])
            v_hat = state["exp_avg_sq"] / (1 - beta2 ** state["step"])
            p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))
''', "each group"),
    Wrong(ADAMW, "assigns p.data a new tensor instead of updating in place", ADAMW_INIT + '''
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
                state["step"] += 1
                state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * p.grad
                state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * p.grad ** 2
                m_hat = state["exp_avg"] / (1 - beta1 ** state["step"])
                v_hat = state["exp_avg_sq"] / (1 - beta2 ** state["step"])
                p.data = p.data * (1 - group["lr"] * group["weight_decay"]) - group["lr"] * m_hat / (v_hat.sqrt() + group["eps"])
''', "in place"),
    Wrong(ADAMW, "the second moment averages |g| instead of g squared", ADAMW_INIT + '''
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
                state["step"] += 1
                p.mul_(1 - group["lr"] * group["weight_decay"])
                state["exp_avg"].lerp_(p.grad, 1 - beta1)
                state["exp_avg_sq"].lerp_(p.grad.abs(), 1 - beta2)
                m_hat = state["exp_avg"] / (1 - beta1 ** state["step"])
                v_hat = state["exp_avg_sq"] / (1 - beta2 ** state["step"])
                p.sub_(group["lr"] * m_hat / (v_hat + group["eps"]))
''', "SQUARED gradient"),

    # clip_grad_norm --------------------------------------------------------------------------------
    Wrong(CLIP, "the norm of the weights, not of their gradients", '''
def clip_grad_norm(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    if not params:
        return torch.tensor(0.0)
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.detach()) for p in params]))
    for p in params:
        p.grad.mul_(torch.clamp(max_norm / (total + 1e-6), max=1.0))
    return total
''', "returned norm"),
    Wrong(CLIP, "the norm always in float32 (float64 gradients lose precision, wrong dtype)", '''
def clip_grad_norm(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.stack([g.float().pow(2).sum() for g in grads]).sum().sqrt()
    factor = min(1.0, max_norm / (total.item() + 1e-6))
    for g in grads:
        g.mul_(factor)
    return total
''', "dtype"),
    Wrong(CLIP, "calls torch.nn.utils.clip_grad_norm_", '''
def clip_grad_norm(parameters, max_norm):
    return torch.nn.utils.clip_grad_norm_(list(parameters), max_norm)
''', "shortcut"),

    # lr_schedule -----------------------------------------------------------------------------------
    Wrong(LR, "integer division in the warmup: 0 until the last warmup step", '''
def lr_schedule(step, max_lr, min_lr, warmup_steps, total_steps, stable_steps=0):
    if total_steps <= warmup_steps + stable_steps:
        raise ValueError("nothing to decay")
    if step < warmup_steps:
        return max_lr * ((step + 1) // warmup_steps)
    if step < warmup_steps + stable_steps:
        return float(max_lr)
    t = min(1.0, (step - warmup_steps - stable_steps) / (total_steps - warmup_steps - stable_steps))
    return min_lr + (max_lr - min_lr) * (1 + math.cos(math.pi * t)) / 2
''', "(step + 1) / W"),
    Wrong(LR, "0 instead of min_lr from total_steps on", '''
def lr_schedule(step, max_lr, min_lr, warmup_steps, total_steps, stable_steps=0):
    if total_steps <= warmup_steps + stable_steps:
        raise ValueError("nothing to decay")
    if step >= total_steps:
        return 0.0
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step < warmup_steps + stable_steps:
        return float(max_lr)
    t = (step - warmup_steps - stable_steps) / (total_steps - warmup_steps - stable_steps)
    return min_lr + (max_lr - min_lr) * (1 + math.cos(math.pi * t)) / 2
''', "min_lr"),
    Wrong(LR, "the decay of the warmup-stable-decay schedule is linear", '''
def lr_schedule(step, max_lr, min_lr, warmup_steps, total_steps, stable_steps=0):
    if total_steps <= warmup_steps + stable_steps:
        raise ValueError("nothing to decay")
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step < warmup_steps + stable_steps:
        return float(max_lr)
    t = min(1.0, (step - warmup_steps - stable_steps) / (total_steps - warmup_steps - stable_steps))
    if stable_steps:
        return max_lr - (max_lr - min_lr) * t
    return min_lr + (max_lr - min_lr) * (1 + math.cos(math.pi * t)) / 2
''', "Compare with the reference"),

    # train_step ------------------------------------------------------------------------------------
    Wrong(STEP, "masks the padding of the caller's targets in place", '''
def train_step(model, optimizer, inputs, targets, accumulation_steps):
    if inputs.shape[0] % accumulation_steps:
        raise ValueError("rows not divisible")
    counted = targets != -100
    total = int(counted.sum())
    if total == 0:
        raise ValueError("nothing counts")
    targets[~counted] = -100
    optimizer.zero_grad()
    result = 0.0
    for x, y in zip(inputs.tensor_split(accumulation_steps), targets.tensor_split(accumulation_steps)):
        n = int((y != -100).sum())
        if n:
            loss = cross_entropy(model(x), y) * n / total
            loss.backward()
            result += loss.item()
    targets[0, 0] = targets[0, 0] if targets[0, 0] != -100 else 0
    optimizer.step()
    return result
''', "in place"),
    Wrong(STEP, "chunk without checking divisibility: uneven micro-batches instead of ValueError", '''
def train_step(model, optimizer, inputs, targets, accumulation_steps):
    total = int((targets != -100).sum())
    if total == 0:
        raise ValueError("nothing counts")
    optimizer.zero_grad()
    result = 0.0
    for x, y in zip(inputs.chunk(accumulation_steps), targets.chunk(accumulation_steps)):
        n = int((y != -100).sum())
        if n:
            loss = cross_entropy(model(x), y) * n / total
            loss.backward()
            result += loss.item()
    optimizer.step()
    return result
''', "ValueError"),
    Wrong(STEP, "gradients right, but returns the unweighted mean of the micro-batch losses", '''
def train_step(model, optimizer, inputs, targets, accumulation_steps):
    if inputs.shape[0] % accumulation_steps:
        raise ValueError("rows not divisible")
    total = int((targets != -100).sum())
    if total == 0:
        raise ValueError("nothing counts")
    optimizer.zero_grad()
    losses = []
    for x, y in zip(inputs.chunk(accumulation_steps), targets.chunk(accumulation_steps)):
        n = int((y != -100).sum())
        if n:
            loss = cross_entropy(model(x), y)
            (loss * n / total).backward()
            losses.append(loss.item())
    optimizer.step()
    return sum(losses) / len(losses)
''', "returned loss"),

    # sft_example -----------------------------------------------------------------------------------
    Wrong(SFT, "labels aliased to input_ids: masking the labels masks the inputs too", '''
def sft_example(prompt_ids, response_ids, bos_id, eos_id, pad_id, max_length):
    if pad_id == bos_id or pad_id == eos_id:
        raise ValueError("PAD must be its own id")
    ids = [bos_id] + prompt_ids + response_ids + [eos_id]
    if len(ids) > max_length:
        raise ValueError("too long")
    ids += [pad_id] * (max_length - len(ids))
    labels = ids
    for i in range(len(labels)):
        if i <= len(prompt_ids) or i > len(prompt_ids) + len(response_ids) + 1:
            labels[i] = -100
    return ids, labels
''', "Compare with the reference"),
    Wrong(SFT, "inserts BOS into the caller's prompt list", '''
def sft_example(prompt_ids, response_ids, bos_id, eos_id, pad_id, max_length):
    if pad_id in (bos_id, eos_id):
        raise ValueError("PAD must be its own id")
    prompt_ids.insert(0, bos_id)
    ids = prompt_ids + response_ids + [eos_id]
    if len(ids) > max_length:
        raise ValueError("too long")
    labels = [-100] * len(prompt_ids) + response_ids + [eos_id]
    padding = max_length - len(ids)
    return ids + [pad_id] * padding, labels + [-100] * padding
''', "in place"),
    Wrong(SFT, "an example of exactly max_length tokens raises (>= instead of >)", '''
def sft_example(prompt_ids, response_ids, bos_id, eos_id, pad_id, max_length):
    if pad_id in (bos_id, eos_id):
        raise ValueError("PAD must be its own id")
    ids = [bos_id, *prompt_ids, *response_ids, eos_id]
    if len(ids) >= max_length:
        raise ValueError("too long")
    labels = [-100] * (1 + len(prompt_ids)) + [*response_ids, eos_id]
    padding = max_length - len(ids)
    return ids + [pad_id] * padding, labels + [-100] * padding
''', "exactly max_length"),

    # checkpoint ------------------------------------------------------------------------------------
    Wrong(CHECKPOINT, "pickles the model and optimizer objects (needs weights_only=False)", '''
def save_checkpoint(path, model, optimizer, step):
    torch.save({"model": model, "optimizer": optimizer, "step": step, "rng": torch.get_rng_state()}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=False)
    model.load_state_dict(checkpoint["model"].state_dict())
    optimizer.load_state_dict(checkpoint["optimizer"].state_dict())
    torch.set_rng_state(checkpoint["rng"])
    return checkpoint["step"]
''', "weights_only"),
    Wrong(CHECKPOINT, "re-seeds with the initial seed instead of restoring the RNG state",
          variant(CHECKPOINT_PLAIN, ('"rng": torch.get_rng_state()', '"rng": torch.initial_seed()'),
                  ('torch.set_rng_state(checkpoint["rng"])', 'torch.manual_seed(checkpoint["rng"])')), "rng"),
    Wrong(CHECKPOINT, "copies the optimizer's state dict by hand, keyed by index instead of parameter",
          variant(CHECKPOINT_PLAIN, ('optimizer.load_state_dict(checkpoint["optimizer"])',
                                     'optimizer.state.update(checkpoint["optimizer"]["state"])')), "optimizer"),
]

CORRECT = [
    Correct(CE, "one-hot selection of the target logit", '''
def cross_entropy(logits, targets, ignore_index=-100):
    z = logits.to(torch.promote_types(logits.dtype, torch.float32)).reshape(-1, logits.shape[-1])
    y = targets.reshape(-1)
    keep = y != ignore_index
    z, y = z[keep], y[keep]
    m = z.max(dim=-1, keepdim=True).values.detach()
    lse = (z - m).exp().sum(-1).log() + m[:, 0]
    picked = (z * F.one_hot(y, z.shape[-1]).to(z.dtype)).sum(-1)
    return (lse - picked).mean()
'''),
    Correct(CE, "every position's loss, weighted by a 0/1 mask, summed and divided by the count", '''
def cross_entropy(logits, targets, ignore_index=-100):
    z = logits.to(torch.promote_types(logits.dtype, torch.float32)).flatten(0, -2) if logits.dim() > 1 else \\
        logits.to(torch.promote_types(logits.dtype, torch.float32))[None]
    y = targets.reshape(-1)
    weight = (y != ignore_index).to(z.dtype)
    safe = torch.where(y == ignore_index, torch.zeros_like(y), y).clamp(0, z.shape[-1] - 1)
    m = z.amax(-1, keepdim=True).detach()
    losses = m[:, 0] + (z - m).exp().sum(-1).log() - z.gather(-1, safe[:, None])[:, 0]
    return (losses * weight).sum() / weight.sum()
'''),
    Correct(ADAMW, "PyTorch's own arrangement: lerp, step size lr / bc1, denominator sqrt(v) / sqrt(bc2) + eps",
            ADAMW_INIT + '''
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in (q for q in group["params"] if q.grad is not None):
                state = self.state[p]
                if len(state) == 0:
                    state["step"], state["exp_avg"], state["exp_avg_sq"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                state["step"] += 1
                p.mul_(1 - lr * wd)
                state["exp_avg"].lerp_(p.grad, 1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                bias_correction1 = 1 - beta1 ** state["step"]
                bias_correction2 = 1 - beta2 ** state["step"]
                denom = (state["exp_avg_sq"].sqrt() / math.sqrt(bias_correction2)).add_(eps)
                p.addcdiv_(state["exp_avg"], denom, value=-lr / bias_correction1)
'''),
    Correct(ADAMW, "a helper per parameter, decay written as p.add_(p, alpha=-lr * wd)", '''
def _adamw_update(p, state, lr, betas, eps, weight_decay):
    if not state:
        state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
    state["step"] += 1
    t = state["step"]
    p.add_(p, alpha=-lr * weight_decay)
    state["exp_avg"].mul_(betas[0]).add_((1 - betas[0]) * p.grad)
    state["exp_avg_sq"].mul_(betas[1]).add_((1 - betas[1]) * p.grad * p.grad)
    update = (state["exp_avg"] / (1 - betas[0] ** t)) / ((state["exp_avg_sq"] / (1 - betas[1] ** t)).sqrt() + eps)
    p.add_(update, alpha=-lr)
''' + ADAMW_INIT + '''
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    _adamw_update(p, self.state[p], group["lr"], group["betas"], group["eps"], group["weight_decay"])
'''),
    Correct(CLIP, "new gradient tensors assigned to .grad, the norm from the sum of squares", '''
def clip_grad_norm(parameters, max_norm):
    with_grad = [p for p in parameters if p.grad is not None]
    if not with_grad:
        return torch.tensor(0.0)
    total = torch.stack([p.grad.pow(2).sum() for p in with_grad]).sum().sqrt()
    factor = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for p in with_grad:
        p.grad = p.grad * factor
    return total
'''),
    Correct(CLIP, "one flat vector of every gradient", '''
def clip_grad_norm(parameters, max_norm):
    grads = []
    for p in parameters:
        if p.grad is not None:
            grads.append(p.grad)
    if len(grads) == 0:
        return torch.tensor(0.0)
    total = torch.linalg.vector_norm(torch.cat([g.reshape(-1) for g in grads]))
    if total > max_norm:
        factor = max_norm / (total + 1e-6)
        for g in grads:
            g.mul_(factor)
    return total
'''),
    Correct(LR, "clamped progress and min() for the warmup", '''
def lr_schedule(step, max_lr, min_lr, warmup_steps, total_steps, stable_steps=0):
    decay = total_steps - warmup_steps - stable_steps
    if decay <= 0:
        raise ValueError(f"no decay steps: {total_steps} <= {warmup_steps} + {stable_steps}")
    if step < warmup_steps:
        return max_lr * min(1.0, (step + 1) / warmup_steps)
    progress = max(0.0, min(1.0, (step - warmup_steps - stable_steps) / decay))
    return float(min_lr + (max_lr - min_lr) * (1 + math.cos(math.pi * progress)) / 2)
'''),
    Correct(LR, "the cosine as cos squared of half the angle", '''
def lr_schedule(step, max_lr, min_lr, warmup_steps, total_steps, stable_steps=0):
    start = warmup_steps + stable_steps
    if not total_steps > start:
        raise ValueError("total_steps must exceed warmup_steps + stable_steps")
    if step >= total_steps:
        return float(min_lr)
    if step >= start:
        return min_lr + (max_lr - min_lr) * math.cos(math.pi / 2 * (step - start) / (total_steps - start)) ** 2
    return float(max_lr) if step >= warmup_steps else (step + 1) * max_lr / warmup_steps
'''),
    Correct(STEP, "summed token losses divided by N", '''
def train_step(model, optimizer, inputs, targets, accumulation_steps):
    if inputs.shape[0] % accumulation_steps != 0:
        raise ValueError("the batch does not split evenly")
    n_total = (targets != -100).sum().item()
    if not n_total:
        raise ValueError("no target counts")
    optimizer.zero_grad(set_to_none=True)
    loss_sum = 0.0
    for x, y in zip(inputs.tensor_split(accumulation_steps), targets.tensor_split(accumulation_steps)):
        n = (y != -100).sum().item()
        if n > 0:
            part = cross_entropy(model(x), y) * n / n_total
            part.backward()
            loss_sum += part.item()
    optimizer.step()
    return loss_sum
'''),
    Correct(STEP, "unscaled backward of the summed losses, gradients divided by N before the step", '''
def train_step(model, optimizer, inputs, targets, accumulation_steps):
    rows = len(inputs)
    if rows % accumulation_steps:
        raise ValueError("the batch does not split evenly")
    n_total = int((targets != -100).sum())
    if n_total == 0:
        raise ValueError("no target counts")
    optimizer.zero_grad()
    size, summed = rows // accumulation_steps, 0.0
    for start in range(0, rows, size):
        x, y = inputs[start:start + size], targets[start:start + size]
        n = int((y != -100).sum())
        if n:
            token_sum = cross_entropy(model(x), y) * n
            token_sum.backward()
            summed += token_sum.item()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p.grad /= n_total
    optimizer.step()
    return summed / n_total
'''),
    Correct(SFT, "a loop over positions", '''
def sft_example(prompt_ids, response_ids, bos_id, eos_id, pad_id, max_length):
    if pad_id == bos_id or pad_id == eos_id:
        raise ValueError("PAD must be an id of its own")
    sequence = [bos_id] + list(prompt_ids) + list(response_ids) + [eos_id]
    if len(sequence) > max_length:
        raise ValueError("the example does not fit")
    input_ids, labels = [], []
    for position in range(max_length):
        if position < len(sequence):
            input_ids.append(sequence[position])
            labels.append(sequence[position] if position > len(prompt_ids) else -100)
        else:
            input_ids.append(pad_id)
            labels.append(-100)
    return input_ids, labels
'''),
    Correct(SFT, "itertools.chain and a list of flags", '''
import itertools


def sft_example(prompt_ids, response_ids, bos_id, eos_id, pad_id, max_length):
    if pad_id in {bos_id, eos_id}:
        raise ValueError("PAD must be an id of its own")
    counts = [1 + len(prompt_ids), len(response_ids) + 1]
    padding = max_length - sum(counts)
    if padding < 0:
        raise ValueError("the example does not fit")
    input_ids = list(itertools.chain([bos_id], prompt_ids, response_ids, [eos_id], [pad_id] * padding))
    trained = [False] * counts[0] + [True] * counts[1] + [False] * padding
    return input_ids, [i if t else -100 for i, t in zip(input_ids, trained)]
'''),
    Correct(CHECKPOINT, "an open file object and an extra version key", '''
def save_checkpoint(path, model, optimizer, step):
    state = {"version": 1, "step": int(step), "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "rng": torch.random.get_rng_state()}
    with open(path, "wb") as file:
        torch.save(state, file)


def load_checkpoint(path, model, optimizer):
    with open(path, "rb") as file:
        state = torch.load(file, weights_only=True)
    model.load_state_dict(state["model"], strict=True)
    optimizer.load_state_dict(state["optimizer"])
    torch.random.set_rng_state(state["rng"])
    return state["step"]
'''),
    Correct(CHECKPOINT, "the RNG restored first, the step read before the rest", '''
def save_checkpoint(path, model, optimizer, step):
    torch.save(dict(step=step, rng=torch.get_rng_state(), optimizer=optimizer.state_dict(),
                    model=model.state_dict()), path)


def load_checkpoint(path, model, optimizer):
    saved = torch.load(path, map_location="cpu", weights_only=True)
    step = saved["step"]
    torch.set_rng_state(saved["rng"])
    optimizer.load_state_dict(saved["optimizer"])
    model.load_state_dict(saved["model"])
    return step
'''),
]
