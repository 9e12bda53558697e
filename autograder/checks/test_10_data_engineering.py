"""Hidden checks for 10-data-engineering. Inputs differ from the visible checks: generated HTML with tags of
every kind (upper case, self-closing, nested, script text that looks like tags, comments, entities of every
form), Unicode from every plane, documents on both sides of every Gopher threshold, permutations near
2^61, signatures with planted band matches, sizes up to 10^12 at tiny temperatures, packing cases where
first fit, next fit, best fit and sorting disagree, and document ids in 1-D to 3-D tensors with
several negative ids.

Every exercise has a differential check (`expect_same_as_reference` over seeded inputs, smallest first,
with the guard that arguments are left unchanged and not returned). The text's promises and the checks
that test them:

html_to_text
- script and style contents dropped: test_html_drops_script, test_html_drops_style; comments: ..._drops_comments
- a line break at start AND end tags of BLOCK_TAGS, br included: ..._block_tags_break_lines, ..._br_breaks
- other tags keep the line: ..._inline_tags_keep_the_line
- entities decoded: ..._decodes_entities
- whitespace runs one space, source line breaks too, lines stripped, empty lines dropped, "\\n" joined,
  no final newline: ..._whitespace, ..._empty_lines_dropped; "" without text: ..._empty_page
- independent calls: ..._independent_calls; the whole behaviour: test_html_matches_reference
normalize_text
- NFC: test_normalize_nfc; not NFKC: ..._not_nfkc; str.lower not casefold: ..._lower_not_casefold;
  whitespace (str.split's) made one space and stripped: ..._whitespace; all: test_normalize_matches_reference
exact_dedup
- SHA-256 hex digest of the normalised UTF-8 text: test_dedup_keys_are_sha256_hex, ..._utf8
- first occurrence kept: ..._keeps_first; in order of first occurrence: ..._order; each call on its own:
  ..._independent_calls
- normalised: ..._normalises; [] -> {}: ..._empty; all, documents unchanged: test_dedup_matches_reference
gopher_quality
- each rule on both sides of its limit, a ratio at its limit passing: test_gopher_word_count,
  ..._mean_word_length, ..._hash_ratio, ..._ellipsis_ratio (both spellings), ..._bullet_lines,
  ..._ellipsis_lines, ..._alphabetic_words, ..._stop_words (distinct, lower case)
- the first failing rule in the stated order: ..._rule_order; None when it passes: ..._passes_with_none
- "" gives word_count: ..._empty_text; all: test_gopher_matches_reference
shingles
- per document, never across two: test_shingles_per_document; every n-gram incl. the last:
  ..._counts_every_window; short documents one shingle, empty ones none: ..._short_and_empty
- words of normalize_text joined by one space: ..._normalised_words
- ValueError for n < 1: ..._rejects_n_below_1; a list of sets: ..._list_of_sets; all: ..._matches_reference
jaccard
- |a & b| / |a | b|: test_jaccard_union_denominator; two empty sets 1.0, one empty 0.0: ..._empty_sets;
  a float: ..._returns_float; sets unchanged and any sets: test_jaccard_matches_reference
minhash_signature
- h = first 4 bytes of SHA-1, little-endian: test_minhash_sha1_little_endian; UTF-8: ..._utf8
- mod 2^61 - 1 then & 2^32 - 1: ..._mod_then_mask; the minimum: ..._minimum
- empty set 2^32 - 1: ..._empty_set; Python ints in permutation order: ..._python_ints_in_order
- deterministic, no hash(): ..._no_builtin_hash; all: test_minhash_matches_reference
lsh_candidates
- consecutive rows per band: test_lsh_consecutive_rows; one band suffices: ..._one_band_suffices;
  bands are told apart: ..._bands_told_apart; pairs (i, j) with i < j, each once: ..._pair_format
- ValueError unless every signature has bands * rows values: ..._value_error; all: ..._matches_reference
mixing_weights
- n^(1/T) normalised: test_mixing_inverse_temperature; T = 1 proportional: ..._t1_proportional;
  empty source 0: ..._empty_source; keys in order, floats: ..._keys_in_order; no overflow:
  ..._no_overflow; ValueError for T <= 0: ..._value_error; all: test_mixing_matches_reference
pack_greedy
- first fit, not next fit: test_pack_first_fit_not_next_fit; not best fit: ..._not_best_fit; the given
  order, no sorting: ..._keeps_order; a document filling a block exactly: ..._exact_fill
- ValueError below 1 or above block_size: ..._value_error; each call on its own: ..._independent_calls;
  all: test_pack_matches_reference
document_mask
- documents do not see each other: test_mask_documents_apart; causal within a document: ..._causal;
  the diagonal: ..._diagonal; padding rows all False for any negative id: ..._padding
- any leading dimensions: ..._leading_dims; bool: ..._bool; all: test_mask_matches_reference
"""
import ast
import hashlib
import random

import pytest
import torch

from autograder import generators
from autograder.checking import (Case, expect, expect_close, expect_equal, expect_independent_calls,
                                 expect_same_as_reference, expect_type, exercise)
from autograder.remote import kind_of

MERSENNE_PRIME = (1 << 61) - 1
MAX_HASH = (1 << 32) - 1


# html_to_text ------------------------------------------------------------------------------------

HT = "html_to_text"
ENTITIES = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&nbsp;", "&eacute;", "&#233;", "&#xE9;", "&#x1F600;",
            "&middot;", "&hellip;", "&copy;", "&amp"]
BLOCKS = ["p", "div", "li", "h1", "h3", "tr", "nav", "footer", "title", "P", "DIV", "section", "ul", "table"]
INLINES = ["a", "b", "span", "em", "td", "strong", "code", "i"]


def html_fragment(rng: random.Random, depth: int = 0) -> str:
    """A piece of HTML: text (any plane), entities, inline and block elements, br, scripts, styles, comments."""
    parts = []
    for _ in range(rng.randint(0, 5)):
        kind = rng.random()
        if kind < 0.3:
            parts.append(generators.text(rng, 6).replace("<", " ").replace("&", "+"))
        elif kind < 0.4:
            parts.append(rng.choice(ENTITIES))
        elif kind < 0.55 and depth < 2:
            tag = rng.choice(BLOCKS)
            parts.append(f"<{tag} class='x'>{html_fragment(rng, depth + 1)}</{tag}>")
        elif kind < 0.7 and depth < 2:
            tag = rng.choice(INLINES)
            parts.append(f"<{tag}>{html_fragment(rng, depth + 1)}</{tag}>")
        elif kind < 0.78:
            parts.append(rng.choice(["<br>", "<br/>", "<BR>", "<hr>", "\n", "  \n\t "]))
        elif kind < 0.86:
            tag = rng.choice(["script", "style", "SCRIPT"])
            parts.append(f"<{tag}>var s = '<p>no</p>'; a < b && c > d</{tag}>")
        elif kind < 0.92:
            parts.append(f"<!-- {generators.text(rng, 3).replace('-', '')} -->")
        else:
            parts.append(rng.choice(["<img src='x.png'>", "<meta charset='utf-8'>", "</p>", "<p>"]))
    return "".join(parts)


@exercise(HT, weight=3, hint="Follow every rule of the text: HTMLParser with convert_charrefs, script/style "
                             "skipped, a line break at every start and end tag of BLOCK_TAGS, lines made of "
                             "str.split() words joined by one space, empty lines dropped.", broad=True)
def test_html_matches_reference(student, reference):
    """40 generated pages (nested blocks, upper-case tags, entities, scripts, comments, any Unicode): the
    reference's text."""
    rng = random.Random(1000)
    cases = [("",), ("plain text",), ("<p></p>",)] + [(html_fragment(rng),) for _ in range(40)]
    expect_same_as_reference(student.html_to_text, reference.html_to_text, cases, HT)


@exercise(HT, weight=2, hint="Text inside <script>...</script> is code, not content: skip handle_data while "
                             "inside a script (count the start and end tags).")
def test_html_drops_script(student):
    """A script whose code contains "<p>" and comparisons is dropped, the text around it kept."""
    page = "<p>before</p><script type='text/javascript'>if (a < b) { document.write('<p>x</p>'); }</script>after"
    expect_equal(student.html_to_text(page), "before\nafter", f"html_to_text({page!r})")


@exercise(HT, weight=2, hint="<style> contents are CSS: drop them like a script's.")
def test_html_drops_style(student):
    """A style element's CSS is dropped."""
    page = "<head><style>p { color: red; }</style></head><body>visible</body>"
    expect_equal(student.html_to_text(page), "visible", f"html_to_text({page!r})")


@exercise(HT, hint="Comments are not text: do not override handle_comment (or drop what it gets).")
def test_html_drops_comments(student):
    """An HTML comment is dropped."""
    expect_equal(student.html_to_text("a<!-- hidden -->b"), "ab", "html_to_text('a<!-- hidden -->b')")


@exercise(HT, weight=2, hint="End the line at the START tag and at the END tag of a block element: "
                             "'x<div>y</div>z' has three lines.")
def test_html_block_tags_break_lines(student):
    """Text before, inside and after a block element: three lines; upper-case tags too."""
    expect_equal(student.html_to_text("x<div>y</div>z"), "x\ny\nz", "html_to_text('x<div>y</div>z')")
    expect_equal(student.html_to_text("<H2>Title</H2>Body<LI>item"), "Title\nBody\nitem",
                 "html_to_text('<H2>Title</H2>Body<LI>item')")


@exercise(HT, hint="<br> (and <br/>) is in BLOCK_TAGS: it ends the line, though it has no end tag.")
def test_html_br_breaks(student):
    """<br>, <br/> and <BR> each end a line."""
    expect_equal(student.html_to_text("one<br>two<br/>three<BR>four"), "one\ntwo\nthree\nfour",
                 "html_to_text('one<br>two<br/>three<BR>four')")


@exercise(HT, weight=2, hint="Only BLOCK_TAGS break lines: a, b, span, td... keep the text running.")
def test_html_inline_tags_keep_the_line(student):
    """Inline tags and table cells do not break the line."""
    page = "<p>a<span>b</span> <a href='/x'>c</a><td>1</td> <td>2</td></p>"
    expect_equal(student.html_to_text(page), "ab c1 2", f"html_to_text({page!r})")


@exercise(HT, weight=2, hint="Decode entities once: HTMLParser(convert_charrefs=True), the default, does it "
                             "(named, decimal and hex references); do not unescape its text again.")
def test_html_decodes_entities(student):
    """&amp;, &lt;, &gt;, &eacute;, &#233;, &#x1F600;, &hellip;, and &amp;lt; decoded once (to "&lt;")."""
    page = "<p>Fish &amp; chips &lt;b&gt; caf&eacute; caf&#233; &#x1F600; wait&hellip; &amp;lt;</p>"
    expect_equal(student.html_to_text(page), "Fish & chips <b> café café 😀 wait… &lt;",
                 f"html_to_text({page!r})")


@exercise(HT, weight=2, hint="In each line, ' '.join(line.split()): runs of spaces, tabs, the source's line "
                             "breaks and no-break spaces (&nbsp;) become one space, none at the ends.")
def test_html_whitespace(student):
    """A paragraph spread over source lines with tabs and &nbsp;: one line, single spaces."""
    page = "<p>\n   one\ttwo \n three&nbsp;&nbsp;four   </p>"
    expect_equal(student.html_to_text(page), "one two three four", f"html_to_text({page!r})")


@exercise(HT, hint="Drop lines that are empty after stripping, and do not end the text with a newline.")
def test_html_empty_lines_dropped(student):
    """Empty blocks and whitespace-only lines leave no empty line, and no newline at the end."""
    page = "<div><p>a</p>\n\n<p> </p><div></div><p>b</p></div>\n"
    expect_equal(student.html_to_text(page), "a\nb", f"html_to_text({page!r})")


@exercise(HT, hint="A page without text (only tags, scripts or whitespace) gives the empty string.")
def test_html_empty_page(student):
    """Only tags and a script: ""."""
    expect_equal(student.html_to_text("<html><script>x()</script><br> </html>"), "",
                 "html_to_text('<html><script>x()</script><br> </html>')")


@exercise(HT, hint="Keep the parser's state (lines, skipping) inside the call: a new parser and new lists "
                   "each time, not module-level ones.")
def test_html_independent_calls(student, reference):
    """Calls in a row, one ending inside a script: each gives what it gives alone."""
    expect_independent_calls(student, reference, HT, [("<p>a</p>",), ("<script>x",), ("<p>a</p>",), ("b<br>c",)])


# normalize_text -----------------------------------------------------------------------------------

NT = "normalize_text"


def unicode_text(rng: random.Random) -> str:
    """generators.text, sometimes in NFD, with letters whose case or composition trips normalisation."""
    import unicodedata
    tricky = ["", "É", "Straße", "İ", "ﬁ", "½", "Ⅻ", "Ａ", "\u3000", "\u2003"]
    pieces = [generators.text(rng, 8), rng.choice(tricky)]
    text = "".join(rng.sample(pieces, 2))
    return unicodedata.normalize("NFD", text) if rng.random() < 0.3 else text


@exercise(NT, weight=3, hint="NFC, then str.lower(), then ' '.join(text.split()).", broad=True)
def test_normalize_matches_reference(student, reference):
    """50 texts from every plane, some in NFD: the reference's normal form."""
    rng = random.Random(1001)
    cases = [("",), (" ",)] + [(unicode_text(rng),) for _ in range(50)]
    expect_same_as_reference(student.normalize_text, reference.normalize_text, cases, NT)


@exercise(NT, weight=2, hint="Compose with unicodedata.normalize('NFC', text): e + U+0301 must become é.")
def test_normalize_nfc(student):
    """Decomposed é, ñ and Å become their precomposed forms."""
    expect_equal(student.normalize_text("e\u0301 n\u0303 A\u030a"), "é ñ å",
                 "normalize_text('e\\u0301 n\\u0303 A\\u030a')")


@exercise(NT, hint="NFC, not NFKC or NFKD: compatibility characters (½, ﬁ, fullwidth Ａ) stay as they are.")
def test_normalize_not_nfkc(student):
    """½, the ﬁ ligature, Roman numeral Ⅻ and fullwidth Ａ are kept (lower-cased where they have a case)."""
    expect_equal(student.normalize_text("½ ﬁ Ⅻ Ａ"), "½ ﬁ ⅻ ａ", "normalize_text('½ ﬁ Ⅻ Ａ')")


@exercise(NT, hint="Lower-case with str.lower(), not casefold(): ß stays ß.")
def test_normalize_lower_not_casefold(student):
    """"Straße ÉTÉ" becomes "straße été"."""
    expect_equal(student.normalize_text("Straße ÉTÉ"), "straße été", "normalize_text('Straße ÉTÉ')")


@exercise(NT, weight=2, hint="Split on any whitespace (text.split() with no argument: tabs, newlines, "
                             "no-break and ideographic spaces) and join with one space.")
def test_normalize_whitespace(student):
    """Tabs, newlines, no-break spaces, em and ideographic spaces: one space, none at the ends."""
    text = "\t a\u00a0\u00a0b\n\nc\u2003d\u3000e \r\n"
    expect_equal(student.normalize_text(text), "a b c d e", f"normalize_text({text!r})")


# exact_dedup --------------------------------------------------------------------------------------

XD = "exact_dedup"


def sha(reference, text: str) -> str:
    return hashlib.sha256(reference.normalize_text(text).encode("utf-8")).hexdigest()


def document_list(rng: random.Random) -> list[str]:
    """Texts with planted copies: identical, re-spaced, upper-cased, or in NFD."""
    import unicodedata
    documents = [generators.text(rng, 8) for _ in range(rng.randint(0, 5))]
    for _ in range(rng.randint(0, 4)):
        if documents:
            copy = rng.choice(documents)
            copy = rng.choice([copy, copy.upper(), "  " + copy + "\n", unicodedata.normalize("NFD", copy)])
            documents.insert(rng.randint(0, len(documents)), copy)
    return documents


def dedup_compare(got, expected, what):
    expect_type(got, dict, what)
    expect_equal(list(got.items()), list(expected.items()), f"{what}, its items in order")


@exercise(XD, weight=3, hint="For each document in order: key = sha256(normalize_text(doc).encode('utf-8'))"
                             ".hexdigest(); keep the first index of each key (dict.setdefault).", broad=True)
def test_dedup_matches_reference(student, reference):
    """40 lists with planted copies (re-spaced, upper-cased, NFD): the reference's dict, in order."""
    rng = random.Random(1002)
    cases = [([],), ([""],)] + [(document_list(rng),) for _ in range(40)]
    expect_same_as_reference(student.exact_dedup, reference.exact_dedup, cases, XD, compare=dedup_compare)


@exercise(XD, weight=2, hint="The key is hashlib.sha256(...).hexdigest(): a 64-character hex string (not "
                             "hash(), not md5 or sha1, not the raw .digest() bytes).")
def test_dedup_keys_are_sha256_hex(student, reference):
    """The keys of ["Data", "engineering"] are the SHA-256 hex digests of "data" and "engineering"."""
    got = student.exact_dedup(["Data", "engineering"])
    expect_equal(list(got), [sha(reference, "data"), sha(reference, "engineering")],
                 "the keys of exact_dedup(['Data', 'engineering'])")


@exercise(XD, hint="Hash the UTF-8 bytes: normalize_text(doc).encode('utf-8').")
def test_dedup_utf8(student, reference):
    """A key of non-ASCII text: the digest of its UTF-8 bytes."""
    expect_equal(list(student.exact_dedup(["naïve 😀 日本"])), [sha(reference, "naïve 😀 日本")],
                 "the key of exact_dedup(['naïve 😀 日本'])")


@exercise(XD, weight=2, hint="Keep the FIRST occurrence's index: do not overwrite a key already seen.")
def test_dedup_keeps_first(student):
    """["a", "b", "a", "b", "a"]: indices 0 and 1."""
    expect_equal(list(student.exact_dedup(["a", "b", "a", "b", "a"]).values()), [0, 1],
                 "the values of exact_dedup(['a', 'b', 'a', 'b', 'a'])")


@exercise(XD, hint="The dict's items come in order of first occurrence: insert each key when first met "
                   "(no sorting by key).")
def test_dedup_order(student):
    """Documents whose digests are not in sorted order: the items still follow the documents."""
    documents = ["zeta", "alpha", "mid", "alpha"]
    expect_equal(list(student.exact_dedup(documents).values()), [0, 1, 2], f"the values of exact_dedup({documents})")


@exercise(XD, weight=2, hint="Hash normalize_text(document), not the raw text: NFD, case and spacing must not "
                             "make a copy look new.")
def test_dedup_normalises(student):
    """"Café au lait", its NFD form, "CAFÉ  AU LAIT" and "café au lait\\n": one document."""
    documents = ["Café au lait", "Cafe\u0301 au lait", "CAFÉ  AU LAIT", "café au lait\n"]
    expect_equal(list(student.exact_dedup(documents).values()), [0], f"the values of exact_dedup({documents!r})")


@exercise(XD, hint="No documents: an empty dict.")
def test_dedup_empty(student):
    """[] gives {}."""
    expect_equal(student.exact_dedup([]), {}, "exact_dedup([])")


@exercise(XD, hint="Start a new dict in every call (no mutable default argument, no module-level dict): "
                   "each call sees only its own documents.")
def test_dedup_independent_calls(student, reference):
    """Calls in a row with overlapping documents: each gives what it gives alone."""
    expect_independent_calls(student, reference, XD, [(["a", "b"],), (["b", "c"],), (["a", "b"],), ([],)], ordered=True)


# gopher_quality -----------------------------------------------------------------------------------

GQ = "gopher_quality"
PROSE = "the river and a stone lay near our quiet garden".split()  # 10 words, 2+ stop words, mean 4.1


def prose(n_words: int, offset: int = 0) -> str:
    return " ".join(PROSE[(i + offset) % len(PROSE)] for i in range(n_words))


def lines_of(lines: list[str]) -> str:
    return "\n".join(lines)


def gopher_document(rng: random.Random) -> str:
    """A document near one of the thresholds, or mixing several."""
    n_lines = rng.randint(1, 12)
    lines = []
    for _ in range(n_lines):
        pool = PROSE + ["#tag", "...", "…", "42", "2026", "Ünïcode", "日本語", "THE", "With", "a", "xyzzyplughs"]
        words = [rng.choice(pool) for _ in range(rng.randint(0, 14))]
        line = " ".join(words)
        if rng.random() < 0.3:
            line = rng.choice(["• ", "- ", "* ", "  -", "– "]) + line
        if rng.random() < 0.2:
            line += rng.choice(["...", "…", "... ", "."])
        lines.append(line)
    return "\n".join(lines)


@exercise(GQ, weight=4, hint="Test the rules in the stated order with the stated definitions (text.split() "
                             "words, text.splitlines() lines, > for the ratio limits, < 0.8 for letters, "
                             "< 2 distinct stop words).", broad=True)
def test_gopher_matches_reference(student, reference):
    """60 generated documents around every threshold (bullets, ellipses, hashes, numbers, Unicode): the
    reference's verdict."""
    rng = random.Random(1003)
    cases = [("",), ("\n\n",)] + [(gopher_document(rng),) for _ in range(60)]
    expect_same_as_reference(student.gopher_quality, reference.gopher_quality, cases, GQ)


def verdicts(student, documents: dict[str, str], expected: dict[str, object]):
    for label, text in documents.items():
        expect_equal(student.gopher_quality(text), expected[label], f"gopher_quality({label})")


@exercise(GQ, weight=2, hint="Keep 50 to 100,000 words inclusive: drop when n < 50 or n > 100,000.")
def test_gopher_word_count(student):
    """49, 50, 100,000 and 100,001 words of prose."""
    documents = {"49 words": prose(49), "50 words": prose(50), "100,000 words": prose(100_000),
                 "100,001 words": prose(100_001)}
    verdicts(student, documents, {"49 words": "word_count", "50 words": None, "100,000 words": None,
                                  "100,001 words": "word_count"})


@exercise(GQ, weight=2, hint="Mean word length in characters, kept from 3 to 10 inclusive (punctuation "
                             "attached to a word counts).")
def test_gopher_mean_word_length(student):
    """Means of exactly 3 and 10 pass; 2.98 and 10.02 fail."""
    three = " ".join(["the", "and"] * 25)
    ten = " ".join(["the", "and"] + ["riverstone"] * 34 + ["riverstones"] * 14)
    documents = {"mean 3.00": three, "mean 2.98": three[:-3] + "an", "mean 10.00": ten, "mean 10.02": ten + "s"}
    verdicts(student, documents, {"mean 3.00": None, "mean 2.98": "mean_word_length", "mean 10.00": None,
                                  "mean 10.02": "mean_word_length"})


@exercise(GQ, weight=2, hint="Count '#' characters (text.count('#')) per word; drop only above 0.1.")
def test_gopher_hash_ratio(student):
    """50 words with 5 and with 6 '#' characters (one word holds two)."""
    words = prose(50).split()
    five = " ".join(("#" + w if i in (3, 9, 20, 31) else w) for i, w in enumerate(words))
    five = five.replace("garden", "##garden", 1)
    documents = {"5 hashes": five.replace("##garden", "#garden", 1), "6 hashes": five}
    verdicts(student, documents, {"5 hashes": None, "6 hashes": "hash_ratio"})


@exercise(GQ, weight=2, hint="Count '...' and '…' (text.count of each, added) per word; drop only above 0.1.")
def test_gopher_ellipsis_ratio(student):
    """50 words in one line with 5 and with 6 ellipses, written '...' and '…'."""
    words = prose(50).split()
    marked = [w + ("..." if i in (2, 5, 8) else "…" if i in (11, 14, 17) else "") for i, w in enumerate(words)]
    documents = {"6 ellipses": " ".join(marked), "5 ellipses": " ".join(marked).replace("…", "", 1)}
    verdicts(student, documents, {"5 ellipses": None, "6 ellipses": "ellipsis_ratio"})


@exercise(GQ, weight=2, hint="A line starts with a bullet when line.lstrip() starts with '•', '-' or '*'; drop "
                             "when MORE than 90% of text.splitlines() do.")
def test_gopher_bullet_lines(student):
    """9 of 10 lines with bullets (•, -, *, after spaces) pass; 19 of 20 fail; an en dash is no bullet."""
    bullets = ["• ", "- ", "  * ", "\t-"]
    nine = [bullets[i % 4] + prose(6, i) for i in range(9)] + [prose(6)]
    nineteen = [bullets[i % 4] + prose(6, i) for i in range(19)] + [prose(6)]
    dashes = ["– " + prose(6, i) for i in range(10)]
    documents = {"9 of 10": lines_of(nine), "19 of 20": lines_of(nineteen), "en dashes": lines_of(dashes)}
    verdicts(student, documents, {"9 of 10": None, "19 of 20": "bullet_lines", "en dashes": None})


@exercise(GQ, weight=2, hint="A line ends with an ellipsis when line.rstrip() ends with '...' or '…'; drop "
                             "when MORE than 30% of the lines of text.splitlines() do (a final newline starts "
                             "no new line).")
def test_gopher_ellipsis_lines(student):
    """3 of 10 lines ending in '...', '…' or '... ' pass; 4 of 10 fail; 3 of 9, the text ending with a newline,
    fail."""
    endings = ["...", "…", "... "]
    three = [prose(8, i) + (endings[i] if i < 3 else ".") for i in range(10)]
    four = [prose(8, i) + (endings[i % 3] if i < 4 else ".") for i in range(10)]
    documents = {"3 of 10": lines_of(three), "4 of 10": lines_of(four),
                 "3 of 9 and a newline": lines_of(three[:9]) + "\n"}
    verdicts(student, documents, {"3 of 10": None, "4 of 10": "ellipsis_lines",
                                  "3 of 9 and a newline": "ellipsis_lines"})


@exercise(GQ, weight=2, hint="Count the words with at least one alphabetic character (any(c.isalpha() ...)); "
                             "drop when fewer than 80%.")
def test_gopher_alphabetic_words(student):
    """50 words of which 10 or 11 are numbers: 80% passes, 78% fails; 51 words with "2nd", "3rd" and "日本" pass."""
    words = prose(50).split()
    ten = [("2026" if i % 5 == 4 else w) for i, w in enumerate(words)]
    eleven = ten[:1] + ["1234"] + ten[2:]
    with_letters = ["2nd"] + [("3rd" if i % 5 == 4 else w) for i, w in enumerate(words)][1:] + ["日本"]
    documents = {"40 of 50": " ".join(ten), "39 of 50": " ".join(eleven), "2nd, 3rd and 日本": " ".join(with_letters)}
    verdicts(student, documents, {"40 of 50": None, "39 of 50": "alphabetic_words", "2nd, 3rd and 日本": None})


@exercise(GQ, weight=2, hint="Count DISTINCT stop words, compared in lower case: at least 2 different ones "
                             "of the, be, to, of, and, that, have, with.")
def test_gopher_stop_words(student):
    """"the" 10 times and nothing else passes no test; "THE" and "With" count."""
    filler = "river stone garden quiet lamp".split()
    one_kind = " ".join(["the"] * 10 + filler * 8)
    two_kinds = " ".join(["THE", "With"] + filler * 10)
    documents = {"only 'the', 10 times": one_kind, "'THE' and 'With'": two_kinds}
    verdicts(student, documents, {"only 'the', 10 times": "stop_words", "'THE' and 'With'": None})


@exercise(GQ, weight=2, hint="Test the rules in the stated order and return the FIRST that fails.")
def test_gopher_rule_order(student):
    """Documents failing two rules name the earlier one."""
    hashes_no_stop = " ".join(["#river stone"] * 30)
    bullets_and_numbers = lines_of(["- " + " ".join(str(1000 + k) for k in range(10)) + " the and"] * 10)
    documents = {"hashes, no stop words": hashes_no_stop, "bullets and numbers": bullets_and_numbers}
    verdicts(student, documents, {"hashes, no stop words": "hash_ratio", "bullets and numbers": "bullet_lines"})


@exercise(GQ, hint="Return None (not True, 'pass' or '') when every rule passes.")
def test_gopher_passes_with_none(student):
    """A clean document of 80 words: None."""
    expect_equal(student.gopher_quality(prose(80)), None, "gopher_quality(80 words of prose)")


@exercise(GQ, hint="Test the word count first: an empty text has 0 words and fails it (no division by zero).")
def test_gopher_empty_text(student):
    """"" and whitespace: word_count."""
    expect_equal(student.gopher_quality(""), "word_count", "gopher_quality('')")
    expect_equal(student.gopher_quality(" \n\t"), "word_count", "gopher_quality(' \\n\\t')")


# shingles -----------------------------------------------------------------------------------------

SH = "shingles"


def shingle_compare(got, expected, what):
    expect_type(got, list, what)
    expect_equal(len(got), len(expected), f"{what}: the number of sets")
    for i, (g, e) in enumerate(zip(got, expected)):
        expect(type(g) in (set, frozenset), f"{what}: item {i} should be a set, got {kind_of(g)}")
        expect_equal(sorted(g), sorted(e), f"{what}: document {i}'s shingles (sorted)")


@exercise(SH, weight=3, hint="For each document: words = normalize_text(doc).split(); every window of n "
                             "words joined by ' '; fewer than n words: one shingle of all; none: empty set.",
          broad=True)
def test_shingles_matches_reference(student, reference):
    """40 lists of Unicode documents, n from 1 to 6: the reference's sets."""
    rng = random.Random(1004)
    cases = [([], 3), ([""], 1)] + [([generators.text(rng, 14) for _ in range(rng.randint(1, 4))], rng.randint(1, 6))
                                    for _ in range(40)]
    expect_same_as_reference(student.shingles, reference.shingles, cases, SH, compare=shingle_compare)


@exercise(SH, weight=2, hint="Shingle each document on its own: no window may take the last words of one "
                             "document and the first of the next, and a copy has the same shingles as its original.")
def test_shingles_per_document(student):
    """Four documents of 2 words, the last a copy of the first, n = 2: one shingle each, none across documents."""
    expect_equal(student.shingles(["a b", "c d", "e f", "a b"], 2), [{"a b"}, {"c d"}, {"e f"}, {"a b"}],
                 "shingles(['a b', 'c d', 'e f', 'a b'], 2)")


@exercise(SH, weight=2, hint="A document of m >= n words has m - n + 1 shingles: range(len(words) - n + 1) "
                             "includes the last window.")
def test_shingles_counts_every_window(student):
    """6 distinct words, n = 3: 4 shingles, the last one "d e f" included."""
    expect_equal(student.shingles(["a b c d e f"], 3), [{"a b c", "b c d", "c d e", "d e f"}],
                 "shingles(['a b c d e f'], 3)")


@exercise(SH, weight=2, hint="Fewer than n words (but some): one shingle, all the words; no words: set().")
def test_shingles_short_and_empty(student):
    """n = 4 on a 2-word, a 4-word, an empty and a whitespace-only document."""
    expect_equal(student.shingles(["x y", "w x y z", "", " \n "], 4), [{"x y"}, {"w x y z"}, set(), set()],
                 "shingles(['x y', 'w x y z', '', ' \\n '], 4)")


@exercise(SH, weight=2, hint="Shingle the words of normalize_text(document) (NFC, lower case, one space), "
                             "joined with one space.")
def test_shingles_normalised_words(student):
    """"The  CAFE\\u0301\\tis open", n = 2: lower-case, NFC words joined by one space."""
    expect_equal(student.shingles(["The  CAFE\u0301\tis open"], 2), [{"the café", "café is", "is open"}],
                 "shingles(['The  CAFE\\u0301\\tis open'], 2)")


@exercise(SH, hint="Raise ValueError when n < 1.")
def test_shingles_rejects_n_below_1(student):
    """n = 0 and n = -2 raise ValueError."""
    for n in (0, -2):
        with pytest.raises(ValueError):
            student.shingles(["a b c"], n)


@exercise(SH, hint="Return a list with one set of strings per document (not tuples of words, not one set).")
def test_shingles_list_of_sets(student):
    """A list of sets of strings."""
    got = student.shingles(["one two three"], 2)
    expect_type(got, list, "shingles(['one two three'], 2)")
    expect(len(got) == 1 and type(got[0]) is set and all(type(s) is str for s in got[0]),
           f"shingles(['one two three'], 2) should be [a set of strings], got {got!r}")


# jaccard ------------------------------------------------------------------------------------------

JC = "jaccard"


def close_float(got, expected, what):
    expect(type(got) is float, f"{what}: expected a float, got {kind_of(got)}")
    expect_close(got, expected, 1e-12, what=what)


@exercise(JC, weight=3, hint="len(a & b) / len(a | b), 1.0 when both are empty.", broad=True)
def test_jaccard_matches_reference(student, reference):
    """40 pairs of sets and frozensets of strings and ints, empty ones included: the reference's value."""
    rng = random.Random(1005)
    cases = [(set(), set()), (set(), {"a"})]
    for _ in range(40):
        pool = [generators.text(rng, 3) for _ in range(6)] + list(range(4))
        a = {rng.choice(pool) for _ in range(rng.randint(0, 6))}
        b = {rng.choice(pool) for _ in range(rng.randint(0, 6))}
        cases.append((frozenset(a) if rng.random() < 0.3 else a, b))
    expect_same_as_reference(student.jaccard, reference.jaccard, cases, JC, compare=close_float)


@exercise(JC, weight=2, hint="Divide by the size of the UNION (|a| + |b| - |a & b|), not by |a| + |b|, the "
                             "smaller or the larger set.")
def test_jaccard_union_denominator(student):
    """{1, 2, 3} and {2, 3, 4, 5}: 2 / 5."""
    expect_close(student.jaccard({1, 2, 3}, {2, 3, 4, 5}), 0.4, 1e-12, what="jaccard({1, 2, 3}, {2, 3, 4, 5})")


@exercise(JC, weight=2, hint="Two empty sets are identical: 1.0 (no ZeroDivisionError); one empty set: 0.0.")
def test_jaccard_empty_sets(student):
    """jaccard(set(), set()) = 1.0, jaccard(set(), {'a'}) = 0.0."""
    expect_equal(student.jaccard(set(), set()), 1.0, "jaccard(set(), set())")
    expect_equal(student.jaccard(set(), {"a"}), 0.0, "jaccard(set(), {'a'})")


@exercise(JC, hint="Return a float (true division), also for identical and disjoint sets.")
def test_jaccard_returns_float(student):
    """Identical and disjoint sets give the floats 1.0 and 0.0."""
    for a, b, value in [({"x", "y"}, {"x", "y"}, 1.0), ({"x"}, {"y"}, 0.0)]:
        close_float(student.jaccard(a, b), value, f"jaccard({a}, {b})")


# minhash_signature ----------------------------------------------------------------------------------

MH = "minhash_signature"


def sha1_32(text: str) -> int:
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:4], "little")


@exercise(MH, weight=3, hint="h = int.from_bytes(sha1(s.encode('utf-8')).digest()[:4], 'little'); for each "
                             "(a, b): min of ((a * h + b) % (2**61 - 1)) & (2**32 - 1); 2**32 - 1 if empty.",
          broad=True)
def test_minhash_matches_reference(student, reference):
    """30 sets of Unicode shingles (sets, frozensets and lists), datasketch's permutations for several seeds
    and hand-made ones near 2^61: the reference's signature."""
    rng = random.Random(1006)
    cases = [(set(), [(1, 0)]), ({"a"}, [])]
    for k in range(30):
        shingle_set = {generators.text(rng, 6) for _ in range(rng.randint(0, 8))}
        if k % 3 == 0:
            permutations = [(rng.randint(1, MERSENNE_PRIME - 1), rng.randint(0, MERSENNE_PRIME - 1)) for _ in range(5)]
            permutations.append((MERSENNE_PRIME - 1, MERSENNE_PRIME - 2))
        else:
            permutations = reference.minhash_permutations(rng.randint(1, 12), seed=rng.randint(0, 99))
        shown = sorted(shingle_set) if k % 4 == 1 else frozenset(shingle_set) if k % 4 == 2 else shingle_set
        cases.append((shown, permutations))
    expect_same_as_reference(student.minhash_signature, reference.minhash_signature, cases, MH)


@exercise(MH, weight=2, hint="h(s) is the FIRST 4 bytes of hashlib.sha1(s.encode('utf-8')).digest(), read "
                             "little-endian: int.from_bytes(digest[:4], 'little').")
def test_minhash_sha1_little_endian(student):
    """With (a, b) = (1, 0) the signature is h(s) itself, for "shingle" and "a b c"."""
    for shingle in ("shingle", "a b c"):
        expect_equal(student.minhash_signature({shingle}, [(1, 0)]), [sha1_32(shingle)],
                     f"minhash_signature({{{shingle!r}}}, [(1, 0)])")


@exercise(MH, hint="Encode the shingle as UTF-8 before hashing.")
def test_minhash_utf8(student):
    """A non-ASCII shingle, (a, b) = (1, 0): h of its UTF-8 bytes."""
    expect_equal(student.minhash_signature({"café 😀"}, [(1, 0)]), [sha1_32("café 😀")],
                 "minhash_signature({'café 😀'}, [(1, 0)])")


@exercise(MH, weight=2, hint="Reduce modulo the Mersenne prime 2**61 - 1 FIRST, then keep the low 32 bits "
                             "with & (2**32 - 1); use Python's exact integers (no numpy uint64 wrap-around).")
def test_minhash_mod_then_mask(student):
    """a = 2^61 - 2, b = 2^61 - 3, so that a h + b is far above the prime: exact modular arithmetic."""
    a, b = MERSENNE_PRIME - 1, MERSENNE_PRIME - 2
    h = sha1_32("x")
    expect_equal(student.minhash_signature({"x"}, [(a, b)]), [((a * h + b) % MERSENNE_PRIME) & MAX_HASH],
                 "minhash_signature({'x'}, [(2**61 - 2, 2**61 - 3)])")


@exercise(MH, weight=2, hint="signature[k] is the MINIMUM over the shingles of permutation k's value.")
def test_minhash_minimum(student):
    """Three shingles, two permutations: the smallest permuted value each."""
    shingle_set, permutations = {"u", "v", "w"}, [(3, 7), (123456789, 987654321)]
    expected = [min(((a * sha1_32(s) + b) % MERSENNE_PRIME) & MAX_HASH for s in shingle_set) for a, b in permutations]
    expect_equal(student.minhash_signature(shingle_set, permutations), expected,
                 "minhash_signature({'u', 'v', 'w'}, ...)")


@exercise(MH, hint="An empty set has no shingle to take a minimum of: 2**32 - 1 at every position.")
def test_minhash_empty_set(student):
    """The empty set, 4 permutations: [2^32 - 1] * 4."""
    expect_equal(student.minhash_signature(set(), [(1, 0), (2, 1), (3, 2), (4, 3)]), [MAX_HASH] * 4,
                 "minhash_signature(set(), 4 permutations)")


@exercise(MH, hint="Return a list of Python ints, one per permutation, in the order of the permutations.")
def test_minhash_python_ints_in_order(student):
    """Reversing the permutations reverses the signature; the values are Python ints."""
    permutations = [(5, 1), (77, 3), (1 << 40, 9)]
    forward = student.minhash_signature({"p", "q"}, permutations)
    backward = student.minhash_signature({"p", "q"}, permutations[::-1])
    expect_type(forward, list, "minhash_signature's result")
    expect(all(type(v) is int for v in forward),
           f"every value should be a Python int, got {[kind_of(v) for v in forward]}")
    expect_equal(backward, forward[::-1], "the signature for the reversed permutations")


def calls_to(tree, name: str) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name for n in ast.walk(tree))


@exercise(MH, weight=2, hint="Python's hash() is salted per process (PYTHONHASHSEED): signatures made in two "
                             "runs would never match. Hash with hashlib.sha1.")
def test_minhash_no_builtin_hash(student, student_code):
    """minhash_signature does not call Python's built-in hash()."""
    expect_equal(student.minhash_signature({"x"}, [(1, 0)]), [sha1_32("x")], "minhash_signature({'x'}, [(1, 0)])")
    tree = student_code.definition(MH)
    expect(tree is None or not calls_to(tree, "hash"), "minhash_signature calls Python's built-in hash()")


# lsh_candidates -------------------------------------------------------------------------------------

LS = "lsh_candidates"


def signatures_with_matches(rng: random.Random, bands: int, rows: int, count: int) -> list[list[int]]:
    """Signatures of small values (so that bands collide) with some bands copied from another signature."""
    signatures = [[rng.randint(0, 3) for _ in range(bands * rows)] for _ in range(count)]
    for _ in range(count):
        i, j, band = rng.randrange(count), rng.randrange(count), rng.randrange(bands)
        signatures[j][band * rows:(band + 1) * rows] = signatures[i][band * rows:(band + 1) * rows]
    return signatures


@exercise(LS, weight=3, hint="For each band k, group the signatures by tuple(signature[k*rows:(k+1)*rows]); "
                             "every pair (i, j), i < j, in one group is a candidate.", broad=True)
def test_lsh_matches_reference(student, reference):
    """40 sets of signatures (1 to 6 of them; 1 to 4 bands of 1 to 4 rows) with planted matching bands, and
    lengths that do not fit: the reference's pairs, or its ValueError."""
    rng = random.Random(1007)
    cases = [([], 2, 3), ([[1, 2]], 1, 2), ([[1, 2], [1, 2]], 2, 1)]
    for _ in range(40):
        bands, rows = rng.randint(1, 4), rng.randint(1, 4)
        signatures = signatures_with_matches(rng, bands, rows, rng.randint(1, 6))
        if rng.random() < 0.15:
            bands += 1
        cases.append((signatures, bands, rows))
    expect_same_as_reference(student.lsh_candidates, reference.lsh_candidates, cases, LS)


@exercise(LS, weight=2, hint="Band k is the CONSECUTIVE values k*rows .. k*rows + rows - 1 (not every bands-th "
                             "value).")
def test_lsh_consecutive_rows(student):
    """2 bands of 2 rows: [1, 2, 3, 4] and [1, 2, 5, 6] share band 0; [1, 5, 2, 6] shares no band."""
    got = student.lsh_candidates([[1, 2, 3, 4], [1, 2, 5, 6], [1, 5, 2, 6]], 2, 2)
    expect_equal(got, {(0, 1)}, "lsh_candidates([[1, 2, 3, 4], [1, 2, 5, 6], [1, 5, 2, 6]], 2, 2)")


@exercise(LS, weight=2, hint="One agreeing band makes a candidate (OR over the bands); within a band all rows "
                             "must agree (AND over its rows).")
def test_lsh_one_band_suffices(student):
    """3 bands of 2 rows: pairs agreeing on band 0 only, on band 2 only, and on one row of each band."""
    signatures = [[1, 1, 2, 2, 3, 3], [1, 1, 9, 9, 9, 9], [7, 7, 8, 8, 3, 3], [1, 0, 2, 0, 3, 0]]
    expect_equal(student.lsh_candidates(signatures, 3, 2), {(0, 1), (0, 2)}, f"lsh_candidates({signatures}, 3, 2)")


@exercise(LS, weight=2, hint="Keep one bucket table per band (or put the band's index in the key): equal "
                             "values in DIFFERENT bands do not make a candidate.")
def test_lsh_bands_told_apart(student):
    """Signature 1's band 1 equals signature 0's band 0, and no band matches at the same position."""
    signatures = [[4, 5, 6, 7, 8, 9], [0, 0, 4, 5, 1, 1]]
    expect_equal(student.lsh_candidates(signatures, 3, 2), set(), f"lsh_candidates({signatures}, 3, 2)")


@exercise(LS, hint="Return a set of tuples (i, j) with i < j: no (i, i), no (j, i).")
def test_lsh_pair_format(student):
    """Three identical signatures: {(0, 1), (0, 2), (1, 2)}."""
    got = student.lsh_candidates([[3, 3], [3, 3], [3, 3]], 1, 2)
    expect_type(got, set, "lsh_candidates' result")
    expect_equal(sorted(got), [(0, 1), (0, 2), (1, 2)], "lsh_candidates([[3, 3]] * 3, 1, 2), sorted")


@exercise(LS, weight=2, hint="Raise ValueError unless every signature has exactly bands * rows values "
                             "(too many would be left out, too few would shorten the last band).")
def test_lsh_value_error(student):
    """bands * rows of 6 for signatures of 8, of 10 for 8, and one signature of another length."""
    for signatures, bands, rows in [([[0] * 8, [0] * 8], 3, 2), ([[0] * 8], 5, 2), ([[0] * 4, [0] * 5], 2, 2)]:
        with pytest.raises(ValueError):
            student.lsh_candidates(signatures, bands, rows)


# mixing_weights -------------------------------------------------------------------------------------

MW = "mixing_weights"


def weights_compare(got, expected, what):
    expect_type(got, dict, what)
    expect_equal(list(got), list(expected), f"{what}: the keys, in order")
    for key in expected:
        close_float(got[key], expected[key], f"{what}[{key!r}]")


@exercise(MW, weight=3, hint="p_i = exp((ln n_i - max ln n) / T) / sum: n^(1/T) normalised, 0 for empty "
                             "sources, ValueError for T <= 0.", broad=True)
def test_mixing_matches_reference(student, reference):
    """40 mixes of 1 to 6 sources (ints and floats, zeros, up to 10^12), T from 0.01 to 100: the reference's."""
    rng = random.Random(1008)
    cases = [({"a": 1}, 1.0), ({"a": 0, "b": 5}, 0.5), ({"x": 2}, -1.0), ({"x": 2}, 0)]
    for _ in range(40):
        sizes = {f"s{k}": rng.choice([0, 1, rng.randint(2, 1000), rng.uniform(1, 1e6), 10 ** 12])
                 for k in range(rng.randint(1, 6))}
        if all(v == 0 for v in sizes.values()):
            sizes["s0"] = 3
        cases.append((sizes, rng.choice([0.01, 0.3, 1, 1.5, 2, 5, 100])))
    expect_same_as_reference(student.mixing_weights, reference.mixing_weights, cases, MW, compare=weights_compare)


@exercise(MW, weight=2, hint="The power is 1/T (not T): T = 2 takes square roots, flattening the mix.")
def test_mixing_inverse_temperature(student):
    """{"a": 9, "b": 1} at T = 2: 3/4 and 1/4."""
    weights_compare(student.mixing_weights({"a": 9, "b": 1}, 2), {"a": 0.75, "b": 0.25},
                    "mixing_weights({'a': 9, 'b': 1}, 2)")


@exercise(MW, hint="At T = 1 the weights are the sizes' shares: n_i / sum n.")
def test_mixing_t1_proportional(student):
    """{"a": 1, "b": 2, "c": 5} at T = 1: 1/8, 2/8, 5/8."""
    weights_compare(student.mixing_weights({"a": 1, "b": 2, "c": 5}, 1), {"a": 0.125, "b": 0.25, "c": 0.625},
                    "mixing_weights({'a': 1, 'b': 2, 'c': 5}, 1)")


@exercise(MW, hint="An empty source (n = 0) gets weight 0.0 (log 0 = -inf), at any temperature.")
def test_mixing_empty_source(student):
    """{"a": 0, "b": 4, "c": 4} at T = 3: 0, 1/2, 1/2."""
    weights_compare(student.mixing_weights({"a": 0, "b": 4, "c": 4}, 3), {"a": 0.0, "b": 0.5, "c": 0.5},
                    "mixing_weights({'a': 0, 'b': 4, 'c': 4}, 3)")


@exercise(MW, hint="Return a dict with the keys of sizes in their order, values Python floats.")
def test_mixing_keys_in_order(student):
    """Keys given as z, a, m come back as z, a, m."""
    got = student.mixing_weights({"z": 1, "a": 3, "m": 2}, 1.5)
    expect_type(got, dict, "mixing_weights' result")
    expect_equal(list(got), ["z", "a", "m"], "the keys of mixing_weights({'z': 1, 'a': 3, 'm': 2}, 1.5)")


@exercise(MW, weight=2, hint="n ** (1 / T) overflows for n = 10^12 and T = 0.01: work with logarithms, "
                             "exp((ln n_i - max ln n) / T).")
def test_mixing_no_overflow(student):
    """Sizes 10^12 and 5 x 10^11 at T = 0.01: 1/(1 + 2^-100) and 2^-100/(1 + 2^-100)."""
    small = 0.5 ** 100
    weights_compare(student.mixing_weights({"big": 10 ** 12, "half": 5 * 10 ** 11}, 0.01),
                    {"big": 1 / (1 + small), "half": small / (1 + small)}, "mixing_weights({10^12, 5 x 10^11}, 0.01)")


@exercise(MW, hint="Raise ValueError when temperature <= 0 (0 and negative).")
def test_mixing_value_error(student):
    """T = 0 and T = -1 raise ValueError."""
    for temperature in (0, -1.0):
        with pytest.raises(ValueError):
            student.mixing_weights({"a": 1, "b": 2}, temperature)


# pack_greedy ----------------------------------------------------------------------------------------

PK = "pack_greedy"


@exercise(PK, weight=3, hint="For each document in order: the first block (lowest index) with used + length <= "
                             "block_size, else a new block; ValueError for a length outside 1..block_size.",
          broad=True)
def test_pack_matches_reference(student, reference):
    """40 lists of lengths (0 to 14 documents) and block sizes 1 to 40, with lengths that do not fit: the
    reference's blocks, or its ValueError."""
    rng = random.Random(1009)
    cases = [([], 4), ([1], 1), ([0], 3)]
    for _ in range(40):
        block_size = rng.randint(1, 40)
        lengths = [rng.randint(1, block_size) for _ in range(rng.randint(0, 14))]
        if rng.random() < 0.1:
            lengths.append(block_size + rng.randint(1, 3))
        cases.append((lengths, block_size))
    expect_same_as_reference(student.pack_greedy, reference.pack_greedy, cases, PK)


@exercise(PK, weight=2, hint="First fit looks at EVERY open block from the first, not only the last one "
                             "(that is next fit).")
def test_pack_first_fit_not_next_fit(student):
    """Block 10, lengths 6, 7, 3: the 3 goes back to block 0."""
    expect_equal(student.pack_greedy([6, 7, 3], 10), [[0, 2], [1]], "pack_greedy([6, 7, 3], 10)")


@exercise(PK, weight=2, hint="Take the FIRST block with room, not the fullest one that fits (best fit).")
def test_pack_not_best_fit(student):
    """Block 10, lengths 5, 7, 3: the 3 goes to block 0 (room 5), not block 1 (room 3, an exact fit)."""
    expect_equal(student.pack_greedy([5, 7, 3], 10), [[0, 2], [1]], "pack_greedy([5, 7, 3], 10)")


@exercise(PK, weight=2, hint="Place the documents in the given order: no sorting by length first.")
def test_pack_keeps_order(student):
    """Block 10, lengths 2, 9, 8: [[0, 2], [1]] (sorted first it would be [[1], [2, 0]])."""
    expect_equal(student.pack_greedy([2, 9, 8], 10), [[0, 2], [1]], "pack_greedy([2, 9, 8], 10)")


@exercise(PK, weight=2, hint="A document fits when used + length <= block_size (<=, not <): a block may be "
                             "filled exactly.")
def test_pack_exact_fill(student):
    """Block 8, lengths 3, 5, 8: [[0, 1], [2]]."""
    expect_equal(student.pack_greedy([3, 5, 8], 8), [[0, 1], [2]], "pack_greedy([3, 5, 8], 8)")


@exercise(PK, hint="Start new blocks in every call (no mutable default argument): each call packs only its "
                   "own documents.")
def test_pack_independent_calls(student, reference):
    """Calls in a row: each gives what it gives alone."""
    expect_independent_calls(student, reference, PK, [([3, 4], 8), ([5], 8), ([3, 4], 8), ([], 2)])


@exercise(PK, weight=2, hint="Raise ValueError for a length above block_size or below 1.")
def test_pack_value_error(student):
    """A length of 9 in blocks of 8, and a length of 0, raise ValueError."""
    for lengths in ([1, 9], [2, 0]):
        with pytest.raises(ValueError):
            student.pack_greedy(lengths, 8)


# document_mask --------------------------------------------------------------------------------------

DM = "document_mask"


def mask_compare(got, expected, what):
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, torch.bool, f"{what}: the dtype")
    expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
    expect_equal(got.int().tolist(), expected.int().tolist(), what)


def document_ids(rng: random.Random, shape: tuple[int, ...]) -> torch.Tensor:
    """Ids that run in documents of random lengths along the last dimension, then padding (-1 or -7)."""
    flat = []
    for _ in range(max(1, torch.Size(shape[:-1]).numel())):
        row, doc = [], rng.randint(0, 5)
        while len(row) < shape[-1]:
            row += [doc] * rng.randint(1, 4)
            doc += rng.randint(1, 3)
        cut = rng.randint(0, shape[-1])
        row = row[:cut] + [rng.choice([-1, -7])] * (shape[-1] - cut)
        flat.append(row)
    return torch.tensor(flat, dtype=rng.choice([torch.int64, torch.int32])).reshape(shape)


@exercise(DM, weight=3, hint="mask = same document & real query & causal: ids[..., :, None] == ids[..., None, :], "
                             "ids[..., :, None] >= 0, and the lower triangle (k <= q).", broad=True)
def test_mask_matches_reference(student, reference):
    """30 id tensors, 1-D to 3-D, int64 and int32, lengths 1 to 9, with padding: the reference's mask."""
    rng = random.Random(1010)
    cases = [(torch.tensor([0]),), (torch.tensor([-1]),)]
    for _ in range(30):
        shape = generators.leading_shape(rng, rng.randint(1, 9))
        cases.append(Case((document_ids(rng, shape),)))
    expect_same_as_reference(student.document_mask, reference.document_mask, cases, DM, compare=mask_compare)


@exercise(DM, weight=2, hint="Tokens of different documents must not attend to each other: AND the causal mask "
                             "with ids[q] == ids[k].")
def test_mask_documents_apart(student, reference):
    """Documents 0, 1, 2 of 2 tokens each: no query sees a key of an earlier document."""
    ids = torch.tensor([0, 0, 1, 1, 2, 2])
    mask_compare(student.document_mask(ids), reference.document_mask(ids), "document_mask([0, 0, 1, 1, 2, 2])")


@exercise(DM, weight=2, hint="Causal within a document: query q sees key k only when k <= q (the lower "
                             "triangle, torch.tril).")
def test_mask_causal(student, reference):
    """One document of 4 tokens: the lower triangle."""
    ids = torch.tensor([3, 3, 3, 3])
    mask_compare(student.document_mask(ids), reference.document_mask(ids), "document_mask([3, 3, 3, 3])")


@exercise(DM, hint="A token attends to itself (k = q is allowed): tril, not tril(-1).")
def test_mask_diagonal(student):
    """Four one-token documents: only the diagonal."""
    mask_compare(student.document_mask(torch.tensor([0, 1, 2, 3])), torch.eye(4, dtype=torch.bool),
                 "document_mask([0, 1, 2, 3])")


@exercise(DM, weight=2, hint="Any NEGATIVE id is padding (not only -1): padding rows are all False, even "
                             "where two padding ids are equal.")
def test_mask_padding(student, reference):
    """Ids [5, 5, -1, -1, -3]: the padding rows and columns are False."""
    ids = torch.tensor([5, 5, -1, -1, -3])
    mask_compare(student.document_mask(ids), reference.document_mask(ids), "document_mask([5, 5, -1, -1, -3])")


@exercise(DM, weight=2, hint="Work on the last dimension only (unsqueeze(-1) / unsqueeze(-2)): a (B, T) input "
                             "gives (B, T, T), each block with its own mask.")
def test_mask_leading_dims(student, reference):
    """A (2, 2, 3) batch of blocks, each different: a (2, 2, 3, 3) mask."""
    ids = torch.tensor([[[0, 0, 1], [0, 1, 1]], [[2, 2, 2], [4, -1, -1]]])
    mask_compare(student.document_mask(ids), reference.document_mask(ids), "document_mask(a (2, 2, 3) batch)")


@exercise(DM, hint="Return a bool tensor (True = may attend), not 0/1 floats or an additive -inf mask.")
def test_mask_bool(student):
    """The dtype is torch.bool."""
    got = student.document_mask(torch.tensor([1, 1, 2]))
    expect(isinstance(got, torch.Tensor), f"document_mask should return a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, torch.bool, "document_mask([1, 1, 2]).dtype")
