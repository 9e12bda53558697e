"""Hidden checks for 01-tokenizer-basics. Inputs differ from the notebook's visible checks.

Every exercise has a differential check: the learner's result against the reference's on a few
hundred seeded inputs from the whole domain the text allows (autograder.generators: code points of
every plane, the byte-order mark, numerals and fractions, Unicode whitespace, ids above 256 with many
digits, empty inputs, every option at its boundaries and options combined, invalid arguments),
smallest failing input first, with the learner's arguments guarded (not changed in place, not
returned). Then one check per convention stated in the text, with a hint that names the likely bug:
bytes input, inputs left unchanged, results independent of earlier calls, a new list per call, the
vocabulary's types, encode leaving the vocabulary alone, no stale caches, case variants of `side`,
large ids, dtypes of degenerate batches.

The tokenizer classes are played by scripts (new tokenizer, train, encode, decode, a second
tokenizer) that a probe runs in the worker and that run here on the reference; the probe returns
facts (results, whether train returned self, whether encode changed the vocabulary or decode its
ids, whether encode returned an earlier list object) and the verdicts are taken here.

"Written by hand" checks read the learner's syntax tree (strings and names inside `raise`, exception
constructors and docstrings do not count, so a decoder may raise UnicodeDecodeError("utf-8", ...))
and watch, in a probe, which C functions the learner's own lines call (str.encode, codecs...).
"""
import ast
import copy
import random
import re
from itertools import zip_longest

import torch

from autograder import generators
from autograder.checking import (Case, expect, expect_equal, expect_independent_calls, expect_proven,
                                 expect_same_as_reference, expect_type, exercise, judged_only_if_right, short)
from autograder.notebook import LearnerCode
from autograder.remote import observe, probe
from coursekit.corpus import generate_text, real_text

SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]
MIXED = "Zoé's naïve café, 日本語 and 한국어; 👩\u200d💻 🎉 e\u0301 \u00a0½ \U0010ffff done.\n"
# code points at every boundary of the UTF-8 table, and one from each plane above the BMP
BOUNDARIES = [0x00, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFEFF, 0xFFFD, 0xFFFF, 0x10000, 0x1FFFF,
              0x20000, 0x2FFFF, 0x30000, 0xE0001, 0xEFFFF, 0xF0000, 0xFFFFD, 0x100000, 0x10FFFF]
# one character of each plane 1-16 region the 4-byte pattern must get right (bits 16-20 all used)
PLANES = "\U0001f642\U00020000\U0002a6d6\U00030000\U0003fffd\U000e0041\U000f0000\U000ffffd\U00100000\U0010fffd"
NUMERALS = "1½ cup, Ⅻth o'clock, ٣٤ and x² or 2⅔"
# pieces for split_words and the word tokenizer: numerals, fractions, Unicode whitespace, format
# characters, special-token text in several cases, punctuation runs, contractions
WORD_PIECES = ["the", "a", "Zoé", "日本語", "x_1", "_", "42", "3.5", "½", "Ⅻ", "٣٤", "x²", "don't", "e\u0301",
               "<pad>", "<PAD>", "<Bos>", "<eos>", "<unk>", "!?", "...", "🙂", "👩\u200d💻", "\ufeff", "\u200d",
               " ", "  ", "\n", "\t", "\r\n", "\x0b", "\x0c", "\x1c", "\x85", "\u00a0", "\u2028", "\u3000"]


def raises_value_error(call) -> bool:
    try:
        call()
    except ValueError:
        return True
    return False


# how a function may reach Python's UTF-8 codec ------------------------------------------------

UTF8_NAMES = {"utf8", "utf8sig", "u8", "utf", "cp65001", "utf8ucs2", "utf8ucs4"}  # encodings.aliases, normalised
CODEC_MODULES = {"codecs", "_codecs", "encodings"}
CODEC_FUNCTIONS = {"utf_8_encode", "utf_8_decode", "getencoder", "getdecoder", "getincrementalencoder",
                   "getincrementaldecoder", "iterencode", "iterdecode", "getreader", "getwriter"}
CODEC_METHODS = {"encode", "decode"}


def called_name(node: ast.Call) -> str:
    function = node.func
    if isinstance(function, ast.Name):
        return function.id
    return function.attr if isinstance(function, ast.Attribute) else ""


def counted_nodes(tree):
    """The tree's nodes without docstrings, `raise` statements and exception constructors: naming the
    codec there (UnicodeDecodeError("utf-8", ...), a docstring that says "not str.encode") is fine."""
    exempt = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body and \
                isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and \
                isinstance(body[0].value.value, str):
            exempt.add(body[0])
        elif isinstance(node, ast.Raise) or \
                isinstance(node, ast.Call) and called_name(node).endswith(("Error", "Exception", "Warning")):
            exempt.add(node)
    stack = [tree]
    while stack:
        node = stack.pop()
        if node not in exempt:
            yield node
            stack.extend(ast.iter_child_nodes(node))


def bound_names(tree) -> set[str]:
    """Names the tree binds itself: nested defs, parameters, assignment targets."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not tree:
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def codec_use_in(tree, notebook_names: set[str]) -> str | None:
    """What in this syntax tree reaches Python's UTF-8 codec, whatever the spelling."""
    bound = bound_names(tree)
    in_f_strings = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    for node in counted_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            imported = [a.name for a in node.names]
            if any(m.split(".")[0] in CODEC_MODULES for m in modules) or set(imported) & CODEC_FUNCTIONS:
                return f"it imports from `{modules[0]}`"
        elif isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if node.attr in CODEC_METHODS and owner not in notebook_names:
                return f"it uses `.{node.attr}`"
            if node.attr in CODEC_FUNCTIONS:
                return f"it uses `{node.attr}`"
        elif isinstance(node, ast.Name):
            if node.id in CODEC_MODULES | CODEC_FUNCTIONS:
                return f"it uses `{node.id}`"
            if node.id in CODEC_METHODS and node.id not in bound and node.id not in notebook_names:
                return f"it calls `{node.id}`, which is not defined in the notebook (a codec function?)"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("bytes", "bytearray", "str"):
            if len(node.args) >= 2 or any(k.arg in ("encoding", "errors") for k in node.keywords):
                return f"it calls {node.func.id}(..., encoding), which runs Python's codec"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in in_f_strings:
            if len(node.value) <= 12 and node.value == node.value.strip() and \
                    re.sub(r"[^a-z0-9]", "", node.value.lower()) in UTF8_NAMES:
                return f"it names the codec {node.value!r}"
            if node.value in CODEC_METHODS:
                return f"it names the method {node.value!r}"
    return None


def codec_use(code: LearnerCode, name: str, seen=None) -> str | None:
    """What in the learner's definition `name`, or a notebook definition it uses, reaches Python's own
    UTF-8 codec, read from its syntax tree."""
    seen = set() if seen is None else seen
    tree = code.definition(name)
    if tree is None or name in seen:
        return None
    seen.add(name)
    found = codec_use_in(tree, set(code.definitions))
    if found:
        return found
    for helper in sorted(code.names_used(tree)):
        found = codec_use(code, helper, seen)
        if found:
            return f"{found} (in {helper})"
    return None


def codec_calls(function, *args):
    """(Runs in the worker.) The codec functions that the learner's own lines call while function(*args)
    runs (str.encode, bytes.decode, codecs.*), seen through sys.setprofile."""
    import sys

    seen = []

    def watch(frame, event, arg):
        if event not in ("c_call", "call"):
            return
        calling = frame if event == "c_call" else (frame.f_back or frame)  # c_call: the caller's frame
        caller = calling.f_code.co_filename
        if not caller.startswith("<cell "):
            return
        if event == "c_call":
            name, owner = getattr(arg, "__name__", ""), getattr(arg, "__self__", None)
            module = getattr(owner, "__name__", "") if type(owner) is type(sys) else ""
            if (name in ("encode", "decode") and isinstance(owner, (str, bytes, bytearray, memoryview))) or \
                    module in ("_codecs", "codecs") or name.startswith("utf_8"):
                seen.append(f"{type(owner).__name__ if module == '' else module}.{name}")
        elif event == "call" and str(frame.f_globals.get("__name__", "")).split(".")[0] in ("codecs", "encodings"):
            seen.append(f"{frame.f_globals['__name__']}.{frame.f_code.co_name}")

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        function(*args)
    except Exception:
        pass
    finally:
        sys.setprofile(previous)
    return sorted(set(seen))


# utf8_encode ----------------------------------------------------------------------------------

def encode_cases(rng: random.Random) -> list:
    """Texts: empty, every boundary code point alone, the tricky characters, texts mixing every plane."""
    texts = ["", *(chr(cp) for cp in BOUNDARIES), *generators.TRICKY_CHARACTERS, PLANES, NUMERALS]
    texts += [generators.text(rng, size) for size in (2, 6, 14) for _ in range(40)]
    texts += ["".join(generators.code_point(rng) for _ in range(rng.randint(1, 8))) for _ in range(40)]
    return [(text,) for text in texts]


@exercise("utf8_encode", hint="Code points below U+0080 are one byte each: the code point itself.")
def test_utf8_encode_ascii(student):
    """ASCII, including control characters, is one byte per character."""
    expect_equal(student.utf8_encode("a Z~\n\t\x00\x7f"), [97, 32, 90, 126, 10, 9, 0, 127])


@exercise("utf8_encode", hint="An empty text encodes to the empty list.")
def test_utf8_encode_empty(student):
    """The empty text gives []."""
    expect_equal(student.utf8_encode(""), [])


@exercise("utf8_encode", hint="Return a plain list of ints 0-255 (not bytes, not code points).")
def test_utf8_encode_returns_a_list_of_bytes(student):
    """The result is a list of ints in 0-255."""
    result = student.utf8_encode("añ€")
    expect_type(result, list, "utf8_encode's result")
    expect(all(type(b) is int and 0 <= b <= 255 for b in result),
           f"every item should be an int from 0 to 255, got {result}")


@exercise("utf8_encode", weight=2, hint="The boundary U+0080 takes 2 bytes (U+007F is the last 1-byte "
                                        "character); 2-byte pattern: 110xxxxx 10xxxxxx = "
                                        "0xC0 | (cp >> 6), 0x80 | (cp & 0x3F).", broad=True)
def test_utf8_encode_two_byte_boundaries(student):
    """U+0080 and U+07FF, the first and last 2-byte characters."""
    expect_equal(student.utf8_encode("\u0080\u00ff\u07ff"), [0xC2, 0x80, 0xC3, 0xBF, 0xDF, 0xBF])


@exercise("utf8_encode", weight=2, hint="3-byte pattern: 1110xxxx 10xxxxxx 10xxxxxx, i.e. 0xE0 | (cp >> 12), "
                                        "0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F).", broad=True)
def test_utf8_encode_three_byte_pattern(student):
    """CJK and the 3-byte boundaries U+0800 and U+FFFF."""
    expect_equal(student.utf8_encode("日\u0800\uffff"), [0xE6, 0x97, 0xA5, 0xE0, 0xA0, 0x80, 0xEF, 0xBF, 0xBF])


@exercise("utf8_encode", weight=2, hint="Code points from U+10000 (emoji) need 4 bytes: 11110xxx 10xxxxxx "
                                        "10xxxxxx 10xxxxxx, starting with 0xF0 | (cp >> 18).")
def test_utf8_encode_four_byte_emoji(student):
    """An emoji and the 4-byte boundaries U+10000 and U+10FFFF."""
    expect_equal(student.utf8_encode("🎉\U00010000\U0010ffff"),
                 [0xF0, 0x9F, 0x8E, 0x89, 0xF0, 0x90, 0x80, 0x80, 0xF4, 0x8F, 0xBF, 0xBF])


@exercise("utf8_encode", hint="Each continuation byte carries 6 bits (& 0x3F) in every plane: code points "
                              "from U+20000 use bit 17 (U+E0041: bits 17-19), which a 5-bit mask drops.")
def test_utf8_encode_every_plane(student, reference):
    """Code points of every plane (U+20000 CJK, U+E0041 tags, U+F0000 private use, U+10FFFD) take 4 bytes."""
    expect_equal(student.utf8_encode(PLANES), reference.utf8_encode(PLANES), f"utf8_encode({PLANES!r})")


@exercise("utf8_encode", hint="The byte-order mark U+FEFF is an ordinary character (EF BB BF), at the start "
                              "of a text too: don't drop it.")
def test_utf8_encode_byte_order_mark(student):
    """The byte-order mark U+FEFF is encoded like any character: EF BB BF."""
    expect_equal(student.utf8_encode("\ufeffHi\ufeff"), [0xEF, 0xBB, 0xBF, 72, 105, 0xEF, 0xBB, 0xBF])


@exercise("utf8_encode", hint="Every byte after the lead byte is a continuation byte 10xxxxxx: "
                              "0x80 | (6 bits), most significant bits first.")
def test_utf8_encode_continuation_bytes(student):
    """Korean text: each character is a lead byte 1110xxxx and two continuation bytes 10xxxxxx."""
    result = student.utf8_encode("한국어")
    expect_equal(result, [0xED, 0x95, 0x9C, 0xEA, 0xB5, 0xAD, 0xEC, 0x96, 0xB4])


@exercise("utf8_encode", hint="A combining mark is a code point of its own, encoded after its base letter; "
                              "do not normalise the text.")
def test_utf8_encode_combining_mark(student):
    """'e' + combining acute accent stays two code points: 3 bytes."""
    expect_equal(student.utf8_encode("e\u0301"), [0x65, 0xCC, 0x81])


@exercise("utf8_encode", weight=2, hint="Check each range of the table: 1, 2, 3 and 4 bytes.", broad=True)
def test_utf8_encode_matches_reference_on_mixed_text(student, reference):
    """Stories and a line of mixed scripts and emoji: the same bytes as the reference."""
    text = MIXED + generate_text(1_500, seed=21)
    expect_equal(student.utf8_encode(text), reference.utf8_encode(text))


@exercise("utf8_encode", weight=2, hint="Follow the table for every code point: 1 byte below U+0080, 2 below "
                                        "U+0800, 3 below U+10000, 4 up to U+10FFFF; 6 bits per continuation byte.",
          broad=True)
def test_utf8_encode_matches_reference_on_generated_text(student, reference):
    """Every boundary code point and 200 generated texts from every plane: the same bytes as the reference."""
    expect_same_as_reference(student.utf8_encode, reference.utf8_encode, encode_cases(random.Random(101)),
                             "utf8_encode")


@exercise("utf8_encode", hint="Build a new list in every call: a mutable default argument (out=[]) or a "
                              "module-level list makes results depend on, or change with, earlier calls.")
def test_utf8_encode_calls_are_independent(student, reference):
    """Several calls in a row: each result is right and stays right after the next calls."""
    expect_independent_calls(student, reference, "utf8_encode",
                             [("né",), ("",), ("€",), ("né",)])


@exercise("utf8_encode", weight=2, hint="Write the bit patterns by hand: no str.encode, bytes(text, 'utf-8') "
                                        "(under any spelling of the codec's name), bytearray(text, ...) or codecs. "
                                        "Naming the codec in a docstring or an error message is fine.")
def test_utf8_encode_is_written_by_hand(student, student_code):
    """utf8_encode computes the bytes itself, without Python's UTF-8 codec."""
    expect_equal(student.utf8_encode("ü€"), [0xC3, 0xBC, 0xE2, 0x82, 0xAC], "utf8_encode('ü€')")
    found = codec_use(student_code, "utf8_encode")
    expect(found is None, f"utf8_encode relies on Python's own UTF-8 codec: {found}")
    called = probe(student, codec_calls, student.utf8_encode, "ü€ 🙂")
    expect(not called, f"utf8_encode relies on Python's own UTF-8 codec: it calls {', '.join(called)}")


# utf8_decode ----------------------------------------------------------------------------------

def multi_byte_character(rng: random.Random) -> list[int]:
    """The UTF-8 bytes of one character of 2 to 4 bytes, from any plane."""
    character = generators.code_point(rng)
    while ord(character) < 0x80:
        character = generators.code_point(rng)
    return list(character.encode("utf-8"))


def damaged(rng: random.Random) -> list[int]:
    """Valid UTF-8 with one fault of a kind the text grades: a continuation byte where a character
    starts, a byte 0xF8-0xFF, a character cut off by the end of the input, or a lead byte followed by a
    byte that is not 10xxxxxx. (Overlong forms, surrogates, values above U+10FFFF and the lead bytes
    0xC0, 0xC1 and 0xF5-0xF7 are not graded: never generated.)"""
    prefix = list(generators.text(rng, 4).encode("utf-8"))
    suffix = list(generators.text(rng, 4).encode("utf-8"))
    character = multi_byte_character(rng)
    kind = rng.choice(["stray", "impossible", "truncated", "not continuation"])
    if kind == "stray":
        middle = [rng.randint(0x80, 0xBF) for _ in range(rng.randint(1, 3))]
    elif kind == "impossible":
        middle = [rng.randint(0xF8, 0xFF)] + [rng.randint(0x80, 0xBF) for _ in range(rng.randint(0, 5))]
    elif kind == "truncated":
        middle, suffix = character[:rng.randint(1, len(character) - 1)], []
    else:
        position = rng.randint(1, len(character) - 1)
        wrong = rng.choice([rng.randint(0x00, 0x7F), rng.randint(0xC0, 0xF7), rng.randint(0xF8, 0xFF)])
        middle = character[:position] + [wrong] + character[position + 1:]
    return prefix + middle + suffix


def decode_cases(rng: random.Random) -> list:
    """Valid UTF-8 of texts from every plane (as lists and as bytes objects), and damaged UTF-8."""
    texts = ["", *(chr(cp) for cp in BOUNDARIES), *generators.TRICKY_CHARACTERS, PLANES, NUMERALS]
    texts += [generators.text(rng, size) for size in (3, 10) for _ in range(40)]
    cases = []
    for text in texts:
        data = list(text.encode("utf-8"))  # Python's codec, here in the trusted process, makes the input
        cases.append((bytes(data),) if rng.random() < 0.3 else (data,))
    for _ in range(90):
        data = damaged(rng)
        cases.append((bytes(data),) if rng.random() < 0.3 else (data,))
    return cases


@exercise("utf8_decode", hint="Bytes below 0x80 are one character each: chr(byte).")
def test_utf8_decode_ascii(student):
    """ASCII bytes decode one by one."""
    expect_equal(student.utf8_decode([97, 32, 90, 10, 0, 127]), "a Z\n\x00\x7f")


@exercise("utf8_decode", hint="No bytes decode to ''.")
def test_utf8_decode_empty(student):
    """[] gives ''."""
    expect_equal(student.utf8_decode([]), "")


@exercise("utf8_decode", weight=2, hint="Combine the lead byte's bits with each continuation byte's 6 low bits: "
                                        "cp = (cp << 6) | (byte & 0x3F); don't skip the continuation bytes.")
def test_utf8_decode_two_bytes(student):
    """2-byte characters: 'ñ' and U+07FF."""
    expect_equal(student.utf8_decode([0xC3, 0xB1, 0xDF, 0xBF]), "ñ\u07ff")


@exercise("utf8_decode", weight=2, hint="A 3-byte lead byte 1110xxxx keeps its 4 low bits (lead & 0x0F), then "
                                        "two continuation bytes of 6 bits each.")
def test_utf8_decode_three_bytes(student):
    """3-byte characters: CJK and U+FFFF."""
    expect_equal(student.utf8_decode([0xE6, 0x97, 0xA5, 0xE6, 0x9C, 0xAC, 0xEF, 0xBF, 0xBF]), "日本\uffff")


@exercise("utf8_decode", weight=2, hint="A 4-byte lead byte 11110xxx keeps 3 bits (lead & 0x07), then three "
                                        "continuation bytes.")
def test_utf8_decode_four_bytes(student):
    """4-byte characters: an emoji and U+10FFFF."""
    expect_equal(student.utf8_decode([0xF0, 0x9F, 0x8E, 0x89, 0xF4, 0x8F, 0xBF, 0xBF]), "🎉\U0010ffff")


@exercise("utf8_decode", hint="Each continuation byte gives 6 bits (& 0x3F) in every plane: code points from "
                              "U+20000 use bit 17, which a 5-bit mask drops.")
def test_utf8_decode_every_plane(student, reference):
    """Characters of every plane (U+20000 CJK, U+E0041 tags, U+F0000 private use, U+10FFFD) decode back."""
    data = reference.utf8_encode(PLANES)
    expect_equal(student.utf8_decode(data), PLANES, f"utf8_decode({data})")


@exercise("utf8_decode", hint="Bytes EF BB BF are the byte-order mark U+FEFF, an ordinary character: don't skip "
                              "it, at the start of the input too.")
def test_utf8_decode_byte_order_mark(student):
    """EF BB BF decodes to U+FEFF like any character, at the start too."""
    expect_equal(student.utf8_decode([0xEF, 0xBB, 0xBF, 0x48, 0x69]), "\ufeffHi")


@exercise("utf8_decode", hint="A bytes object works too: read it by index and len() like a list (its items are "
                              "ints); don't call list-only methods such as copy(), pop() or append() on it.")
def test_utf8_decode_accepts_bytes(student):
    """A bytes object decodes like the list of its values."""
    expect_equal(student.utf8_decode(bytes([0x5A, 0x6F, 0xC3, 0xA9, 0x20, 0xF0, 0x9F, 0x99, 0x82])), "Zoé 🙂",
                 "utf8_decode(b'Zo\\xc3\\xa9 \\xf0\\x9f\\x99\\x82')")
    expect_equal(student.utf8_decode(b""), "", "utf8_decode(b'')")


@exercise("utf8_decode", hint="Read byte_values without changing it: don't pop from it or change it in place.")
def test_utf8_decode_leaves_input_unchanged(student):
    """The caller's list of bytes is not modified."""
    call = observe(student.utf8_decode, [0x48, 0xC3, 0xA9, 0xF0, 0x9F, 0x99, 0x82])
    expect_proven(not call.changed, "utf8_decode changed the caller's list `byte_values` in place")
    expect_equal(call.result, "Hé🙂")


@exercise("utf8_decode", weight=2, hint="Read the lead byte, then exactly the continuation bytes it announces, "
                                        "and go on after them.", broad=True)
def test_utf8_decode_inverts_reference_encode(student, reference):
    """Mixed scripts, emoji and stories encoded by the reference decode back exactly."""
    text = MIXED + generate_text(1_500, seed=22)
    expect_equal(student.utf8_decode(reference.utf8_encode(text)), text)


@exercise("utf8_decode", weight=2, hint="A byte 10xxxxxx (0x80-0xBF) cannot start a character: raise ValueError.")
def test_utf8_decode_rejects_stray_continuation_byte(student):
    """A continuation byte where a character starts raises ValueError."""
    expect(raises_value_error(lambda: student.utf8_decode([0x41, 0x80, 0x42])),
           "utf8_decode([0x41, 0x80, 0x42]) should raise ValueError")
    expect(raises_value_error(lambda: student.utf8_decode([0xC3, 0xA9, 0xA9])),
           "utf8_decode([0xC3, 0xA9, 0xA9]) (one continuation byte too many) should raise ValueError")
    expect(raises_value_error(lambda: student.utf8_decode([0x41, 0xA9, 0xA9, 0x42])),
           "utf8_decode([0x41, 0xA9, 0xA9, 0x42]) should raise ValueError")


@exercise("utf8_decode", weight=2, hint="A lead byte announces how many continuation bytes follow: if the input "
                                        "ends first, the sequence is truncated: raise ValueError.")
def test_utf8_decode_rejects_truncated_sequence(student):
    """A character cut off by the end of the input raises ValueError."""
    expect(raises_value_error(lambda: student.utf8_decode([0x61, 0xE6, 0x97])),
           "utf8_decode([0x61, 0xE6, 0x97]) should raise ValueError")
    expect(raises_value_error(lambda: student.utf8_decode([0xF0, 0x9F])),
           "utf8_decode([0xF0, 0x9F]) should raise ValueError")


@exercise("utf8_decode", weight=2, hint="Check that every byte after the lead byte is 10xxxxxx "
                                        "(byte & 0xC0 == 0x80); otherwise raise ValueError.")
def test_utf8_decode_rejects_missing_continuation_byte(student):
    """A lead byte followed by a byte that is not 10xxxxxx raises ValueError."""
    expect(raises_value_error(lambda: student.utf8_decode([0xC3, 0x41])),
           "utf8_decode([0xC3, 0x41]) should raise ValueError")
    expect(raises_value_error(lambda: student.utf8_decode([0xE6, 0x97, 0xE6, 0x97, 0xA5])),
           "utf8_decode([0xE6, 0x97, 0xE6, 0x97, 0xA5]) should raise ValueError")


@exercise("utf8_decode", hint="A continuation byte is exactly 10xxxxxx (byte & 0xC0 == 0x80): a byte 11xxxxxx "
                              "has its high bit set too but is a lead byte, not a continuation: raise ValueError.")
def test_utf8_decode_rejects_lead_byte_as_continuation(student):
    """A lead byte (11xxxxxx) where a continuation byte is expected raises ValueError."""
    for data in ([0x41, 0xC3, 0xC3], [0xE6, 0x97, 0xE6], [0xC3, 0xFF], [0xF0, 0x9F, 0x98, 0xC3]):
        expect(raises_value_error(lambda: student.utf8_decode(data)),
               f"utf8_decode([{', '.join(f'{b:#x}' for b in data)}]) should raise ValueError")


@exercise("utf8_decode", hint="Bytes 0xF8-0xFF never start a character in UTF-8: raise ValueError.")
def test_utf8_decode_rejects_impossible_bytes(student):
    """Bytes 0xF8-0xFF raise ValueError."""
    for value in (0xFF, 0xF8):
        expect(raises_value_error(lambda: student.utf8_decode([0x61, value, 0x80, 0x80, 0x80, 0x80])),
               f"utf8_decode([0x61, {value:#x}, 0x80, 0x80, 0x80, 0x80]) should raise ValueError")


@exercise("utf8_decode", weight=2, hint="Decode valid input exactly and raise ValueError for each graded fault: "
                                        "a byte that cannot start a character, a missing or wrong continuation "
                                        "byte (10xxxxxx), a character cut off by the end.", broad=True)
def test_utf8_decode_matches_reference_on_generated_bytes(student, reference):
    """UTF-8 of 120 texts from every plane (lists and bytes objects) and 90 damaged inputs: same text or
    ValueError as the reference."""
    expect_same_as_reference(student.utf8_decode, reference.utf8_decode, decode_cases(random.Random(102)),
                             "utf8_decode")


@exercise("utf8_decode", hint="Build the text anew in every call: a mutable default argument (chars=[]) or a "
                              "module-level list makes results depend on earlier calls.")
def test_utf8_decode_calls_are_independent(student, reference):
    """Several calls in a row: each result is right."""
    expect_independent_calls(student, reference, "utf8_decode",
                             [([0x61, 0xC3, 0xA9],), ([],), ([0xE2, 0x82, 0xAC],), ([0x61, 0xC3, 0xA9],)])


@exercise("utf8_decode", weight=2, hint="Decode the bits by hand: no bytes.decode, str(data, 'utf-8') (under any "
                                        "spelling of the codec's name) or codecs. Raising UnicodeDecodeError('utf-8', "
                                        "...) or naming the codec in a docstring is fine.")
def test_utf8_decode_is_written_by_hand(student, student_code):
    """utf8_decode computes the characters itself, without Python's UTF-8 codec."""
    expect_equal(student.utf8_decode([0xC3, 0xBC, 0xE2, 0x82, 0xAC]), "ü€", "utf8_decode of 'ü€'")
    found = codec_use(student_code, "utf8_decode")
    expect(found is None, f"utf8_decode relies on Python's own UTF-8 codec: {found}")
    called = probe(student, codec_calls, student.utf8_decode, [0xC3, 0xBC, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x99, 0x82])
    expect(not called, f"utf8_decode relies on Python's own UTF-8 codec: it calls {', '.join(called)}")


# tokenizer scripts ----------------------------------------------------------------------------
# A script is a list of steps on named tokenizers: ("new", name), ("train", name, text, options),
# ("encode", name, text), ("decode", name, ids). play_scripts runs scripts in the worker (on the
# learner's class) and here (on the reference's); expect_same_scripts compares the records.

def play_scripts(cls, scripts):
    """(Runs in the worker on the learner's class, and here on the reference's.) Each script on fresh
    tokenizers of `cls`: one record of facts per step, ending at the first exception."""
    def vocabulary(tokenizer):
        return {"id_to_token's type": type(tokenizer.id_to_token).__name__,
                "token_to_id is a dict": isinstance(tokenizer.token_to_id, dict),
                "id_to_token": list(tokenizer.id_to_token),
                "token_to_id": dict(tokenizer.token_to_id),
                "vocab_size": tokenizer.vocab_size}

    def inert(value, kinds):
        return value if isinstance(value, kinds) else f"<a {type(value).__name__}>"

    def play(script):
        tokenizers, results, records = {}, [], []
        for op, name, *arguments in script:
            try:
                if op == "new":
                    tokenizers[name] = cls()
                    record = {}
                elif op == "train":
                    text, options = arguments
                    returned = tokenizers[name].train(text, **options)
                    record = {"train returned self": returned is tokenizers[name], **vocabulary(tokenizers[name])}
                elif op == "encode":
                    before = vocabulary(tokenizers[name])
                    ids = tokenizers[name].encode(arguments[0])
                    record = {"ids": list(ids) if type(ids) is list else inert(ids, tuple),
                              "encode returned a new list": all(ids is not earlier for earlier in results),
                              "encode left the vocabulary unchanged": vocabulary(tokenizers[name]) == before}
                    results.append(ids)
                else:
                    ids = list(arguments[0])
                    text = tokenizers[name].decode(ids)
                    record = {"text": inert(text, str), "decode left ids unchanged": ids == list(arguments[0])}
            except Exception as error:
                records.append({"raised": f"{type(error).__name__}: {error}"[:200]})
                break
            records.append(record)
        return records

    return [play(script) for script in scripts]


FACTS = {  # what a differing fact means, in the learner's words
    "train returned self": "train should return self (the tokenizer itself)",
    "id_to_token's type": "id_to_token should be a list",
    "token_to_id is a dict": "token_to_id should be a dict",
    "encode returned a new list": "encode returned the same list object as an earlier call (a cache returning "
                                  "its own list?): a caller that changes it changes your later results; return "
                                  "a new list",
    "encode left the vocabulary unchanged": "encode changed the vocabulary (id_to_token or token_to_id): a "
                                            "defaultdict or setdefault adds every unknown token",
    "decode left ids unchanged": "decode changed the caller's list `ids` in place",
}


def step_text(cls_name: str, step) -> str:
    op, name, *arguments = step
    if op == "new":
        return f"{name} = {cls_name}()"
    if op == "train":
        text, options = arguments
        return f"{name}.train{Case((text,), options)}"
    return f"{name}.{op}({short(arguments[0], 60)})"


def expect_same_scripts(student, reference, cls_name: str, scripts, facts=None):
    """Play every script on the learner's class (one probe) and on the reference's; the shortest script
    whose records differ fails, at its first differing step. `facts`: only these keys are compared."""
    scripts = sorted(scripts, key=lambda script: len(repr(script)))
    played = probe(student, play_scripts, getattr(student, cls_name), scripts)
    expected_all = play_scripts(getattr(reference, cls_name), scripts)
    for script, got_records, expected_records in zip(scripts, played, expected_all):
        for number, (got, expected) in enumerate(zip_longest(got_records, expected_records, fillvalue={})):
            shown = "; ".join(step_text(cls_name, step) for step in script[:number + 1])
            expect("raised" not in got, f"{shown}: your code raised {got.get('raised')}")
            for fact in (facts or expected):
                if fact not in expected:
                    continue
                if fact in FACTS and got.get(fact) != expected[fact]:
                    detail = f", got {got.get(fact)}" if fact == "id_to_token's type" else ""
                    expect(False, f"{shown}: {FACTS[fact]}{detail}")
                expect_equal(got.get(fact), expected[fact], f"{shown}: {fact}")


def training_text(rng: random.Random, size: int) -> str:
    """Words, numerals, punctuation, special-token text, Unicode whitespace and any plane, with repeats."""
    pieces = [rng.choice(WORD_PIECES) if rng.random() < 0.6 else generators.text(rng, 3) for _ in range(size)]
    words = [rng.choice(pieces) if pieces and rng.random() < 0.4 else piece for piece in pieces]
    return " ".join(words)


# CharTokenizer --------------------------------------------------------------------------------

def char_tokenizer(student, text):
    tokenizer = student.CharTokenizer()
    tokenizer.train(text)
    return tokenizer


def char_scripts(rng: random.Random, count: int) -> list:
    """Train (texts from every plane; every tenth script 300 distinct code points, so ids above 256),
    encode (training text, reversed, new text, special-token text), decode (any valid ids), train
    again, and a second tokenizer trained on other text in between."""
    scripts = []
    for number in range(count):
        script, texts, encoded, vocab_size = [("new", "a")], [], [], None
        for _ in range(rng.randint(1, 5)):
            choice = rng.random()
            if vocab_size is None or choice < 0.2:
                text = "".join(generators.code_point(rng) for _ in range(300)) if number % 10 == 9 else \
                    generators.text(rng, rng.choice([0, 2, 6, 12]))
                script.append(("train", "a", text, {}))
                texts.append(text)
                vocab_size = 4 + len(set(text))
            elif choice < 0.55:
                source = rng.choice(texts)
                text = rng.choice([source, source[::-1], generators.text(rng, 6), "<pad><BOS>" + source[:3]])
                text = rng.choice(encoded) if encoded and rng.random() < 0.4 else text  # again, maybe after training
                script.append(("encode", "a", text))
                encoded.append(text)
            elif choice < 0.85:
                script.append(("decode", "a", [rng.randrange(vocab_size) for _ in range(rng.randint(0, 8))]))
            else:
                script += [("new", "b"), ("train", "b", generators.text(rng, 5), {}),
                           ("encode", "b", rng.choice(texts))]
        scripts.append(script)
    return scripts


@exercise("CharTokenizer", hint="Keep <pad>, <unk>, <bos>, <eos> at ids 0-3 and add the characters after "
                                "them; don't sort the special tokens in with the characters.")
def test_char_special_tokens_keep_ids_0_to_3(student):
    """After training, ids 0-3 are still <pad>, <unk>, <bos>, <eos>."""
    tokenizer = char_tokenizer(student, "~ !AZaz")
    expect_equal(list(tokenizer.id_to_token[:4]), SPECIALS, "id_to_token[:4]")
    expect_equal([tokenizer.token_to_id[s] for s in SPECIALS], [0, 1, 2, 3], "token_to_id of the special tokens")


@exercise("CharTokenizer", weight=2, hint="The first character gets id 4 = len(SPECIAL_TOKENS), with no gap: "
                                          "id 0 is <pad> and must never stand for content (off-by-one?).", broad=True)
def test_char_first_character_gets_id_4(student):
    """Content ids start right after the special tokens: the smallest character gets id 4."""
    tokenizer = char_tokenizer(student, "cab")
    expect_equal(tokenizer.encode("abc"), [4, 5, 6], "encode('abc') after train('cab')")


@exercise("CharTokenizer", weight=2, hint="Order the characters by code point: sorted(set(text)); not by first "
                                          "appearance, and not in set order (which changes between runs).")
def test_char_vocabulary_in_code_point_order(student):
    """The characters follow in code-point order (uppercase before lowercase, emoji last)."""
    text = "zyxwvutsrqponmlkjihgfedcba ZYX 987 🙂 é!"
    tokenizer = char_tokenizer(student, text)
    expect_equal(list(tokenizer.id_to_token), SPECIALS + sorted(set(text)), "id_to_token")


@exercise("CharTokenizer", hint="Order by code point, sorted(set(text)) or key=ord, in every plane: UTF-16 code "
                                "units would put U+10000 and above before U+E000-U+FFFF.")
def test_char_every_plane_in_code_point_order(student):
    """Characters of every plane sort by code point: U+E000-U+FFFF before U+10000 and above."""
    text = "\U0010fffd\uffff\U00010000\ue000\U0001f642\ud7ff a\u00e9\U000e0041\ufeff"
    tokenizer = char_tokenizer(student, text)
    expect_equal(list(tokenizer.id_to_token), SPECIALS + sorted(set(text)), "id_to_token")


@exercise("CharTokenizer", hint="token_to_id must be the exact inverse of id_to_token.")
def test_char_token_to_id_inverts_id_to_token(student):
    """token_to_id[id_to_token[i]] == i for every id."""
    tokenizer = char_tokenizer(student, "hello, world")
    expect_equal({t: i for i, t in enumerate(tokenizer.id_to_token)}, dict(tokenizer.token_to_id), "token_to_id")
    expect_equal(tokenizer.vocab_size, 4 + len(set("hello, world")), "vocab_size")


@exercise("CharTokenizer", hint="id_to_token is a list (the token of each id) and token_to_id a dict, as "
                                "Tokenizer sets them up: not a tuple, not a dict keyed by id.")
def test_char_vocabulary_is_a_list_and_a_dict(student, reference):
    """After training, id_to_token is a list and token_to_id a dict."""
    expect_same_scripts(student, reference, "CharTokenizer", [[("new", "a"), ("train", "a", "bca", {})]],
                        facts=["id_to_token's type", "token_to_id is a dict"])


@exercise("CharTokenizer", weight=2, hint="A character outside the vocabulary becomes UNK_ID (1): "
                                          "token_to_id.get(ch, UNK_ID). Not a KeyError, and not PAD_ID (0).")
def test_char_unknown_character_becomes_unk(student):
    """Characters never seen in training become UNK_ID."""
    tokenizer = char_tokenizer(student, "abc")
    expect_equal(tokenizer.encode("zab?"), [1, 4, 5, 1], "encode('zab?') after train('abc')")


@exercise("CharTokenizer", hint="encode must not change the vocabulary: a defaultdict (or setdefault) adds "
                                "every unknown character to token_to_id; use token_to_id.get(ch, UNK_ID).")
def test_char_encode_leaves_vocabulary_unchanged(student, reference):
    """Encoding unknown characters leaves id_to_token and token_to_id as they were."""
    expect_same_scripts(student, reference, "CharTokenizer",
                        [[("new", "a"), ("train", "a", "abc", {}), ("encode", "a", "xyz a"), ("encode", "a", "q")]],
                        facts=["encode left the vocabulary unchanged"])


@exercise("CharTokenizer", hint="Return a new list from every encode call: a memo that hands out its own "
                                "list lets the caller's changes leak into later results.")
def test_char_encode_returns_a_new_list(student, reference):
    """Encoding the same text twice gives two separate lists."""
    expect_same_scripts(student, reference, "CharTokenizer",
                        [[("new", "a"), ("train", "a", "ab", {}), ("encode", "a", "ab"), ("encode", "a", "ab")]],
                        facts=["encode returned a new list"])


@exercise("CharTokenizer", hint="encode must read the current vocabulary: a cache keyed on the text alone, or "
                                "shared by every tokenizer (a class attribute), returns stale ids after "
                                "training again or from another tokenizer.")
def test_char_encode_uses_current_vocabulary(student, reference):
    """The same text encoded before and after training again, and by a second tokenizer, uses the vocabulary
    of that tokenizer at that time."""
    expect_same_scripts(student, reference, "CharTokenizer", [
        [("new", "a"), ("train", "a", "abc", {}), ("encode", "a", "cab"), ("train", "a", "zyx cba", {}),
         ("encode", "a", "cab")],
        [("new", "a"), ("train", "a", "abc", {}), ("encode", "a", "bad"), ("new", "b"), ("train", "b", "dcb", {}),
         ("encode", "b", "bad"), ("encode", "a", "bad")],
    ], facts=["ids"])


@exercise("CharTokenizer", hint="Decode every id with id_to_token; special ids write their names such as "
                                "'<unk>' and '<eos>'.")
def test_char_decode_writes_special_names(student):
    """decode writes special tokens by name."""
    tokenizer = char_tokenizer(student, "ab")
    expect_equal(tokenizer.decode([5, 1, 4, 3, 0]), "b<unk>a<eos><pad>")


@exercise("CharTokenizer", hint="decode must read `ids` without changing it: don't pop from the caller's list "
                                "or change it in place.")
def test_char_decode_leaves_ids_unchanged(student, reference):
    """decode leaves the caller's list of ids as it was."""
    expect_same_scripts(student, reference, "CharTokenizer",
                        [[("new", "a"), ("train", "a", "hello", {}), ("decode", "a", [5, 4, 6, 6, 7, 3])]],
                        facts=["decode left ids unchanged", "text"])


@exercise("CharTokenizer", weight=2, hint="One token per code point: emoji, CJK and combining marks included.")
def test_char_round_trip_with_unicode(student):
    """A text with CJK, emoji, a joiner and a combining mark round-trips."""
    text = "日本語 👩\u200d💻 cafe\u0301\n\t"
    tokenizer = char_tokenizer(student, text)
    expect_equal(tokenizer.decode(tokenizer.encode(text)), text)
    expect_equal(len(tokenizer.encode(text)), len(text), "the number of ids")


@exercise("CharTokenizer", hint="train must build the vocabulary from scratch: training again replaces it "
                                "(don't append to the old one).")
def test_char_training_again_replaces_vocabulary(student):
    """A second train() replaces the first vocabulary."""
    tokenizer = char_tokenizer(student, "abc")
    tokenizer.train("yx")
    expect_equal(list(tokenizer.id_to_token), SPECIALS + ["x", "y"], "id_to_token after train('abc'), train('yx')")
    expect_equal(tokenizer.encode("a"), [1], "encode('a') after the second training")


@exercise("CharTokenizer", hint="End train with `return self`.")
def test_char_train_returns_self(student):
    """train returns the tokenizer itself."""
    tokenizer = student.CharTokenizer()
    expect(tokenizer.train("ab") is tokenizer, "train(...) should return self")


@exercise("CharTokenizer", hint="Empty training text: only the special tokens; encode('') is [].")
def test_char_empty_text(student):
    """Trained on '', the vocabulary is the special tokens; any character is unknown."""
    tokenizer = char_tokenizer(student, "")
    expect_equal(tokenizer.vocab_size, 4, "vocab_size")
    expect_equal(tokenizer.encode(""), [], "encode('')")
    expect_equal(tokenizer.encode("q"), [1], "encode('q')")


@exercise("CharTokenizer", hint="The text '<pad>' is five characters, never the special token.")
def test_char_special_token_text_is_content(student):
    """The text '<bos>' encodes as five characters, not as BOS_ID."""
    tokenizer = char_tokenizer(student, "<bos> is text")
    ids = tokenizer.encode("<bos>")
    expect(len(ids) == 5 and min(ids) >= 4, f"encode('<bos>') should be 5 content ids (>= 4), got {ids}")


@exercise("CharTokenizer", weight=2, hint="Specials at 0-3, sorted characters from 4, UNK_ID for the rest.", broad=True)
def test_char_matches_reference_on_docs(student, reference):
    """Trained on Python's docs: the same vocabulary and ids as the reference on held-out text."""
    train, heldout = real_text(8_000), real_text(10_000)[8_000:] + " Zoé 🙂"
    tokenizer, expected = char_tokenizer(student, train), reference.CharTokenizer().train(train)
    expect_equal(list(tokenizer.id_to_token), expected.id_to_token, "id_to_token")
    expect_equal(tokenizer.encode(heldout), expected.encode(heldout), "encode(held-out text)")


@exercise("CharTokenizer", weight=2, hint="Follow the rules for any text: specials at 0-3, every distinct "
                                          "character in code-point order from 4, UNK_ID for unknown characters, "
                                          "decode by id_to_token, training again from scratch.", broad=True)
def test_char_matches_reference_on_scripts(student, reference):
    """60 scripts of train / encode / decode / train again / a second tokenizer, on text from every plane
    (ids above 256 included): the same vocabulary, ids and text as the reference."""
    expect_same_scripts(student, reference, "CharTokenizer", char_scripts(random.Random(103), 60))


# split_words ----------------------------------------------------------------------------------

def split_cases(rng: random.Random) -> list:
    """Texts mixing words, numerals, punctuation runs, Unicode whitespace, format characters and any plane."""
    texts = ["", " ", *WORD_PIECES, *generators.TRICKY_CHARACTERS, NUMERALS, PLANES]
    texts += [generators.text(rng, size) for size in (3, 10) for _ in range(40)]
    texts += ["".join(rng.choice(WORD_PIECES) for _ in range(rng.randint(1, 8))) for _ in range(60)]
    return [(text,) for text in texts]


@exercise("split_words", weight=2, hint="Keep punctuation as tokens of its own: don't drop it, and don't leave "
                                        "it glued to the word (text.split() does).", broad=True)
def test_split_words_keeps_punctuation_separate(student):
    """Punctuation becomes separate tokens."""
    expect_equal(student.split_words("Stop; go (now)."), ["Stop", ";", "go", "(", "now", ")", "."])


@exercise("split_words", hint="Every punctuation character is a token by itself: '?!' gives '?', '!'.")
def test_split_words_one_token_per_punctuation_character(student):
    """A run of punctuation gives one token per character."""
    expect_equal(student.split_words("Wait...?!"), ["Wait", ".", ".", ".", "?", "!"])


@exercise("split_words", hint="Digits and underscores are word characters (\\w): 'x_1' and '2024' are words.")
def test_split_words_digits_and_underscore_are_word_characters(student):
    """Digits and underscores belong to words."""
    expect_equal(student.split_words("x_1 = 2024 + 3.5"), ["x_1", "=", "2024", "+", "3", ".", "5"])


@exercise("split_words", hint="Numerals of every script are word characters (\\w, str.isalnum()): ½, ⅔, Ⅻ, ² and "
                              "the Arabic-Indic ٣٤ belong to words; str.isdigit() and [0-9] miss some of them.")
def test_split_words_numerals_are_word_characters(student):
    """Fractions, Roman numerals, superscripts and digits of other scripts belong to words."""
    expect_equal(student.split_words(NUMERALS), ["1½", "cup", ",", "Ⅻth", "o", "'", "clock", ",", "٣٤", "and", "x²",
                                                 "or", "2⅔"], f"split_words({NUMERALS!r})")


@exercise("split_words", weight=2, hint="Letters of any script are word characters: use \\w (Unicode-aware), "
                                        "not [A-Za-z0-9].")
def test_split_words_unicode_letters(student):
    """Accented, CJK and Cyrillic letters belong to words."""
    expect_equal(student.split_words("Zoé naïve 日本語 привет"), ["Zoé", "naïve", "日本語", "привет"])


@exercise("split_words", hint="An emoji is neither a word character nor whitespace: a token by itself.")
def test_split_words_emoji_are_tokens(student):
    """Emoji are single tokens, even next to a word."""
    expect_equal(student.split_words("hi🙂! 🎉🎉"), ["hi", "🙂", "!", "🎉", "🎉"])


@exercise("split_words", hint="A zero-width joiner (U+200D) or a byte-order mark (U+FEFF) is not whitespace "
                              "and not a word character: a token by itself, never dropped.")
def test_split_words_format_characters_are_tokens(student):
    """A zero-width joiner and a byte-order mark are tokens of their own."""
    expect_equal(student.split_words("\ufeffa\u200db 👩\u200d💻"),
                 ["\ufeff", "a", "\u200d", "b", "👩", "\u200d", "💻"])


@exercise("split_words", weight=2, hint="Whitespace only separates tokens: don't return spaces, tabs or newlines.")
def test_split_words_drops_whitespace(student):
    """Spaces, tabs, newlines and a no-break space are dropped."""
    expect_equal(student.split_words("\ta  b\n\n c\u00a0d \r\n"), ["a", "b", "c", "d"])


@exercise("split_words", hint="The empty text and pure whitespace give [].")
def test_split_words_empty(student):
    """'' and '  \\n' give []."""
    expect_equal(student.split_words(""), [], "split_words('')")
    expect_equal(student.split_words("  \n"), [], "split_words('  \\n')")


@exercise("split_words", hint="Use Python's re module: its \\w does not match a combining mark, so the mark "
                              "is a token of its own. Don't change case or normalise.")
def test_split_words_combining_mark_and_case(student):
    """Case is kept, and a combining mark after a word is a token by itself."""
    expect_equal(student.split_words("Cafe\u0301 CAFE"), ["Cafe", "\u0301", "CAFE"])


@exercise("split_words", weight=2, hint="Words = runs of \\w, every other non-space character alone.", broad=True)
def test_split_words_matches_reference_on_docs(student, reference):
    """Python's docs and stories: the same tokens as the reference."""
    text = real_text(20_000)[-6_000:] + generate_text(2_000, seed=23)
    expect_equal(student.split_words(text), reference.split_words(text))


@exercise("split_words", weight=2, hint="Words are maximal runs of \\w (letters, digits, numerals, underscore of "
                                        "any script); every other character that is not \\s (Unicode whitespace) "
                                        "is a token by itself.", broad=True)
def test_split_words_matches_reference_on_generated_text(student, reference):
    """200 generated texts (numerals, Unicode whitespace, format characters, special-token text, every plane):
    the same tokens as the reference."""
    expect_same_as_reference(student.split_words, reference.split_words, split_cases(random.Random(104)),
                             "split_words")


@exercise("split_words", hint="Return a new list in every call: a mutable default argument (tokens=[]), a "
                              "module-level list or an lru_cache makes results depend on, or change with, earlier "
                              "calls.")
def test_split_words_calls_are_independent(student, reference):
    """Several calls in a row (the same text twice): each result is right and a list of its own."""
    expect_independent_calls(student, reference, "split_words",
                             [("Hi, you!",), ("",), ("a b",), ("Hi, you!",)])


# WordTokenizer --------------------------------------------------------------------------------

def word_tokenizer(student, text, **options):
    tokenizer = student.WordTokenizer()
    tokenizer.train(text, **options)
    return tokenizer


def many_words(rng: random.Random) -> str:
    """About 320 distinct words seen 1 to 3 times, shuffled: a vocabulary with ids above 256."""
    words = [f"{rng.choice(['w', 'Zoé', '日本', 'x_'])}{i}" for i in range(320)]
    text = [word for word in words for _ in range(rng.randint(1, 3))]
    rng.shuffle(text)
    return " ".join(text)


def word_scripts(rng: random.Random, reference, count: int) -> list:
    """Train with min_freq and max_size alone, combined and at their boundaries (max_size=4; empty text
    with options; every tenth script a 320-word vocabulary), encode (training text, new text, special-token
    text in several cases), decode (any valid ids), train again, and a second tokenizer in between."""
    scripts = []
    for number in range(count):
        script, texts, encoded, vocab_size = [("new", "a")], [], [], None
        for _ in range(rng.randint(1, 5)):
            choice = rng.random()
            if vocab_size is None or choice < 0.25:
                text = many_words(rng) if number % 10 == 9 else training_text(rng, rng.choice([0, 3, 10, 25]))
                options = {}
                if rng.random() < 0.6:
                    options["min_freq"] = rng.choice([1, 2, 3])
                if rng.random() < 0.6:
                    options["max_size"] = rng.choice([4, 5, 6, 9, 15, 300])
                script.append(("train", "a", text, options))
                texts.append(text)
                vocab_size = reference.WordTokenizer().train(text, **options).vocab_size
            elif choice < 0.55:
                source = rng.choice(texts)
                text = rng.choice([source, source[::-1], training_text(rng, 6), "<bos> the <PAD> <Eos>"])
                text = rng.choice(encoded) if encoded and rng.random() < 0.4 else text  # again, maybe after training
                script.append(("encode", "a", text))
                encoded.append(text)
            elif choice < 0.85:
                script.append(("decode", "a", [rng.randrange(vocab_size) for _ in range(rng.randint(0, 8))]))
            else:
                script += [("new", "b"), ("train", "b", training_text(rng, 6), {}), ("encode", "b", rng.choice(texts))]
        scripts.append(script)
    return scripts


@exercise("WordTokenizer", weight=2, hint="Order the vocabulary by count, most frequent first: "
                                          "sorted by (-count, word).", broad=True)
def test_word_vocabulary_most_frequent_first(student):
    """The most frequent token gets id 4, the next one id 5, ..."""
    tokenizer = word_tokenizer(student, "b a c b a b ! ! ! !")
    expect_equal(list(tokenizer.id_to_token[4:]), ["!", "b", "a", "c"], "id_to_token[4:]")


@exercise("WordTokenizer", weight=2, hint="Ties (equal counts) go in code-point order of the word: sorted by "
                                          "(-count, word). Counter.most_common keeps first-appearance order.")
def test_word_ties_in_code_point_order(student):
    """Equal counts are ordered by the word's code points (uppercase first)."""
    tokenizer = word_tokenizer(student, "pear Fig apple fig pear Fig apple fig")
    expect_equal(list(tokenizer.id_to_token[4:]), ["Fig", "apple", "fig", "pear"], "id_to_token[4:]")


@exercise("WordTokenizer", hint="Keep <pad>, <unk>, <bos>, <eos> at ids 0-3; words start at id 4, so PAD "
                                "never shares an id with content.")
def test_word_special_tokens_keep_ids_0_to_3(student):
    """Special tokens keep ids 0-3; the most frequent word gets id 4."""
    tokenizer = word_tokenizer(student, "one two two")
    expect_equal(list(tokenizer.id_to_token[:4]), SPECIALS, "id_to_token[:4]")
    expect_equal(tokenizer.encode("two one"), [4, 5], "encode('two one')")


@exercise("WordTokenizer", hint="token_to_id must be the exact inverse of id_to_token.")
def test_word_token_to_id_inverts_id_to_token(student):
    """token_to_id[id_to_token[i]] == i for every id."""
    tokenizer = word_tokenizer(student, "to be, or not to be: that is the question.")
    expect_equal({t: i for i, t in enumerate(tokenizer.id_to_token)}, dict(tokenizer.token_to_id), "token_to_id")


@exercise("WordTokenizer", hint="id_to_token is a list (the token of each id) and token_to_id a dict, as "
                                "Tokenizer sets them up: not a tuple, not a dict keyed by id.")
def test_word_vocabulary_is_a_list_and_a_dict(student, reference):
    """After training, id_to_token is a list and token_to_id a dict."""
    expect_same_scripts(student, reference, "WordTokenizer", [[("new", "a"), ("train", "a", "b a b", {})]],
                        facts=["id_to_token's type", "token_to_id is a dict"])


@exercise("WordTokenizer", weight=2, hint="min_freq keeps words that occur AT LEAST min_freq times (count >= "
                                          "min_freq).")
def test_word_min_freq_is_inclusive(student):
    """min_freq=2 keeps words seen exactly twice and drops words seen once."""
    tokenizer = word_tokenizer(student, "a a a b b c d d e", min_freq=2)
    expect_equal(list(tokenizer.id_to_token[4:]), ["a", "b", "d"], "id_to_token[4:] with min_freq=2")


@exercise("WordTokenizer", weight=2, hint="max_size is the TOTAL vocabulary size, special tokens included: keep "
                                          "the max_size - 4 most frequent words.")
def test_word_max_size_counts_special_tokens(student):
    """max_size=7 gives 7 entries: 4 special tokens and the 3 most frequent words."""
    tokenizer = word_tokenizer(student, "a a a a b b b c c d e f", max_size=7)
    expect_equal(list(tokenizer.id_to_token), SPECIALS + ["a", "b", "c"], "id_to_token with max_size=7")


@exercise("WordTokenizer", hint="A max_size larger than the number of words keeps every word.")
def test_word_large_max_size_keeps_everything(student):
    """max_size larger than needed changes nothing."""
    tokenizer = word_tokenizer(student, "x y y", max_size=100)
    expect_equal(list(tokenizer.id_to_token), SPECIALS + ["y", "x"], "id_to_token with max_size=100")


@exercise("WordTokenizer", hint="max_size=4 leaves room for the special tokens only: no words at all (a slice "
                                "words[:max_size - 4 or None] keeps them all).")
def test_word_max_size_4_keeps_special_tokens_only(student):
    """max_size=4, the smallest allowed: the special tokens only; every word becomes UNK_ID."""
    tokenizer = word_tokenizer(student, "x y y", max_size=4)
    expect_equal(list(tokenizer.id_to_token), SPECIALS, "id_to_token with max_size=4")
    expect_equal(tokenizer.encode("y x"), [1, 1], "encode('y x') with max_size=4")


@exercise("WordTokenizer", weight=2, hint="Apply both options when both are given: min_freq drops the rare "
                                          "words, and max_size caps what is left (not one or the other).")
def test_word_min_freq_and_max_size_together(student):
    """min_freq and max_size together: both apply."""
    text = "a a a b b b c c d e"
    expect_equal(list(word_tokenizer(student, text, min_freq=2, max_size=100).id_to_token[4:]), ["a", "b", "c"],
                 "id_to_token[4:] with min_freq=2, max_size=100")
    expect_equal(list(word_tokenizer(student, text, min_freq=3, max_size=5).id_to_token[4:]), ["a"],
                 "id_to_token[4:] with min_freq=3, max_size=5")


@exercise("WordTokenizer", weight=2, hint="A token outside the vocabulary becomes UNK_ID (1): "
                                          "token_to_id.get(word, UNK_ID). Not a KeyError, and not PAD_ID (0).")
def test_word_unknown_words_become_unk(student):
    """Words never seen in training become UNK_ID, including a text of unknown words only."""
    tokenizer = word_tokenizer(student, "the cat sat")
    expect_equal(tokenizer.encode("the dog sat"), [6, 1, 5], "encode('the dog sat')")
    expect_equal(tokenizer.encode("Dogs bark!"), [1, 1, 1], "encode('Dogs bark!')")


@exercise("WordTokenizer", weight=2, hint="Cut text with split_words, in train and in encode (not str.split): "
                                          "punctuation is a token of its own.")
def test_word_uses_split_words(student):
    """Punctuation is separate from words, in training and encoding."""
    tokenizer = word_tokenizer(student, "Yes, no. Yes!")
    expect_equal(list(tokenizer.id_to_token[4:]), ["Yes", "!", ",", ".", "no"], "id_to_token[4:]")
    expect_equal(tokenizer.encode("no, Yes."), [8, 6, 4, 7], "encode('no, Yes.')")


@exercise("WordTokenizer", hint="Special ids are never produced by encoding text: the text '<bos>' (in any case) "
                                "is the three tokens '<', 'bos', '>'; special ids are added by code "
                                "(add_special_tokens).")
def test_word_special_token_text_is_ordinary(student, reference):
    """The texts '<bos>', '<PAD>' and '<Eos>' are ordinary tokens '<', 'bos', '>'..., never special ids."""
    train, text = "< pad > bos eos PAD Eos < >", "<bos> <PAD> hi <Eos> <pad>"
    got = word_tokenizer(student, train).encode(text)
    expect_equal(got, reference.WordTokenizer().train(train).encode(text), f"encode({text!r}) after train({train!r})")


@exercise("WordTokenizer", hint="encode must not change the vocabulary: a defaultdict (or setdefault) adds "
                                "every unknown word to token_to_id; use token_to_id.get(word, UNK_ID).")
def test_word_encode_leaves_vocabulary_unchanged(student, reference):
    """Encoding unknown words leaves id_to_token and token_to_id as they were."""
    expect_same_scripts(student, reference, "WordTokenizer",
                        [[("new", "a"), ("train", "a", "a b b", {}), ("encode", "a", "c a d"), ("encode", "a", "e")]],
                        facts=["encode left the vocabulary unchanged"])


@exercise("WordTokenizer", hint="Return a new list from every encode call: a memo that hands out its own "
                                "list lets the caller's changes leak into later results.")
def test_word_encode_returns_a_new_list(student, reference):
    """Encoding the same text twice gives two separate lists."""
    expect_same_scripts(student, reference, "WordTokenizer",
                        [[("new", "a"), ("train", "a", "a b", {}), ("encode", "a", "a b"), ("encode", "a", "a b")]],
                        facts=["encode returned a new list"])


@exercise("WordTokenizer", hint="encode must read the current vocabulary: a cache keyed on the text alone, or "
                                "shared by every tokenizer (a class attribute), returns stale ids after "
                                "training again or from another tokenizer.")
def test_word_encode_uses_current_vocabulary(student, reference):
    """The same text encoded before and after training again, and by a second tokenizer, uses the vocabulary
    of that tokenizer at that time."""
    expect_same_scripts(student, reference, "WordTokenizer", [
        [("new", "a"), ("train", "a", "x y y", {}), ("encode", "a", "y x z"), ("train", "a", "z z z x", {}),
         ("encode", "a", "y x z")],
        [("new", "a"), ("train", "a", "x y y", {}), ("encode", "a", "x y"), ("new", "b"), ("train", "b", "x x y", {}),
         ("encode", "b", "x y"), ("encode", "a", "x y")],
    ], facts=["ids"])


@exercise("WordTokenizer", weight=2, hint="decode joins the tokens with a single space ' '.join(...), special "
                                          "ids written by name.")
def test_word_decode_joins_with_single_spaces(student):
    """decode joins tokens with single spaces and writes special tokens by name."""
    tokenizer = word_tokenizer(student, "hello , world")
    expect_equal(tokenizer.decode([2, 5, 4, 6, 1, 3]), "<bos> hello , world <unk> <eos>")


@exercise("WordTokenizer", hint="decode writes every special id by name, <pad> included: don't skip padding.")
def test_word_decode_writes_pad(student):
    """decode writes PAD_ID as '<pad>' too."""
    tokenizer = word_tokenizer(student, "hi there hi")
    expect_equal(tokenizer.decode([0, 4, 0, 0]), "<pad> hi <pad> <pad>", "decode([0, 4, 0, 0])")


@exercise("WordTokenizer", hint="decode must read `ids` without changing it: don't pop from the caller's list "
                                "or change it in place.")
def test_word_decode_leaves_ids_unchanged(student, reference):
    """decode leaves the caller's list of ids as it was."""
    expect_same_scripts(student, reference, "WordTokenizer",
                        [[("new", "a"), ("train", "a", "hi there hi", {}), ("decode", "a", [2, 4, 5, 3])]],
                        facts=["decode left ids unchanged", "text"])


@exercise("WordTokenizer", hint="Text already in normal form (tokens separated by single spaces, all known) "
                                "must come back exactly.")
def test_word_round_trip_of_normal_form(student):
    """Text in normal form round-trips; other text comes back in normal form."""
    tokenizer = word_tokenizer(student, "Zoé 's cat : 42 🙂 .")
    expect_equal(tokenizer.decode(tokenizer.encode("42 cat 🙂 : Zoé ' s .")), "42 cat 🙂 : Zoé ' s .")
    expect_equal(tokenizer.decode(tokenizer.encode("  Zoé's\ncat:42.")), "Zoé ' s cat : 42 .")


@exercise("WordTokenizer", hint="train must build the vocabulary from scratch: training again replaces it.")
def test_word_training_again_replaces_vocabulary(student):
    """A second train() replaces the first vocabulary."""
    tokenizer = word_tokenizer(student, "old words here")
    tokenizer.train("new new")
    expect_equal(list(tokenizer.id_to_token), SPECIALS + ["new"], "id_to_token after training twice")


@exercise("WordTokenizer", hint="End train with `return self`.")
def test_word_train_returns_self(student):
    """train returns the tokenizer itself."""
    tokenizer = student.WordTokenizer()
    expect(tokenizer.train("a b") is tokenizer, "train(...) should return self")


@exercise("WordTokenizer", hint="Empty training text: only the special tokens.")
def test_word_empty_text(student):
    """Trained on '', the vocabulary is the special tokens."""
    tokenizer = word_tokenizer(student, "")
    expect_equal(tokenizer.vocab_size, 4, "vocab_size")
    expect_equal(tokenizer.encode(""), [], "encode('')")


@exercise("WordTokenizer", weight=3, hint="Check the order (-count, word), min_freq (>=) and max_size "
                                          "(special tokens included).", broad=True)
def test_word_matches_reference_on_docs(student, reference):
    """Python's docs, min_freq=2 and max_size=300: the same vocabulary and ids as the reference."""
    train, heldout = real_text(40_000), real_text(46_000)[40_000:]
    tokenizer = word_tokenizer(student, train, min_freq=2, max_size=300)
    expected = reference.WordTokenizer().train(train, min_freq=2, max_size=300)
    expect_equal(list(tokenizer.id_to_token), expected.id_to_token, "id_to_token")
    expect_equal(tokenizer.encode(heldout), expected.encode(heldout), "encode(held-out text)")


@exercise("WordTokenizer", weight=3, hint="Follow the rules for any text and options: split_words, count, keep "
                                          "count >= min_freq, order by (-count, word), cap the total at max_size "
                                          "(special tokens included), UNK_ID for unknown tokens, decode with single "
                                          "spaces, training again from scratch.", broad=True)
def test_word_matches_reference_on_scripts(student, reference):
    """60 scripts of train (min_freq and max_size alone and combined, max_size=4, empty text) / encode /
    decode / train again / a second tokenizer, ids above 256 included: the same as the reference."""
    expect_same_scripts(student, reference, "WordTokenizer", word_scripts(random.Random(105), reference, 60))


# add_special_tokens ---------------------------------------------------------------------------

def special_cases(rng: random.Random) -> list:
    """Ids of any size (single digits such as BOS_ID and EOS_ID themselves, bytes, above 256, five digits),
    empty ids, and max_len None, negative, 0, 1, 2, around the length, and large."""
    cases = []
    for _ in range(150):
        ids = generators.token_ids(rng, rng.choice([0, 3, 10]))
        max_len = rng.choice([None, None, -3, -1, 0, 1, 2, 3, len(ids) + 1, len(ids) + 2, len(ids) + 3, 40])
        cases.append(Case((ids,)) if max_len is None and rng.random() < 0.5 else Case((ids,), {"max_len": max_len}))
    return cases


@exercise("add_special_tokens", weight=2, hint="Start with BOS_ID (2) and end with EOS_ID (3): "
                                               "[BOS_ID] + ids + [EOS_ID].")
def test_add_special_tokens_wraps(student):
    """BOS_ID first, EOS_ID last."""
    expect_equal(student.add_special_tokens([40, 41]), [2, 40, 41, 3])


@exercise("add_special_tokens", hint="An empty sequence still gets BOS_ID and EOS_ID.")
def test_add_special_tokens_empty(student):
    """[] gives [BOS_ID, EOS_ID]."""
    expect_equal(student.add_special_tokens([]), [2, 3])


@exercise("add_special_tokens", hint="Always wrap: content that already starts with BOS_ID or ends with EOS_ID "
                                     "is content, and still gets a BOS_ID and an EOS_ID of its own.")
def test_add_special_tokens_wraps_content_that_looks_special(student):
    """Content ids equal to BOS_ID or EOS_ID are wrapped like any others."""
    expect_equal(student.add_special_tokens([2, 7, 3]), [2, 2, 7, 3, 3], "add_special_tokens([2, 7, 3])")
    expect_equal(student.add_special_tokens([3, 2], max_len=4), [2, 3, 2, 3], "add_special_tokens([3, 2], max_len=4)")


@exercise("add_special_tokens", hint="Ids are any ints, not bytes: ids above 255 (50256, 99999) pass through "
                                     "unchanged.")
def test_add_special_tokens_large_ids(student):
    """Ids above 255, with five digits, are kept as they are."""
    expect_equal(student.add_special_tokens([255, 256, 50256, 99999]), [2, 255, 256, 50256, 99999, 3])
    expect_equal(student.add_special_tokens([50256, 70000, 1], max_len=4), [2, 50256, 70000, 3], "max_len=4")


@exercise("add_special_tokens", weight=2, hint="Truncate the content to its first max_len - 2 ids BEFORE wrapping, "
                                               "so the result always ends with EOS_ID.")
def test_add_special_tokens_truncation_keeps_eos(student):
    """Truncation keeps BOS_ID and EOS_ID and the first max_len - 2 content ids."""
    expect_equal(student.add_special_tokens(list(range(10, 20)), max_len=5), [2, 10, 11, 12, 3])
    expect_equal(student.add_special_tokens([7, 8, 9], max_len=2), [2, 3], "max_len=2")


@exercise("add_special_tokens", hint="When the wrapped sequence fits in max_len exactly, keep every id "
                                     "(max_len - 2 content ids, not max_len - 1 or max_len - 3).")
def test_add_special_tokens_exact_fit(student):
    """A sequence that fits exactly is not cut."""
    expect_equal(student.add_special_tokens([5, 6, 7], max_len=5), [2, 5, 6, 7, 3])
    expect_equal(student.add_special_tokens([5, 6, 7], max_len=9), [2, 5, 6, 7, 3], "max_len=9")


@exercise("add_special_tokens", hint="max_len below 2 cannot hold BOS_ID and EOS_ID: raise ValueError, for a "
                                     "negative max_len and for empty ids too (check max_len first).")
def test_add_special_tokens_rejects_tiny_max_len(student):
    """max_len=1, 0 and -1 raise ValueError, also for empty ids."""
    for ids, max_len in (([5], 1), ([5], 0), ([5, 6, 7, 8], -1), ([], 1), ([], 0)):
        expect(raises_value_error(lambda: student.add_special_tokens(ids, max_len=max_len)),
               f"add_special_tokens({ids}, max_len={max_len}) should raise ValueError")


@exercise("add_special_tokens", hint="Build and return a new list; leave `ids` as it was (never change it in "
                                     "place), with or without max_len.")
def test_add_special_tokens_leaves_input_unchanged(student, reference):
    """The input list is not modified, with or without max_len."""
    for kwargs in ({"max_len": 4}, {}):
        call = observe(student.add_special_tokens, [9, 8, 7, 6], **kwargs)
        shown = f"add_special_tokens([9, 8, 7, 6]{', max_len=4' if kwargs else ''})"
        expect_proven(not call.changed, f"{shown} changed the caller's list `ids` in place")
        expect_proven(call.returned_argument is None, f"{shown} returned the caller's list `ids` itself, not a new list")
        with judged_only_if_right():
            expect_equal(call.result, reference.add_special_tokens([9, 8, 7, 6], **kwargs), shown)


@exercise("add_special_tokens", weight=2, hint="[BOS_ID] + the first max_len - 2 ids (all of them without "
                                               "max_len) + [EOS_ID], for any ids; ValueError for max_len < 2; a new "
                                               "list, the input unchanged.", broad=True)
def test_add_special_tokens_matches_reference_on_generated_ids(student, reference):
    """150 generated id lists (ids 0-9 and above 256, empty) with max_len None, negative, 0-3, around the
    length: the same result or ValueError as the reference, the input unchanged."""
    expect_same_as_reference(student.add_special_tokens, reference.add_special_tokens,
                             special_cases(random.Random(106)), "add_special_tokens")


@exercise("add_special_tokens", hint="Build a new list in every call: a mutable default argument or a "
                                     "module-level list makes results depend on, or change with, earlier calls.")
def test_add_special_tokens_calls_are_independent(student, reference):
    """Several calls in a row: each result is right and a list of its own."""
    expect_independent_calls(student, reference, "add_special_tokens",
                             [([7, 8],), Case(([],), {"max_len": 2}), ([9],), ([7, 8],)])


# pad_batch ------------------------------------------------------------------------------------

def pad(student, *args, **kwargs):
    result = student.pad_batch(*args, **kwargs)
    expect(isinstance(result, tuple) and len(result) == 2, "pad_batch should return (input_ids, attention_mask)")
    input_ids, attention_mask = result
    expect(isinstance(input_ids, torch.Tensor) and isinstance(attention_mask, torch.Tensor),
           f"pad_batch should return two torch tensors, got {type(input_ids).__name__}, "
           f"{type(attention_mask).__name__}")
    return input_ids.tolist(), attention_mask.tolist()


def same_padding(got, expected, what: str):
    """(input_ids, attention_mask): two tensors with the reference's dtype, shape and values."""
    expect(isinstance(got, tuple) and len(got) == 2,
           f"{what}: pad_batch should return a tuple (input_ids, attention_mask), got {short_type(got)}")
    for name, tensor, reference_tensor in zip(("input_ids", "attention_mask"), got, expected):
        expect(isinstance(tensor, torch.Tensor), f"{what}: {name} should be a torch tensor, got {short_type(tensor)}")
        expect(tensor.dtype == reference_tensor.dtype,
               f"{what}: {name}.dtype should be {reference_tensor.dtype}, got {tensor.dtype}")
        expect_equal(tuple(tensor.shape), tuple(reference_tensor.shape), f"{what}: {name}.shape")
        expect_equal(tensor.tolist(), reference_tensor.tolist(), f"{what}: {name}")


def short_type(value) -> str:
    return type(value).__name__


def pad_cases(rng: random.Random) -> list:
    """Batches of 1-4 sequences of ids of any size (empty ones too), pad_id 0, -100, 50256 or an id of the
    batch, max_len None, 0, 1, around the longest and large, both sides; invalid sides (case variants,
    '', 'center') and empty batches with and without max_len."""
    cases = []
    for _ in range(100):
        batch = [generators.token_ids(rng, rng.choice([0, 2, 5])) for _ in range(rng.randint(1, 4))]
        longest = max(len(sequence) for sequence in batch)
        pad_id = rng.choice([0, -100, 50256, rng.choice([i for s in batch for i in s] or [7])])
        kwargs = {"max_len": rng.choice([None, 0, 1, max(longest - 1, 1), longest, longest + 2, 12]),
                  "side": rng.choice(["left", "right"])}
        cases.append(Case((batch, pad_id), {k: v for k, v in kwargs.items() if v is not None or rng.random() < 0.5}))
    for side in ("Left", "RIGHT", "", "center", " right"):
        cases.append(Case(([[1, 2], [3]], 0), {"side": side}))
    for kwargs in ({}, {"max_len": 3}, {"side": "left", "max_len": 0}):
        cases.append(Case(([], 0), kwargs))
    return cases


@exercise("pad_batch", weight=2, hint="side='right': the ids first, then pad_id up to the longest length.", broad=True)
def test_pad_batch_right_padding(student):
    """Right padding puts the ids first and pad_id after them."""
    ids, _ = pad(student, [[11], [12, 13, 14, 15], [16, 17]], 9)
    expect_equal(ids, [[11, 9, 9, 9], [12, 13, 14, 15], [16, 17, 9, 9]], "input_ids")


@exercise("pad_batch", weight=2, hint="The attention mask is 1 for a real token and 0 for padding (is it "
                                      "inverted?).")
def test_pad_batch_mask_marks_real_tokens(student):
    """The mask is 1 on real tokens and 0 on padding."""
    _, mask = pad(student, [[11], [12, 13, 14, 15], [16, 17]], 9)
    expect_equal(mask, [[1, 0, 0, 0], [1, 1, 1, 1], [1, 1, 0, 0]], "attention_mask")


@exercise("pad_batch", weight=2, hint="side='left' puts the padding first and the ids at the end of the row "
                                      "(left and right swapped?).")
def test_pad_batch_left_padding(student):
    """Left padding puts pad_id first and the ids at the end; the mask follows."""
    ids, mask = pad(student, [[11], [12, 13, 14, 15], [16, 17]], 9, side="left")
    expect_equal(ids, [[9, 9, 9, 11], [12, 13, 14, 15], [9, 9, 16, 17]], "input_ids")
    expect_equal(mask, [[0, 0, 0, 1], [1, 1, 1, 1], [0, 0, 1, 1]], "attention_mask")


@exercise("pad_batch", weight=2, hint="Build the mask from the sequence lengths, not from ids != pad_id: "
                                      "a real token may have the value pad_id.")
def test_pad_batch_mask_comes_from_lengths(student):
    """A real token equal to pad_id is still marked 1 in the mask."""
    ids, mask = pad(student, [[50, 0, 50], [0]], 0)
    expect_equal(ids, [[50, 0, 50], [0, 0, 0]], "input_ids")
    expect_equal(mask, [[1, 1, 1], [1, 0, 0]], "attention_mask")


@exercise("pad_batch", hint="Fill with the pad_id argument, not with 0 or PAD_ID.")
def test_pad_batch_uses_pad_id(student):
    """Padding uses the given pad_id."""
    ids, _ = pad(student, [[1, 2], [3]], -100)
    expect_equal(ids, [[1, 2], [3, -100]], "input_ids with pad_id=-100")


@exercise("pad_batch", hint="Ids of any size must survive exactly: ids above 32,767 (GPT-2's 50256) overflow a "
                            "smaller dtype such as int16; build the tensors as int64 from the start.")
def test_pad_batch_large_ids(student):
    """Ids and a pad_id above 32,767 (GPT-2's 50256, 99999) are kept exactly."""
    ids, _ = pad(student, [[50256, 99999, 70000], [32768]], 50256)
    expect_equal(ids, [[50256, 99999, 70000], [32768, 50256, 50256]], "input_ids with pad_id=50256")


@exercise("pad_batch", weight=2, hint="With max_len the rows have exactly max_len positions, even when every "
                                      "sequence is shorter.")
def test_pad_batch_pads_up_to_max_len(student):
    """max_len longer than every sequence: rows have max_len positions."""
    ids, mask = pad(student, [[4, 5], [6]], 0, max_len=4, side="left")
    expect_equal(ids, [[0, 0, 4, 5], [0, 0, 0, 6]], "input_ids")
    expect_equal(mask, [[0, 0, 1, 1], [0, 0, 0, 1]], "attention_mask")


@exercise("pad_batch", weight=2, hint="Truncate to the FIRST max_len ids, on either padding side.")
def test_pad_batch_truncates_to_first_ids(student):
    """A sequence longer than max_len keeps its first max_len ids, with left and right padding."""
    for side in ("right", "left"):
        ids, mask = pad(student, [[1, 2, 3, 4, 5], [6]], 0, max_len=3, side=side)
        expected_ids = [[1, 2, 3], [6, 0, 0]] if side == "right" else [[1, 2, 3], [0, 0, 6]]
        expect_equal(ids, expected_ids, f"input_ids (side={side!r})")
        expect_equal(mask, [[1, 1, 1], [1, 0, 0]] if side == "right" else [[1, 1, 1], [0, 0, 1]],
                     f"attention_mask (side={side!r})")


@exercise("pad_batch", hint="Both tensors are int64: dtype=torch.long.")
def test_pad_batch_dtypes_and_shape(student):
    """Both tensors are torch.long with shape (batch, length)."""
    input_ids, attention_mask = student.pad_batch([[3, 1, 4, 1, 5], [9, 2], [6]], 0)
    expect_equal((input_ids.dtype, attention_mask.dtype), (torch.long, torch.long), "dtypes")
    expect_equal((tuple(input_ids.shape), tuple(attention_mask.shape)), ((3, 5), (3, 5)), "shapes")


@exercise("pad_batch", hint="Both tensors are torch.long for every batch, also when every row is empty "
                            "(length 0): torch.tensor(rows) of empty rows is float32, so give dtype=torch.long.")
def test_pad_batch_all_empty_rows_are_long(student, reference):
    """A batch of empty sequences, and max_len=0: (batch, 0) tensors, both torch.long."""
    for args, kwargs in ((([[], []], 0), {}), (([[1, 2], [3]], 0), {"max_len": 0})):
        expected = reference.pad_batch(*copy.deepcopy(args), **kwargs)
        same_padding(student.pad_batch(*args, **kwargs), expected, f"pad_batch{Case(args, kwargs)}")


@exercise("pad_batch", hint="A batch of one sequence, and sequences of equal length, need no padding; an "
                            "empty sequence is all padding.")
def test_pad_batch_edge_cases(student):
    """Batch of one, equal lengths, and an empty sequence."""
    expect_equal(pad(student, [[7, 8, 9]], 0), ([[7, 8, 9]], [[1, 1, 1]]), "a batch of one sequence")
    expect_equal(pad(student, [[], [1, 2]], 5, side="left"), ([[5, 5], [1, 2]], [[0, 0], [1, 1]]),
                 "a batch with an empty sequence")


@exercise("pad_batch", hint="Raise ValueError for a side other than 'left'/'right' and for an empty batch.")
def test_pad_batch_rejects_bad_arguments(student):
    """side='middle' and an empty batch raise ValueError."""
    expect(raises_value_error(lambda: student.pad_batch([[1]], 0, side="middle")),
           "pad_batch(..., side='middle') should raise ValueError")
    expect(raises_value_error(lambda: student.pad_batch([], 0)), "pad_batch([], 0) should raise ValueError")


@exercise("pad_batch", hint="side must be exactly 'left' or 'right': 'Left', 'RIGHT' or ' right' raise "
                            "ValueError (don't lower() or strip() it).")
def test_pad_batch_side_must_match_exactly(student):
    """Case and space variants of the side raise ValueError."""
    for side in ("Left", "RIGHT", " right"):
        expect(raises_value_error(lambda: student.pad_batch([[1, 2], [3]], 0, side=side)),
               f"pad_batch([[1, 2], [3]], 0, side={side!r}) should raise ValueError")


@exercise("pad_batch", hint="An empty batch raises ValueError with or without max_len: check it yourself "
                            "(max() of no lengths raises only when max_len is None).")
def test_pad_batch_rejects_empty_batch_with_max_len(student):
    """An empty batch raises ValueError when max_len is given too."""
    for kwargs in ({"max_len": 3}, {"max_len": 2, "side": "left"}):
        expect(raises_value_error(lambda: student.pad_batch([], 0, **kwargs)),
               f"pad_batch([], 0, {', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) should raise ValueError")


@exercise("pad_batch", hint="Don't modify the input sequences: no insert, append or del on the caller's "
                            "lists (in place), on either side.")
def test_pad_batch_leaves_input_unchanged(student, reference):
    """The input lists are not modified, with left and right padding."""
    for side in ("right", "left"):
        for sequences, kwargs in (([[1, 2, 3], [4]], {"max_len": 2}), ([[5], [6, 7, 8]], {})):
            shown = f"pad_batch({sequences}, 0, {''.join(f'{k}={v}, ' for k, v in kwargs.items())}side={side!r})"
            call = observe(student.pad_batch, sequences, 0, side=side, **kwargs)
            expect_proven(not call.changed, f"{shown} changed the caller's `sequences` in place")
            with judged_only_if_right():
                same_padding(call.result, reference.pad_batch(sequences, 0, side=side, **kwargs), shown)


@exercise("pad_batch", hint="Use every argument in every call: a cache keyed on part of them (the batch and "
                            "pad_id, not side or max_len) returns the result of an earlier call.")
def test_pad_batch_options_on_the_same_batch(student, reference):
    """One batch padded with every side and several max_len in a row: each result follows its own options."""
    batch = [[21, 22, 23], [24]]
    for kwargs in ({}, {"side": "left"}, {"max_len": 2}, {"max_len": 5, "side": "left"}, {"max_len": 1}):
        expected = reference.pad_batch(copy.deepcopy(batch), 0, **kwargs)
        same_padding(student.pad_batch(batch, 0, **kwargs), expected, f"pad_batch{Case((batch, 0), kwargs)}")


@exercise("pad_batch", weight=2, hint="Follow the rules for every batch and option: length = max_len or the "
                                      "longest; the first max_len ids; padding after (right) or before (left); "
                                      "mask from the lengths; int64; ValueError for another side or an empty batch.",
          broad=True)
def test_pad_batch_matches_reference_on_generated_batches(student, reference):
    """100 generated batches (ids of any size, empty sequences, pad_id in the batch, max_len 0 to large, both
    sides) and invalid arguments: the same tensors or ValueError as the reference, the input unchanged."""
    expect_same_as_reference(student.pad_batch, reference.pad_batch, pad_cases(random.Random(107)), "pad_batch",
                             compare=same_padding)


@exercise("pad_batch", hint="Build new tensors in every call: a module-level buffer or cache makes results "
                            "depend on, or change with, earlier calls.")
def test_pad_batch_calls_are_independent(student, reference):
    """Several calls in a row: each result is right and made of tensors of its own."""
    expect_independent_calls(student, reference, "pad_batch",
                             [([[1, 2], [3]], 0), Case(([[4]], 9), {"max_len": 3}), ([[1, 2], [3]], 0)],
                             compare=same_padding)
