"""Oracle tests for notebook 02 (byte-level BPE): the reference solutions against tokenizers that
nobody on this project wrote.

* rustbpe trains with the same algorithm and the same tie-break as the notebook (among equal
  counts, the smallest pair of ids; bytes are ids 0-255): its merges must be identical.
* Hugging Face `tokenizers` (BpeTrainer) breaks ties with the bytes ordered by the code point of
  GPT-2's `bytes_to_unicode` character (bytes 33-126, 161-172, 174-255, then 0-32, 127-160, 173).
  The reference `train_bpe` has no tie-break parameter, so HF is compared through a small naive
  trainer in this file that takes the byte order as an argument: with byte order it must equal the
  reference, with HF's order it must equal HF.
* tiktoken with GPT-2's real vocabulary (`gpt2.tiktoken`, shipped by openai-whisper): the reference
  `BPETokenizer`, loaded with GPT-2's 50,000 merges, must produce tiktoken's ids exactly.
* hypothesis: decode(encode(x)) == x for any string.
"""
import base64
import hashlib
import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest
import rustbpe
import tiktoken
import tiktoken_ext.openai_public
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from autograder.notebook import load_reference
from coursekit.corpus import generate_text, real_text

GPT2_TIKTOKEN_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"
EOT = "<|endoftext|>"


@pytest.fixture(scope="module")
def ref():
    return load_reference("02-bpe-tokenizer")


@pytest.fixture(scope="module")
def stories():
    return generate_text(130_000, seed=0)


@pytest.fixture(scope="module")
def docs():
    return real_text(130_000)


# --- converting between a rank table (bytes -> id) and merges ((id, id) -> id) ---------------

def merges_from_ranks(ranks: dict[bytes, int]) -> tuple[dict[tuple[int, int], int], list[int]]:
    """Recover the ordered merges and the single-byte ids from tiktoken-style ranks.

    A token of rank r was made by merging two tokens of lower rank; running BPE on its bytes with
    the ranks below r only leaves exactly those two parts.
    """
    byte_ids = [ranks[bytes([b])] for b in range(256)]
    merges = {}
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) == 1:
            continue
        parts = [bytes([b]) for b in token]
        while True:
            candidates = [(ranks.get(parts[i] + parts[i + 1], rank), i) for i in range(len(parts) - 1)]
            best_rank, i = min(candidates)
            if best_rank >= rank:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        assert len(parts) == 2, f"token {token!r} (rank {rank}) is not one merge of lower-ranked tokens"
        merges[(ranks[parts[0]], ranks[parts[1]])] = rank
    return merges, byte_ids


def rustbpe_merges(text: str, vocab_size: int, pattern: str) -> dict[tuple[int, int], int]:
    trainer = rustbpe.Tokenizer()
    trainer.train_from_iterator([text], vocab_size=vocab_size, pattern=pattern)
    merges, byte_ids = merges_from_ranks(dict(trainer.get_mergeable_ranks()))
    assert byte_ids == list(range(256))
    return merges


# --- Hugging Face tokenizers and its byte order ------------------------------------------------

def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-in character for each byte (as in GPT-2's encoder.py)."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    mapping = {b: chr(b) for b in printable}
    others = [b for b in range(256) if b not in mapping]
    mapping.update({b: chr(256 + n) for n, b in enumerate(others)})
    return mapping


def hf_merges(text: str, n_merges: int) -> list[tuple[bytes, bytes]]:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=256 + n_merges, min_frequency=0, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator([text], trainer=trainer)
    to_byte = {char: b for b, char in bytes_to_unicode().items()}
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    pairs = [m if isinstance(m, list) else m.split(" ") for m in merges]
    return [(bytes(to_byte[c] for c in a), bytes(to_byte[c] for c in b)) for a, b in pairs]


def naive_train(ref, text: str, n_merges: int, byte_order: list[int]) -> dict[tuple[int, int], int]:
    """Textbook BPE: recount all pairs every step. Ties: smallest (key(a), key(b)), where a byte's
    key is its position in `byte_order` and merged ids (256 + k) sort after every byte."""
    position = {b: i for i, b in enumerate(byte_order)}

    def key(pair):
        return tuple(position.get(t, t) for t in pair)

    words = {tuple(w.encode("utf-8")): n for w, n in Counter(ref.pretokenize(text)).items()}
    merges = {}
    for new_id in range(256, 256 + n_merges):
        counts = Counter()
        for word, n in words.items():
            for pair in zip(word, word[1:]):
                counts[pair] += n
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], key(p)))
        merges[pair] = new_id
        words = {tuple(ref.merge(list(w), pair, new_id)): n for w, n in words.items()}
    return merges


def as_byte_pairs(ref, merges) -> list[tuple[bytes, bytes]]:
    vocab = ref.build_vocab(merges)
    return [(vocab[a], vocab[b]) for (a, b), _ in sorted(merges.items(), key=lambda item: item[1])]


HF_BYTE_ORDER = sorted(range(256), key=lambda b: ord(bytes_to_unicode()[b]))


# --- training: rustbpe and Hugging Face --------------------------------------------------------

def test_train_bpe_equals_rustbpe_on_generated_stories(ref, stories):
    expected = rustbpe_merges(stories, 256 + 500, ref.GPT2_SPLIT_PATTERN)
    assert list(ref.train_bpe(stories, 256 + 500).items()) == list(expected.items())


def test_train_bpe_equals_rustbpe_on_real_docs(ref, docs):
    expected = rustbpe_merges(docs, 256 + 500, ref.GPT2_SPLIT_PATTERN)
    assert list(ref.train_bpe(docs, 256 + 500).items()) == list(expected.items())


def test_train_bpe_stops_early_like_rustbpe_when_no_pair_is_left(ref, stories):
    """The stories have few distinct words: 2,000 tokens is more than their pairs allow."""
    expected = rustbpe_merges(stories, 2000, ref.GPT2_SPLIT_PATTERN)
    got = ref.train_bpe(stories, 2000)
    assert len(got) < 2000 - 256
    assert list(got.items()) == list(expected.items())


def test_naive_trainer_with_byte_order_equals_train_bpe(ref, stories):
    """Checks the helper used for the HF comparison: with ids' own order it is the reference."""
    assert list(naive_train(ref, stories, 300, list(range(256))).items()) == \
        list(ref.train_bpe(stories, 256 + 300).items())


@pytest.mark.parametrize("corpus, n_merges", [("stories", 500), ("docs", 200)])
def test_hf_bpe_trainer_equals_naive_trainer_with_hf_byte_order(ref, stories, docs, corpus, n_merges):
    text = {"stories": stories, "docs": docs}[corpus]
    expected = hf_merges(text, n_merges)
    assert as_byte_pairs(ref, naive_train(ref, text, n_merges, HF_BYTE_ORDER)) == expected


def test_hf_tie_break_really_differs_from_the_reference(ref, stories):
    """Without HF's byte order the merges diverge: the tie rule is a real part of the algorithm."""
    assert as_byte_pairs(ref, ref.train_bpe(stories, 256 + 100)) != hf_merges(stories, 100)


# --- GPT-2 parity with tiktoken ------------------------------------------------------------------

def gpt2_ranks() -> dict[bytes, int]:
    spec = importlib.util.find_spec("whisper")
    assert spec is not None, "install the test oracle: pip install --no-deps openai-whisper==20250625"
    path = Path(spec.submodule_search_locations[0]) / "assets" / "gpt2.tiktoken"
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == GPT2_TIKTOKEN_SHA256, f"{path} is not GPT-2's rank file"
    return {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in data.splitlines() if line)}


@pytest.fixture(scope="module")
def gpt2(ref):
    """(tiktoken's GPT-2 encoding, the reference BPETokenizer loaded with GPT-2's merges)."""
    ranks = gpt2_ranks()
    encoding = tiktoken.Encoding("gpt2", pat_str=tiktoken_ext.openai_public.r50k_pat_str,
                                 mergeable_ranks=ranks, special_tokens={EOT: 50256}, explicit_n_vocab=50257)
    merges, byte_ids = merges_from_ranks(ranks)
    return encoding, ref.BPETokenizer(merges, {EOT: 50256}, byte_ids)


GPT2_TEXTS = {
    "ascii prose": "Hello world! The quick brown fox jumps over the lazy dog. It was 4 p.m.",
    "accents": "Zoé's café serves crème brûlée; naïve façade, Ångström, Straße, Øresund, São Paulo.",
    "cjk": "日本語のテキスト、中文文本，한국어 텍스트。混合 mixed 文字!",
    "emoji": "Emoji 🙂🎉 👍🏽 👩‍💻 👨‍👩‍👧‍👦 🏳️‍🌈 flags 🇫🇷🇯🇵 and ❤️ keycap 1️⃣",
    "contractions": "I'm sure they'll say it's DON'T, we've, you'd, she's, I'LL, O'Neil's 'quoted'",
    "whitespace runs": "a  b   c\t\td\n\n\ne \n \t\n    f   \n\n   leading and trailing   ",
    "numbers": "Call 555-1234 at 10:45, pay $1,234.56 or 3.14159e-10; 2024 vs 20240101 and 1st/2nd.",
    "special in the middle": f"first document{EOT}second document{EOT}{EOT} third",
    "special at both ends": f"{EOT}only one{EOT}",
    "code": "def f(x):\n    return x ** 2  # square\n\nprint(f(3))\t# 9\r\n",
    "unicode whitespace and controls": "a\x1c b\x1f  c\x85d\xa0e\u2028f\u3000 g\u2029h \x0b\x0c i\u200bj",
}


@pytest.mark.parametrize("name", GPT2_TEXTS)
def test_gpt2_encode_equals_tiktoken(gpt2, name):
    encoding, tokenizer = gpt2
    text = GPT2_TEXTS[name]
    assert tokenizer.encode(text) == encoding.encode(text, allowed_special="all")


@pytest.mark.parametrize("name", GPT2_TEXTS)
def test_gpt2_decode_inverts_encode(gpt2, name):
    _, tokenizer = gpt2
    text = GPT2_TEXTS[name]
    assert tokenizer.decode(tokenizer.encode(text)) == text


@pytest.mark.parametrize("corpus", ["stories", "docs"])
def test_gpt2_encode_equals_tiktoken_on_corpus(gpt2, corpus):
    encoding, tokenizer = gpt2
    text = generate_text(5_000, seed=7) if corpus == "stories" else real_text(60_000)[-5_000:]
    assert tokenizer.encode(text) == encoding.encode(text, allowed_special="all")


def test_gpt2_known_ids(gpt2):
    encoding, tokenizer = gpt2
    assert encoding.encode("Hello world") == [15496, 995]
    assert tokenizer.encode("Hello world") == [15496, 995]


def test_gpt2_vocabulary_is_256_bytes_50000_merges_and_endoftext(gpt2):
    _, tokenizer = gpt2
    assert len(tokenizer.merges) == 50_000
    assert len(tokenizer.vocab) == 50_257
    assert tokenizer.vocab[50256] == EOT.encode()


# --- round trip on any string -------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained(ref, stories):
    return ref.BPETokenizer.train(stories, 256 + 300, special_tokens={EOT: 256 + 300})


ANY_TEXT = st.lists(st.one_of(st.text(st.characters(codec="utf-8"), max_size=30), st.just(EOT)),
                    max_size=4).map("".join)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=ANY_TEXT)
def test_round_trip_of_a_trained_tokenizer(trained, text):
    assert trained.decode(trained.encode(text)) == text


@settings(max_examples=200, deadline=None, derandomize=True)
@given(text=st.text(st.characters(codec="utf-8"), max_size=40))
def test_gpt2_encode_equals_tiktoken_on_any_string(gpt2, text):
    encoding, tokenizer = gpt2
    assert tokenizer.encode(text) == encoding.encode(text, allowed_special="all")
