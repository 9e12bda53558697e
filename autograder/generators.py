"""Seeded inputs that cover the whole domain a notebook's text allows, for differential checks.

Every generator takes a `random.Random` and returns plain data (or tensors), so a list of cases is
the same on every run. Sizes stay small: a differential check calls learner code once per case.
"""
import random

# one character from each region that trips hand-written code: ASCII controls, Latin-1, a combining
# mark, the last 2-byte and first 3-byte code points, CJK, Hangul, the BOM, a zero-width joiner,
# no-break space, fractions and numerals, the last BMP character before the surrogates and after,
# emoji (4 bytes), plane 2 CJK, plane 14 tags, and the last code point
TRICKY_CHARACTERS = ["\x00", "\t", "\n", "\x7f", "\x80", "é", "\u0301", "\u07ff", "\u0800", "日", "한",
                     "\ufeff", "\u200d", "\u00a0", "½", "Ⅻ", "٣", "\ud7ff", "\ue000", "\uffff", "😀",
                     "👩\u200d💻", "\U00020000", "\U000e0041", "\U0010ffff"]
PLANES = [(0x20, 0x7F), (0xA0, 0x7FF), (0x800, 0xD7FF), (0xE000, 0xFFFF), (0x10000, 0x1FFFF),
          (0x20000, 0x3FFFF), (0xE0000, 0xEFFFF), (0xF0000, 0x10FFFF)]


def code_point(rng: random.Random) -> str:
    """One character from a random range of Unicode (every plane used, no surrogates)."""
    low, high = rng.choice(PLANES)
    return chr(rng.randint(low, high))


def text(rng: random.Random, max_length: int = 12) -> str:
    """A short string mixing ASCII words, spaces, tricky characters and any plane."""
    pieces = []
    for _ in range(rng.randint(0, max_length)):
        kind = rng.random()
        if kind < 0.4:
            pieces.append(rng.choice(["a", "Z", "the", "Hello", "x1", "'s", "don't", "9"]))
        elif kind < 0.6:
            pieces.append(rng.choice([" ", "  ", "\n", "\t", " \n"]))
        elif kind < 0.8:
            pieces.append(rng.choice(TRICKY_CHARACTERS))
        else:
            pieces.append(code_point(rng))
    return "".join(pieces)


def token_ids(rng: random.Random, max_length: int = 10, vocab_size: int = 100_000) -> list[int]:
    """Ids of any size below vocab_size: single digits, bytes, ids above 256, five-digit ids."""
    pools = [(0, 9), (0, 255), (256, 1000), (1000, vocab_size - 1)]
    return [rng.randint(*rng.choice(pools)) for _ in range(rng.randint(0, max_length))]


def tensor(rng: random.Random, shape: tuple[int, ...], dtype=None, scale: float = 1.0):
    """A seeded normal tensor, float32 unless `dtype` says (large `scale` tests overflow: exp(1000)
    is inf). torch is imported here, so that checks of notebooks without torch never import it."""
    import torch
    dtype = dtype or torch.float32
    generator = torch.Generator().manual_seed(rng.randrange(1 << 30))
    return torch.randn(shape, generator=generator, dtype=dtype) * scale


def leading_shape(rng: random.Random, *last: int) -> tuple[int, ...]:
    """Zero to two leading dimensions (1 included), then `last`: 1-D to 4-D inputs."""
    return tuple(rng.choice([1, 2, 3]) for _ in range(rng.randint(0, 2))) + last
