"""Plausible wrong solutions for 10-data-engineering."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "10-data-engineering"

HTML = '''
def html_to_text(page):
    lines, current, skipping = [], [], 0

    def end_line():
        lines.append("".join(current))
        current.clear()

    class Reader(HTMLParser):
        def handle_starttag(self, tag, attrs):
            nonlocal skipping
            skipping += tag in SKIPPED_TAGS
            if tag in BLOCK_TAGS:
                end_line()

        def handle_endtag(self, tag):
            nonlocal skipping
            if tag in SKIPPED_TAGS:
                skipping = max(0, skipping - 1)
            if tag in BLOCK_TAGS:
                end_line()

        def handle_data(self, data):
            if not skipping:
                current.append(data)

    reader = Reader()
    reader.feed(page)
    reader.close()
    end_line()
    return "\\n".join(" ".join(line.split()) for line in lines if line.split())
'''

NORMALIZE = '''
def normalize_text(text):
    return " ".join(unicodedata.normalize("NFC", text).lower().split())
'''

DEDUP = '''
def exact_dedup(documents):
    first = {}
    for index, document in enumerate(documents):
        key = hashlib.sha256(normalize_text(document).encode("utf-8")).hexdigest()
        first.setdefault(key, index)
    return first
'''

GOPHER = '''
def gopher_quality(text):
    words = text.split()
    n_words = len(words)
    if not 50 <= n_words <= 100_000:
        return "word_count"
    if not 3 <= sum(len(word) for word in words) / n_words <= 10:
        return "mean_word_length"
    if text.count("#") / n_words > 0.1:
        return "hash_ratio"
    if (text.count("...") + text.count("…")) / n_words > 0.1:
        return "ellipsis_ratio"
    lines = text.splitlines()
    if sum(line.lstrip().startswith(BULLETS) for line in lines) / len(lines) > 0.9:
        return "bullet_lines"
    if sum(line.rstrip().endswith(("...", "…")) for line in lines) / len(lines) > 0.3:
        return "ellipsis_lines"
    if sum(any(c.isalpha() for c in word) for word in words) / n_words < 0.8:
        return "alphabetic_words"
    if len(STOP_WORDS & {word.lower() for word in words}) < 2:
        return "stop_words"
    return None
'''

SHINGLES = '''
def shingles(documents, n):
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    result = []
    for document in documents:
        words = normalize_text(document).split()
        starts = range(max(1, len(words) - n + 1)) if words else []
        result.append({" ".join(words[i:i + n]) for i in starts})
    return result
'''

JACCARD = '''
def jaccard(a, b):
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
'''

MINHASH = '''
def minhash_signature(shingle_set, permutations):
    hashes = [int.from_bytes(hashlib.sha1(s.encode("utf-8")).digest()[:4], "little") for s in shingle_set]
    return [min((((a * h + b) % MERSENNE_PRIME) & MAX_HASH for h in hashes), default=MAX_HASH)
            for a, b in permutations]
'''

LSH = '''
def lsh_candidates(signatures, bands, rows):
    if any(len(signature) != bands * rows for signature in signatures):
        raise ValueError(f"every signature must have bands * rows = {bands * rows} values")
    pairs = set()
    for band in range(bands):
        buckets = {}
        for i, signature in enumerate(signatures):
            buckets.setdefault(tuple(signature[band * rows:(band + 1) * rows]), []).append(i)
        for members in buckets.values():
            pairs.update((i, j) for k, i in enumerate(members) for j in members[k + 1:])
    return pairs
'''

MIXING = '''
def mixing_weights(sizes, temperature):
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    logs = {name: math.log(n) if n > 0 else -math.inf for name, n in sizes.items()}
    top = max(logs.values())
    scores = {name: math.exp((log - top) / temperature) for name, log in logs.items()}
    total = sum(scores.values())
    return {name: score / total for name, score in scores.items()}
'''

PACK = '''
def pack_greedy(lengths, block_size):
    blocks, used = [], []
    for index, length in enumerate(lengths):
        if not 1 <= length <= block_size:
            raise ValueError(f"document {index} has {length} tokens, outside 1..{block_size}")
        target = next((k for k, filled in enumerate(used) if filled + length <= block_size), len(blocks))
        if target == len(blocks):
            blocks.append([])
            used.append(0)
        blocks[target].append(index)
        used[target] += length
    return blocks
'''

MASK = '''
def document_mask(document_ids):
    ids = torch.as_tensor(document_ids)
    same_document = ids.unsqueeze(-1) == ids.unsqueeze(-2)
    real_query = (ids >= 0).unsqueeze(-1)
    length = ids.shape[-1]
    causal = torch.ones(length, length, dtype=torch.bool, device=ids.device).tril()
    return same_document & real_query & causal
'''

MUTANTS = [
    # html_to_text
    Mutant("html_to_text", "script and style text kept",
           variant(HTML, ("            if not skipping:\n                current.append(data)", "            current.append(data)")),
           "<script>"),
    Mutant("html_to_text", "style kept (only script skipped)",
           variant(HTML, ("skipping += tag in SKIPPED_TAGS", 'skipping += tag == "script"'),
                   ("            if tag in SKIPPED_TAGS:\n                skipping", '            if tag == "script":\n                skipping')),
           "<style>"),
    Mutant("html_to_text", "line breaks only at end tags",
           variant(HTML, ("            skipping += tag in SKIPPED_TAGS\n            if tag in BLOCK_TAGS:\n                end_line()",
                          "            skipping += tag in SKIPPED_TAGS")), "START tag"),
    Mutant("html_to_text", "entities left undecoded",
           variant(HTML, ("    reader = Reader()", "    reader = Reader(convert_charrefs=False)")), "entities"),
    Mutant("html_to_text", "the source's line breaks kept as line breaks",
           variant(HTML, ('    return "\\n".join(" ".join(line.split()) for line in lines if line.split())',
                          '    text = "\\n".join(lines)\n    return "\\n".join(" ".join(line.split()) for line in text.splitlines() if line.split())')),
           "line breaks"),
    Mutant("html_to_text", "empty lines kept",
           variant(HTML, ('for line in lines if line.split())', 'for line in lines).strip("\\n")')), "empty"),
    Mutant("html_to_text", "every tag breaks the line",
           variant(HTML, ("            skipping += tag in SKIPPED_TAGS\n            if tag in BLOCK_TAGS:",
                          "            skipping += tag in SKIPPED_TAGS\n            if True:")), "BLOCK_TAGS"),

    # normalize_text
    Mutant("normalize_text", "NFC missing",
           variant(NORMALIZE, ('unicodedata.normalize("NFC", text).lower()', "text.lower()")), "NFC"),
    Mutant("normalize_text", "NFKC instead of NFC",
           variant(NORMALIZE, ('"NFC"', '"NFKC"')), "NFKC"),
    Mutant("normalize_text", "NFD instead of NFC",
           variant(NORMALIZE, ('"NFC"', '"NFD"')), "NFC"),
    Mutant("normalize_text", "casefold instead of lower",
           variant(NORMALIZE, (".lower()", ".casefold()")), "casefold"),
    Mutant("normalize_text", "no lower-casing",
           variant(NORMALIZE, (".lower()", "")), "lower"),
    Mutant("normalize_text", "split on single spaces only",
           variant(NORMALIZE, (".lower().split()", '.lower().split(" ")')), "whitespace"),
    Mutant("normalize_text", "stripped but runs of whitespace kept",
           variant(NORMALIZE, ('return " ".join(unicodedata.normalize("NFC", text).lower().split())',
                               'return unicodedata.normalize("NFC", text).lower().strip()')), "whitespace"),

    # exact_dedup
    Mutant("exact_dedup", "Python's hash() instead of SHA-256",
           variant(DEDUP, ('hashlib.sha256(normalize_text(document).encode("utf-8")).hexdigest()', "hash(normalize_text(document))")),
           "sha256"),
    Mutant("exact_dedup", "MD5 instead of SHA-256",
           variant(DEDUP, ("hashlib.sha256(", "hashlib.md5(")), "sha256"),
    Mutant("exact_dedup", "raw digest bytes instead of the hex digest",
           variant(DEDUP, (".hexdigest()", ".digest()")), "hexdigest"),
    Mutant("exact_dedup", "last occurrence kept",
           variant(DEDUP, ("first.setdefault(key, index)", "first[key] = index")), "FIRST"),
    Mutant("exact_dedup", "no normalisation",
           variant(DEDUP, ("normalize_text(document).encode", "document.encode")), "normalize_text"),
    Mutant("exact_dedup", "UTF-16 instead of UTF-8",
           variant(DEDUP, ('encode("utf-8")', 'encode("utf-16")')), "UTF-8"),
    Mutant("exact_dedup", "items sorted by key",
           variant(DEDUP, ("    return first", "    return dict(sorted(first.items()))")), "order"),

    # gopher_quality
    Mutant("gopher_quality", "word count bounds exclusive",
           variant(GOPHER, ("if not 50 <= n_words <= 100_000:", "if not 50 < n_words < 100_000:")), "50 to 100,000"),
    Mutant("gopher_quality", "mean word length limits swapped for 2..12",
           variant(GOPHER, ("if not 3 <= sum(len(word) for word in words) / n_words <= 10:",
                            "if not 2 <= sum(len(word) for word in words) / n_words <= 12:")), "3 to 10"),
    Mutant("gopher_quality", "hash ratio at the limit dropped (>= instead of >)",
           variant(GOPHER, ('text.count("#") / n_words > 0.1', 'text.count("#") / n_words >= 0.1')), "above 0.1"),
    Mutant("gopher_quality", "only '...' counted as an ellipsis",
           variant(GOPHER, ('(text.count("...") + text.count("…")) / n_words', 'text.count("...") / n_words')), "'…'"),
    Mutant("gopher_quality", "bullets without lstrip",
           variant(GOPHER, ("line.lstrip().startswith(BULLETS)", "line.startswith(BULLETS)")), "lstrip"),
    Mutant("gopher_quality", "ellipsis-line limit 0.5 instead of 0.3",
           variant(GOPHER, ('for line in lines) / len(lines) > 0.3:', 'for line in lines) / len(lines) > 0.5:')), "30%"),
    Mutant("gopher_quality", "alphabetic words by str.isalpha on the whole word",
           variant(GOPHER, ("sum(any(c.isalpha() for c in word) for word in words)", "sum(word.isalpha() for word in words)")),
           "at least one alphabetic"),
    Mutant("gopher_quality", "stop words counted with repeats",
           variant(GOPHER, ("if len(STOP_WORDS & {word.lower() for word in words}) < 2:",
                            "if sum(word.lower() in STOP_WORDS for word in words) < 2:")), "DISTINCT"),
    Mutant("gopher_quality", "stop words compared case-sensitively",
           variant(GOPHER, ("{word.lower() for word in words}", "set(words)")), "lower case"),
    Mutant("gopher_quality", "returns True for a passing document",
           variant(GOPHER, ("        return \"stop_words\"\n    return None", "        return \"stop_words\"\n    return True")), "None"),

    # shingles
    Mutant("shingles", "shingles across document boundaries", '''
def shingles(documents, n):
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    words, owner = [], []
    for k, document in enumerate(documents):
        own = normalize_text(document).split()
        words += own
        owner += [k] * len(own)
    result = [set() for _ in documents]
    for i in range(max(1, len(words) - n + 1) if words else 0):
        result[owner[i]].add(" ".join(words[i:i + n]))
    return result
''', "across"),
    Mutant("shingles", "the last window left out",
           variant(SHINGLES, ("range(max(1, len(words) - n + 1))", "range(max(1, len(words) - n))")), "last window"),
    Mutant("shingles", "short documents give no shingle",
           variant(SHINGLES, ("range(max(1, len(words) - n + 1)) if words else []", "range(len(words) - n + 1)")),
           "Fewer than n words"),
    Mutant("shingles", "raw words, not normalised",
           variant(SHINGLES, ("words = normalize_text(document).split()", "words = document.split()")), "normalize_text"),
    Mutant("shingles", "character n-grams instead of words",
           variant(SHINGLES, ("words = normalize_text(document).split()", "words = list(normalize_text(document))"),
                   ('{" ".join(words[i:i + n])', '{"".join(words[i:i + n])')), "words"),
    Mutant("shingles", "no ValueError for n < 1",
           variant(SHINGLES, ('    if n < 1:\n        raise ValueError(f"n must be at least 1, got {n}")\n', "")), "ValueError"),

    # jaccard
    Mutant("jaccard", "two empty sets give 0.0",
           variant(JACCARD, ("        return 1.0", "        return 0.0")), "1.0"),
    Mutant("jaccard", "ZeroDivisionError on two empty sets",
           variant(JACCARD, ("    if not a and not b:\n        return 1.0\n", "")), "ZeroDivisionError"),
    Mutant("jaccard", "divided by |a| + |b|",
           variant(JACCARD, ("len(a | b)", "(len(a) + len(b))")), "UNION"),
    Mutant("jaccard", "divided by the smaller set (overlap coefficient)",
           variant(JACCARD, ("len(a | b)", "min(len(a), len(b))")), "UNION"),
    Mutant("jaccard", "integer division",
           variant(JACCARD, ("len(a & b) / len(a | b)", "len(a & b) // len(a | b)")), "float"),
    Mutant("jaccard", "intersection computed in place",
           variant(JACCARD, ("    return len(a & b) / len(a | b)", "    union = len(a | b)\n    a &= b\n    return len(a) / union")),
           "in place"),

    # minhash_signature
    Mutant("minhash_signature", "Python's hash() instead of a seeded hash",
           variant(MINHASH, ('int.from_bytes(hashlib.sha1(s.encode("utf-8")).digest()[:4], "little")', "hash(s) & MAX_HASH")),
           "hash()"),
    Mutant("minhash_signature", "big-endian bytes",
           variant(MINHASH, ('"little"', '"big"')), "little-endian"),
    Mutant("minhash_signature", "the last 4 bytes of SHA-1",
           variant(MINHASH, ("digest()[:4]", "digest()[-4:]")), "FIRST 4 bytes"),
    Mutant("minhash_signature", "no reduction modulo the prime",
           variant(MINHASH, ("(((a * h + b) % MERSENNE_PRIME) & MAX_HASH", "(((a * h + b)) & MAX_HASH")), "Mersenne"),
    Mutant("minhash_signature", "not masked to 32 bits",
           variant(MINHASH, ("(((a * h + b) % MERSENNE_PRIME) & MAX_HASH", "(((a * h + b) % MERSENNE_PRIME)")), "low 32 bits"),
    Mutant("minhash_signature", "maximum instead of minimum",
           variant(MINHASH, ("return [min(", "return [max("), ("default=MAX_HASH", "default=0")), "MINIMUM"),
    Mutant("minhash_signature", "empty set gives zeros",
           variant(MINHASH, ("default=MAX_HASH", "default=0")), "empty"),
    Mutant("minhash_signature", "numpy uint64 arithmetic that wraps around", '''
def minhash_signature(shingle_set, permutations):
    hashes = np.array([int.from_bytes(hashlib.sha1(s.encode("utf-8")).digest()[:4], "little") for s in shingle_set],
                      dtype=np.uint64)
    signature = []
    for a, b in permutations:
        if len(hashes) == 0:
            signature.append(MAX_HASH)
            continue
        values = ((np.uint64(a) * hashes + np.uint64(b)) % np.uint64(MERSENNE_PRIME)) & np.uint64(MAX_HASH)
        signature.append(int(values.min()))
    return signature
''', "exact integers"),

    # lsh_candidates
    Mutant("lsh_candidates", "bands x rows != permutations accepted",
           variant(LSH, ('    if any(len(signature) != bands * rows for signature in signatures):\n'
                         '        raise ValueError(f"every signature must have bands * rows = {bands * rows} values")\n', "")),
           "ValueError"),
    Mutant("lsh_candidates", "strided rows instead of consecutive",
           variant(LSH, ("tuple(signature[band * rows:(band + 1) * rows])", "tuple(signature[band::bands])")), "CONSECUTIVE"),
    Mutant("lsh_candidates", "one bucket table for all bands",
           variant(LSH, ("    pairs = set()\n    for band in range(bands):\n        buckets = {}\n",
                         "    pairs = set()\n    buckets = {}\n    for band in range(bands):\n")), "DIFFERENT bands"),
    Mutant("lsh_candidates", "every band must agree (AND instead of OR)", '''
def lsh_candidates(signatures, bands, rows):
    if any(len(signature) != bands * rows for signature in signatures):
        raise ValueError("bands * rows must equal the signature length")
    return {(i, j) for i in range(len(signatures)) for j in range(i + 1, len(signatures))
            if signatures[i] == signatures[j]}
''', "One agreeing band"),
    Mutant("lsh_candidates", "only the first band",
           variant(LSH, ("    for band in range(bands):", "    for band in range(1):")), "One agreeing band"),
    Mutant("lsh_candidates", "pairs in both orders",
           variant(LSH, ("for j in members[k + 1:])", "for j in members if j != i)")), "i < j"),
    Mutant("lsh_candidates", "only the signature length checked against bands * rows of the first",
           variant(LSH, ("    if any(len(signature) != bands * rows for signature in signatures):",
                         "    if signatures and len(signatures[0]) % bands:")), "ValueError"),

    # mixing_weights
    Mutant("mixing_weights", "n^T instead of n^(1/T)",
           variant(MIXING, ("math.exp((log - top) / temperature)", "math.exp((log - top) * temperature)")), "1/T"),
    Mutant("mixing_weights", "not normalised",
           variant(MIXING, ("    return {name: score / total for name, score in scores.items()}", "    return scores")), "normalised"),
    Mutant("mixing_weights", "temperature ignored",
           variant(MIXING, ("math.exp((log - top) / temperature)", "math.exp(log - top)")), "1/T"),
    Mutant("mixing_weights", "uniform mix",
           variant(MIXING, ("math.exp((log - top) / temperature) for name, log", "1.0 for name, log")), "n^(1/T)"),
    Mutant("mixing_weights", "no ValueError for T <= 0",
           variant(MIXING, ('    if temperature <= 0:\n        raise ValueError(f"temperature must be positive, got {temperature}")\n',
                            "    temperature = temperature or 1e-9\n")), "ValueError"),
    Mutant("mixing_weights", "a list instead of a dict",
           variant(MIXING, ("    return {name: score / total for name, score in scores.items()}",
                            "    return [score / total for score in scores.values()]")), "dict"),

    # pack_greedy
    Mutant("pack_greedy", "next fit: only the last block is tried",
           variant(PACK, ("next((k for k, filled in enumerate(used) if filled + length <= block_size), len(blocks))",
                          "len(blocks) - 1 if used and used[-1] + length <= block_size else len(blocks)")), "next fit"),
    Mutant("pack_greedy", "best fit instead of first fit",
           variant(PACK, ("next((k for k, filled in enumerate(used) if filled + length <= block_size), len(blocks))",
                          "min((k for k, filled in enumerate(used) if filled + length <= block_size),\n"
                          "                     key=lambda k: block_size - used[k] - length, default=len(blocks))")), "best fit"),
    Mutant("pack_greedy", "documents sorted longest first",
           variant(PACK, ("    for index, length in enumerate(lengths):",
                          "    for index, length in sorted(enumerate(lengths), key=lambda item: -item[1]):")), "sorting"),
    Mutant("pack_greedy", "a block may not be filled exactly (< instead of <=)",
           variant(PACK, ("filled + length <= block_size", "filled + length < block_size")), "exactly"),
    Mutant("pack_greedy", "no ValueError for a document that does not fit",
           variant(PACK, ('        if not 1 <= length <= block_size:\n            raise ValueError(f"document {index} has {length} tokens, outside 1..{block_size}")\n', "")),
           "ValueError"),
    Mutant("pack_greedy", "blocks of lengths instead of indices",
           variant(PACK, ("        blocks[target].append(index)", "        blocks[target].append(length)")), "first block"),

    # document_mask
    Mutant("document_mask", "a mask that lets documents see each other (plain causal)",
           variant(MASK, ("    return same_document & real_query & causal", "    return real_query & causal")),
           "different documents"),
    Mutant("document_mask", "not causal within a document",
           variant(MASK, ("    return same_document & real_query & causal", "    return same_document & real_query")), "k <= q"),
    Mutant("document_mask", "the diagonal masked out",
           variant(MASK, (".tril()", ".tril(-1)")), "attends to itself"),
    Mutant("document_mask", "padding attends to padding",
           variant(MASK, ("    return same_document & real_query & causal", "    return same_document & causal")), "padding"),
    Mutant("document_mask", "only -1 is padding",
           variant(MASK, ("real_query = (ids >= 0).unsqueeze(-1)", "real_query = (ids != -1).unsqueeze(-1)")), "NEGATIVE"),
    Mutant("document_mask", "the upper triangle (transposed)",
           variant(MASK, (".tril()", ".triu()")), "k <= q"),
    Mutant("document_mask", "float mask",
           variant(MASK, ("    return same_document & real_query & causal", "    return (same_document & real_query & causal).float()")),
           "bool"),
    Mutant("document_mask", "only 1-D ids (the mask built for the first block)",
           variant(MASK, ("    ids = torch.as_tensor(document_ids)", "    ids = torch.as_tensor(document_ids).reshape(-1)[:torch.as_tensor(document_ids).shape[-1]]")),
           "last dimension"),
]
