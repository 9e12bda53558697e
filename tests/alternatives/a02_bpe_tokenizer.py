"""Second catalogue for 02-bpe-tokenizer: subtle edge-case bugs (input mutation and aliasing,
state kept between calls, conventions nobody exercised, narrow values, options combined) and
correct solutions written in unusual ways. Independent of tests/mutants/m02_bpe_tokenizer.py."""
from tests.alternatives import Correct, Wrong, variant

ASSIGNMENT = "02-bpe-tokenizer"

# A naive trainer that the train_bpe entries below vary; {PREPARE} rewrites the text first,
# {CHOOSE} picks the pair, {GUARD} runs before anything else.
NAIVE_TRAIN = '''
def _naive_train(text, vocab_size):
    words = {{}}
    for piece in pretokenize(text):
        word = tuple(piece.encode("utf-8"))
        words[word] = words.get(word, 0) + 1
    merges = {{}}
    names = {{i: bytes([i]) for i in range(256)}}
    for new_id in range(256, vocab_size):
        counts = count_pairs(words)
        if not counts:
            break
        pair = {CHOOSE}
        merges[pair] = new_id
        names[new_id] = names[pair[0]] + names[pair[1]]
        words = {{tuple(merge(list(w), pair, new_id)): c for w, c in words.items()}}
    return merges


def train_bpe(text, vocab_size):
{GUARD}
    if vocab_size < 256:
        raise ValueError("vocab_size must be at least 256")
{PREPARE}
    return _naive_train(text, vocab_size)
'''
TRAIN = dict(CHOOSE="min(counts, key=lambda p: (-counts[p], p))", GUARD="", PREPARE="")


def naive_train(**changes) -> str:
    return NAIVE_TRAIN.format(**{**TRAIN, **changes})


# a plain correct count_pairs: solutions below that differ from it in a few places are its variants
COUNT_PAIRS_PLAIN = '''
def count_pairs(word_counts):
    counts = {}
    for word, frequency in word_counts.items():
        for pair in zip(word, word[1:]):
            counts[pair] = counts.get(pair, 0) + frequency
    return {pair: n for pair, n in counts.items() if n}
'''

# a plain correct merge: solutions below that differ from it in a few places are its variants
MERGE_PLAIN = '''
def merge(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
'''

# a plain correct split_special: solutions below that differ from it in a few places are its variants
SPLIT_SPECIAL_PLAIN = '''
def split_special(text, special_tokens):
    if not special_tokens:
        return [text] if text else []
    pattern = "|".join(re.escape(s) for s in sorted(special_tokens, key=len, reverse=True))
    return [piece for piece in re.split(f"({pattern})", text) if piece]
'''


WRONG = [
    # count_pairs ------------------------------------------------------------------------------
    Wrong("count_pairs", "a defaultdict keeps zero counts from words of frequency 0", '''
from collections import defaultdict


def count_pairs(word_counts):
    counts = defaultdict(int)
    for word, frequency in word_counts.items():
        for pair in zip(word, word[1:]):
            counts[pair] += frequency
    return dict(counts)
''', "zero counts"),
    Wrong("count_pairs", "consumes the caller's dict with popitem()", variant(COUNT_PAIRS_PLAIN,
            ('    for word, frequency in word_counts.items():\n',
             '    while word_counts:\n'
             '        word, frequency = word_counts.popitem()\n')), "in place"),
    Wrong("count_pairs", "a mutable default accumulator keeps counts between calls", variant(COUNT_PAIRS_PLAIN,
            ('def count_pairs(word_counts):\n'
             '    counts = {}\n',
             'def count_pairs(word_counts, counts={}):\n')), "mutable default"),
    Wrong("count_pairs", "packs a pair into one int a * 256 + b (wrong for ids above 255)", '''
def count_pairs(word_counts):
    packed = {}
    for word, frequency in word_counts.items():
        for a, b in zip(word, word[1:]):
            key = a * 256 + b
            packed[key] = packed.get(key, 0) + frequency
    return {divmod(key, 256): n for key, n in packed.items() if n}
''', "above 255"),

    # merge ------------------------------------------------------------------------------------
    Wrong("merge", "string replacement on the comma-joined ids (multi-digit ids match inside others)", '''
def merge(ids, pair, new_id):
    if not ids:
        return []
    joined = ",".join(map(str, ids)).replace(f"{pair[0]},{pair[1]}", str(new_id))
    return [int(token) for token in joined.split(",")]
''', "digits"),
    Wrong("merge", "returns the caller's list itself when the pair does not occur",
          variant(MERGE_PLAIN.replace("out", "merged"),
            ('    merged, i = [], 0\n',
             '    if pair not in set(zip(ids, ids[1:])):\n'
             '        return ids  # nothing to replace\n'
             '    merged, i = [], 0\n'),
            ('        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:\n',
             '        if ids[i:i + 2] == list(pair):\n')), "itself"),
    Wrong("merge", "returns the caller's list itself when it has fewer than two ids", variant(MERGE_PLAIN,
            ('    out, i = [], 0\n',
             '    if len(ids) < 2:\n'
             '        return ids  # no pair to look at\n'
             '    out, i = [], 0\n')), "itself"),
    Wrong("merge", "a mutable default output list is never emptied", variant(MERGE_PLAIN,
            ('def merge(ids, pair, new_id):\n'
             '    out, i = [], 0\n',
             'def merge(ids, pair, new_id, out=[]):\n'
             '    i = 0\n'),
            ('        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:\n',
             '        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair):\n')), "mutable default"),

    # train_bpe --------------------------------------------------------------------------------
    Wrong("train_bpe", "an empty text returns {} before vocab_size is validated",
          naive_train(GUARD="    if not text:\n        return {}"), "validate vocab_size first"),
    Wrong("train_bpe", "a cache keyed on the text only (a later, larger vocab_size gets the old merges)",
          naive_train(PREPARE="    if text not in TRAINED:\n        TRAINED[text] = _naive_train(text, vocab_size)\n"
                              "    return dict(list(TRAINED[text].items())[:vocab_size - 256])")
          + "\n\nTRAINED = {}\n", "earlier calls"),
    Wrong("train_bpe", "NFKC-normalizes the text first ('½', 'ﬁ', full-width letters change bytes)",
          "import unicodedata\n" + naive_train(PREPARE="    text = unicodedata.normalize('NFKC', text)"),
          "normaliz"),
    Wrong("train_bpe", "ties broken by the tokens' bytes, not by the pair of ids",
          naive_train(CHOOSE="min(counts, key=lambda p: (-counts[p], names[p[0]], names[p[1]]))"),
          "tuple of ids"),
    Wrong("train_bpe", "strips the text (leading and trailing whitespace are pre-tokens too)",
          naive_train(PREPARE="    text = text.strip()"), "strip"),

    # apply_merges -----------------------------------------------------------------------------
    Wrong("apply_merges", "returns the caller's list itself for fewer than two ids", '''
def apply_merges(ids, merges):
    if len(ids) < 2:
        return ids
    ids = list(ids)
    while True:
        known = [p for p in zip(ids, ids[1:]) if p in merges]
        if not known:
            return ids
        pair = min(known, key=merges.__getitem__)
        ids = merge(ids, pair, merges[pair])
''', "itself"),
    Wrong("apply_merges", "writes the merged ids back into the caller's list", '''
def apply_merges(ids, merges):
    while len(ids) >= 2:
        pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break
        ids[:] = merge(ids, pair, merges[pair])
    return list(ids)
''', "in place"),
    Wrong("apply_merges", "unknown pairs ranked 256 + len(merges): assumes merged ids 256, 257, ... contiguous", '''
def apply_merges(ids, merges):
    ids = list(ids)
    unknown = 256 + len(merges)  # one past the last merged id
    while len(ids) >= 2:
        rank, pair = min((merges.get(p, unknown), p) for p in zip(ids, ids[1:]))
        if rank == unknown:
            break
        ids = merge(ids, pair, rank)
    return ids
''', "contiguous"),
    Wrong("apply_merges", "a cache keyed on the ids only (other merges get the old result)", '''
ENCODED = {}


def apply_merges(ids, merges):
    key = tuple(ids)
    if key not in ENCODED:
        out = list(ids)
        while len(out) >= 2:
            pair = min(zip(out, out[1:]), key=lambda p: merges.get(p, float("inf")))
            if pair not in merges:
                break
            out = merge(out, pair, merges[pair])
        ENCODED[key] = out
    return list(ENCODED[key])
''', "earlier calls"),

    # decode -----------------------------------------------------------------------------------
    Wrong("decode", "utf-8-sig drops a leading byte-order mark", '''
def decode(ids, vocab):
    return b"".join(vocab[i] for i in ids).decode("utf-8-sig", errors="replace")
''', "byte-order mark"),
    Wrong("decode", "strict decoding, falling back to token-by-token replacement", '''
def decode(ids, vocab):
    try:
        return b"".join(vocab[i] for i in ids).decode("utf-8")
    except UnicodeDecodeError:
        return "".join(vocab[i].decode("utf-8", errors="replace") for i in ids)
''', "whole"),
    Wrong("decode", "hand-written decoder that accepts overlong forms, surrogates and leads F5-F7", '''
def decode(ids, vocab):
    data = b"".join(vocab[i] for i in ids)
    out, i = [], 0
    while i < len(data):
        lead = data[i]
        if lead < 0x80:
            out.append(chr(lead))
            i += 1
            continue
        if 0xC0 <= lead < 0xE0:
            size, value = 2, lead & 0x1F
        elif 0xE0 <= lead < 0xF0:
            size, value = 3, lead & 0x0F
        elif 0xF0 <= lead < 0xF8:
            size, value = 4, lead & 0x07
        else:
            out.append("\\ufffd")
            i += 1
            continue
        j = i + 1
        while j < i + size and j < len(data) and 0x80 <= data[j] < 0xC0:
            value = value << 6 | data[j] & 0x3F
            j += 1
        if j == i + size and value <= 0x10FFFF:
            out.append(chr(value))
        else:
            out.append("\\ufffd")
        i = j
    return "".join(out)
''', "overlong"),
    Wrong("decode", "incremental decoder without final=True: an incomplete last character vanishes", '''
import codecs


def decode(ids, vocab):
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return "".join(decoder.decode(vocab[i]) for i in ids)
''', "at the end"),
    Wrong("decode", "a mutable-default cache of token bytes keyed by id only", '''
def decode(ids, vocab, cache={}):
    for token_id in ids:
        if token_id not in cache:
            cache[token_id] = vocab[token_id]
    return b"".join(cache[token_id] for token_id in ids).decode("utf-8", errors="replace")
''', "earlier calls"),

    # split_special ----------------------------------------------------------------------------
    Wrong("split_special", "no special tokens: returns [text] even for ''", variant(SPLIT_SPECIAL_PLAIN,
            ('        return [text] if text else []\n',
             '        return [text]\n')), "no special tokens"),
    Wrong("split_special", "matches special tokens case-insensitively", variant(SPLIT_SPECIAL_PLAIN,
            ('re.split(f"({pattern})", text)',
             're.split(f"({pattern})", text, flags=re.IGNORECASE)')), "case"),
    Wrong("split_special", "drops whitespace-only pieces, not only empty strings", variant(SPLIT_SPECIAL_PLAIN,
            ('        return [text] if text else []\n',
             '        return [text] if text.strip() else []\n'),
            (' if piece]\n',
             ' if piece.strip()]\n')), "whitespace"),
    Wrong("split_special", "splits by one special at a time, longest first (not left to right)", '''
def split_special(text, special_tokens):
    pieces = [text] if text else []
    for special in sorted(special_tokens, key=len, reverse=True):
        out = []
        for piece in pieces:
            if piece in special_tokens:
                out.append(piece)
                continue
            parts = piece.split(special)
            for k, part in enumerate(parts):
                if k:
                    out.append(special)
                if part:
                    out.append(part)
        pieces = out
    return pieces
''', "left to right"),
    Wrong("split_special", "the pattern is compiled once, for the first call's special tokens", '''
def split_special(text, special_tokens, _compiled=[]):
    if not special_tokens:
        return [text] if text else []
    if not _compiled:
        specials = sorted(special_tokens, key=len, reverse=True)
        _compiled.append(re.compile("(" + "|".join(map(re.escape, specials)) + ")"))
    return [piece for piece in _compiled[0].split(text) if piece]
''', "earlier calls"),

    # written after the checks were strengthened, without a check designed for them -------------
    Wrong("count_pairs", "returns the caller's dict itself when it is empty", variant(COUNT_PAIRS_PLAIN,
            ('    counts = {}\n',
             '    if not word_counts:\n'
             '        return word_counts\n'
             '    counts = {}\n')), "itself"),
    Wrong("train_bpe", "its own pre-tokenization regex, with GPT-4's case-insensitive contractions",
          naive_train().replace("pretokenize(text)", "regex.findall(PATTERN, text)")
          + '''
PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"""
''', "GPT-2's pattern"),
    Wrong("split_special", "re.escape applied to the joined alternation (escapes the bars too)",
          variant(SPLIT_SPECIAL_PLAIN,
            ('    pattern = "|".join(re.escape(s) for s in sorted(special_tokens, key=len, reverse=True))\n'
             '    return [piece for piece in re.split(f"({pattern})", text) if piece]\n',
             '    specials = sorted(special_tokens, key=len, reverse=True)\n'
             '    return [piece for piece in re.split("(" + re.escape("|".join(specials)) + ")", text) if piece]\n')),
          "escape"),
    Wrong("decode", "strips NUL padding from the end of the text", '''
def decode(ids, vocab):
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace").rstrip("\\x00")
''', "any bytes"),
    Wrong("apply_merges", "returns a tuple when nothing merges", '''
def apply_merges(ids, merges):
    result = tuple(ids)
    while len(result) >= 2:
        pair = min(zip(result, result[1:]), key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break
        result = merge(list(result), pair, merges[pair])
    return result
''', "list"),
    Wrong("merge", "skips the id after a failed comparison when the first id matched", variant(MERGE_PLAIN,
            ('        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:\n'
             '            out.append(new_id)\n'
             '            i += 2\n',
             '        if ids[i] == pair[0] and i + 1 < len(ids):\n'
             '            if ids[i + 1] == pair[1]:\n'
             '                out.append(new_id)\n'
             '            else:\n'
             '                out.extend(ids[i:i + 2])\n'
             '            i += 2\n')), "left to right"),
]

CORRECT = [
    # count_pairs ------------------------------------------------------------------------------
    Correct("count_pairs", "returns the Counter itself (a dict), zero counts dropped by unary plus", '''
def count_pairs(word_counts):
    counts = Counter()
    for word, frequency in word_counts.items():
        for i in range(len(word) - 1):
            counts[word[i], word[i + 1]] += frequency
    return +counts  # unary plus drops zero counts
'''),
    Correct("count_pairs", "Counter and itertools.pairwise, dict(+counter)", '''
from itertools import pairwise


def count_pairs(word_counts):
    total = Counter()
    for word, frequency in word_counts.items():
        for pair in pairwise(word):
            total[pair] += frequency
    return dict(+total)
'''),
    Correct("count_pairs", "recursive pair list, a sum of per-word Counters", '''
def _pairs(word):
    return [] if len(word) < 2 else [(word[0], word[1])] + _pairs(word[1:])


def count_pairs(word_counts):
    per_word = (Counter({p: c * n for p, c in Counter(_pairs(w)).items()}) for w, n in word_counts.items())
    return dict(sum(per_word, Counter()))
'''),
    Correct("count_pairs", "index loop into a defaultdict, zeros filtered", '''
from collections import defaultdict


def count_pairs(word_counts):
    counts = defaultdict(int)
    for word in word_counts:
        for i in range(1, len(word)):
            counts[(word[i - 1], word[i])] += word_counts[word]
    return {pair: counts[pair] for pair in counts if counts[pair] > 0}
'''),

    # merge ------------------------------------------------------------------------------------
    Correct("merge", "recursion on slices", '''
def merge(ids, pair, new_id):
    if len(ids) < 2:
        return list(ids)
    if ids[0] == pair[0] and ids[1] == pair[1]:
        return [new_id] + merge(ids[2:], pair, new_id)
    return [ids[0]] + merge(ids[1:], pair, new_id)
'''),
    Correct("merge", "one pass with a skip flag over zip(ids, ids[1:] + [None])", '''
def merge(ids, pair, new_id):
    out, skip = [], False
    for current, following in zip(ids, ids[1:] + [None]):
        if skip:
            skip = False
        elif (current, following) == tuple(pair):
            out.append(new_id)
            skip = True
        else:
            out.append(current)
    return out
'''),
    Correct("merge", "slice assignment on a copy", '''
def merge(ids, pair, new_id):
    out = ids.copy()
    i = 0
    while i < len(out) - 1:
        if out[i] == pair[0] and out[i + 1] == pair[1]:
            out[i:i + 2] = [new_id]
        i += 1
    return out
'''),

    Correct("merge", "appends a sentinel to the caller's list and removes it before returning", '''
def merge(ids, pair, new_id):
    ids.append(None)  # sentinel: every real id has a successor
    out, i = [], 0
    while ids[i] is not None:
        if (ids[i], ids[i + 1]) == tuple(pair):
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    ids.pop()
    return out
'''),
    Correct("merge", "rescans from the start after each replacement", '''
def merge(ids, pair, new_id):
    out = list(ids)
    while True:
        for i in range(len(out) - 1):
            if out[i] == pair[0] and out[i + 1] == pair[1]:
                out[i:i + 2] = [new_id]
                break
        else:
            return out
'''),
    # train_bpe --------------------------------------------------------------------------------
    Correct("train_bpe", "naive, with sorted() and regex.finditer", '''
def train_bpe(text, vocab_size):
    if vocab_size < 256:
        raise ValueError(vocab_size)
    words = Counter(tuple(m.group().encode("utf-8")) for m in regex.finditer(GPT2_SPLIT_PATTERN, text))
    merges = {}
    while len(merges) < vocab_size - 256:
        counts = count_pairs(dict(words))
        if not counts:
            break
        pair = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]
        new_id = 256 + len(merges)
        merges[pair] = new_id
        words = Counter({tuple(merge(list(w), pair, new_id)): n for w, n in words.items()})
    return merges
'''),
    Correct("train_bpe", "naive with max() over negated ids, words as parallel lists", '''
def train_bpe(text, vocab_size):
    if not vocab_size >= 256:
        raise ValueError("too small")
    freq = Counter(pretokenize(text))
    words = [list(w.encode("utf-8")) for w in freq]
    weights = list(freq.values())
    merges = {}
    for k in range(vocab_size - 256):
        counts = {}
        for w, n in zip(words, weights):
            for i in range(len(w) - 1):
                counts[w[i], w[i + 1]] = counts.get((w[i], w[i + 1]), 0) + n
        if not counts:
            break
        (a, b), _ = max(counts.items(), key=lambda item: (item[1], -item[0][0], -item[0][1]))
        merges[(a, b)] = 256 + k
        words = [merge(w, (a, b), 256 + k) for w in words]
    return merges
'''),
    Correct("train_bpe", "memoized on all the arguments with functools.lru_cache", '''
import functools


@functools.lru_cache(maxsize=None)
def _learned(text, vocab_size):
    if vocab_size < 256:
        raise ValueError("vocab_size < 256")
    words = Counter(tuple(p.encode("utf-8")) for p in pretokenize(text))
    learned = []
    for new_id in range(256, vocab_size):
        counts = count_pairs(words)
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        learned.append((best, new_id))
        words = {tuple(merge(list(w), best, new_id)): n for w, n in words.items()}
    return tuple(learned)


def train_bpe(text, vocab_size):
    return dict(_learned(text, vocab_size))
'''),

    # apply_merges -----------------------------------------------------------------------------
    Correct("apply_merges", "tiktoken style: one occurrence at a time, lowest rank then leftmost", '''
def apply_merges(ids, merges):
    parts = list(ids)
    while True:
        ranked = [(merges[p], i) for i, p in enumerate(zip(parts, parts[1:])) if p in merges]
        if not ranked:
            return parts
        rank, i = min(ranked)
        parts[i:i + 2] = [rank]
'''),
    Correct("apply_merges", "recursion, one merge step per call", '''
def apply_merges(ids, merges):
    candidates = {p for p in zip(ids, ids[1:]) if p in merges}
    if not candidates:
        return list(ids)
    best = min(candidates, key=lambda p: merges[p])
    return apply_merges(merge(ids, best, merges[best]), merges)
'''),
    Correct("apply_merges", "every merge once, in order of merged id", '''
def apply_merges(ids, merges):
    out = [*ids]
    for pair, new_id in sorted(merges.items(), key=lambda item: item[1]):
        if len(out) < 2:
            break
        if pair in zip(out, out[1:]):
            out = merge(out, pair, new_id)
    return out
'''),

    # decode -----------------------------------------------------------------------------------
    Correct("decode", "codecs.decode of a bytearray", '''
import codecs


def decode(ids, vocab):
    buffer = bytearray()
    for token_id in ids:
        buffer += vocab[token_id]
    return codecs.decode(bytes(buffer), "utf-8", "replace")
'''),
    Correct("decode", "streaming incremental decoder, flushed with final=True", '''
import codecs


def decode(ids, vocab):
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    pieces = [decoder.decode(vocab[token_id]) for token_id in ids]
    pieces.append(decoder.decode(b"", final=True))
    return "".join(pieces)
'''),
    Correct("decode", "hand-written UTF-8 decoder (maximal subparts), raising UnicodeDecodeError internally", '''
# lead byte -> (number of continuation bytes, allowed range of the first continuation byte)
_UTF8_LEADS = {**{b: (1, 0x80, 0xBF) for b in range(0xC2, 0xE0)}, 0xE0: (2, 0xA0, 0xBF),
               **{b: (2, 0x80, 0xBF) for b in range(0xE1, 0xED)}, 0xED: (2, 0x80, 0x9F),
               0xEE: (2, 0x80, 0xBF), 0xEF: (2, 0x80, 0xBF), 0xF0: (3, 0x90, 0xBF),
               0xF1: (3, 0x80, 0xBF), 0xF2: (3, 0x80, 0xBF), 0xF3: (3, 0x80, 0xBF), 0xF4: (3, 0x80, 0x8F)}


def _one_character(data, i):
    """(character, next index); raises UnicodeDecodeError('utf-8', ...) over the maximal invalid subpart."""
    lead = data[i]
    if lead < 0x80:
        return chr(lead), i + 1
    if lead not in _UTF8_LEADS:
        raise UnicodeDecodeError("utf-8", data, i, i + 1, "invalid start byte")
    more, low, high = _UTF8_LEADS[lead]
    value = lead & (0x3F >> more)
    j = i + 1
    for k in range(more):
        if j >= len(data) or not (low if k == 0 else 0x80) <= data[j] <= (high if k == 0 else 0xBF):
            raise UnicodeDecodeError("utf-8", data, i, j, "invalid continuation byte")
        value = value << 6 | data[j] & 0x3F
        j += 1
    return chr(value), j


def decode(ids, vocab):
    data = b"".join(vocab[token_id] for token_id in ids)
    out, i = [], 0
    while i < len(data):
        try:
            character, i = _one_character(data, i)
        except UnicodeDecodeError as error:
            character, i = "\\ufffd", error.end
        out.append(character)
    return "".join(out)
'''),

    # split_special ----------------------------------------------------------------------------
    Correct("split_special", "a left-to-right scan with str.startswith, longest special first", '''
def split_special(text, special_tokens):
    specials = sorted(special_tokens, key=len, reverse=True)
    out, start, i = [], 0, 0
    while i < len(text):
        found = next((s for s in specials if s and text.startswith(s, i)), None)
        if found is None:
            i += 1
            continue
        if i > start:
            out.append(text[start:i])
        out.append(found)
        i = start = i + len(found)
    if start < len(text):
        out.append(text[start:])
    return out
'''),
    Correct("split_special", "reverse lexicographic order (a special sorts after its prefixes) and filter()", '''
def split_special(text, special_tokens):
    if not special_tokens:
        return list(filter(None, [text]))
    alternatives = "|".join(map(re.escape, sorted(special_tokens, reverse=True)))
    return list(filter(None, re.split("(" + alternatives + ")", text)))
'''),
    Correct("split_special", "regex.finditer, pieces assembled by hand", '''
def split_special(text, special_tokens):
    pieces, last = [], 0
    if special_tokens:
        pattern = "|".join(regex.escape(s) for s in sorted(special_tokens, key=lambda s: -len(s)))
        for match in regex.finditer(pattern, text):
            pieces += [text[last:match.start()], match.group()]
            last = match.end()
    pieces.append(text[last:])
    return [piece for piece in pieces if piece != ""]
'''),
]
