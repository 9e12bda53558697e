"""Evaluate the course models against unigram and bigram baselines and write their model cards.

    python -m training.evaluate        # -> models/evaluation.json, models/<name>/README.md

On this CPU, in float32: each checkpoint's loss on the fixed validation slice, greedy samples from
fixed prompts (kept in models/<name>/samples.json; tests/ check that generation reproduces them),
and count-based baselines fitted on the training split and scored on the same tokens. The loss on
the whole val split comes from the training run's manifest (GPU, bf16 autocast).
"""
import json

import numpy as np
import torch

from coursekit.data import MODELS_DIR, VOCAB_SIZE, load_tokenizer, load_tokens
from coursekit.models import load_model
from training.train import CHECKPOINTS, EVAL_SLICE_SEQUENCES, evaluate

PROMPTS = ["def fibonacci(n):\n", "Once upon a time,", "The with statement"]
SAMPLE_TOKENS = 48
BIGRAM_PRIORS = [0.1, 1.0, 10.0, 100.0]
USES = {
    "tiny": "the draft model for speculative decoding (15) and the student for distillation (20, 21)",
    "small": "the base model for LoRA (11), alignment (12) and evaluation (19)",
    "base": "the target model for speculative decoding (15) and the teacher for distillation (20)",
    "small-short": "long-context experiments (16): trained at 128 tokens, to be stretched with "
                   "RoPE scaling; compare it with `small`, trained at 512",
}


def unigram_loss(train, targets) -> float:
    """Cross-entropy of add-one-smoothed token frequencies of the training split."""
    probs = (np.bincount(train, minlength=VOCAB_SIZE) + 1) / (len(train) + VOCAB_SIZE)
    return float(-np.log(probs[targets]).mean())


def bigram_loss(train, previous, targets) -> tuple[float, float]:
    """Cross-entropy of bigram counts smoothed towards the unigram distribution with a Dirichlet
    prior (strength alpha); the best alpha on these tokens is kept, which favours the baseline."""
    unigram = (np.bincount(train, minlength=VOCAB_SIZE) + 1) / (len(train) + VOCAB_SIZE)
    pair_counts = np.bincount(train[:-1].astype(np.int64) * VOCAB_SIZE + train[1:],
                              minlength=VOCAB_SIZE ** 2).reshape(VOCAB_SIZE, VOCAB_SIZE)
    row_counts = pair_counts.sum(1)
    best = None
    for alpha in BIGRAM_PRIORS:
        probs = ((pair_counts[previous, targets] + alpha * unigram[targets])
                 / (row_counts[previous] + alpha))
        loss = float(-np.log(probs).mean())
        best = min(best or (loss, alpha), (loss, alpha))
    return best


def slice_tokens(val, context: int) -> tuple[np.ndarray, np.ndarray]:
    """(previous, target) token pairs of the fixed val slice that a model of this context sees."""
    n = EVAL_SLICE_SEQUENCES * context
    return val[:n], val[1:n + 1]


def baselines(train, val, context: int) -> dict:
    previous, targets = slice_tokens(val, context)
    bigram, alpha = bigram_loss(train, previous, targets)
    full_bigram, full_alpha = bigram_loss(train, val[:-1], val[1:])
    return {"unigram_slice": unigram_loss(train, targets), "bigram_slice": bigram,
            "bigram_alpha_slice": alpha, "unigram_val": unigram_loss(train, val[1:]),
            "bigram_val": full_bigram, "bigram_alpha_val": full_alpha}


def greedy_samples(model, tokenizer) -> list[dict]:
    samples = []
    for prompt in PROMPTS:
        idx = torch.tensor([tokenizer.encode(prompt)])
        ids = model.generate(idx, SAMPLE_TOKENS)[0].tolist()
        samples.append({"prompt": prompt, "ids": ids, "text": tokenizer.decode(ids)})
    return samples


def model_card(name: str, manifest: dict, result: dict) -> str:
    config, training = manifest["config"], manifest["training"]
    samples = "\n\n".join(f"Prompt `{s['prompt']!r}`:\n\n```\n{s['text']}\n```"
                          for s in result["samples"])
    return f"""# Course model `{name}`

Use: {USES[name]}. Load it with `coursekit.models.load_model("{name}")` (plain PyTorch) or
`transformers.LlamaForCausalLM.from_pretrained("models/{name}")`; tokenizer:
`coursekit.data.load_tokenizer()`.

| | |
| --- | --- |
| architecture | LLaMA: {config['num_hidden_layers']} layers, width {config['hidden_size']}, {config['num_attention_heads']} query heads / {config['num_key_value_heads']} key-value heads (head size {config['hidden_size'] // config['num_attention_heads']}), SwiGLU {config['intermediate_size']}, RoPE θ {config['rope_theta']:g}, RMSNorm, untied head |
| parameters | {manifest['parameters']:,} ({manifest['non_embedding_parameters']:,} without embedding and head); float16 on disk |
| context | {config['max_position_embeddings']} tokens (trained at this length only) |
| data | the course corpus (`coursekit.data`): Python 3.11.7's standard library without tests, `pydoc_data` topics, generated stories; {manifest['data']['train_tokens']:,} training tokens |
| tokens seen | {manifest['tokens_seen']:,} ({manifest['epochs']:.1f} epochs), batch {training['batch_size']} × {training['context']}, {manifest['steps']} steps |
| optimiser | {training['optimizer']}, peak learning rate {training['learning_rate']:.2e}, seed {training['seed']} |
| hardware, wall time | {manifest['hardware']} ({manifest['software']}), {training['precision']}, {manifest['wall_time_s']} s |
| command | `{manifest['command']}` (`--data` only points at the tokenized splits carried to the GPU) |
| final training loss | {manifest['final_train_loss']:.3f} (mean of the last 50 steps) |
| validation loss, whole val split | {manifest['final_val_loss']:.3f} (GPU, bf16); unigram {result['baselines']['unigram_val']:.3f}, bigram {result['baselines']['bigram_val']:.3f} |
| validation loss, fixed slice | {result['val_loss_slice']:.4f} (this checkpoint, CPU, float32; {manifest['val_slice']}); unigram {result['baselines']['unigram_slice']:.3f}, bigram {result['baselines']['bigram_slice']:.3f} |

Losses are in nats per token (a token is about 3.5 bytes of text).

## What it can and cannot do

It continues Python source code in the style of the standard library (indentation, docstrings,
common idioms, plausible names) and writes the generated stories' simple sentences. It does not
know facts, follow instructions, answer questions or write correct programs: it is a small model
trained for minutes on about 13 MB of text, repeated for several epochs, so it has memorised
fragments of the standard library (its training loss is below its validation loss). Beyond
{config['max_position_embeddings']} tokens it was never trained; without RoPE scaling its loss rises there.

## Greedy samples (CPU, float32)

{samples}
"""


def main():
    tokenizer = load_tokenizer()
    train, val = load_tokens("train"), load_tokens("val")
    results = {}
    for name, run in CHECKPOINTS.items():
        manifest = json.loads((MODELS_DIR / name / "manifest.json").read_text())
        model = load_model(name)
        val_tensor = torch.from_numpy(val.astype(np.int64))
        result = {"val_loss_slice": evaluate(model, val_tensor, run.context, "cpu",
                                             limit=EVAL_SLICE_SEQUENCES),
                  "val_loss": manifest["final_val_loss"],
                  "baselines": baselines(train, val, run.context)}
        result["samples"] = greedy_samples(model, tokenizer)
        (MODELS_DIR / name / "samples.json").write_text(json.dumps(result["samples"], indent=1))
        (MODELS_DIR / name / "README.md").write_text(model_card(name, manifest, result))
        results[name] = {key: value for key, value in result.items() if key != "samples"}
        b = result["baselines"]
        print(f"{name:12} val {result['val_loss']:.3f} (unigram {b['unigram_val']:.3f}, bigram "
              f"{b['bigram_val']:.3f}); slice {result['val_loss_slice']:.4f} (unigram "
              f"{b['unigram_slice']:.3f}, bigram {b['bigram_slice']:.3f})")
    (MODELS_DIR / "evaluation.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
