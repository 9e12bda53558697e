"""Train the course models and the scaling sweep: one command per checkpoint, seeded, CPU or GPU.

    python -m training.train --model tiny          # -> models/tiny/ (config, weights, manifest)
    python -m training.train --model all           # tiny, small, base, small-short in turn
    python -m training.train --sweep               # 30 runs -> models/scaling_sweep.csv
    python -m training.train --model tiny --max-steps 3 --batch-size 2 --context 32 --out /tmp/t

On a GPU the forward pass runs under bf16 autocast; on a CPU in float32. The initial weights and
every batch come from CPU generators seeded per run, so a CPU run sees the same data in the same
order as the GPU run and its loss curve follows the GPU one. `--data DIR` reads the tokenized
splits from DIR/train.bin and DIR/val.bin (writing them there first if missing); without it the
corpus is tokenized in memory (about 5 s).
"""
import argparse
import csv
import hashlib
import json
import math
import platform
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from coursekit.data import MODELS_DIR, load_tokens
from coursekit.models import LlamaConfig, LlamaForCausalLM, load_model, save_model

SEED = 1337
EVAL_SLICE_SEQUENCES = 8        # the fixed validation slice: the first 8 windows of the val split


@dataclass
class Run:
    """One training run: the architecture and how long and how fast to train it."""
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    intermediate_size: int
    context: int = 512
    tokens: int = 40_000_000     # about 11 epochs of the 3.7M training tokens
    batch_size: int = 32
    warmup_steps: int = 50

    @property
    def learning_rate(self) -> float:
        # wider models take smaller steps (about 1/sqrt(width)); tuned by hand on the sweep sizes
        return 2e-3 * math.sqrt(192 / self.hidden_size)

    def model_config(self) -> LlamaConfig:
        return LlamaConfig(hidden_size=self.hidden_size, intermediate_size=self.intermediate_size,
                           num_hidden_layers=self.num_hidden_layers,
                           num_attention_heads=self.num_attention_heads,
                           num_key_value_heads=self.num_key_value_heads,
                           max_position_embeddings=self.context)


TINY = dict(hidden_size=96, num_hidden_layers=2, num_attention_heads=3, num_key_value_heads=1,
            intermediate_size=256)
SMALL = dict(hidden_size=192, num_hidden_layers=4, num_attention_heads=3, num_key_value_heads=1,
             intermediate_size=512)
BASE = dict(hidden_size=384, num_hidden_layers=8, num_attention_heads=6, num_key_value_heads=2,
            intermediate_size=1024)
CHECKPOINTS = {
    "tiny": Run(**TINY),                                         # the draft / student
    "small": Run(**SMALL),                                       # LoRA and DPO base
    # trained for 40M tokens, base's val loss was lowest near 21M and then rose (memorisation)
    "base": Run(**BASE, tokens=20_000_000),                      # the target / teacher
    "small-short": Run(**SMALL, context=128, batch_size=128),    # long-context experiments
}
SWEEP_SIZES = [
    dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
         intermediate_size=192),
    dict(hidden_size=96, num_hidden_layers=3, num_attention_heads=3, num_key_value_heads=1,
         intermediate_size=256),
    dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
         intermediate_size=352),
    dict(hidden_size=192, num_hidden_layers=4, num_attention_heads=6, num_key_value_heads=2,
         intermediate_size=512),
    dict(hidden_size=256, num_hidden_layers=6, num_attention_heads=8, num_key_value_heads=2,
         intermediate_size=704),
    dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, num_key_value_heads=4,
         intermediate_size=1024),
]
SWEEP_TOKENS = [1_000_000, 2_000_000, 4_000_000, 8_000_000, 16_000_000]
SWEEP_CSV = MODELS_DIR / "scaling_sweep.csv"


def hardware(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def learning_rate(step: int, run: Run, total_steps: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak at the last step."""
    warmup = min(run.warmup_steps, total_steps // 10)    # short sweep runs warm up for 10%
    if step < warmup:
        return run.learning_rate * (step + 1) / warmup
    progress = (step - warmup) / max(1, total_steps - warmup)
    return run.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def make_optimizer(model, lr: float):
    """AdamW; weight decay on matrices only (not on norms' gains)."""
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    gains = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": matrices, "weight_decay": 0.1}, {"params": gains, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8)


def validation_windows(val_tokens: torch.Tensor, context: int, limit: int | None = None):
    """Consecutive non-overlapping (input, target) windows of the val split, in order."""
    count = (len(val_tokens) - 1) // context
    if limit is not None:
        count = min(count, limit)
    x = val_tokens[:count * context].view(count, context)
    y = val_tokens[1:count * context + 1].view(count, context)
    return x, y


@torch.no_grad()
def evaluate(model, val_tokens, context: int, device: str, limit=None, batch_size=64) -> float:
    """Mean cross-entropy (nats per token) over the val windows."""
    model.eval()
    x, y = validation_windows(val_tokens, context, limit)
    total = 0.0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        with torch.autocast("cuda", torch.bfloat16, enabled=device == "cuda"):
            _, loss = model(xb, yb)
        total += loss.item() * len(xb)
    model.train()
    return total / len(x)


def train(run: Run, train_tokens, val_tokens, device: str, max_steps=None, eval_every=50,
          val_windows=None, log=print):
    """Train one model; returns it with a record of the run (curve, losses, wall time)."""
    torch.manual_seed(SEED)
    model = LlamaForCausalLM(run.model_config()).to(device)
    optimizer = make_optimizer(model, run.learning_rate)
    batches = torch.Generator().manual_seed(SEED)
    tokens_per_step = run.batch_size * run.context
    total_steps = max(1, run.tokens // tokens_per_step)
    steps = total_steps if max_steps is None else min(max_steps, total_steps)
    data = torch.from_numpy(train_tokens.astype(np.int64)).to(device)
    offsets = torch.arange(run.context + 1, device=device)
    curve, recent = [], torch.zeros((), device=device)
    start, since_eval = time.time(), 0
    for step in range(steps):
        # batches are drawn on the CPU so that every device sees the same ones
        starts = torch.randint(len(data) - run.context - 1, (run.batch_size,), generator=batches)
        windows = data[starts.to(device)[:, None] + offsets]
        x, y = windows[:, :-1], windows[:, 1:]
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, run, total_steps)
        with torch.autocast("cuda", torch.bfloat16, enabled=device == "cuda"):
            _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        recent += loss.detach()      # no .item() here: it would wait for the GPU every step
        since_eval += 1
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            point = {"step": step + 1, "tokens": (step + 1) * tokens_per_step,
                     "train_loss": recent.item() / since_eval,
                     "val_loss_slice": evaluate(model, val_tokens, run.context, device, limit=16)}
            curve.append(point)
            recent, since_eval = torch.zeros((), device=device), 0
            log(f"step {point['step']:5d}/{steps}  train {point['train_loss']:.4f}  "
                f"val {point['val_loss_slice']:.4f}  {time.time() - start:.0f} s")
    wall = time.time() - start
    record = {"steps": steps, "tokens_seen": steps * tokens_per_step,
              "epochs": steps * tokens_per_step / len(train_tokens),
              "final_train_loss": curve[-1]["train_loss"],
              "final_val_loss": evaluate(model, val_tokens, run.context, device, val_windows),
              "wall_time_s": round(wall, 1), "curve": curve}
    return model, record


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train_checkpoint(name: str, args, train_tokens, val_tokens, device: str):
    """Train one course model and write its folder: config.json, model.safetensors, manifest."""
    run = CHECKPOINTS[name]
    for field in ("context", "batch_size", "tokens"):
        if getattr(args, field) is not None:
            setattr(run, field, getattr(args, field))
    print(f"== {name}: {run}")
    model, record = train(run, train_tokens, val_tokens, device, args.max_steps,
                          val_windows=args.val_windows)
    out = Path(args.out) / name if args.out else MODELS_DIR / name
    save_model(model, out)
    # the slice loss of the float16 checkpoint itself, in float32, as tests/ recompute it on a CPU
    saved = load_model(out, device=device)
    slice_loss = evaluate(saved, val_tokens, run.context, device, limit=EVAL_SLICE_SEQUENCES)
    manifest = {
        "name": name,
        "command": "python -m training.train " + shlex.join(sys.argv[1:]),
        "config": asdict(run.model_config()),
        "training": {**asdict(run), "learning_rate": run.learning_rate, "seed": SEED,
                     "optimizer": "AdamW(betas=(0.9, 0.95), weight_decay=0.1 on matrices), "
                                  "clip 1.0, warm-up then cosine to 10%",
                     "precision": "bf16 autocast" if device == "cuda" else "float32"},
        "parameters": model.num_parameters(),
        "non_embedding_parameters": model.num_parameters(non_embedding=True),
        **{key: value for key, value in record.items() if key != "curve"},
        "final_val_loss_windows": args.val_windows or "all",
        "val_loss_slice_fp32": slice_loss,
        "val_slice": f"first {EVAL_SLICE_SEQUENCES} windows of {run.context} tokens of the val split",
        "data": {"train_tokens": len(train_tokens), "val_tokens": len(val_tokens),
                 "train_sha256": hashlib.sha256(train_tokens.tobytes()).hexdigest(),
                 "val_sha256": hashlib.sha256(val_tokens.numpy().astype(np.uint16).tobytes()).hexdigest()},
        "hardware": hardware(device),
        "software": f"Python {platform.python_version()}, torch {torch.__version__}",
        "files": {f: sha256(out / f) for f in ("config.json", "model.safetensors")},
        "curve": record["curve"],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"== {name}: val {record['final_val_loss']:.4f}, {record['wall_time_s']} s -> {out}")


def sweep(args, train_tokens, val_tokens, device: str):
    """The scaling sweep: every size × every token count, final val loss to a CSV."""
    path = Path(args.out) / "scaling_sweep.csv" if args.out else SWEEP_CSV
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = ["hidden_size", "num_hidden_layers", "N", "N_non_embedding", "D", "FLOPs",
               "val_loss", "train_loss", "steps", "wall_time_s", "hardware"]
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, columns)
        writer.writeheader()
        for size in SWEEP_SIZES:
            for tokens in SWEEP_TOKENS:
                run = Run(**size, context=256, batch_size=64, tokens=tokens)
                model, record = train(run, train_tokens, val_tokens, device, args.max_steps,
                                      eval_every=10**9, log=lambda _: None)
                n = model.num_parameters()
                # FLOPs = 6 N D with N counting every matrix a token passes (the output head
                # too), not the embedding lookup
                matmul_n = n - model.model.embed_tokens.weight.numel()
                writer.writerow({
                    "hidden_size": run.hidden_size, "num_hidden_layers": run.num_hidden_layers,
                    "N": n, "N_non_embedding": model.num_parameters(non_embedding=True),
                    "D": record["tokens_seen"], "FLOPs": 6 * matmul_n * record["tokens_seen"],
                    "val_loss": round(record["final_val_loss"], 4),
                    "train_loss": round(record["final_train_loss"], 4), "steps": record["steps"],
                    "wall_time_s": record["wall_time_s"], "hardware": hardware(device)})
                file.flush()
                print(f"sweep d={run.hidden_size} D={tokens:,}: val "
                      f"{record['final_val_loss']:.4f} ({record['wall_time_s']} s)", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=[*CHECKPOINTS, "all"])
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--data", help="folder of train.bin / val.bin (written if missing)")
    parser.add_argument("--out", help="write here instead of models/")
    parser.add_argument("--max-steps", type=int, help="stop early; the schedule stays the full run's")
    parser.add_argument("--val-windows", type=int, help="final val loss on this many windows only")
    parser.add_argument("--context", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--tokens", type=int)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    if not args.model and not args.sweep:
        parser.error("give --model NAME, --model all or --sweep")
    train_tokens, val_tokens = load_tokens("train", args.data), load_tokens("val", args.data)
    val_tokens = torch.from_numpy(val_tokens.astype(np.int64))
    names = list(CHECKPOINTS) if args.model == "all" else [args.model] if args.model else []
    for name in names:
        train_checkpoint(name, args, train_tokens, val_tokens, args.device)
    if args.sweep:
        sweep(args, train_tokens, val_tokens, args.device)


if __name__ == "__main__":
    main()
