"""Plausible wrong solutions for 02-bpe-tokenizer."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "02-bpe-tokenizer"

NAIVE_TRAIN = '''
def train_bpe(text, vocab_size):
    if vocab_size < 256:
        raise ValueError("vocab_size must be at least 256")
    words = dict()
    for piece in {PIECES}:
        word = tuple({IDS})
        words[word] = words.get(word, 0) + {WEIGHT}
    merges = dict()
    for new_id in range({FIRST_ID}, vocab_size):
        counts = {COUNTS}
        {STOP}
        pair = {CHOOSE}
        merges[pair] = new_id
        words = {{tuple(merge(list(w), pair, new_id)): c for w, c in words.items()}}
    return merges
'''
CORRECT_TRAIN = dict(PIECES="pretokenize(text)", IDS="piece.encode('utf-8')", WEIGHT="1", FIRST_ID="256",
                     COUNTS="count_pairs(words)", STOP="if not counts: break",
                     CHOOSE="min(counts, key=lambda p: (-counts[p], p))")


def train_mutant(**changes) -> str:
    return NAIVE_TRAIN.format(**{**CORRECT_TRAIN, **changes})


# plain correct count_pairs, merge, apply_merges and split_special: mutants below that differ from one of them
# in a few places are its variants
COUNT_PAIRS_PLAIN = '''
def count_pairs(word_counts):
    counts = {}
    for word, n in word_counts.items():
        for pair in zip(word, word[1:]):
            counts[pair] = counts.get(pair, 0) + n
    return counts
'''

MERGE_PLAIN = '''
def merge(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
'''

APPLY_MERGES_PLAIN = '''
def apply_merges(ids, merges):
    ids = list(ids)
    while True:
        pairs = [p for p in zip(ids, ids[1:]) if p in merges]
        if not pairs:
            return ids
        pair = min(pairs, key=merges.get)
        ids = merge(ids, pair, merges[pair])
'''

# the lines of APPLY_MERGES_PLAIN that choose the pair (or stop), which two mutants below replace
APPLY_MERGES_CHOICE = '''        pairs = [p for p in zip(ids, ids[1:]) if p in merges]
        if not pairs:
            return ids
        pair = min(pairs, key=merges.get)
'''

SPLIT_SPECIAL_PLAIN = '''
import re
def split_special(text, special_tokens):
    if not special_tokens:
        return [text] if text else []
    pattern = "(" + "|".join(re.escape(s) for s in sorted(special_tokens, key=len, reverse=True)) + ")"
    return [piece for piece in re.split(pattern, text) if piece]
'''


MUTANTS = [
    # count_pairs
    Mutant("count_pairs", "counts each word once, ignoring its frequency", variant(COUNT_PAIRS_PLAIN,
               ('    for word, n in word_counts.items():\n', '    for word in word_counts:\n'),
               ('counts.get(pair, 0) + n\n', 'counts.get(pair, 0) + 1\n')), "frequency"),
    Mutant("count_pairs", "overlapping pairs counted once (set of pairs per word)", variant(COUNT_PAIRS_PLAIN,
               ('zip(word, word[1:])', 'set(zip(word, word[1:]))')), "overlap"),
    Mutant("count_pairs", "words concatenated, so pairs span word boundaries", '''
def count_pairs(word_counts):
    ids = [i for word, n in word_counts.items() for _ in range(n) for i in word]
    counts = {}
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts
''', "span"),
    Mutant("count_pairs", "loop stops one pair early", variant(COUNT_PAIRS_PLAIN,
               ('        for pair in zip(word, word[1:]):\n',
                '        for i in range(len(word) - 2):\n'
                '            pair = (word[i], word[i + 1])\n')), "every adjacent position"),
    Mutant("count_pairs", "one-token words add a pair with None", variant(COUNT_PAIRS_PLAIN,
               ('zip(word, word[1:])', 'zip(word, word[1:] + (None,))')), "one-token word"),
    # merge
    Mutant("merge", "overlapping pairs merged twice", '''
def merge(ids, pair, new_id):
    out = []
    for i in range(len(ids)):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
        elif not (i > 0 and (ids[i - 1], ids[i]) == pair):
            out.append(ids[i])
    return out
''', "overlap"),
    Mutant("merge", "only the first occurrence replaced", '''
def merge(ids, pair, new_id):
    for i in range(len(ids) - 1):
        if (ids[i], ids[i + 1]) == pair:
            return ids[:i] + [new_id] + ids[i + 2:]
    return list(ids)
''', "every occurrence"),
    Mutant("merge", "loop bound misses a pair at the end", variant(MERGE_PLAIN,
               ('i + 1 < len(ids) and', 'i < len(ids) - 2 and')), "last position"),
    Mutant("merge", "merges the pair in either order", variant(MERGE_PLAIN,
               ('(ids[i], ids[i + 1]) == pair:',
                '{ids[i], ids[i + 1]} == set(pair) and len(set(pair)) == len({ids[i], ids[i + 1]}):')),
           "different pair"),
    Mutant("merge", "modifies the input list in place", '''
def merge(ids, pair, new_id):
    i = 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == pair:
            ids[i:i + 2] = [new_id]
        i += 1
    return ids
''', "new list"),
    Mutant("merge", "crashes on an empty list", '''
def merge(ids, pair, new_id):
    out, i = [ids[0]], 1
    while i < len(ids):
        if (out[-1], ids[i]) == pair and out[-1] != new_id:
            out[-1] = new_id
        else:
            out.append(ids[i])
        i += 1
    return out
''', "short inputs"),
    # train_bpe
    Mutant("train_bpe", "ties go to the largest pair (CS336's rule)",
           train_mutant(CHOOSE="max(counts, key=lambda p: (counts[p], p))"), "smallest"),
    Mutant("train_bpe", "ties go to the first pair met (max over the dict)",
           train_mutant(CHOOSE="max(counts, key=counts.get)"), "tie-break"),
    Mutant("train_bpe", "pre-tokens counted once, not by frequency",
           train_mutant(WEIGHT="0 if word in words else 1"), "frequency"),
    Mutant("train_bpe", "no pre-tokenization: the whole text is one word",
           train_mutant(PIECES="[text]"), "pre-tokenize"),
    Mutant("train_bpe", "starts from code points, not UTF-8 bytes",
           train_mutant(IDS="ord(ch) for ch in piece"), "utf-8"),
    Mutant("train_bpe", "new ids start at 257", train_mutant(FIRST_ID="257"), "256 + k"),
    Mutant("train_bpe", "does not stop when no pair is left", train_mutant(STOP="pass"), "stop early"),
    Mutant("train_bpe", "overlapping pairs not counted (a pair is skipped after its match)",
           train_mutant(COUNTS="non_overlapping_counts(words)") + '''
def non_overlapping_counts(words):
    counts = {}
    for word, n in words.items():
        i = 0
        while i < len(word) - 1:
            pair = (word[i], word[i + 1])
            counts[pair] = counts.get(pair, 0) + n
            i += 2 if i + 2 < len(word) and word[i + 2] == word[i + 1] == word[i] else 1
    return counts
''', "overlap"),
    # apply_merges
    Mutant("apply_merges", "merges the leftmost known pair first", variant(APPLY_MERGES_PLAIN,
               (APPLY_MERGES_CHOICE,
                '        pair = next((p for p in zip(ids, ids[1:]) if p in merges), None)\n'
                '        if pair is None:\n'
                '            return ids\n')), "lowest"),
    Mutant("apply_merges", "applies merges in dict order, once each", '''
def apply_merges(ids, merges):
    ids = list(ids)
    for pair, new_id in merges.items():
        ids = merge(ids, pair, new_id)
    return ids
''', "merged id"),
    Mutant("apply_merges", "a single merge step, not repeated", '''
def apply_merges(ids, merges):
    pairs = [p for p in zip(ids, ids[1:]) if p in merges]
    if not pairs:
        return list(ids)
    pair = min(pairs, key=merges.get)
    return merge(ids, pair, merges[pair])
''', "until no adjacent pair"),
    Mutant("apply_merges", "highest rank first", variant(APPLY_MERGES_PLAIN, ('min(pairs', 'max(pairs')), "lowest"),
    Mutant("apply_merges", "merges overlapping occurrences", variant(APPLY_MERGES_PLAIN,
               ('        ids = merge(ids, pair, merges[pair])\n',
                '        out = []\n'
                '        for i in range(len(ids)):\n'
                '            if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:\n'
                '                out.append(merges[pair])\n'
                '            elif not (i > 0 and (ids[i - 1], ids[i]) == pair):\n'
                '                out.append(ids[i])\n'
                '        ids = out\n')), "without overlap"),
    Mutant("apply_merges", "crashes when there is no pair", variant(APPLY_MERGES_PLAIN,
               (APPLY_MERGES_CHOICE,
                '        pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, float("inf")))\n'
                '        if pair not in merges:\n'
                '            return ids\n')), "short inputs"),
    # decode
    Mutant("decode", "decodes token by token", '''
def decode(ids, vocab):
    return "".join(vocab[i].decode("utf-8", errors="replace") for i in ids)
''', "join all the bytes first"),
    Mutant("decode", "strict UTF-8 decoding", '''
def decode(ids, vocab):
    return b"".join(vocab[i] for i in ids).decode("utf-8")
''', "errors='replace'"),
    Mutant("decode", "invalid bytes dropped (errors='ignore')", '''
def decode(ids, vocab):
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="ignore")
''', "not dropped"),
    Mutant("decode", "decodes as Latin-1", '''
def decode(ids, vocab):
    return b"".join(vocab[i] for i in ids).decode("latin-1")
''', "utf-8"),
    Mutant("decode", "ids sorted before decoding", '''
def decode(ids, vocab):
    return b"".join(vocab[i] for i in sorted(ids)).decode("utf-8", errors="replace")
''', "in order"),
    Mutant("decode", "returns the repr of the bytes", '''
def decode(ids, vocab):
    return str(b"".join(vocab[i] for i in ids))
''', "join"),
    # split_special
    Mutant("split_special", "special tokens tried in dict order, not longest first", variant(SPLIT_SPECIAL_PLAIN,
               ('re.escape(s) for s in sorted(special_tokens, key=len, reverse=True)',
                're.escape(s) for s in special_tokens')), "longest"),
    Mutant("split_special", "regex metacharacters not escaped", variant(SPLIT_SPECIAL_PLAIN,
               ('"|".join(re.escape(s) for s in sorted(special_tokens, key=len, reverse=True))',
                '"|".join(sorted(special_tokens, key=len, reverse=True))')), "escape"),
    Mutant("split_special", "empty pieces kept", variant(SPLIT_SPECIAL_PLAIN,
               ('        return [text] if text else []\n', '        return [text]\n'),
               ('    return [piece for piece in re.split(pattern, text) if piece]\n',
                '    return re.split(pattern, text)\n')), "empty"),
    Mutant("split_special", "special tokens dropped from the result", variant(SPLIT_SPECIAL_PLAIN,
               ('    pattern = "(" + "|".join(re.escape(s) for s in sorted(special_tokens, key=len, reverse=True))'
                ' + ")"\n',
                '    pattern = "|".join(re.escape(s) for s in sorted(special_tokens, key=len, reverse=True))\n')),
           "own item"),
    Mutant("split_special", "empty text gives ['']", variant(SPLIT_SPECIAL_PLAIN,
               ('    if not special_tokens:\n'
                '        return [text] if text else []\n',
                '    if not special_tokens or not text:\n'
                '        return [text]\n')), "return []"),
]
