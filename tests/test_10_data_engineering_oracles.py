"""Oracle tests for notebook 10 (data engineering): the reference solutions against independent
implementations and against the generated crawl's planted ground truth.

* `datasketch` 2.0.0 (MinHash, MinHashLSH; test-only): `minhash_permutations` draws datasketch's legacy
  permutations exactly; with permutations whose products a·h + b fit in 64 bits, `minhash_signature`
  equals `MinHash(scheme="legacy").hashvalues` exactly (datasketch computes in uint64, which wraps
  beyond that; with its own permutations the Jaccard estimates agree within the stated error);
  `MinHashLSH` with the same bands and rows returns the same candidate pairs as `lsh_candidates`.
* `hashlib` and the FIPS 180-2 test vectors for SHA-256; on the crawl, `exact_dedup` removes exactly
  the planted exact copies (identical, re-indented, upper-cased, NFD).
* The Gopher rules on hand-made documents on each side of every threshold; on the crawl, every planted
  junk page is dropped and every English article kept.
* `html_to_text` against an extractor written with regular expressions and `html.unescape` (no
  `html.parser`), on every page of the crawl.
* `document_mask` against an explicit loop over documents, and attention through it against attention
  run on each document alone.
"""
import hashlib
import html
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from datasketch import MinHash, MinHashLSH

from autograder.notebook import load_reference
from coursekit.webcorpus import web_corpus


@pytest.fixture(scope="module")
def ref():
    return load_reference("10-data-engineering")


@pytest.fixture(scope="module")
def crawl(ref):
    pages = web_corpus(seed=0)
    return pages, [ref.html_to_text(p["html"]) for p in pages]


def shingle_sets(count, size=60, seed=0):
    rng = np.random.default_rng(seed)
    return [{f"w{int(v)}" for v in rng.integers(0, 3 * size, size)} for _ in range(count)]


# MinHash and LSH ----------------------------------------------------------------------------------

def test_permutations_are_datasketchs(ref):
    ours = ref.minhash_permutations(64, seed=3)
    a, b = MinHash(64, seed=3, scheme="legacy").permutations
    assert [p[0] for p in ours] == [int(x) for x in a] and [p[1] for p in ours] == [int(x) for x in b]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_signature_equals_datasketch_legacy_hashvalues(ref, seed):
    """Permutations with a < 2^31, so that a·h + b < 2^64 and datasketch's uint64 arithmetic is exact."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 1 << 31, 128, dtype=np.uint64)
    b = rng.integers(0, ref.MERSENNE_PRIME, 128, dtype=np.uint64)
    permutations = [(int(x), int(y)) for x, y in zip(a, b)]
    for shingle_set in shingle_sets(5, seed=seed) + [{"café 😀", "日本 語"}, set()]:
        sketch = MinHash(128, scheme="legacy", permutations=(a, b))
        for shingle in shingle_set:
            sketch.update(shingle.encode("utf-8"))
        assert ref.minhash_signature(shingle_set, permutations) == [int(v) for v in sketch.hashvalues]


def test_jaccard_estimates_agree_with_datasketch_within_the_stated_error(ref):
    """datasketch's own legacy permutations (its uint64 products wrap): both estimates are within 4
    standard deviations sqrt(J(1 - J)/P) of the true J, and their root mean squared errors over 60
    pairs are within 30% of that standard deviation."""
    num_perm = 128
    permutations = ref.minhash_permutations(num_perm, seed=1)
    rng = np.random.default_rng(5)
    ours, theirs, truth = [], [], []
    for k in range(60):
        base = [f"p{k} s{i}" for i in range(100)]
        shared = int(rng.integers(20, 100))
        a, b = set(base), set(base[:shared]) | {f"p{k} t{i}" for i in range(100 - shared)}
        sa, sb = MinHash(num_perm, scheme="legacy"), MinHash(num_perm, scheme="legacy")
        for s in a:
            sa.update(s.encode("utf-8"))
        for s in b:
            sb.update(s.encode("utf-8"))
        signature_a, signature_b = ref.minhash_signature(a, permutations), ref.minhash_signature(b, permutations)
        ours.append(sum(x == y for x, y in zip(signature_a, signature_b)) / num_perm)
        theirs.append(sa.jaccard(sb))
        truth.append(ref.jaccard(a, b))
    for estimates in (ours, theirs):
        errors = [(e - j) / math.sqrt(j * (1 - j) / num_perm) for e, j in zip(estimates, truth)]
        assert max(abs(z) for z in errors) < 4
        assert abs(math.sqrt(sum(z * z for z in errors) / len(errors)) - 1) < 0.3


@pytest.mark.parametrize("bands, rows", [(16, 8), (32, 4), (8, 16), (64, 2)])
def test_lsh_candidates_equal_minhashlsh(ref, bands, rows):
    """Near copies of a few base sets (so that bands collide), inserted into MinHashLSH with params=(b, r):
    the pairs its queries return are lsh_candidates' pairs."""
    rng = np.random.default_rng(bands)
    bases = shingle_sets(6, seed=bands)
    sets = []
    for k in range(30):
        base = sorted(bases[k % 6])
        keep = rng.random(len(base)) < rng.uniform(0.6, 1.0)
        sets.append({s for s, kept in zip(base, keep) if kept} | {f"x{k}"})
    permutations = ref.minhash_permutations(bands * rows, seed=1)
    signatures = [ref.minhash_signature(s, permutations) for s in sets]
    lsh = MinHashLSH(num_perm=bands * rows, params=(bands, rows))
    sketches = [MinHash(bands * rows, scheme="legacy", hashvalues=np.array(s, dtype=np.uint64)) for s in signatures]
    for i, sketch in enumerate(sketches):
        lsh.insert(i, sketch)
    theirs = {(min(i, j), max(i, j)) for i, sketch in enumerate(sketches) for j in lsh.query(sketch) if j != i}
    ours = ref.lsh_candidates(signatures, bands, rows)
    assert ours == theirs
    assert 0 < len(ours) < 30 * 29 // 2  # neither no pair nor every pair: a test that tells them apart


def test_lsh_uses_every_value_where_datasketch_may_leave_some_out(ref):
    """MinHashLSH(0.8, 128) picks 9 bands of 13 rows, 117 of the 128 values; lsh_candidates refuses
    that layout (b·r must equal the signature length) and agrees with it on the first 117 values."""
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    assert (lsh.b, lsh.r) == (9, 13)
    signatures = [ref.minhash_signature(s, ref.minhash_permutations(128)) for s in shingle_sets(3)]
    with pytest.raises(ValueError):
        ref.lsh_candidates(signatures, lsh.b, lsh.r)
    assert ref.lsh_candidates([s[:117] for s in signatures], 9, 13) == set()


# exact deduplication ------------------------------------------------------------------------------

def test_sha256_test_vectors(ref):
    """FIPS 180-2: SHA-256("abc") and SHA-256("") (normalisation leaves both unchanged)."""
    keys = list(ref.exact_dedup(["abc", ""]))
    assert keys == ["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
    assert keys[0] == hashlib.new("sha256", b"abc").hexdigest()


def test_exact_dedup_removes_exactly_the_planted_copies(ref, crawl):
    """Every planted exact copy is dropped and every article and near copy kept; the other pages dropped
    are junk whose text repeats an earlier page's (templated stubs)."""
    pages, texts = crawl
    kept = set(ref.exact_dedup(texts).values())
    exact_copies = {i for i, p in enumerate(pages) if p["copy"] in ("identical", "whitespace", "case", "nfd")}
    assert exact_copies and not kept & exact_copies
    for i in set(range(len(pages))) - kept - exact_copies:
        assert pages[i]["kind"] != "article" and any(texts[j] == texts[i] for j in range(i))


# Gopher rules -------------------------------------------------------------------------------------

PROSE = "the river and a stone lay near our quiet garden".split()


def prose(n_words):
    return " ".join(PROSE[i % len(PROSE)] for i in range(n_words))


def hashes(count):
    words = prose(50).split()
    return " ".join(("#" + w if i < count else w) for i, w in enumerate(words))


def line_set(total, marked, mark, where):
    lines = [prose(8) for _ in range(total)]
    for i in range(marked):
        lines[i] = mark + lines[i] if where == "start" else lines[i] + mark
    return "\n".join(lines)


def numbers(count):
    words = prose(50).split()
    return " ".join(("12345" if i % 4 == 3 and i // 4 < count else w) for i, w in enumerate(words))


THRESHOLDS = [  # (document, expected verdict): each rule just inside and just outside its limit
    (prose(49), "word_count"), (prose(50), None), (prose(100_000), None), (prose(100_001), "word_count"),
    (" ".join(["the", "and"] * 25), None), (" ".join(["the", "and"] * 24 + ["the", "an"]), "mean_word_length"),
    (" ".join(["the", "and"] + ["abcdefghij"] * 48), None),
    (" ".join(["the", "and"] + ["abcdefghij"] * 47 + ["abcdefghijklmnopqrstuvwxyzabcdefghijklmn"]), "mean_word_length"),
    (hashes(5), None), (hashes(6), "hash_ratio"),
    (prose(25) + " ..." * 5 + " " + prose(25), None), (prose(25) + " …" * 6 + " " + prose(25), "ellipsis_ratio"),
    (line_set(10, 9, "• ", "start"), None), (line_set(20, 19, "* ", "start"), "bullet_lines"),
    (line_set(10, 3, "...", "end"), None), (line_set(10, 4, "…", "end"), "ellipsis_lines"),
    (numbers(10), None), (numbers(11), "alphabetic_words"),
    (" ".join(["the", "and"] + ["stone"] * 48), None), (" ".join(["the"] * 3 + ["stone"] * 47), "stop_words"),
]


@pytest.mark.parametrize("number", range(len(THRESHOLDS)))
def test_gopher_on_each_side_of_every_threshold(ref, number):
    document, expected = THRESHOLDS[number]
    assert ref.gopher_quality(document) == expected


def test_gopher_drops_every_junk_page_and_keeps_every_english_article(ref, crawl):
    pages, texts = crawl
    for page, text in zip(pages, texts):
        verdict = ref.gopher_quality(text)
        if page["kind"] != "article":
            assert verdict is not None, page["url"]
        elif page["language"] == "en":
            assert verdict is None, page["url"]


# html_to_text -------------------------------------------------------------------------------------

BLOCK = re.compile(r"</?(?:%s)\b[^>]*>" % "|".join(sorted(
    ["address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure", "footer",
     "form", "h[1-6]", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "title", "tr", "ul"])),
    re.IGNORECASE)


def regex_text(page):
    """Text by regular expressions: scripts, styles and comments removed, block tags to line breaks,
    other tags removed, entities decoded by html.unescape."""
    page = re.sub(r"<(script|style)\b.*?</\1\s*>", "", page, flags=re.DOTALL | re.IGNORECASE)
    page = re.sub(r"<!--.*?-->|<!DOCTYPE[^>]*>", "", page, flags=re.DOTALL | re.IGNORECASE)
    page = BLOCK.sub("\x00", page)
    page = html.unescape(re.sub(r"<[^>]+>", "", page))
    return "\n".join(" ".join(line.split()) for line in page.split("\x00") if line.split())


def test_html_to_text_equals_a_regex_extractor_on_the_crawl(ref, crawl):
    pages, texts = crawl
    for page, text in zip(pages, texts):
        assert text == regex_text(page["html"]), page["url"]


# document_mask ------------------------------------------------------------------------------------

def loop_mask(ids):
    T = len(ids)
    mask = torch.zeros(T, T, dtype=torch.bool)
    for document in sorted({int(i) for i in ids if i >= 0}):
        positions = [t for t in range(T) if ids[t] == document]
        for a, q in enumerate(positions):
            for k in positions[:a + 1]:
                mask[q, k] = True
    return mask


@pytest.mark.parametrize("seed", range(5))
def test_document_mask_equals_a_loop_over_documents(ref, seed):
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 6, (6,), generator=generator).tolist()
    ids = torch.cat([torch.full((n,), d) for d, n in enumerate(lengths)] + [torch.full((3,), -1)])
    assert torch.equal(ref.document_mask(ids), loop_mask(ids.tolist()))
    batch = torch.stack([ids, ids.flip(0)])
    assert torch.equal(ref.document_mask(batch)[1], loop_mask(ids.flip(0).tolist()))


def test_attention_through_the_mask_equals_attention_per_document(ref):
    """Packed documents attended with the block-diagonal mask give what each document gives alone under a
    causal mask (padding rows are left out: they attend to nothing)."""
    generator = torch.Generator().manual_seed(0)
    lengths = [5, 3, 7, 1]
    ids = torch.cat([torch.full((n,), d) for d, n in enumerate(lengths)] + [torch.full((4,), -1)])
    q, k, v = (torch.randn(2, len(ids), 8, generator=generator, dtype=torch.float64) for _ in range(3))
    packed = F.scaled_dot_product_attention(q, k, v, attn_mask=ref.document_mask(ids))
    start = 0
    for n in lengths:
        alone = F.scaled_dot_product_attention(q[:, start:start + n], k[:, start:start + n], v[:, start:start + n],
                                               is_causal=True)
        assert torch.allclose(packed[:, start:start + n], alone, atol=1e-12)
        start += n


# mixing and packing -------------------------------------------------------------------------------

def test_mixing_weights_equal_numpy_powers(ref):
    sizes = {"en": 190_810, "de": 9_442, "fr": 6_050, "empty": 0}
    for temperature in (0.5, 1, 2, 5):
        powered = np.array(list(sizes.values()), dtype=np.float64) ** (1 / temperature)
        assert np.allclose(list(ref.mixing_weights(sizes, temperature).values()), powered / powered.sum(), rtol=1e-12)


def test_pack_greedy_is_first_fit(ref):
    """Every document once, no block over its size, and no document could have gone into an earlier block
    than the one it is in, given the blocks' contents before it."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 100, 200).tolist()
    blocks = ref.pack_greedy(lengths, 100)
    assert sorted(i for block in blocks for i in block) == list(range(200))
    placed = {i: b for b, block in enumerate(blocks) for i in block}
    for i, length in enumerate(lengths):
        used_before = [sum(lengths[j] for j in block if j < i) for block in blocks]
        first = next(b for b, used in enumerate(used_before) if used + length <= 100 and (used > 0 or b <= placed[i]))
        assert placed[i] == first
    assert all(sum(lengths[i] for i in block) <= 100 for block in blocks)
