"""Cost per token of each course model on this CPU: is the draft at least 10x cheaper than the target?

    python benchmarks/model_cost.py [--threads N]

Two measures, in float32, batch 1: a decoding step without a KV cache (one forward pass over a
64-token context, i.e. the cost of proposing or checking one token in assignment 15) and a prefill
(one forward pass over 256 tokens, divided by 256). Each timing is the minimum over many repeats,
taken in turns across the models, so that other work on the machine inflates no model's time more
than another's. The weights do not change the cost: a model not yet trained is built at random.
"""
import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root: coursekit, training

from coursekit.data import MODELS_DIR  # noqa: E402
from coursekit.models import LlamaForCausalLM, load_model  # noqa: E402
from training.train import CHECKPOINTS  # noqa: E402

ROUNDS = 30


def course_model(name: str) -> LlamaForCausalLM:
    if (MODELS_DIR / name / "model.safetensors").exists():
        return load_model(name)
    torch.manual_seed(0)
    return LlamaForCausalLM(CHECKPOINTS[name].model_config()).eval()


@torch.no_grad()
def seconds(model, idx) -> float:
    start = time.perf_counter()
    model(idx)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = ["tiny", "small", "base"]
    models = {name: course_model(name) for name in names}
    inputs = {"step": torch.randint(0, 4096, (1, 64)), "prefill": torch.randint(0, 4096, (1, 256))}
    best = {(name, kind): float("inf") for name in names for kind in inputs}
    for _ in range(ROUNDS):
        for name, model in models.items():
            for kind, idx in inputs.items():
                best[name, kind] = min(best[name, kind], seconds(model, idx))
    print(f"torch {torch.__version__}, {args.threads} threads, minimum of {ROUNDS} rounds")
    print(f"{'model':8} {'parameters':>11} {'step (ms)':>10} {'prefill (us/token)':>19}")
    for name, model in models.items():
        print(f"{name:8} {model.num_parameters():>11,} {1e3 * best[name, 'step']:>10.2f} "
              f"{1e6 * best[name, 'prefill'] / 256:>19.1f}")
    for kind in inputs:
        print(f"target/draft cost ratio ({kind}): "
              f"{best['base', kind] / best['tiny', kind]:.1f}x (base / tiny)")


if __name__ == "__main__":
    main()
