"""10-data-engineering: edge-case bugs the text's domain exposes (entities decoded twice, state kept between
calls, Unicode whitespace, in-place changes, the last line of a text, zero-sized sources, duplicate
lengths, id 0, leading dimensions), and correct solutions written in unusual ways. Each solution replaces
the whole solution cell of its exercise (the other exercises stay the reference's)."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m10_data_engineering import (DEDUP, GOPHER, HTML, JACCARD, LSH, MASK, MINHASH, MIXING,
                                                NORMALIZE, PACK, SHINGLES)

ASSIGNMENT = "10-data-engineering"

WRONG = [
    # html_to_text
    Wrong("html_to_text", "each text piece stripped: words around inline tags glued",
          variant(HTML, ("                current.append(data)", "                current.append(data.strip())")),
          "keep the text running"),
    Wrong("html_to_text", "entities decoded a second time with html.unescape",
          variant(HTML, ('    return "\\n".join(" ".join(line.split()) for line in lines if line.split())',
                         '    import html\n    return html.unescape("\\n".join(" ".join(line.split()) for line in lines if line.split()))')),
          "decode entities once"),
    Wrong("html_to_text", "the parser's lines kept in a class attribute, shared by every call", '''
class PageReader(HTMLParser):
    lines = [[]]
    skipping = 0

    def handle_starttag(self, tag, attrs):
        self.skipping += tag in SKIPPED_TAGS
        if tag in BLOCK_TAGS:
            self.lines.append([])

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        if tag in BLOCK_TAGS:
            self.lines.append([])

    def handle_data(self, data):
        if not self.skipping:
            self.lines[-1].append(data)


def html_to_text(page):
    reader = PageReader()
    reader.feed(page)
    reader.close()
    return "\\n".join(" ".join("".join(line).split()) for line in reader.lines if "".join(line).split())
''', "inside the call"),
    Wrong("html_to_text", "lines stripped but runs of spaces inside kept",
          variant(HTML, ('    return "\\n".join(" ".join(line.split()) for line in lines if line.split())',
                         '    return "\\n".join(line.strip() for line in lines if line.strip())')), "one space"),

    # normalize_text
    Wrong("normalize_text", "only ASCII whitespace collapsed",
          variant(NORMALIZE, ('    return " ".join(unicodedata.normalize("NFC", text).lower().split())',
                              '    import re\n    return re.sub(r"[ \\t\\n\\r]+", " ", unicodedata.normalize("NFC", text).lower()).strip(" \\t\\n\\r")')),
          "no-break"),
    Wrong("normalize_text", "only ASCII letters lower-cased",
          variant(NORMALIZE, ("unicodedata.normalize(\"NFC\", text).lower()",
                              "unicodedata.normalize(\"NFC\", text).translate({c: c + 32 for c in range(65, 91)})")),
          "str.lower()"),
    Wrong("normalize_text", "runs of spaces collapsed, tabs and newlines kept",
          variant(NORMALIZE, ('    return " ".join(unicodedata.normalize("NFC", text).lower().split())',
                              '    import re\n    return re.sub(" +", " ", unicodedata.normalize("NFC", text).lower()).strip()')),
          "whitespace"),

    # exact_dedup
    Wrong("exact_dedup", "the index among the kept documents, not in the input",
          variant(DEDUP, ("        first.setdefault(key, index)", "        first.setdefault(key, len(first))")),
          "first index"),
    Wrong("exact_dedup", "the caller's documents replaced by their normal forms",
          variant(DEDUP, ('        key = hashlib.sha256(normalize_text(document).encode("utf-8")).hexdigest()',
                          '        documents[index] = normalize_text(document)\n'
                          '        key = hashlib.sha256(documents[index].encode("utf-8")).hexdigest()')), "in place"),
    Wrong("exact_dedup", "a mutable default dict kept between calls",
          variant(DEDUP, ("def exact_dedup(documents):\n    first = {}\n", "def exact_dedup(documents, first={}):\n")),
          "mutable default"),
    Wrong("pack_greedy", "blocks kept in a mutable default between calls",
          variant(PACK, ("def pack_greedy(lengths, block_size):\n    blocks, used = [], []\n",
                         "def pack_greedy(lengths, block_size, blocks=[], used=[]):\n")), "mutable default"),
    Wrong("exact_dedup", "upper-case hex digest",
          variant(DEDUP, (".hexdigest()", ".hexdigest().upper()")), "hexdigest"),

    # gopher_quality
    Wrong("gopher_quality", "words split on single spaces",
          variant(GOPHER, ("    words = text.split()", '    words = [w for w in text.split(" ") if w]')), "text.split()"),
    Wrong("gopher_quality", "lines split on '\\n': a final newline adds an empty line",
          variant(GOPHER, ("    lines = text.splitlines()", '    lines = text.split("\\n")')), "splitlines"),
    Wrong("gopher_quality", "mean word length over the whole text, spaces included",
          variant(GOPHER, ("if not 3 <= sum(len(word) for word in words) / n_words <= 10:",
                           "if not 3 <= len(text) / n_words <= 10:")), "Mean word length"),
    Wrong("gopher_quality", "words containing '#' counted instead of '#' characters",
          variant(GOPHER, ('text.count("#") / n_words > 0.1', 'sum("#" in word for word in words) / n_words > 0.1')),
          "'#' characters"),

    # shingles
    Wrong("shingles", "a short or empty document gives its whole normal form, '' included",
          variant(SHINGLES, ('        starts = range(max(1, len(words) - n + 1)) if words else []\n'
                             '        result.append({" ".join(words[i:i + n]) for i in starts})',
                             '        if len(words) < n:\n            result.append({normalize_text(document)})\n            continue\n'
                             '        result.append({" ".join(words[i:i + n]) for i in range(len(words) - n + 1)})')), "set()"),
    Wrong("shingles", "a shingle seen in an earlier document is not repeated",
          variant(SHINGLES, ("    result = []\n", "    result, seen = [], set()\n"),
                  ('        result.append({" ".join(words[i:i + n]) for i in starts})',
                   '        own = {" ".join(words[i:i + n]) for i in starts} - seen\n        seen |= own\n        result.append(own)')),
          "on its own"),
    Wrong("shingles", "ValueError only for n == 0",
          variant(SHINGLES, ("    if n < 1:", "    if n == 0:")), "ValueError"),

    # jaccard
    Wrong("jaccard", "the int 1 for two empty sets",
          variant(JACCARD, ("        return 1.0", "        return 1")), "float"),
    Wrong("jaccard", "1.0 when either set is empty",
          variant(JACCARD, ("    if not a and not b:", "    if not a or not b:")), "one empty"),
    Wrong("jaccard", "the union built in the first argument",
          variant(JACCARD, ("    return len(a & b) / len(a | b)", "    shared = len(a & b)\n    a |= b\n    return shared / len(a)")),
          "in place"),

    # minhash_signature
    Wrong("minhash_signature", "UTF-16 bytes hashed",
          variant(MINHASH, ('s.encode("utf-8")', 's.encode("utf-16")')), "UTF-8"),
    Wrong("minhash_signature", "masked to 32 bits before the modulo",
          variant(MINHASH, ("(((a * h + b) % MERSENNE_PRIME) & MAX_HASH", "(((a * h + b) & MAX_HASH) % MERSENNE_PRIME")),
          "FIRST"),
    Wrong("minhash_signature", "an empty set gives an empty signature",
          variant(MINHASH, ("    hashes = [", "    if not shingle_set:\n        return []\n    hashes = ["),
                  ("default=MAX_HASH", "default=0")), "empty"),

    # lsh_candidates
    Wrong("lsh_candidates", "pairs as frozensets",
          variant(LSH, ("pairs.update((i, j) for k, i", "pairs.update(frozenset((i, j)) for k, i")), "tuples"),
    Wrong("lsh_candidates", "only the first signature's length checked",
          variant(LSH, ("    if any(len(signature) != bands * rows for signature in signatures):",
                        "    if signatures and len(signatures[0]) != bands * rows:")), "every signature"),
    Wrong("lsh_candidates", "only neighbours in a bucket paired",
          variant(LSH, ("pairs.update((i, j) for k, i in enumerate(members) for j in members[k + 1:])",
                        "pairs.update(zip(members, members[1:]))")), "every pair"),

    # mixing_weights
    Wrong("mixing_weights", "powers computed directly: overflow for huge sizes at small T", '''
def mixing_weights(sizes, temperature):
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    powered = {name: float(n) ** (1 / temperature) for name, n in sizes.items()}
    total = sum(powered.values())
    return {name: p / total for name, p in powered.items()}
''', "logarithms"),
    Wrong("mixing_weights", "log of an empty source raises",
          variant(MIXING, ("math.log(n) if n > 0 else -math.inf", "math.log(n)")), "empty source"),
    Wrong("mixing_weights", "only negative temperatures rejected",
          variant(MIXING, ("    if temperature <= 0:", "    if temperature < 0:")), "ValueError"),

    # pack_greedy
    Wrong("pack_greedy", "a block's fill counted only when it is opened",
          variant(PACK, ("        blocks[target].append(index)\n        used[target] += length",
                         "            used[-1] = length\n        blocks[target].append(index)")), "used + length"),
    Wrong("pack_greedy", "empty documents accepted",
          variant(PACK, ("        if not 1 <= length <= block_size:", "        if length > block_size:")), "ValueError"),
    Wrong("pack_greedy", "indices found with lengths.index (wrong for equal lengths)",
          variant(PACK, ("    for index, length in enumerate(lengths):\n", "    for length in lengths:\n        index = lengths.index(length)\n")),
          "For each document in order"),

    # document_mask
    Wrong("document_mask", "leading dimensions flattened into one",
          variant(MASK, ("    ids = torch.as_tensor(document_ids)", "    ids = torch.as_tensor(document_ids)\n    ids = ids.reshape(-1, ids.shape[-1])")),
          "last dimension"),
    Wrong("document_mask", "id 0 taken for padding",
          variant(MASK, ("real_query = (ids >= 0).unsqueeze(-1)", "real_query = (ids > 0).unsqueeze(-1)")), ">= 0"),
    Wrong("document_mask", "padding ids rewritten in the caller's tensor",
          variant(MASK, ("    ids = torch.as_tensor(document_ids)\n", "    ids = torch.as_tensor(document_ids)\n    ids[ids < 0] = -1\n")),
          "in place"),
]

CORRECT = [
    Correct("html_to_text", "a parser class with instance state, re.sub for the whitespace", '''
class TextReader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.pieces, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        if tag in BLOCK_TAGS:
            self.pieces.append(None)

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS and self.skipping:
            self.skipping -= 1
        if tag in BLOCK_TAGS:
            self.pieces.append(None)

    def handle_data(self, data):
        if self.skipping == 0:
            self.pieces.append(data)


def html_to_text(page):
    import re
    reader = TextReader()
    reader.feed(page)
    reader.close()
    lines, current = [], ""
    for piece in reader.pieces + [None]:
        if piece is None:
            lines.append(re.sub(r"\\s+", " ", current).strip())
            current = ""
        else:
            current += piece
    return "\\n".join(line for line in lines if line)
'''),
    Correct("html_to_text", "a generator of lines and filter()",
            variant(HTML, ('    return "\\n".join(" ".join(line.split()) for line in lines if line.split())',
                           '    return "\\n".join(filter(None, (" ".join(line.split()) for line in lines)))'))),

    Correct("normalize_text", "whitespace first, NFC last",
            variant(NORMALIZE, ('    return " ".join(unicodedata.normalize("NFC", text).lower().split())',
                                '    return unicodedata.normalize("NFC", " ".join(text.split()).lower())'))),
    Correct("normalize_text", "re.sub(r'\\s+') and strip()",
            variant(NORMALIZE, ('    return " ".join(unicodedata.normalize("NFC", text).lower().split())',
                                '    import re\n    return re.sub(r"\\s+", " ", unicodedata.normalize("NFC", text).lower()).strip()'))),

    Correct("exact_dedup", "hashlib.new and a membership test", '''
def exact_dedup(documents):
    kept = {}
    for index, document in enumerate(documents):
        key = hashlib.new("sha256", normalize_text(document).encode()).hexdigest()
        if key not in kept:
            kept[key] = index
    return kept
'''),
    Correct("exact_dedup", "keys first, then the first index of each, last to first", '''
def exact_dedup(documents):
    keys = [hashlib.sha256(bytes(normalize_text(d), "utf-8")).hexdigest() for d in documents]
    first = {}
    for index in range(len(keys) - 1, -1, -1):
        first[keys[index]] = index
    return {key: first[key] for key in dict.fromkeys(keys)}
'''),

    Correct("gopher_quality", "a table of rules checked in order", '''
def gopher_quality(text):
    words, lines = text.split(), text.splitlines()
    if not 50 <= len(words) <= 100_000:
        return "word_count"
    share = lambda flags: sum(flags) / len(flags)
    rules = [
        ("mean_word_length", lambda: not 3 <= sum(map(len, words)) / len(words) <= 10),
        ("hash_ratio", lambda: text.count("#") / len(words) > 0.1),
        ("ellipsis_ratio", lambda: (text.count("...") + text.count("…")) / len(words) > 0.1),
        ("bullet_lines", lambda: share([l.lstrip()[:1] in ("•", "-", "*") for l in lines]) > 0.9),
        ("ellipsis_lines", lambda: share([l.rstrip().endswith("...") or l.rstrip().endswith("…") for l in lines]) > 0.3),
        ("alphabetic_words", lambda: share([any(map(str.isalpha, w)) for w in words]) < 0.8),
        ("stop_words", lambda: len({w.lower() for w in words} & STOP_WORDS) < 2),
    ]
    return next((name for name, failed in rules if failed()), None)
'''),
    Correct("gopher_quality", "statistics computed first, compared with fractions", '''
def gopher_quality(text):
    from fractions import Fraction
    words = text.split()
    n = len(words)
    if n < 50 or n > 100_000:
        return "word_count"
    lines = text.splitlines()
    checks = [
        ("mean_word_length", not Fraction(3) <= Fraction(sum(len(w) for w in words), n) <= 10),
        ("hash_ratio", Fraction(text.count("#"), n) > Fraction(1, 10)),
        ("ellipsis_ratio", Fraction(text.count("...") + text.count("…"), n) > Fraction(1, 10)),
        ("bullet_lines", Fraction(sum(l.lstrip().startswith(BULLETS) for l in lines), len(lines)) > Fraction(9, 10)),
        ("ellipsis_lines", Fraction(sum(l.rstrip().endswith(("...", "…")) for l in lines), len(lines)) > Fraction(3, 10)),
        ("alphabetic_words", Fraction(sum(any(c.isalpha() for c in w) for w in words), n) < Fraction(4, 5)),
        ("stop_words", len(STOP_WORDS.intersection(w.lower() for w in words)) < 2),
    ]
    return next((name for name, failed in checks if failed), None)
'''),

    Correct("shingles", "n-grams with zip", '''
def shingles(documents, n):
    if n < 1:
        raise ValueError("n < 1")
    result = []
    for document in documents:
        words = normalize_text(document).split()
        if 0 < len(words) < n:
            result.append({" ".join(words)})
        else:
            result.append({" ".join(gram) for gram in zip(*(words[i:] for i in range(n)))})
    return result
'''),
    Correct("shingles", "a list comprehension over a helper",
            variant(SHINGLES, ("    result = []\n    for document in documents:\n        words = normalize_text(document).split()\n"
                               "        starts = range(max(1, len(words) - n + 1)) if words else []\n"
                               '        result.append({" ".join(words[i:i + n]) for i in starts})\n    return result',
                               "    return [document_shingles(normalize_text(d).split(), n) for d in documents]\n\n\n"
                               "def document_shingles(words, n):\n    if not words:\n        return set()\n"
                               '    return {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}'))),

    Correct("jaccard", "sizes by inclusion-exclusion", '''
def jaccard(a, b):
    shared = len(set(a).intersection(b))
    union = len(a) + len(b) - shared
    return shared / union if union else 1.0
'''),
    Correct("jaccard", "an exact fraction, then float",
            variant(JACCARD, ("    return len(a & b) / len(a | b)",
                              "    from fractions import Fraction\n    return float(Fraction(len(a & b), len(a | b)))"))),

    Correct("minhash_signature", "struct.unpack and a running minimum", '''
def minhash_signature(shingle_set, permutations):
    import struct
    signature = [MAX_HASH] * len(permutations)
    for shingle in shingle_set:
        h = struct.unpack("<I", hashlib.sha1(shingle.encode("utf-8")).digest()[:4])[0]
        for k, (a, b) in enumerate(permutations):
            signature[k] = min(signature[k], (a * h + b) % MERSENNE_PRIME % (1 << 32))
    return signature
'''),
    Correct("minhash_signature", "numpy object arrays of exact Python ints", '''
def minhash_signature(shingle_set, permutations):
    if not shingle_set:
        return [MAX_HASH] * len(permutations)
    hashes = np.array([int.from_bytes(hashlib.sha1(s.encode()).digest()[:4], "little") for s in shingle_set], dtype=object)
    return [int((((a * hashes + b) % MERSENNE_PRIME) & MAX_HASH).min()) for a, b in permutations]
'''),

    Correct("lsh_candidates", "one table keyed by (band, values)", '''
def lsh_candidates(signatures, bands, rows):
    for signature in signatures:
        if len(signature) != bands * rows:
            raise ValueError("bands * rows != signature length")
    table = {}
    for i, signature in enumerate(signatures):
        for band in range(bands):
            table.setdefault((band, *signature[band * rows:(band + 1) * rows]), []).append(i)
    return {(i, j) for members in table.values() for i in members for j in members if i < j}
'''),
    Correct("lsh_candidates", "every pair compared band by band", '''
def lsh_candidates(signatures, bands, rows):
    if any(len(s) != bands * rows for s in signatures):
        raise ValueError("every signature needs bands * rows values")
    def band(s, k):
        return s[k * rows:(k + 1) * rows]
    return {(i, j) for i in range(len(signatures)) for j in range(i + 1, len(signatures))
            if any(band(signatures[i], k) == band(signatures[j], k) for k in range(bands))}
'''),

    Correct("mixing_weights", "numpy in log space", '''
def mixing_weights(sizes, temperature):
    if not temperature > 0:
        raise ValueError("temperature must be > 0")
    n = np.array(list(sizes.values()), dtype=np.float64)
    with np.errstate(divide="ignore"):
        logits = np.log(n) / temperature
    weights = np.exp(logits - logits.max())
    return {name: float(w) for name, w in zip(sizes, weights / weights.sum())}
'''),
    Correct("mixing_weights", "torch.softmax of log n / T", '''
def mixing_weights(sizes, temperature):
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    logits = torch.tensor(list(sizes.values()), dtype=torch.float64).log() / temperature
    return dict(zip(sizes, torch.softmax(logits, dim=0).tolist()))
'''),

    Correct("pack_greedy", "remaining room per block, for/else", '''
def pack_greedy(lengths, block_size):
    blocks, room = [], []
    for index, length in enumerate(lengths):
        if length < 1 or length > block_size:
            raise ValueError("a document must fit in a block")
        for k in range(len(blocks)):
            if room[k] >= length:
                blocks[k].append(index)
                room[k] -= length
                break
        else:
            blocks.append([index])
            room.append(block_size - length)
    return blocks
'''),
    Correct("pack_greedy", "the blocks' fill recomputed from their contents",
            variant(PACK, ("next((k for k, filled in enumerate(used) if filled + length <= block_size), len(blocks))",
                           "next((k for k, block in enumerate(blocks) if sum(lengths[i] for i in block) + length <= block_size), len(blocks))"))),

    Correct("document_mask", "padding read on the key side", '''
def document_mask(document_ids):
    ids = torch.as_tensor(document_ids)
    mask = (ids[..., :, None] == ids[..., None, :]) & (ids >= 0)[..., None, :]
    return torch.tril(mask)
'''),
    Correct("document_mask", "an explicit loop over the blocks and documents", '''
def document_mask(document_ids):
    ids = torch.as_tensor(document_ids)
    T = ids.shape[-1]
    rows = ids.reshape(-1, T)
    masks = torch.zeros(rows.shape[0], T, T, dtype=torch.bool)
    for r, row in enumerate(rows.tolist()):
        for q in range(T):
            for k in range(q + 1):
                masks[r, q, k] = row[q] >= 0 and row[q] == row[k]
    return masks.reshape(*ids.shape, T)
'''),
]
