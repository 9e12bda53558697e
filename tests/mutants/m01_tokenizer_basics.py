"""Plausible wrong solutions for 01-tokenizer-basics."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "01-tokenizer-basics"

ENCODE = '''
def utf8_encode(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if {ONE}:
            out.append(cp)
        elif cp < 0x800:
            out += [0xC0 | (cp >> 6), {CONT}(cp & 0x3F)]
        elif {THREE}:
            out += [{LEAD3}, {CONT}((cp >> 6) & 0x3F), {CONT}(cp & 0x3F)]
        else:
            out += [0xF0 | (cp >> 18), {CONT}((cp >> 12) & 0x3F), {CONT}((cp >> 6) & 0x3F), {CONT}(cp & 0x3F)]
    return out
'''
CORRECT_ENCODE = dict(ONE="cp < 0x80", CONT="0x80 | ", THREE="cp < 0x10000", LEAD3="0xE0 | (cp >> 12)")


def encode_mutant(**changes) -> str:
    return ENCODE.format(**{**CORRECT_ENCODE, **changes})


DECODE = '''
def utf8_decode(byte_values):
    chars, i = [], 0
    while i < len(byte_values):
        lead = byte_values[i]
        if lead < 0x80:
            length, cp = 1, lead
        elif {TWO}:
            length, cp = 2, lead & 0x1F
        elif 0xE0 <= lead <= 0xEF:
            length, cp = 3, lead & {MASK3}
        elif 0xF0 <= lead <= 0xF7:
            length, cp = 4, lead & 0x07
        else:
            raise ValueError("invalid lead byte")
        {TRUNCATED}
        for b in byte_values[i + 1:i + length]:
            {CHECK}
            cp = (cp << 6) | (b & 0x3F)
        chars.append(chr(cp))
        i += length
    return "".join(chars)
'''
CORRECT_DECODE = dict(TWO="0xC0 <= lead <= 0xDF", MASK3="0x0F",
                      TRUNCATED='if i + length > len(byte_values): raise ValueError("truncated")',
                      CHECK='if b & 0xC0 != 0x80: raise ValueError("not a continuation byte")')


def decode_mutant(**changes) -> str:
    return DECODE.format(**{**CORRECT_DECODE, **changes})


CHAR = '''
class CharTokenizer(Tokenizer):
    def train(self, text):
        {TRAIN}
        self.token_to_id = {{t: i for i, t in enumerate(self.id_to_token)}}
        {RETURN}

    def encode(self, text):
        return [{LOOKUP} for ch in text]

    def decode(self, ids):
        return {DECODE}
'''
CORRECT_CHAR = dict(TRAIN="self.id_to_token = list(SPECIAL_TOKENS) + sorted(set(text))", RETURN="return self",
                    LOOKUP="self.token_to_id.get(ch, UNK_ID)",
                    DECODE='"".join(self.id_to_token[i] for i in ids)')


def char_mutant(**changes) -> str:
    return CHAR.format(**{**CORRECT_CHAR, **changes})


WORD = '''
from collections import Counter


class WordTokenizer(Tokenizer):
    def train(self, text, min_freq=1, max_size=None):
        counts = Counter({SPLIT})
        words = {ORDER}
        words = [w for w in words if counts[w] {MIN_FREQ}]
        if max_size is not None:
            words = words[:{CAP}]
        self.id_to_token = {VOCAB}
        self.token_to_id = {{t: i for i, t in enumerate(self.id_to_token)}}
        return self

    def encode(self, text):
        return [{LOOKUP} for w in {SPLIT}]

    def decode(self, ids):
        return {JOIN}.join(self.id_to_token[i] for i in ids)
'''
CORRECT_WORD = dict(SPLIT="split_words(text)", ORDER="sorted(counts, key=lambda w: (-counts[w], w))",
                    MIN_FREQ=">= min_freq", CAP="max(0, max_size - len(SPECIAL_TOKENS))",
                    VOCAB="list(SPECIAL_TOKENS) + words", LOOKUP="self.token_to_id.get(w, UNK_ID)", JOIN='" "')


def word_mutant(**changes) -> str:
    return WORD.format(**{**CORRECT_WORD, **changes})


def split_mutant(pattern: str, subject: str = "text") -> str:
    """A split_words that returns re.findall(r"pattern", subject)."""
    return f"""
import re
def split_words(text):
    return re.findall(r"{pattern}", {subject})
"""


# a plain correct add_special_tokens: mutants below that differ from it in a few places are its variants
SPECIAL_PLAIN = """
def add_special_tokens(ids, max_len=None):
    if max_len is not None and max_len < 2:
        raise ValueError(max_len)
    content = list(ids) if max_len is None else list(ids)[:max_len - 2]
    return [BOS_ID] + content + [EOS_ID]
"""


PAD = '''
def pad_batch(sequences, pad_id, max_len=None, side="right"):
    if side not in ("left", "right"):
        raise ValueError(side)
    if not sequences:
        raise ValueError("empty batch")
    length = {LENGTH}
    ids = torch.full((len(sequences), length), {FILL}, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype={MASK_DTYPE})
    for row, sequence in enumerate(sequences):
        kept = {KEPT}
        if not kept:
            continue
        cols = slice(0, len(kept)) if {RIGHT} else slice(length - len(kept), length)
        ids[row, cols] = torch.tensor(kept, dtype=torch.long)
        mask[row, cols] = 1
    {MASK}
    return ids, mask
'''
CORRECT_PAD = dict(LENGTH="max(len(s) for s in sequences) if max_len is None else max_len", FILL="pad_id",
                   MASK_DTYPE="torch.long", KEPT="list(sequence)[:length]", RIGHT='side == "right"', MASK="pass")


def pad_mutant(**changes) -> str:
    return PAD.format(**{**CORRECT_PAD, **changes})


MUTANTS = [
    # utf8_encode
    Mutant("utf8_encode", "3-byte lead byte shifted by 6 instead of 12",
           encode_mutant(LEAD3="0xE0 | ((cp >> 6) & 0x0F)"), "3-byte pattern"),
    Mutant("utf8_encode", "U+0080 written as one byte (boundary off by one)",
           encode_mutant(ONE="cp <= 0x80"), "boundary U+0080"),
    Mutant("utf8_encode", "no 4-byte case: code points above U+FFFF squeezed into 3 bytes",
           encode_mutant(THREE="True", LEAD3="0xE0 | ((cp >> 12) & 0x0F)"), "4 bytes"),
    Mutant("utf8_encode", "continuation bytes without the 10 marker",
           encode_mutant(CONT=""), "continuation byte"),
    Mutant("utf8_encode", "uses Python's codec", '''
def utf8_encode(text):
    return list(text.encode("utf-8"))
''', "by hand"),
    Mutant("utf8_encode", "returns code points, not bytes", '''
def utf8_encode(text):
    return [ord(ch) for ch in text]
''', "0-255"),
    Mutant("utf8_encode", "continuation bytes in reverse order (least significant first)", '''
def utf8_encode(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp < 0x80:
            out.append(cp)
            continue
        n = 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
        tail = [0x80 | ((cp >> (6 * k)) & 0x3F) for k in range(n - 1)]
        out += [(0xF00 >> n) & 0xFF | (cp >> (6 * (n - 1)))] + tail
    return out
''', "most significant bits first"),
    Mutant("utf8_encode", "normalises the text to NFC first",
           "\nimport unicodedata" + variant(encode_mutant(),
                                            ('    for ch in text:\n',
                                             '    for ch in unicodedata.normalize("NFC", text):\n')),
           "combining mark"),
    # utf8_decode
    Mutant("utf8_decode", "ignores continuation bytes: keeps only the lead byte's bits", '''
def utf8_decode(byte_values):
    chars, i = [], 0
    while i < len(byte_values):
        lead = byte_values[i]
        if lead < 0x80:
            chars.append(chr(lead)); i += 1
        elif lead < 0xE0:
            chars.append(chr(lead & 0x1F)); i += 2
        elif lead < 0xF0:
            chars.append(chr(lead & 0x0F)); i += 3
        else:
            chars.append(chr(lead & 0x07)); i += 4
    return "".join(chars)
''', "continuation bytes"),
    Mutant("utf8_decode", "one character per byte (Latin-1)", '''
def utf8_decode(byte_values):
    return "".join(chr(b) for b in byte_values)
''', "continuation"),
    Mutant("utf8_decode", "3-byte lead masked with 0x07 (the 4-byte mask)", decode_mutant(MASK3="0x07"),
           "3-byte lead byte"),
    Mutant("utf8_decode", "no check for a truncated sequence", decode_mutant(TRUNCATED="pass"), "truncated"),
    Mutant("utf8_decode", "continuation bytes not checked", decode_mutant(CHECK="pass"), "10xxxxxx"),
    Mutant("utf8_decode", "a stray continuation byte is read as a 2-byte lead",
           decode_mutant(TWO="0x80 <= lead <= 0xDF"), "cannot start a character"),
    Mutant("utf8_decode", "uses Python's codec", '''
def utf8_decode(byte_values):
    return bytes(byte_values).decode("utf-8")
''', "by hand"),
    Mutant("utf8_decode", "invalid bytes become U+FFFD instead of raising", '''
def utf8_decode(byte_values):
    chars, i = [], 0
    while i < len(byte_values):
        lead = byte_values[i]
        length = 1 if lead < 0x80 else 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4 if 0xF0 <= lead <= 0xF4 else 0
        tail = byte_values[i + 1:i + length]
        if length == 0 or len(tail) < length - 1 or any(b & 0xC0 != 0x80 for b in tail):
            chars.append("\\ufffd"); i += 1; continue
        cp = lead & (0x7F, 0x1F, 0x0F, 0x07)[length - 1]
        for b in tail:
            cp = (cp << 6) | (b & 0x3F)
        chars.append(chr(cp)); i += length
    return "".join(chars)
''', "raise ValueError"),
    # CharTokenizer
    Mutant("CharTokenizer", "content ids start at 0: the first character shares PAD's id",
           char_mutant(TRAIN="self.id_to_token = sorted(set(text))"), "id 0 is <pad>"),
    Mutant("CharTokenizer", "off-by-one: characters start at id 5, leaving a gap",
           char_mutant(TRAIN="self.id_to_token = list(SPECIAL_TOKENS) + ['<gap>'] + sorted(set(text))"),
           "off-by-one"),
    Mutant("CharTokenizer", "characters in order of first appearance",
           char_mutant(TRAIN="self.id_to_token = list(SPECIAL_TOKENS) + list(dict.fromkeys(text))"),
           "code point"),
    Mutant("CharTokenizer", "characters in set order (changes between runs)",
           char_mutant(TRAIN="self.id_to_token = list(SPECIAL_TOKENS) + list(set(text))"), "set order"),
    Mutant("CharTokenizer", "special tokens sorted in with the characters",
           char_mutant(TRAIN="self.id_to_token = sorted(set(SPECIAL_TOKENS) | set(text))"), "ids 0-3"),
    Mutant("CharTokenizer", "unknown characters raise KeyError",
           char_mutant(LOOKUP="self.token_to_id[ch]"), "KeyError"),
    Mutant("CharTokenizer", "unknown characters become PAD_ID (0)",
           char_mutant(LOOKUP="self.token_to_id.get(ch, PAD_ID)"), "not PAD_ID"),
    Mutant("CharTokenizer", "decode skips special tokens",
           char_mutant(DECODE='"".join(self.id_to_token[i] for i in ids if i >= len(SPECIAL_TOKENS))'),
           "names"),
    Mutant("CharTokenizer", "training again appends to the old vocabulary",
           char_mutant(TRAIN="self.id_to_token = self.id_to_token + sorted(set(text) - set(self.id_to_token))"),
           "replaces"),
    Mutant("CharTokenizer", "train does not return self", char_mutant(RETURN="pass"), "return self"),
    # split_words
    Mutant("split_words", "text.split(): punctuation stays glued to words", '''
def split_words(text):
    return text.split()
''', "glued"),
    Mutant("split_words", "punctuation dropped", split_mutant(r"\w+"), "don't drop it"),
    Mutant("split_words", "runs of punctuation kept together", split_mutant(r"\w+|[^\w\s]+"), "by itself"),
    Mutant("split_words", "whitespace returned as tokens", split_mutant(r"\w+|\W"), "whitespace"),
    Mutant("split_words", "ASCII-only word characters", split_mutant(r"[A-Za-z0-9_]+|[^A-Za-z0-9_\s]"), "any script"),
    Mutant("split_words", "lowercases the text", split_mutant(r"\w+|[^\w\s]", "text.lower()"), "change case"),
    Mutant("split_words", "digits split from letters and underscore treated as punctuation",
           split_mutant(r"[^\W\d_]+|\d+|[^\w\s]|_"), "underscores"),
    # WordTokenizer
    Mutant("WordTokenizer", "vocabulary in alphabetical order, not by frequency",
           word_mutant(ORDER="sorted(counts)"), "most frequent first"),
    Mutant("WordTokenizer", "ties in first-appearance order (Counter.most_common)",
           word_mutant(ORDER="[w for w, _ in counts.most_common()]"), "ties"),
    Mutant("WordTokenizer", "max_size counts only the words, not the special tokens",
           word_mutant(CAP="max_size"), "special tokens included"),
    Mutant("WordTokenizer", "min_freq exclusive (count > min_freq)",
           word_mutant(MIN_FREQ="> min_freq - 0"), "at least min_freq"),
    Mutant("WordTokenizer", "unknown words raise KeyError",
           word_mutant(LOOKUP="self.token_to_id[w]"), "KeyError"),
    Mutant("WordTokenizer", "unknown words become PAD_ID (0)",
           word_mutant(LOOKUP="self.token_to_id.get(w, PAD_ID)"), "not PAD_ID"),
    Mutant("WordTokenizer", "content ids start at 0 (shared with PAD)",
           word_mutant(VOCAB="words"), "PAD never shares"),
    Mutant("WordTokenizer", "str.split instead of split_words",
           word_mutant(SPLIT="text.split()"), "split_words"),
    Mutant("WordTokenizer", "decode joins without spaces", word_mutant(JOIN='""'), "single space"),
    # add_special_tokens
    Mutant("add_special_tokens", "no EOS", variant(SPECIAL_PLAIN,
               ('list(ids)[:max_len - 2]', 'list(ids)[:max_len - 1]'),
               ('    return [BOS_ID] + content + [EOS_ID]\n', '    return [BOS_ID] + content\n')), "EOS_ID"),
    Mutant("add_special_tokens", "truncates after wrapping, losing EOS", variant(SPECIAL_PLAIN,
               ('    content = list(ids) if max_len is None else list(ids)[:max_len - 2]\n'
                '    return [BOS_ID] + content + [EOS_ID]\n',
                '    wrapped = [BOS_ID] + list(ids) + [EOS_ID]\n'
                '    return wrapped if max_len is None else wrapped[:max_len]\n')), "before wrapping"),
    Mutant("add_special_tokens", "off-by-one: keeps max_len - 3 content ids", variant(SPECIAL_PLAIN,
               ('list(ids)[:max_len - 2]', 'list(ids)[:max(0, max_len - 3)]')), "max_len - 2"),
    Mutant("add_special_tokens", "PAD_ID used as the start token", variant(SPECIAL_PLAIN,
               ('[BOS_ID] + content', '[PAD_ID] + content')), "BOS_ID"),
    Mutant("add_special_tokens", "modifies the input list in place", variant(SPECIAL_PLAIN,
               ('    content = list(ids) if max_len is None else list(ids)[:max_len - 2]\n'
                '    return [BOS_ID] + content + [EOS_ID]\n',
                '    if max_len is not None:\n'
                '        del ids[max_len - 2:]\n'
                '    ids.insert(0, BOS_ID)\n'
                '    ids.append(EOS_ID)\n'
                '    return ids\n')), "new list"),
    Mutant("add_special_tokens", "no check of max_len < 2", variant(SPECIAL_PLAIN,
               ('    if max_len is not None and max_len < 2:\n'
                '        raise ValueError(max_len)\n', ''),
               ('list(ids)[:max_len - 2]', 'list(ids)[:max(0, max_len - 2)]')), "raise ValueError"),
    # pad_batch
    Mutant("pad_batch", "attention mask inverted (1 = padding)", pad_mutant(MASK="mask = 1 - mask"), "inverted"),
    Mutant("pad_batch", "left and right padding swapped", pad_mutant(RIGHT='side == "left"'), "swapped"),
    Mutant("pad_batch", "mask computed from ids != pad_id", pad_mutant(MASK="mask = (ids != pad_id).long()"),
           "lengths"),
    Mutant("pad_batch", "truncation keeps the last ids", pad_mutant(KEPT="list(sequence)[-length:] if length else []"),
           "FIRST max_len"),
    Mutant("pad_batch", "pads with 0 instead of pad_id", pad_mutant(FILL="0"), "pad_id argument"),
    Mutant("pad_batch", "max_len only truncates, never pads up to it",
           pad_mutant(LENGTH="min(max(len(s) for s in sequences), max_len or 10**9)"), "exactly max_len"),
    Mutant("pad_batch", "float attention mask", pad_mutant(MASK_DTYPE="torch.float32"), "torch.long"),
]
