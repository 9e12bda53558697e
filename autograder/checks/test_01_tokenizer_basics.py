"""Hidden checks for 01-tokenizer-basics. Inputs differ from the notebook's visible checks."""
import random

import torch

from autograder.checking import expect, expect_equal, expect_type, exercise
from autograder.notebook import LearnerCode
from autograder.remote import observe
from coursekit.corpus import generate_text, real_text

SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]
MIXED = "Zoé's naïve café, 日本語 and 한국어; 👩\u200d💻 🎉 e\u0301 \u00a0½ \U0010ffff done.\n"


def builtin_codec_use(code: LearnerCode, name: str, seen=None) -> str | None:
    """What in the learner's function `name` (or a notebook function it uses) reaches Python's own
    UTF-8 codec, read from its source."""
    seen = set() if seen is None else seen
    tree = code.definition(name)
    if tree is None or name in seen:
        return None
    seen.add(name)
    names = code.names_used(tree)
    for used in ("encode", "decode", "codecs"):
        if used in names:
            return f"it uses `{used}`"
    for text in code.strings(tree):
        if text.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig"):
            return f"it names the codec {text!r}"
    for helper in sorted(names):
        found = builtin_codec_use(code, helper, seen)
        if found:
            return f"{found} (in {helper})"
    return None


def raises_value_error(call) -> bool:
    try:
        call()
    except ValueError:
        return True
    return False


# utf8_encode ----------------------------------------------------------------------------------

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
                                        "0xC0 | (cp >> 6), 0x80 | (cp & 0x3F).")
def test_utf8_encode_two_byte_boundaries(student):
    """U+0080 and U+07FF, the first and last 2-byte characters."""
    expect_equal(student.utf8_encode("\u0080\u00ff\u07ff"), [0xC2, 0x80, 0xC3, 0xBF, 0xDF, 0xBF])


@exercise("utf8_encode", weight=2, hint="3-byte pattern: 1110xxxx 10xxxxxx 10xxxxxx, i.e. 0xE0 | (cp >> 12), "
                                        "0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F).")
def test_utf8_encode_three_byte_pattern(student):
    """CJK and the 3-byte boundaries U+0800 and U+FFFF."""
    expect_equal(student.utf8_encode("日\u0800\uffff"), [0xE6, 0x97, 0xA5, 0xE0, 0xA0, 0x80, 0xEF, 0xBF, 0xBF])


@exercise("utf8_encode", weight=2, hint="Code points from U+10000 (emoji) need 4 bytes: 11110xxx 10xxxxxx "
                                        "10xxxxxx 10xxxxxx, starting with 0xF0 | (cp >> 18).")
def test_utf8_encode_four_byte_emoji(student):
    """An emoji and the 4-byte boundaries U+10000 and U+10FFFF."""
    expect_equal(student.utf8_encode("🎉\U00010000\U0010ffff"),
                 [0xF0, 0x9F, 0x8E, 0x89, 0xF0, 0x90, 0x80, 0x80, 0xF4, 0x8F, 0xBF, 0xBF])


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


@exercise("utf8_encode", weight=2, hint="Check each range of the table: 1, 2, 3 and 4 bytes.")
def test_utf8_encode_matches_reference_on_mixed_text(student, reference):
    """Stories and a line of mixed scripts and emoji: the same bytes as the reference."""
    text = MIXED + generate_text(1_500, seed=21)
    expect_equal(student.utf8_encode(text), reference.utf8_encode(text))


@exercise("utf8_encode", weight=2, hint="Write the bit patterns by hand: no str.encode, bytes(text, 'utf-8'), "
                                        "bytearray(...) or codecs.")
def test_utf8_encode_is_written_by_hand(student, student_code):
    """utf8_encode computes the bytes itself, without Python's UTF-8 codec."""
    expect_equal(student.utf8_encode("ü€"), [0xC3, 0xBC, 0xE2, 0x82, 0xAC], "utf8_encode('ü€')")
    found = builtin_codec_use(student_code, "utf8_encode")
    expect(found is None, f"utf8_encode relies on Python's own UTF-8 codec: {found}")


# utf8_decode ----------------------------------------------------------------------------------

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


@exercise("utf8_decode", weight=2, hint="Read the lead byte, then exactly the continuation bytes it announces, "
                                        "and go on after them.")
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


@exercise("utf8_decode", hint="Bytes 0xF8-0xFF never start a character in UTF-8: raise ValueError.")
def test_utf8_decode_rejects_impossible_bytes(student):
    """Bytes 0xF8-0xFF raise ValueError."""
    for value in (0xFF, 0xF8):
        expect(raises_value_error(lambda: student.utf8_decode([0x61, value, 0x80, 0x80, 0x80, 0x80])),
               f"utf8_decode([0x61, {value:#x}, 0x80, 0x80, 0x80, 0x80]) should raise ValueError")


@exercise("utf8_decode", weight=2, hint="Decode the bits by hand: no bytes.decode, str(..., 'utf-8') or codecs.")
def test_utf8_decode_is_written_by_hand(student, student_code):
    """utf8_decode computes the characters itself, without Python's UTF-8 codec."""
    expect_equal(student.utf8_decode([0xC3, 0xBC, 0xE2, 0x82, 0xAC]), "ü€", "utf8_decode of 'ü€'")
    found = builtin_codec_use(student_code, "utf8_decode")
    expect(found is None, f"utf8_decode relies on Python's own UTF-8 codec: {found}")


# CharTokenizer --------------------------------------------------------------------------------

def char_tokenizer(student, text):
    tokenizer = student.CharTokenizer()
    tokenizer.train(text)
    return tokenizer


@exercise("CharTokenizer", hint="Keep <pad>, <unk>, <bos>, <eos> at ids 0-3 and add the characters after "
                                "them; don't sort the special tokens in with the characters.")
def test_char_special_tokens_keep_ids_0_to_3(student):
    """After training, ids 0-3 are still <pad>, <unk>, <bos>, <eos>."""
    tokenizer = char_tokenizer(student, "~ !AZaz")
    expect_equal(list(tokenizer.id_to_token[:4]), SPECIALS, "id_to_token[:4]")
    expect_equal([tokenizer.token_to_id[s] for s in SPECIALS], [0, 1, 2, 3], "token_to_id of the special tokens")


@exercise("CharTokenizer", weight=2, hint="The first character gets id 4 = len(SPECIAL_TOKENS), with no gap: "
                                          "id 0 is <pad> and must never stand for content (off-by-one?).")
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


@exercise("CharTokenizer", hint="token_to_id must be the exact inverse of id_to_token.")
def test_char_token_to_id_inverts_id_to_token(student):
    """token_to_id[id_to_token[i]] == i for every id."""
    tokenizer = char_tokenizer(student, "hello, world")
    expect_equal({t: i for i, t in enumerate(tokenizer.id_to_token)}, dict(tokenizer.token_to_id), "token_to_id")
    expect_equal(tokenizer.vocab_size, 4 + len(set("hello, world")), "vocab_size")


@exercise("CharTokenizer", weight=2, hint="A character outside the vocabulary becomes UNK_ID (1): "
                                          "token_to_id.get(ch, UNK_ID). Not a KeyError, and not PAD_ID (0).")
def test_char_unknown_character_becomes_unk(student):
    """Characters never seen in training become UNK_ID."""
    tokenizer = char_tokenizer(student, "abc")
    expect_equal(tokenizer.encode("zab?"), [1, 4, 5, 1], "encode('zab?') after train('abc')")


@exercise("CharTokenizer", hint="Decode every id with id_to_token; special ids write their names such as "
                                "'<unk>' and '<eos>'.")
def test_char_decode_writes_special_names(student):
    """decode writes special tokens by name."""
    tokenizer = char_tokenizer(student, "ab")
    expect_equal(tokenizer.decode([5, 1, 4, 3, 0]), "b<unk>a<eos><pad>")


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


@exercise("CharTokenizer", weight=2, hint="Specials at 0-3, sorted characters from 4, UNK_ID for the rest.")
def test_char_matches_reference_on_docs(student, reference):
    """Trained on Python's docs: the same vocabulary and ids as the reference on held-out text."""
    train, heldout = real_text(8_000), real_text(10_000)[8_000:] + " Zoé 🙂"
    tokenizer, expected = char_tokenizer(student, train), reference.CharTokenizer().train(train)
    expect_equal(list(tokenizer.id_to_token), expected.id_to_token, "id_to_token")
    expect_equal(tokenizer.encode(heldout), expected.encode(heldout), "encode(held-out text)")


# split_words ----------------------------------------------------------------------------------

@exercise("split_words", weight=2, hint="Keep punctuation as tokens of its own: don't drop it, and don't leave "
                                        "it glued to the word (text.split() does).")
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


@exercise("split_words", weight=2, hint="Letters of any script are word characters: use \\w (Unicode-aware), "
                                        "not [A-Za-z0-9].")
def test_split_words_unicode_letters(student):
    """Accented, CJK and Cyrillic letters belong to words."""
    expect_equal(student.split_words("Zoé naïve 日本語 привет"), ["Zoé", "naïve", "日本語", "привет"])


@exercise("split_words", hint="An emoji is neither a word character nor whitespace: a token by itself.")
def test_split_words_emoji_are_tokens(student):
    """Emoji are single tokens, even next to a word."""
    expect_equal(student.split_words("hi🙂! 🎉🎉"), ["hi", "🙂", "!", "🎉", "🎉"])


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


@exercise("split_words", weight=2, hint="Words = runs of \\w, every other non-space character alone.")
def test_split_words_matches_reference_on_docs(student, reference):
    """Python's docs and stories: the same tokens as the reference."""
    text = real_text(20_000)[-6_000:] + generate_text(2_000, seed=23)
    expect_equal(student.split_words(text), reference.split_words(text))


# WordTokenizer --------------------------------------------------------------------------------

def word_tokenizer(student, text, **options):
    tokenizer = student.WordTokenizer()
    tokenizer.train(text, **options)
    return tokenizer


@exercise("WordTokenizer", weight=2, hint="Order the vocabulary by count, most frequent first: "
                                          "sorted by (-count, word).")
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


@exercise("WordTokenizer", weight=2, hint="decode joins the tokens with a single space ' '.join(...), special "
                                          "ids written by name.")
def test_word_decode_joins_with_single_spaces(student):
    """decode joins tokens with single spaces and writes special tokens by name."""
    tokenizer = word_tokenizer(student, "hello , world")
    expect_equal(tokenizer.decode([2, 5, 4, 6, 1, 3]), "<bos> hello , world <unk> <eos>")


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
                                          "(special tokens included).")
def test_word_matches_reference_on_docs(student, reference):
    """Python's docs, min_freq=2 and max_size=300: the same vocabulary and ids as the reference."""
    train, heldout = real_text(40_000), real_text(46_000)[40_000:]
    tokenizer = word_tokenizer(student, train, min_freq=2, max_size=300)
    expected = reference.WordTokenizer().train(train, min_freq=2, max_size=300)
    expect_equal(list(tokenizer.id_to_token), expected.id_to_token, "id_to_token")
    expect_equal(tokenizer.encode(heldout), expected.encode(heldout), "encode(held-out text)")


# add_special_tokens ---------------------------------------------------------------------------

@exercise("add_special_tokens", weight=2, hint="Start with BOS_ID (2) and end with EOS_ID (3): "
                                               "[BOS_ID] + ids + [EOS_ID].")
def test_add_special_tokens_wraps(student):
    """BOS_ID first, EOS_ID last."""
    expect_equal(student.add_special_tokens([40, 41]), [2, 40, 41, 3])


@exercise("add_special_tokens", hint="An empty sequence still gets BOS_ID and EOS_ID.")
def test_add_special_tokens_empty(student):
    """[] gives [BOS_ID, EOS_ID]."""
    expect_equal(student.add_special_tokens([]), [2, 3])


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


@exercise("add_special_tokens", hint="max_len below 2 cannot hold BOS_ID and EOS_ID: raise ValueError.")
def test_add_special_tokens_rejects_tiny_max_len(student):
    """max_len=1 and max_len=0 raise ValueError."""
    for max_len in (1, 0):
        expect(raises_value_error(lambda: student.add_special_tokens([5], max_len=max_len)),
               f"add_special_tokens([5], max_len={max_len}) should raise ValueError")


@exercise("add_special_tokens", hint="Build and return a new list; leave `ids` as it was.")
def test_add_special_tokens_leaves_input_unchanged(student):
    """The input list is not modified."""
    call = observe(student.add_special_tokens, [9, 8, 7, 6], max_len=4)
    expect(not call.changed, "add_special_tokens changed the caller's list `ids` in place")
    expect(call.returned_argument is None, "add_special_tokens returned the caller's list `ids` itself, not a new list")


# pad_batch ------------------------------------------------------------------------------------

def pad(student, *args, **kwargs):
    result = student.pad_batch(*args, **kwargs)
    expect(isinstance(result, tuple) and len(result) == 2, "pad_batch should return (input_ids, attention_mask)")
    input_ids, attention_mask = result
    expect(isinstance(input_ids, torch.Tensor) and isinstance(attention_mask, torch.Tensor),
           f"pad_batch should return two torch tensors, got {type(input_ids).__name__}, "
           f"{type(attention_mask).__name__}")
    return input_ids.tolist(), attention_mask.tolist()


@exercise("pad_batch", weight=2, hint="side='right': the ids first, then pad_id up to the longest length.")
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


@exercise("pad_batch", hint="Don't modify the input sequences.")
def test_pad_batch_leaves_input_unchanged(student):
    """The input lists are not modified."""
    call = observe(student.pad_batch, [[1, 2, 3], [4]], 0, max_len=2)
    expect(not call.changed, "pad_batch changed the caller's `sequences` in place")


@exercise("pad_batch", weight=2, hint="Compare your padding, truncation and mask with the rules in the docstring.")
def test_pad_batch_matches_reference_on_random_batches(student, reference):
    """Random batches, both sides, with and without max_len: the same tensors as the reference."""
    rng = random.Random(7)
    for trial in range(12):
        batch = [[rng.randrange(0, 6) for _ in range(rng.randrange(0, 9))] for _ in range(rng.randint(1, 5))]
        options = {"side": rng.choice(["left", "right"]), "max_len": rng.choice([None, 1, 3, 6, 10])}
        got = pad(student, batch, 0, **options)
        expected = tuple(t.tolist() for t in reference.pad_batch(batch, 0, **options))
        expect_equal(got, expected, f"pad_batch({batch}, 0, **{options})")
