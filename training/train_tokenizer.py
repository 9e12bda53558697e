"""Train the course models' byte-level BPE on the training split and write its ranks file.

    python -m training.train_tokenizer        # writes models/tokenizer.tiktoken (about 40 KB)

rustbpe (a test-only dependency: requirements-dev.txt) trains it; tiktoken encodes with it at run
time. Ties among equally frequent pairs go to the smallest (id_a, id_b), so the file is the same on
every run. Vocabulary 4,096 = 256 bytes + 3,839 merges + <|endoftext|>.
"""
import base64
import time

import rustbpe

from coursekit.data import SPLIT_PATTERN, TOKENIZER_FILE, VOCAB_SIZE, corpus_split


def main():
    start = time.time()
    texts = [text for _, text in corpus_split("train")]
    tokenizer = rustbpe.Tokenizer()
    # one id is left for <|endoftext|>
    tokenizer.train_from_iterator(iter(texts), vocab_size=VOCAB_SIZE - 1, pattern=SPLIT_PATTERN)
    ranks = sorted(tokenizer.get_mergeable_ranks(), key=lambda pair: pair[1])
    assert [rank for _, rank in ranks] == list(range(VOCAB_SIZE - 1))
    TOKENIZER_FILE.parent.mkdir(exist_ok=True)
    lines = [f"{base64.b64encode(bytes(token)).decode()} {rank}\n" for token, rank in ranks]
    TOKENIZER_FILE.write_text("".join(lines))
    print(f"{len(ranks)} ranks from {sum(map(len, texts)):,} characters "
          f"in {time.time() - start:.1f} s -> {TOKENIZER_FILE}")


if __name__ == "__main__":
    main()
