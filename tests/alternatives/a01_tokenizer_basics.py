"""Subtle edge-case bugs and unusual correct solutions for 01-tokenizer-basics.

Written independently of tests/mutants/m01_tokenizer_basics.py: the wrong solutions are bugs of the
text's domain that a few fixed inputs miss (code points of planes 2-16, the byte-order mark, bytes
input, codec spellings, input mutation and aliasing, state kept between calls, options combined,
boundaries of an option, large ids, case variants); the correct ones are formulations the text
allows (other loops, recursion over bits, iterators, helpers named encode/decode, exceptions that
name the codec, Counter, heapq-free double sorts, pad_sequence...).
"""
from tests.alternatives import Correct, Wrong, variant

ASSIGNMENT = "01-tokenizer-basics"

# utf8_encode ----------------------------------------------------------------------------------

# a plain correct utf8_encode: solutions below that differ from it in a few places are its variants
ENCODE_PLAIN = r'''
def utf8_encode(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp < 0x80:
            out.append(cp)
        elif cp < 0x800:
            out += [0xC0 | (cp >> 6), 0x80 | (cp & 0x3F)]
        elif cp < 0x10000:
            out += [0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)]
        else:
            out += [0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)]
    return out
'''

ENCODE_PLANE_MASK = variant(ENCODE_PLAIN,
    ('            out += [0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F),',
     '            # the 4-byte lead holds 3 bits, the next byte "the 5 bits after them"\n'
     '            out += [0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x1F),'))

ENCODE_DROPS_BOM = variant(ENCODE_PLAIN,
    ('        cp = ord(ch)\n',
     '        cp = ord(ch)\n'
     '        if cp == 0xFEFF:  # a byte-order mark is not text\n'
     '            continue\n'))

ENCODE_CODEC_ALIAS = r'''
def utf8_encode(text):
    return list(bytes(text, "u8"))
'''

ENCODE_CODEC_IMPORT = r'''
def utf8_encode(text):
    from codecs import utf_8_encode as to_bytes
    return [value for value in to_bytes(text)[0]]
'''

ENCODE_MUTABLE_DEFAULT = variant(ENCODE_PLAIN,
    ('def utf8_encode(text):\n'
     '    out = []\n',
     'def utf8_encode(text, out=[]):\n'))

ENCODE_SHARED_RESULT = r'''
_BUFFER = []


def utf8_encode(text):
    _BUFFER.clear()  # reuse one list: no allocation per call
    for ch in text:
        cp = ord(ch)
        if cp < 0x80:
            _BUFFER.append(cp)
        elif cp < 0x800:
            _BUFFER.extend([0xC0 | (cp >> 6), 0x80 | (cp & 0x3F)])
        elif cp < 0x10000:
            _BUFFER.extend([0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)])
        else:
            _BUFFER.extend([0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F), 0x80 | ((cp >> 6) & 0x3F),
                            0x80 | (cp & 0x3F)])
    return _BUFFER
'''

ENCODE_NAMES_THE_CODEC = variant(ENCODE_PLAIN,
    ('def utf8_encode(text):\n'
     '    out = []\n'
     '    for ch in text:\n'
     '        cp = ord(ch)\n',
     'def utf8_encode(text):\n'
     '    """Like text.encode("utf-8"), but written by hand (no str.encode, no codecs)."""\n'
     '    out = []\n'
     '    for i, ch in enumerate(text):\n'
     '        cp = ord(ch)\n'
     '        if 0xD800 <= cp <= 0xDFFF:\n'
     '            raise UnicodeEncodeError("utf-8", text, i, i + 1, "surrogates not allowed")\n'))

ENCODE_HELPER_NAMED_ENCODE = r'''
def utf8_encode(text):
    def encode(cp):
        """One code point -> its bytes: n bytes, the lead keeps 7 - n bits, then 6 bits each."""
        if cp < 0x80:
            return [cp]
        n = 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
        lead = (0xFF00 >> n) & 0xFF
        shifts = range(6 * (n - 1), -1, -6)
        return [lead | (cp >> shifts[0])] + [0x80 | ((cp >> s) & 0x3F) for s in shifts[1:]]

    return [byte for ch in text for byte in encode(ord(ch))]
'''

ENCODE_RECURSIVE_BITS = r'''
def continuation(cp, count):
    """The last `count` continuation bytes of cp, most significant first (recursive)."""
    if count == 0:
        return []
    return continuation(cp >> 6, count - 1) + [0b10000000 + cp % 64]


def utf8_encode(text):
    result = bytearray()
    for ch in text:
        cp = ord(ch)
        tail = 0 if cp <= 0x7F else 1 if cp <= 0x7FF else 2 if cp <= 0xFFFF else 3
        prefix = (0b00000000, 0b11000000, 0b11100000, 0b11110000)[tail]
        result.append(prefix + (cp >> (6 * tail)))
        result.extend(continuation(cp, tail))
    return list(result)
'''

ENCODE_BIT_STRINGS = r'''
def utf8_encode(text):
    out = []
    for ch in text:
        cp = ord(ch)
        n = next(n for n, limit in ((1, 0x80), (2, 0x800), (3, 0x10000), (4, 0x110000)) if cp < limit)
        if n == 1:
            out.append(cp)
            continue
        bits = format(cp, "b").zfill(5 * n + 1)
        groups = [bits[:7 - n]] + [bits[7 - n + 6 * k:7 - n + 6 * (k + 1)] for k in range(n - 1)]
        out += [int("1" * n + "0" + groups[0], 2)] + [int("10" + g, 2) for g in groups[1:]]
    return out
'''

# utf8_decode ----------------------------------------------------------------------------------

DECODE_BODY = r'''
        if lead < 0x80:
            length, cp = 1, lead
        elif 0xC2 <= lead <= 0xDF:
            length, cp = 2, lead & 0x1F
        elif 0xE0 <= lead <= 0xEF:
            length, cp = 3, lead & 0x0F
        elif 0xF0 <= lead <= 0xF4:
            length, cp = 4, lead & 0x07
        else:
            raise ValueError(f"byte {lead:#x} cannot start a character")
'''

# a plain correct utf8_decode: solutions below that differ from it in a few places are its variants
DECODE_PLAIN = r'''
def utf8_decode(byte_values):
    chars, i = [], 0
    while i < len(byte_values):
        lead = byte_values[i]
''' + DECODE_BODY + r'''
        if i + length > len(byte_values):
            raise ValueError("truncated character")
        for b in byte_values[i + 1:i + length]:
            if b & 0xC0 != 0x80:
                raise ValueError("not a continuation byte")
            cp = (cp << 6) | (b & 0x3F)
        chars.append(chr(cp))
        i += length
    return "".join(chars)
'''

DECODE_POPS_INPUT = r'''
def utf8_decode(byte_values):
    chars = []
    while byte_values:
        lead = byte_values.pop(0)
''' + DECODE_BODY + r'''
        for _ in range(length - 1):
            if not byte_values:
                raise ValueError("truncated character")
            b = byte_values.pop(0)
            if b & 0xC0 != 0x80:
                raise ValueError("not a continuation byte")
            cp = (cp << 6) | (b & 0x3F)
        chars.append(chr(cp))
    return "".join(chars)
'''

DECODE_NEEDS_A_LIST = variant(DECODE_PLAIN,
    ('    chars, i = [], 0\n'
     '    while i < len(byte_values):\n'
     '        lead = byte_values[i]\n',
     '    data = byte_values.copy()\n'
     '    chars, i = [], 0\n'
     '    while i < len(data):\n'
     '        lead = data[i]\n'),
    ('        if i + length > len(byte_values):\n', '        if i + length > len(data):\n'),
    ('        for b in byte_values[i + 1:i + length]:\n', '        for b in data[i + 1:i + length]:\n'))

DECODE_HIGH_BIT_ONLY = variant(DECODE_PLAIN,
    ('            if b & 0xC0 != 0x80:\n',
     '            if b < 0x80:  # a continuation byte has its high bit set\n'))

DECODE_STRIPS_BOM = variant(DECODE_PLAIN,
    ('    chars, i = [], 0\n',
     '    chars, i = [], 0\n'
     '    if list(byte_values[:3]) == [0xEF, 0xBB, 0xBF]:\n'
     '        i = 3  # skip a byte-order mark\n'))

DECODE_PLANE_MASK = variant(DECODE_PLAIN,
    ('        for b in byte_values[i + 1:i + length]:\n'
     '            if b & 0xC0 != 0x80:\n'
     '                raise ValueError("not a continuation byte")\n'
     '            cp = (cp << 6) | (b & 0x3F)\n',
     '        tail = byte_values[i + 1:i + length]\n'
     '        if any(b & 0xC0 != 0x80 for b in tail):\n'
     '            raise ValueError("not a continuation byte")\n'
     '        if length == 4:\n'
     '            cp = (cp << 18) | ((tail[0] & 0x1F) << 12) | ((tail[1] & 0x3F) << 6) | (tail[2] & 0x3F)\n'
     '        else:\n'
     '            for b in tail:\n'
     '                cp = (cp << 6) | (b & 0x3F)\n'))

DECODE_CODEC_ALIAS = r'''
def utf8_decode(byte_values):
    return str(bytes(byte_values), "u8")
'''

DECODE_MUTABLE_DEFAULT = variant(DECODE_PLAIN,
    ('def utf8_decode(byte_values):\n'
     '    chars, i = [], 0\n',
     'def utf8_decode(byte_values, chars=[]):\n'
     '    i = 0\n'))

DECODE_ASSERTS = variant(DECODE_PLAIN,
    ('        if i + length > len(byte_values):\n'
     '            raise ValueError("truncated character")\n',
     '        assert i + length <= len(byte_values), "truncated character"\n'),
    ('            if b & 0xC0 != 0x80:\n'
     '                raise ValueError("not a continuation byte")\n',
     '            assert b & 0xC0 == 0x80, "not a continuation byte"\n'))

DECODE_UNICODE_DECODE_ERROR = r'''
def utf8_decode(byte_values):
    """Like bytes(byte_values).decode("utf-8"), by hand; errors are UnicodeDecodeError("utf-8", ...)."""
    def fail(start, reason):
        raise UnicodeDecodeError("utf-8", bytes(byte_values), start, start + 1, reason)

    chars, i = [], 0
    while i < len(byte_values):
        lead = byte_values[i]''' + variant(DECODE_BODY,  # DECODE_BODY, failing with UnicodeDecodeError
    ('            raise ValueError(f"byte {lead:#x} cannot start a character")\n',
     '            fail(i, "invalid start byte")\n')) + r'''        if i + length > len(byte_values):
            fail(i, "unexpected end of data")
        for position in range(i + 1, i + length):
            if byte_values[position] & 0xC0 != 0x80:
                fail(position, "invalid continuation byte")
            cp = (cp << 6) | (byte_values[position] & 0x3F)
        chars.append(chr(cp))
        i += length
    return "".join(chars)
'''

DECODE_ITERATOR_HELPER_NAMED_DECODE = r'''
def utf8_decode(byte_values):
    def decode(lead, following):
        """One character from its lead byte and an iterator over the bytes after it."""
        ones = format(lead, "08b").index("0") if lead != 0xFF else 8
        if ones == 0:
            return chr(lead)
        if ones == 1 or ones > 4:
            raise ValueError(f"{lead:#x} cannot start a character")
        cp = lead & (0x7F >> ones)
        for _ in range(ones - 1):
            b = next(following, None)
            if b is None:
                raise ValueError("the input ends inside a character")
            if b >> 6 != 0b10:
                raise ValueError(f"{b:#x} is not a continuation byte")
            cp = cp << 6 | b & 0x3F
        return chr(cp)

    following = iter(byte_values)
    return "".join(decode(lead, following) for lead in following)
'''

DECODE_TABLE_AND_REDUCE = r'''
from functools import reduce

LEADS = [(0x00, 0x7F, 1, 0x7F), (0xC2, 0xDF, 2, 0x1F), (0xE0, 0xEF, 3, 0x0F), (0xF0, 0xF4, 4, 0x07)]


def utf8_decode(byte_values):
    data = list(byte_values)
    text, i = "", 0
    while i < len(data):
        found = [(n, mask) for low, high, n, mask in LEADS if low <= data[i] <= high]
        if not found:
            raise ValueError(f"byte {data[i]} at {i} cannot start a character")
        n, mask = found[0]
        tail = data[i + 1:i + n]
        if len(tail) < n - 1 or any(b < 0x80 or b > 0xBF for b in tail):
            raise ValueError(f"bad or missing continuation bytes after position {i}")
        text += chr(reduce(lambda cp, b: (cp << 6) | (b & 0x3F), tail, data[i] & mask))
        i += n
    return text
'''

# CharTokenizer --------------------------------------------------------------------------------

# a plain correct CharTokenizer: solutions below that differ from it in a few places are its variants
CHAR_PLAIN = r'''
class CharTokenizer(Tokenizer):
    def train(self, text):
        self.id_to_token = list(SPECIAL_TOKENS) + sorted(set(text))
        self.token_to_id = {t: i for i, t in enumerate(self.id_to_token)}
        return self

    def encode(self, text):
        return [self.token_to_id.get(ch, UNK_ID) for ch in text]

    def decode(self, ids):
        return "".join(self.id_to_token[i] for i in ids)
'''

CHAR_CLASS_CACHE = variant(CHAR_PLAIN,
    ('class CharTokenizer(Tokenizer):\n',
     'class CharTokenizer(Tokenizer):\n'
     '    _encoded = {}  # text -> ids, to encode repeated texts fast\n'
     '\n'),
    ('        self.token_to_id = {t: i for i, t in enumerate(self.id_to_token)}\n',
     '        self.token_to_id = {token: i for i, token in enumerate(self.id_to_token)}\n'),
    ('        return [self.token_to_id.get(ch, UNK_ID) for ch in text]\n',
     '        if text not in self._encoded:\n'
     '            self._encoded[text] = [self.token_to_id.get(ch, UNK_ID) for ch in text]\n'
     '        return list(self._encoded[text])\n'))

CHAR_DEFAULTDICT = variant(CHAR_PLAIN,
    ('\nclass CharTokenizer',
     '\nfrom collections import defaultdict\n\n\nclass CharTokenizer'),
    ('        self.token_to_id = {t: i for i, t in enumerate(self.id_to_token)}\n',
     '        self.token_to_id = defaultdict(lambda: UNK_ID, {t: i for i, t in enumerate(self.id_to_token)})\n'),
    ('        return [self.token_to_id.get(ch, UNK_ID) for ch in text]\n',
     '        return [self.token_to_id[ch] for ch in text]\n'))

CHAR_DECODE_POPS = variant(CHAR_PLAIN,
    ('        return "".join(self.id_to_token[i] for i in ids)\n',
     '        text = ""\n'
     '        while ids:\n'
     '            text += self.id_to_token[ids.pop(0)]\n'
     '        return text\n'))

CHAR_TUPLE_VOCAB = variant(CHAR_PLAIN,
    ('        self.id_to_token = list(SPECIAL_TOKENS) + sorted(set(text))\n',
     '        self.id_to_token = SPECIAL_TOKENS + tuple(sorted(set(text)))\n'))

CHAR_UTF16_ORDER = variant(CHAR_PLAIN,
    ('        self.id_to_token = list(SPECIAL_TOKENS) + sorted(set(text))\n',
     '        # order by the character\'s code units\n'
     '        self.id_to_token = list(SPECIAL_TOKENS) + sorted(set(text), key=lambda ch: ch.encode("utf-16-be"))\n'))

CHAR_MEMO_SAME_LIST = variant(CHAR_PLAIN,
    ('        return self\n',
     '        self.memo = {}\n'
     '        return self\n'),
    ('        return [self.token_to_id.get(ch, UNK_ID) for ch in text]\n',
     '        memo = self.__dict__.setdefault("memo", {})\n'
     '        if text not in memo:\n'
     '            memo[text] = [self.token_to_id.get(ch, UNK_ID) for ch in text]\n'
     '        return memo[text]\n'))

CHAR_COUNTER_REDUCE = r'''
import operator
from collections import Counter
from functools import reduce


class CharTokenizer(Tokenizer):
    def train(self, text):
        self.id_to_token = [*SPECIAL_TOKENS, *sorted(Counter(text))]
        self.token_to_id = dict(zip(self.id_to_token, range(len(self.id_to_token))))
        return self

    def encode(self, text):
        return list(map(lambda ch: self.token_to_id.get(ch, UNK_ID), text))

    def decode(self, ids):
        return reduce(operator.add, (self.id_to_token[i] for i in ids), "")
'''

CHAR_LOOPS_AND_VALID_CACHE = r'''
class CharTokenizer(Tokenizer):
    def __init__(self):
        super().__init__()
        self._cache = {}

    def train(self, text):
        self.id_to_token = list(SPECIAL_TOKENS)
        for cp in sorted({ord(ch) for ch in text}):
            self.id_to_token.append(chr(cp))
        self.token_to_id = {}
        for i, token in enumerate(self.id_to_token):
            self.token_to_id[token] = i
        self._cache = {}
        return self

    def encode(self, text):
        if text not in self._cache:
            ids = []
            for ch in text:
                try:
                    ids.append(self.token_to_id[ch])
                except KeyError:
                    ids.append(UNK_ID)
            self._cache[text] = ids
        return self._cache[text][:]

    def decode(self, ids):
        pieces = [self.id_to_token[i] for i in ids]
        return "".join(pieces)
'''

# split_words ----------------------------------------------------------------------------------

SPLIT_ISALPHA_ISDIGIT = r'''
def split_words(text):
    tokens, word = [], ""
    for ch in text:
        if ch.isalpha() or ch.isdigit() or ch == "_":
            word += ch
            continue
        if word:
            tokens.append(word)
            word = ""
        if not ch.isspace():
            tokens.append(ch)
    if word:
        tokens.append(word)
    return tokens
'''

SPLIT_ASCII_DIGITS = r'''
import re


def split_words(text):
    return re.findall(r"(?:[^\W\d_]|[0-9_])+|[^\w\s]|[^\W_a-zA-Z0-9]", text)
'''

SPLIT_DROPS_FORMAT_CHARACTERS = r'''
import re
import unicodedata


def split_words(text):
    visible = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")  # zero-width characters
    return re.findall(r"\w+|[^\w\s]", visible)
'''

SPLIT_LRU_CACHE = r'''
import re
from functools import lru_cache


@lru_cache(maxsize=None)
def split_words(text):
    return re.findall(r"\w+|[^\w\s]", text)
'''

SPLIT_MUTABLE_DEFAULT = r'''
import re


def split_words(text, tokens=[]):
    tokens += re.findall(r"\w+|[^\w\s]", text)
    return tokens
'''

SPLIT_NON_SPACE = r'''
import re


def split_words(text):
    return re.findall(r"\w+|\S", text)
'''

SPLIT_BY_HAND_ISALNUM = r'''
def split_words(text):
    tokens, start = [], None
    for i, ch in enumerate(text + " "):
        in_word = ch.isalnum() or ch == "_"
        if in_word and start is None:
            start = i
        elif not in_word:
            if start is not None:
                tokens.append(text[start:i])
                start = None
            if not ch.isspace():
                tokens.append(ch)
    return tokens
'''

SPLIT_RE_SPLIT = r'''
import re


def split_words(text):
    return [piece for piece in re.split(r"(\W)", text) if piece and not piece.isspace()]
'''

SPLIT_STR_SPLIT_THEN_RE = r'''
import re

WORD_OR_SYMBOL = re.compile(r"\w+|\W")


def split_words(text):
    return [token for chunk in text.split() for token in (m.group() for m in WORD_OR_SYMBOL.finditer(chunk))]
'''

# WordTokenizer --------------------------------------------------------------------------------

WORD_TEMPLATE = r'''
from collections import Counter


class WordTokenizer(Tokenizer):
    def train(self, text, min_freq=1, max_size=None):
        counts = Counter(split_words(text))
        words = sorted(counts, key=lambda w: (-counts[w], w))
        {SELECT}
        self.id_to_token = list(SPECIAL_TOKENS) + words
        self.token_to_id = {{t: i for i, t in enumerate(self.id_to_token)}}
        return self

    def encode(self, text):
        {ENCODE}

    def decode(self, ids):
        {DECODE}
'''
WORD_RIGHT = dict(
    SELECT="""words = [w for w in words if counts[w] >= min_freq]
        if max_size is not None:
            words = words[:max_size - len(SPECIAL_TOKENS)]""",
    ENCODE="return [self.token_to_id.get(w, UNK_ID) for w in split_words(text)]",
    DECODE='return " ".join(self.id_to_token[i] for i in ids)')


def word(**changes) -> str:
    return WORD_TEMPLATE.format(**{**WORD_RIGHT, **changes})


WORD_OPTIONS_EXCLUSIVE = word(SELECT="""if max_size is not None:
            words = words[:max_size - len(SPECIAL_TOKENS)]
        elif min_freq > 1:
            words = [w for w in words if counts[w] >= min_freq]""")

WORD_DECODE_SKIPS_PAD = word(DECODE='return " ".join(self.id_to_token[i] for i in ids if i != PAD_ID)')

WORD_SPECIAL_TEXT = word(ENCODE="""import re
        ids = []
        for piece in re.split("(<pad>|<unk>|<bos>|<eos>)", text):
            if piece in SPECIAL_TOKENS:
                ids.append(SPECIAL_TOKENS.index(piece))
            else:
                ids += [self.token_to_id.get(w, UNK_ID) for w in split_words(piece)]
        return ids""")

WORD_STALE_CACHE = word(ENCODE="""cache = self.__dict__.setdefault("cache", {})
        if text not in cache:
            cache[text] = [self.token_to_id.get(w, UNK_ID) for w in split_words(text)]
        return list(cache[text])""")

WORD_MAX_SIZE_OR_NONE = word(SELECT="""words = [w for w in words if counts[w] >= min_freq]
        if max_size is not None:
            words = words[:max_size - len(SPECIAL_TOKENS) or None]""")

WORD_COUNT_THRESHOLD = word(SELECT="""words = [w for w in words if counts[w] >= min_freq]
        if max_size is not None and len(words) > max_size - len(SPECIAL_TOKENS):
            cutoff = counts[words[max_size - len(SPECIAL_TOKENS) - 1]] if max_size > len(SPECIAL_TOKENS) else None
            words = [w for w in words if cutoff is not None and counts[w] >= cutoff]""")

WORD_DICT_TWO_SORTS = r'''
class WordTokenizer(Tokenizer):
    def train(self, text, min_freq=1, max_size=None):
        counts = {}
        for token in split_words(text):
            counts[token] = counts.get(token, 0) + 1
        words = sorted(token for token, count in counts.items() if count >= min_freq)
        words.sort(key=counts.__getitem__, reverse=True)  # stable: ties stay in code-point order
        if max_size is not None:
            del words[max_size - len(SPECIAL_TOKENS):]
        self.id_to_token = [*SPECIAL_TOKENS, *words]
        self.token_to_id = {token: i for i, token in enumerate(self.id_to_token)}
        return self

    def encode(self, text):
        ids = []
        for token in split_words(text):
            try:
                ids.append(self.token_to_id[token])
            except KeyError:
                ids.append(UNK_ID)
        return ids

    def decode(self, ids):
        return " ".join(map(self.id_to_token.__getitem__, ids))
'''

WORD_MOST_COMMON_ISLICE = r'''
import itertools
from collections import Counter


class WordTokenizer(Tokenizer):
    def train(self, text, min_freq=1, max_size=None):
        ranked = sorted(Counter(split_words(text)).most_common(), key=lambda item: (-item[1], item[0]))
        kept = (token for token, count in ranked if count >= min_freq)
        limit = None if max_size is None else max(0, max_size - len(SPECIAL_TOKENS))
        self.id_to_token = list(SPECIAL_TOKENS) + list(itertools.islice(kept, limit))
        self.token_to_id = {token: i for i, token in enumerate(self.id_to_token)}
        self._cache = {}
        return self

    def encode(self, text):
        cache = self.__dict__.setdefault("_cache", {})
        if text not in cache:
            cache[text] = tuple(self.token_to_id.get(token, UNK_ID) for token in split_words(text))
        return list(cache[text])

    def decode(self, ids):
        words = []
        for i in ids:
            words.append(self.id_to_token[i])
        return " ".join(words)
'''

# add_special_tokens ---------------------------------------------------------------------------

SPECIAL_MUTATES_WITHOUT_MAX_LEN = r'''
def add_special_tokens(ids, max_len=None):
    if max_len is None:
        ids.insert(0, BOS_ID)
        ids.append(EOS_ID)
        return ids
    if max_len < 2:
        raise ValueError("max_len must be at least 2")
    return [BOS_ID] + ids[:max_len - 2] + [EOS_ID]
'''

SPECIAL_NOT_TWICE = r'''
def add_special_tokens(ids, max_len=None):
    if max_len is not None and max_len < 2:
        raise ValueError("max_len must be at least 2")
    content = list(ids)
    if content and content[0] == BOS_ID:  # already wrapped
        content = content[1:]
    if content and content[-1] == EOS_ID:
        content = content[:-1]
    if max_len is not None:
        content = content[:max_len - 2]
    return [BOS_ID] + content + [EOS_ID]
'''

SPECIAL_EMPTY_FIRST = r'''
def add_special_tokens(ids, max_len=None):
    if not ids:
        return [BOS_ID, EOS_ID]
    if max_len is not None and max_len < 2:
        raise ValueError("max_len must be at least 2")
    content = ids if max_len is None else ids[:max_len - 2]
    return [BOS_ID, *content, EOS_ID]
'''

SPECIAL_BYTEARRAY = r'''
def add_special_tokens(ids, max_len=None):
    if max_len is not None and max_len < 2:
        raise ValueError("max_len must be at least 2")
    out = bytearray([BOS_ID])
    out.extend(ids if max_len is None else ids[:max_len - 2])
    out.append(EOS_ID)
    return list(out)
'''

SPECIAL_ZERO_OR_ONE = r'''
def add_special_tokens(ids, max_len=None):
    if max_len in (0, 1):
        raise ValueError("max_len must be at least 2")
    content = list(ids) if max_len is None else list(ids)[:max_len - 2]
    return [BOS_ID] + content + [EOS_ID]
'''

SPECIAL_ISLICE_UNPACK = r'''
from itertools import islice


def add_special_tokens(ids, max_len=None):
    if max_len is not None and max_len < 2:
        raise ValueError(f"max_len={max_len} leaves no room for <bos> and <eos>")
    return [BOS_ID, *islice(ids, None if max_len is None else max_len - 2), EOS_ID]
'''

SPECIAL_COPY_INSERT = r'''
import copy


def add_special_tokens(ids, max_len=None):
    result = copy.copy(ids)
    if max_len is not None:
        if not max_len >= 2:
            raise ValueError("max_len < 2")
        del result[max_len - 2:]
    result.insert(0, BOS_ID)
    result.append(EOS_ID)
    return result
'''

# pad_batch ------------------------------------------------------------------------------------

PAD_TEMPLATE = r'''
def pad_batch(sequences, pad_id, max_len=None, side="right"):
    {CHECKS}
    length = max(len(s) for s in sequences) if max_len is None else max_len
    rows, masks = [], []
    for sequence in sequences:
        kept = list(sequence[:length])
        padding = length - len(kept)
        if side == "right":
            rows.append(kept + [pad_id] * padding)
            masks.append([1] * len(kept) + [0] * padding)
        else:
            {LEFT}
            masks.append([0] * padding + [1] * len(kept))
    return {IDS}, torch.tensor(masks, dtype=torch.long).reshape(len(sequences), length)
'''
PAD_RIGHT = dict(
    CHECKS="""if side not in ("left", "right"):
        raise ValueError(f"side {side!r}")
    if not sequences:
        raise ValueError("empty batch")""",
    LEFT="rows.append([pad_id] * padding + kept)",
    IDS="torch.tensor(rows, dtype=torch.long).reshape(len(sequences), length)")


def pad(**changes) -> str:
    return PAD_TEMPLATE.format(**{**PAD_RIGHT, **changes})


PAD_LEFT_INSERTS = pad(LEFT="""del sequence[length:]
            for _ in range(padding):
                sequence.insert(0, pad_id)
            rows.append(sequence)""")

PAD_SIDE_ANY_CASE = pad(CHECKS="""side = side.lower()
    if side not in ("left", "right"):
        raise ValueError(f"side {side!r}")
    if not sequences:
        raise ValueError("empty batch")""")

PAD_EMPTY_WITH_MAX_LEN = pad(CHECKS="""if side not in ("left", "right"):
        raise ValueError(f"side {side!r}")  # an empty batch: max() below raises ValueError""")

PAD_INT16 = pad(IDS="torch.tensor(rows, dtype=torch.int16).reshape(len(sequences), length).long()")

PAD_FLOAT_WHEN_EMPTY = r'''
def pad_batch(sequences, pad_id, max_len=None, side="right"):
    if side not in ("left", "right"):
        raise ValueError(f"side {side!r}")
    if not sequences:
        raise ValueError("empty batch")
    length = max(len(s) for s in sequences) if max_len is None else max_len
    rows, masks = [], []
    for sequence in sequences:
        kept = list(sequence[:length])
        padding = [pad_id] * (length - len(kept))
        rows.append(kept + padding if side == "right" else padding + kept)
        real = [1] * len(kept)
        masks.append(real + [0] * len(padding) if side == "right" else [0] * len(padding) + real)
    return torch.tensor(rows), torch.tensor(masks)
'''

PAD_CACHE_ON_BATCH = r'''
_PADDED = {}


def pad_batch(sequences, pad_id, max_len=None, side="right"):
    if side not in ("left", "right"):
        raise ValueError(f"side {side!r}")
    if not sequences:
        raise ValueError("empty batch")
    key = (tuple(map(tuple, sequences)), pad_id)
    if key not in _PADDED:
        length = max(len(s) for s in sequences) if max_len is None else max_len
        ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
        mask = torch.zeros((len(sequences), length), dtype=torch.long)
        for row, sequence in enumerate(sequences):
            kept = list(sequence)[:length]
            if kept:
                cols = slice(0, len(kept)) if side == "right" else slice(length - len(kept), length)
                ids[row, cols] = torch.tensor(kept)
                mask[row, cols] = 1
        _PADDED[key] = (ids, mask)
    ids, mask = _PADDED[key]
    return ids.clone(), mask.clone()
'''

PAD_ARANGE_FLIP = r'''
def pad_batch(sequences, pad_id, max_len=None, side="right"):
    if side != "right" and side != "left":
        raise ValueError("side must be 'left' or 'right'")
    if len(sequences) == 0:
        raise ValueError("nothing to pad")
    length = max(map(len, sequences)) if max_len is None else max_len
    kept = [list(s)[:length] for s in sequences]
    lengths = torch.tensor([len(k) for k in kept], dtype=torch.long)
    rows = [k + [pad_id] * (length - len(k)) for k in kept]
    input_ids = torch.tensor(rows, dtype=torch.long).view(len(kept), length)
    attention_mask = (torch.arange(length)[None, :] < lengths[:, None]).to(torch.int64)
    if side == "left":
        # roll each row so that its padding comes first
        shifts = (length - lengths).tolist()
        input_ids = torch.stack([torch.roll(r, s) for r, s in zip(input_ids, shifts)]) if length else input_ids
        attention_mask = attention_mask.flip(-1)
    return input_ids, attention_mask
'''

PAD_PAD_SEQUENCE = r'''
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence


def pad_batch(sequences, pad_id, max_len=None, side="right"):
    if side not in {"left", "right"}:
        raise ValueError(side)
    if not sequences:
        raise ValueError("empty batch")
    length = max(len(s) for s in sequences) if max_len is None else max_len
    tensors = [torch.as_tensor(list(s)[:length], dtype=torch.long) for s in sequences]
    if side == "left":
        tensors = [t.flip(0) for t in tensors]
    ids = pad_sequence(tensors, batch_first=True, padding_value=pad_id)
    mask = pad_sequence([torch.ones_like(t) for t in tensors], batch_first=True, padding_value=0)
    ids = F.pad(ids, (0, length - ids.shape[1]), value=pad_id)
    mask = F.pad(mask, (0, length - mask.shape[1]), value=0)
    if side == "left":
        ids, mask = ids.flip(1), mask.flip(1)
    return ids.long(), mask.long()
'''

WRONG = [
    # utf8_encode
    Wrong("utf8_encode", "4-byte second byte masked with 0x1F: code points from U+20000 lose bit 17",
          ENCODE_PLANE_MASK, "every plane"),
    Wrong("utf8_encode", "drops the byte-order mark U+FEFF", ENCODE_DROPS_BOM, "byte-order mark"),
    Wrong("utf8_encode", "Python's codec under the alias 'u8'", ENCODE_CODEC_ALIAS, "codec"),
    Wrong("utf8_encode", "Python's codec imported as codecs.utf_8_encode", ENCODE_CODEC_IMPORT, "codec"),
    Wrong("utf8_encode", "mutable default argument: bytes accumulate across calls", ENCODE_MUTABLE_DEFAULT,
          "earlier calls"),
    Wrong("utf8_encode", "one module-level list reused: an earlier result changes with the next call",
          ENCODE_SHARED_RESULT, "earlier calls"),
    # utf8_decode
    Wrong("utf8_decode", "pops bytes off the caller's list", DECODE_POPS_INPUT, "in place"),
    Wrong("utf8_decode", "byte_values.copy(): a bytes object fails", DECODE_NEEDS_A_LIST, "bytes object"),
    Wrong("utf8_decode", "continuation check looks at the high bit only (accepts lead bytes 11xxxxxx)",
          DECODE_HIGH_BIT_ONLY, "10xxxxxx"),
    Wrong("utf8_decode", "skips a leading byte-order mark", DECODE_STRIPS_BOM, "byte-order mark"),
    Wrong("utf8_decode", "4-byte: first continuation byte masked with 0x1F (planes 2-16 wrong)",
          DECODE_PLANE_MASK, "every plane"),
    Wrong("utf8_decode", "Python's codec under the alias 'u8'", DECODE_CODEC_ALIAS, "codec"),
    Wrong("utf8_decode", "mutable default argument: characters accumulate across calls",
          DECODE_MUTABLE_DEFAULT, "earlier calls"),
    Wrong("utf8_decode", "assert instead of raise ValueError", DECODE_ASSERTS, "ValueError"),
    # CharTokenizer
    Wrong("CharTokenizer", "class-level encode cache keyed on the text: stale after training again",
          CHAR_CLASS_CACHE, "stale"),
    Wrong("CharTokenizer", "token_to_id is a defaultdict: encode adds every unknown character",
          CHAR_DEFAULTDICT, "defaultdict"),
    Wrong("CharTokenizer", "decode pops the caller's ids", CHAR_DECODE_POPS, "in place"),
    Wrong("CharTokenizer", "id_to_token is a tuple", CHAR_TUPLE_VOCAB, "should be a list"),
    Wrong("CharTokenizer", "characters sorted by UTF-16 code units (astral before U+E000-U+FFFF)",
          CHAR_UTF16_ORDER, "code point"),
    Wrong("CharTokenizer", "encode returns its memoised list: the caller's change alters later results",
          CHAR_MEMO_SAME_LIST, "new list"),
    # split_words
    Wrong("split_words", "word characters by isalpha/isdigit: numerals such as ½ and Ⅻ split off",
          SPLIT_ISALPHA_ISDIGIT, "numeral"),
    Wrong("split_words", "only ASCII digits count as digits: ٣ (Arabic-Indic three) splits off", SPLIT_ASCII_DIGITS,
          "numeral"),
    Wrong("split_words", "format characters (zero-width joiner, BOM) dropped", SPLIT_DROPS_FORMAT_CHARACTERS,
          "not whitespace"),
    Wrong("split_words", "lru_cache: the same list object for the same text", SPLIT_LRU_CACHE, "new list"),
    Wrong("split_words", "mutable default argument: tokens accumulate across calls", SPLIT_MUTABLE_DEFAULT,
          "earlier calls"),
    # WordTokenizer
    Wrong("WordTokenizer", "min_freq ignored when max_size is given", WORD_OPTIONS_EXCLUSIVE, "both"),
    Wrong("WordTokenizer", "decode drops <pad>", WORD_DECODE_SKIPS_PAD, "<pad> included"),
    Wrong("WordTokenizer", "encode turns the text '<bos>' into BOS_ID", WORD_SPECIAL_TEXT, "never produced"),
    Wrong("WordTokenizer", "encode cache keyed on the text: stale after training again", WORD_STALE_CACHE,
          "stale"),
    Wrong("WordTokenizer", "max_size=4 keeps every word (slice [:0 or None])", WORD_MAX_SIZE_OR_NONE,
          "special tokens only"),
    Wrong("WordTokenizer", "max_size as a count threshold: ties at the boundary exceed max_size",
          WORD_COUNT_THRESHOLD, "max_size"),
    # add_special_tokens
    Wrong("add_special_tokens", "changes the caller's list when max_len is None", SPECIAL_MUTATES_WITHOUT_MAX_LEN,
          "in place"),
    Wrong("add_special_tokens", "does not wrap again content that starts with BOS_ID or ends with EOS_ID",
          SPECIAL_NOT_TWICE, "already"),
    Wrong("add_special_tokens", "an empty list returns before max_len is checked", SPECIAL_EMPTY_FIRST,
          "below 2"),
    Wrong("add_special_tokens", "built in a bytearray: ids above 255 fail", SPECIAL_BYTEARRAY, "above 255"),
    Wrong("add_special_tokens", "only max_len 0 and 1 rejected, negative max_len accepted", SPECIAL_ZERO_OR_ONE,
          "below 2"),
    # pad_batch
    Wrong("pad_batch", "left padding inserts into the caller's lists", PAD_LEFT_INSERTS, "in place"),
    Wrong("pad_batch", "side compared case-insensitively ('Left' accepted)", PAD_SIDE_ANY_CASE, "exactly"),
    Wrong("pad_batch", "an empty batch accepted when max_len is given", PAD_EMPTY_WITH_MAX_LEN, "empty batch"),
    Wrong("pad_batch", "ids built as int16: ids above 32767 overflow", PAD_INT16, "overflow"),
    Wrong("pad_batch", "torch.tensor(rows) without dtype: float32 when every row is empty", PAD_FLOAT_WHEN_EMPTY,
          "empty rows"),
    Wrong("pad_batch", "cache keyed on the batch and pad_id only (side, max_len ignored)", PAD_CACHE_ON_BATCH,
          "part of"),
]

CORRECT = [
    Correct("utf8_encode", "surrogates raise UnicodeEncodeError('utf-8', ...); docstring names str.encode",
            ENCODE_NAMES_THE_CODEC),
    Correct("utf8_encode", "inner helper named encode, shifts computed per length", ENCODE_HELPER_NAMED_ENCODE),
    Correct("utf8_encode", "recursive continuation bytes, bytearray accumulator", ENCODE_RECURSIVE_BITS),
    Correct("utf8_encode", "bit strings and int(..., 2)", ENCODE_BIT_STRINGS),
    Correct("utf8_decode", "errors are UnicodeDecodeError('utf-8', ...) (a ValueError)", DECODE_UNICODE_DECODE_ERROR),
    Correct("utf8_decode", "one iterator, inner helper named decode, leading ones counted in a bit string",
            DECODE_ITERATOR_HELPER_NAMED_DECODE),
    Correct("utf8_decode", "lead-byte table and functools.reduce", DECODE_TABLE_AND_REDUCE),
    Correct("CharTokenizer", "Counter keys, zip, map and reduce", CHAR_COUNTER_REDUCE),
    Correct("CharTokenizer", "explicit loops, try/except KeyError, a cache cleared by train",
            CHAR_LOOPS_AND_VALID_CACHE),
    Correct("split_words", r"re.findall(r'\w+|\S')", SPLIT_NON_SPACE),
    Correct("split_words", "a hand loop with str.isalnum and str.isspace", SPLIT_BY_HAND_ISALNUM),
    Correct("split_words", r"re.split on (\W), whitespace filtered out", SPLIT_RE_SPLIT),
    Correct("split_words", "str.split() then a module-level compiled pattern", SPLIT_STR_SPLIT_THEN_RE),
    Correct("WordTokenizer", "a plain dict, two stable sorts, del for max_size, try/except", WORD_DICT_TWO_SORTS),
    Correct("WordTokenizer", "most_common re-sorted, islice, a cache cleared by train", WORD_MOST_COMMON_ISLICE),
    Correct("add_special_tokens", "islice and unpacking", SPECIAL_ISLICE_UNPACK),
    Correct("add_special_tokens", "copy.copy, del, insert and append on the copy", SPECIAL_COPY_INSERT),
    Correct("pad_batch", "arange mask, per-row roll for left padding", PAD_ARANGE_FLIP),
    Correct("pad_batch", "pad_sequence on flipped rows, F.pad up to max_len", PAD_PAD_SEQUENCE),
]
