"""The course models' corpus and tokenizer: real text that every Python installation carries.

The corpus is made of documents, each with a stable name:
- `stdlib/<path>`: every `.py` file of the running Python's standard library, without its tests
  (folders `test`, `tests`, `idle_test`) and without installed packages (`site-packages`);
- `pydoc/<topic>`: the documentation topics of `pydoc_data` (English prose);
- `stories/<i>`: the generated stories of `coursekit.corpus` (seed 0).
A document goes to the validation split when the SHA-256 of its name falls in the lowest 5%, so
the split depends only on names: the same text and the same split on every machine with the same
Python minor version (the models were built with CPython 3.11.7; other 3.11 patch releases differ in
a few files). Sizes on 3.11.7: 4,190 documents; train 3,961 documents, 12,956,561 UTF-8 bytes,
3,726,465 tokens; validation 229 documents, 624,815 bytes, 185,659 tokens (3.5 bytes a token).

The tokenizer is byte-level BPE (vocabulary 4,096: 256 bytes, 3,839 merges, `<|endoftext|>`) trained
on the training split by `training/train_tokenizer.py`, shipped as `models/tokenizer.tiktoken` and
encoded with tiktoken. `<|endoftext|>` ends every document.
"""
import hashlib
import sysconfig
from pathlib import Path

import numpy as np

from coursekit.corpus import generate_text

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
TOKENIZER_FILE = MODELS_DIR / "tokenizer.tiktoken"
# GPT-4's pre-tokenizer (tiktoken's cl100k_base): it keeps runs of indentation together, which
# matters for source code, and splits digits in groups of at most three.
SPLIT_PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}|"""
                 r""" ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+""")
END_OF_TEXT = "<|endoftext|>"
VOCAB_SIZE = 4096
VALIDATION_PERCENT = 5
STORY_CHARACTERS = 1_000_000
SKIPPED_FOLDERS = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}


def stdlib_documents() -> list[tuple[str, str]]:
    """The standard library's source files without tests, as (name, text), sorted by name."""
    root = Path(sysconfig.get_paths()["stdlib"])
    documents = []
    for path in root.rglob("*.py"):
        relative = path.relative_to(root)
        if not SKIPPED_FOLDERS & set(relative.parts):
            documents.append((f"stdlib/{relative.as_posix()}", path.read_text(encoding="utf-8")))
    return sorted(documents)


def pydoc_documents() -> list[tuple[str, str]]:
    """Python's documentation topics (module `pydoc_data`), as (name, text), sorted by name."""
    from pydoc_data.topics import topics
    return [(f"pydoc/{key}", topics[key]) for key in sorted(topics)]


def story_documents() -> list[tuple[str, str]]:
    """The generated stories of `coursekit.corpus` (seed 0), one document each."""
    stories = generate_text(STORY_CHARACTERS, seed=0).strip().split("\n\n")
    return [(f"stories/{i:05d}", story) for i, story in enumerate(stories)]


def corpus_documents() -> list[tuple[str, str]]:
    """Every document of the corpus: standard library, documentation topics, stories."""
    return stdlib_documents() + pydoc_documents() + story_documents()


def split_of(name: str) -> str:
    """'val' or 'train', from the document's name alone (stable across machines and runs)."""
    bucket = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % 100
    return "val" if bucket < VALIDATION_PERCENT else "train"


def corpus_split(split: str) -> list[tuple[str, str]]:
    """The documents of one split ('train' or 'val'), in corpus order."""
    return [(name, text) for name, text in corpus_documents() if split_of(name) == split]


def load_tokenizer():
    """The course models' tokenizer: a `tiktoken.Encoding` built from the shipped ranks file."""
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe
    ranks = load_tiktoken_bpe(str(TOKENIZER_FILE))
    return tiktoken.Encoding("course-bpe-4k", pat_str=SPLIT_PATTERN, mergeable_ranks=ranks,
                             special_tokens={END_OF_TEXT: len(ranks)}, explicit_n_vocab=VOCAB_SIZE)


def encode_documents(documents: list[tuple[str, str]], tokenizer=None) -> np.ndarray:
    """All documents as one uint16 array of token ids, each document followed by <|endoftext|>."""
    tokenizer = tokenizer or load_tokenizer()
    texts = [text for _, text in documents]
    ids = []
    for document_ids in tokenizer.encode_ordinary_batch(texts, num_threads=2):
        ids.extend(document_ids)
        ids.append(tokenizer.eot_token)
    return np.array(ids, dtype=np.uint16)


def load_tokens(split: str, cache_dir: Path | None = None) -> np.ndarray:
    """The token ids of one split; read from `cache_dir/<split>.bin` when it is there."""
    if cache_dir is not None and (Path(cache_dir) / f"{split}.bin").exists():
        return np.fromfile(Path(cache_dir) / f"{split}.bin", dtype=np.uint16)
    tokens = encode_documents(corpus_split(split))
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        tokens.tofile(Path(cache_dir) / f"{split}.bin")
    return tokens
