"""Benchmark: the reference `train_bpe` of notebook 02 against rustbpe (Rust, parallel).

Trains 500 merges (vocab_size 756) on 130,000 characters of generated stories and of real text
(Python's documentation), best of 5 runs each, and checks that both learn the same merges.
Run from anywhere: `python benchmarks/bpe_train.py`. Needs `pip install rustbpe==0.1.0`.
The reference should stay under ~0.5 s on the generated stories.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root: autograder, coursekit

import rustbpe  # noqa: E402

from autograder.notebook import load_reference  # noqa: E402
from coursekit.corpus import generate_text, real_text  # noqa: E402

VOCAB_SIZE = 256 + 500
REPEATS = 5


def best_of(function, repeats=REPEATS):
    """(best wall time in seconds, result of the last run)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def rustbpe_train(text, vocab_size, pattern):
    tokenizer = rustbpe.Tokenizer()
    tokenizer.train_from_iterator([text], vocab_size=vocab_size, pattern=pattern)
    return tokenizer.get_mergeable_ranks()


def main():
    ref = load_reference("02-bpe-tokenizer")
    corpora = {"generate_text(130_000)": generate_text(130_000), "real_text(130_000)": real_text(130_000)}
    print(f"train_bpe, vocab_size={VOCAB_SIZE} ({VOCAB_SIZE - 256} merges), best of {REPEATS}")
    print(f"{'text':24s} {'reference s':>12s} {'rustbpe s':>10s} {'ratio':>7s} {'same merges':>12s}")
    for name, text in corpora.items():
        ref_seconds, merges = best_of(lambda: ref.train_bpe(text, VOCAB_SIZE))
        rust_seconds, ranks = best_of(lambda: rustbpe_train(text, VOCAB_SIZE, ref.GPT2_SPLIT_PATTERN))
        vocab = ref.build_vocab(merges)
        same = [vocab[i] for i in sorted(vocab)] == [token for token, _ in sorted(ranks, key=lambda r: r[1])]
        print(f"{name:24s} {ref_seconds:12.3f} {rust_seconds:10.3f} {ref_seconds / rust_seconds:6.1f}x {str(same):>12s}")


if __name__ == "__main__":
    main()
