"""Hidden checks for 02-bpe-tokenizer. Inputs differ from the notebook's visible checks.

Each exercise has (1) one check per stated convention, with a hint naming the likely bug, (2) a
differential check against the reference on seeded inputs covering the whole domain the text allows
(ids of any size, Unicode from every plane, empty inputs, every option's boundaries), whose calls
are guarded (an argument changed in place or returned as the result fails), and (3) a check that
calls in a row do not depend on each other (mutable defaults, caches keyed on part of the
arguments).
"""
import random

import pytest

from autograder import generators as g
from autograder.checking import (expect, expect_equal, expect_independent_calls, expect_proven, expect_same_as_reference,
                                 expect_type, exercise, judged_only_if_right, short)
from autograder.remote import observe, probe
from coursekit.corpus import generate_text, real_text

STATE_HINT = ("The result must depend only on the arguments of this call: no mutable default argument "
              "(counts={}, out=[]), no global or cache kept between calls unless it is keyed on ALL the "
              "arguments; earlier calls must not change later results.")


def random_word_counts(seed: int, n_words: int = 40) -> dict:
    rng = random.Random(seed)
    return {tuple(rng.choices(range(6), k=rng.randint(1, 7))): rng.randint(1, 5) for _ in range(n_words)}


def alphabet(rng: random.Random, size: int = 4) -> list[int]:
    """A few ids of every size (bytes, single digits, ids above 256, five-digit ids), no duplicates."""
    return sorted(set(g.token_ids(rng, size) + [rng.randint(0, 255), rng.randint(256, 99_999)]))


# count_pairs ----------------------------------------------------------------------------------

def count_pairs_cases(seed: int, n: int) -> list:
    rng = random.Random(seed)
    cases = [({},), ({(5,): 0},), ({(70000, 70000, 70000): 1},)]
    for _ in range(n):
        ids = alphabet(rng, 3)
        words = {}
        for _ in range(rng.randint(0, 5)):
            word = tuple(rng.choice(ids) for _ in range(rng.randint(1, 8)))
            words[word] = rng.choice([0, 1, 1, 2, 3, 7, 1000, 10 ** 12])
        cases.append((words,))
    return cases


@exercise("count_pairs", hint="Add the word's frequency word_counts[word] for each pair, not 1.", broad=True)
def test_count_pairs_weights_by_frequency(student):
    """Pairs are weighted by how often their word occurs."""
    expect_equal(student.count_pairs({(5, 6): 3, (6, 5, 6): 2}), {(5, 6): 5, (6, 5): 2})


@exercise("count_pairs", hint="Count every adjacent position, even overlapping ones: "
                              "(7, 7, 7, 7) holds the pair (7, 7) three times.")
def test_count_pairs_counts_overlapping_pairs(student):
    """A run of one token counts every overlapping pair."""
    expect_equal(student.count_pairs({(7, 7, 7, 7): 1}), {(7, 7): 3})


@exercise("count_pairs", hint="Pairs never span two words: count inside each word separately.")
def test_count_pairs_stays_inside_words(student):
    """No pair is formed across two different words."""
    expect_equal(student.count_pairs({(1, 2): 1, (3, 4): 1}), {(1, 2): 1, (3, 4): 1})


@exercise("count_pairs", hint="A one-token word has no pair; don't add zero counts.")
def test_count_pairs_single_token_words_add_nothing(student):
    """Words of one token contribute no pair."""
    expect_equal(student.count_pairs({(9,): 4, (1, 2): 1}), {(1, 2): 1})


@exercise("count_pairs", hint="A word of frequency 0 adds nothing: the result has no zero counts (a "
                              "defaultdict or Counter entry that was touched keeps its 0; filter them out).")
def test_count_pairs_has_no_zero_counts(student):
    """Words of frequency 0 leave no pair with a zero count."""
    expect_equal(student.count_pairs({(1, 2): 0, (3, 4, 3): 2, (5, 6): 0, (3, 4): 0}), {(3, 4): 2, (4, 3): 2})


@exercise("count_pairs", hint="Ids are any ints, not bytes: merged tokens have ids 256 and above (GPT-2's "
                              "reach 50,256). Keep a pair as the tuple (a, b), not packed into one number "
                              "(a * 256 + b) or into bytes.")
def test_count_pairs_ids_above_255(student):
    """Ids above 255 (merged tokens, five-digit ids) are counted as themselves."""
    expect_equal(student.count_pairs({(256, 1000, 256): 1, (1, 256): 2, (2, 0): 1, (7, 70000): 3}),
                 {(256, 1000): 1, (1000, 256): 1, (1, 256): 2, (2, 0): 1, (7, 70000): 3})


@exercise("count_pairs", hint="Read word_counts without changing it (no pop, popitem, del or update in "
                              "place) and return a new dict.")
def test_count_pairs_leaves_input_unchanged(student):
    """The caller's word_counts is not modified."""
    call = observe(student.count_pairs, {(4, 4, 4): 2, (4, 5): 1, (6,): 3})
    expect_equal(call.result, {(4, 4): 4, (4, 5): 1}, "count_pairs({(4, 4, 4): 2, (4, 5): 1, (6,): 3})")
    expect_proven(not call.changed, "count_pairs changed the caller's dict `word_counts` in place")
    expect_proven(call.returned_argument is None, "count_pairs returned the caller's dict `word_counts` itself")


@exercise("count_pairs", weight=2, hint="Count each adjacent pair of every word (ids of any size), weighted "
                                        "by the word's frequency (0 included: no zero counts); an empty "
                                        "dict gives {}; leave word_counts unchanged.", broad=True)
def test_count_pairs_matches_reference_on_random_words(student, reference):
    """Random word counts (ids of every size, frequency 0 and huge, no words): the reference's counts."""
    cases = count_pairs_cases(seed=21, n=50) + [(random_word_counts(seed),) for seed in range(3)]
    expect_same_as_reference(student.count_pairs, reference.count_pairs, cases, "count_pairs")


@exercise("count_pairs", hint=STATE_HINT)
def test_count_pairs_calls_are_independent(student, reference):
    """Calls in a row: each result depends only on its own arguments, not on earlier calls."""
    a, b = {(1, 2, 1, 2): 1}, {(1, 2): 5, (9, 9): 1}
    expect_independent_calls(student, reference, "count_pairs", [(a,), (b,), (a,), (a,)])


# merge ----------------------------------------------------------------------------------------

def merge_cases(seed: int, n: int) -> list:
    rng = random.Random(seed)
    cases = [([], (1, 2), 9), ([7], (7, 7), 8), ([300, 300], (300, 300), 301), ([1, 2, 2], (1, 2), 99_999)]
    for _ in range(n):
        ids_pool = alphabet(rng, 2)
        ids = [rng.choice(ids_pool) for _ in range(rng.randint(0, 12))]
        if len(ids) >= 2 and rng.random() < 0.75:
            i = rng.randrange(len(ids) - 1)
            pair = (ids[i], ids[i + 1])
        else:
            pair = (rng.choice(ids_pool), rng.choice(ids_pool))
        new_id = rng.choice([rng.randint(256, 99_999), rng.randint(100_000, 999_999)])
        while new_id in ids_pool or new_id in pair:  # a new id, as training makes
            new_id += 1
        cases.append((ids, pair, new_id))
    return cases


@exercise("merge", hint="Replace every occurrence of the pair, not only the first.", broad=True)
def test_merge_replaces_every_occurrence(student):
    """Every occurrence of the pair is replaced."""
    expect_equal(student.merge([1, 2, 3, 1, 2], (1, 2), 9), [9, 3, 9])


@exercise("merge", hint="Scan left to right and jump past a merged pair: overlapping pairs "
                        "must not be merged twice ([5, 5, 5] → [6, 5]).")
def test_merge_does_not_merge_overlapping_pairs_twice(student):
    """A run merges left to right without overlap."""
    expect_equal(student.merge([5, 5, 5, 5, 5], (5, 5), 6), [6, 6, 5])


@exercise("merge", hint="Check the last position too: a pair at the very end must be merged "
                        "(an off-by-one in the loop bound?).")
def test_merge_handles_pair_at_the_end(student):
    """A pair in the last two positions is merged."""
    expect_equal(student.merge([3, 1, 2], (1, 2), 9), [3, 9])


@exercise("merge", hint="Only the ordered pair (a, b) merges: (b, a) is a different pair.")
def test_merge_respects_pair_order(student):
    """The reversed pair is not merged."""
    expect_equal(student.merge([2, 1, 2], (1, 2), 9), [2, 9])


@exercise("merge", hint="Build and return a new list; leave `ids` as it was.")
def test_merge_leaves_input_unchanged(student):
    """The input list is not modified."""
    call = observe(student.merge, [4, 4, 1, 4, 4], (4, 4), 7)
    expect_proven(not call.changed, "merge changed the caller's list `ids` in place")
    expect_proven(call.returned_argument is None, "merge returned the caller's list `ids` itself, not a new list")
    with judged_only_if_right():
        expect_equal(call.result, [7, 1, 7], "merge([4, 4, 1, 4, 4], (4, 4), 7)")


@exercise("merge", hint="Return a new list even when nothing is replaced (or ids is empty): returning "
                        "`ids` itself lets a later change to the result change the caller's list too.")
def test_merge_returns_a_new_list_when_nothing_merges(student):
    """With no occurrence of the pair (or no ids at all), the result is still a new list."""
    for ids in ([4, 5, 6], [], [6]):
        call = observe(student.merge, ids, (6, 4), 9)
        expect_proven(call.returned_argument is None,
               f"merge({ids}, (6, 4), 9) returned the caller's list `ids` itself, not a new list")
        expect_equal(call.result, ids, f"merge({ids}, (6, 4), 9)")


@exercise("merge", hint="Short inputs: [] and a single id come back unchanged.")
def test_merge_short_inputs(student):
    """Empty and one-token inputs come back unchanged."""
    expect_equal(student.merge([], (1, 2), 9), [], "merge([])")
    expect_equal(student.merge([1], (1, 2), 9), [1], "merge([1])")


@exercise("merge", hint="Compare ids as numbers in the list, not as digits in a joined string: "
                        "'11,2' and '1,23' both contain '1,2'.")
def test_merge_ids_with_several_digits(student):
    """Ids with several digits: (1, 2) does not match inside 11, 2 or 1, 23."""
    expect_equal(student.merge([11, 2, 1, 23, 1, 2, 300, 1], (1, 2), 70000), [11, 2, 1, 23, 70000, 300, 1])


@exercise("merge", weight=2, hint="Scan the input ids left to right, replace each occurrence of the pair "
                                  "by new_id and jump past it; ids and new_id of any size; return a new "
                                  "list and leave `ids` unchanged.", broad=True)
def test_merge_matches_reference_on_random_ids(student, reference):
    """Random ids of every size, pairs that occur or not (runs, at the ends), empty ids: the reference's result."""
    expect_same_as_reference(student.merge, reference.merge, merge_cases(seed=22, n=70), "merge")


@exercise("merge", hint=STATE_HINT)
def test_merge_calls_are_independent(student, reference):
    """Calls in a row: each result depends only on its own arguments, not on earlier calls."""
    calls = [([1, 2, 1, 2], (1, 2), 3), ([5], (5, 5), 6), ([1, 2, 1, 2], (1, 2), 3), ([2, 2], (2, 2), 4)]
    expect_independent_calls(student, reference, "merge", calls)


# train_bpe ------------------------------------------------------------------------------------

def train_bpe_cases(seed: int, n: int) -> list:
    rng = random.Random(seed)
    cases = [("", 255), ("", 256), ("", 300), ("a", 255), ("a", 0), ("aa", -1), ("x", 256), ("ab", 10_000),
             ("\ufeff\ufeff", 300), ("½½ ⅫⅫ ٣٣", 300), ("😀😀 \U0010ffff\U0010ffff", 262),
             ("I'M DON'T 'S 'T 'Re 'll", 300), ("$1,234.50 for   3 cats!\n\n", 300), ("1234567 ٣٣٣٣ 12", 300)]
    for _ in range(n):
        pieces = [g.text(rng, 5) for _ in range(rng.randint(1, 3))]
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 5)))
        sizes = rng.sample([255, 256, 257, 258, 260, 264, 280, 400], 2)
        cases += [(text, size) for size in sizes]
    return cases


def same_merges(got, expected, what):
    expect_type(got, dict, what)
    expect_equal(list(got.items()), list(expected.items()), f"{what}, the merges in order")


@exercise("train_bpe", hint="The k-th merge (k = 0, 1, ...) gets the new id 256 + k, and "
                            "vocab_size counts the 256 bytes: learn vocab_size - 256 merges.")
def test_train_bpe_numbers_merges_from_256(student):
    """Merge k gets id 256 + k; vocab_size - 256 merges are learned."""
    merges = student.train_bpe("the cat and the hat and the bat", 262)
    expect_type(merges, dict, "train_bpe's result")
    expect_equal(sorted(merges.values()), list(range(256, 262)), "the new ids")


@exercise("train_bpe", hint="Weight each pre-token's pairs by how often it occurs in the text.")
def test_train_bpe_weights_pairs_by_word_frequency(student):
    """Repeated pre-tokens count as often as they occur."""
    merges = student.train_bpe("ab ab ab ab cd cd ce", 257)
    expect_equal(list(merges), [(97, 98)], "the first merge ('a','b' occurs 4 times)")


@exercise("train_bpe", hint="Tie-break: among pairs with equal counts the smallest (a, b) tuple wins. "
                            "max() over a dict returns the first maximum it meets, not the smallest.")
def test_train_bpe_breaks_ties_by_smallest_pair(student):
    """Equal counts: the smallest (a, b) pair is merged first."""
    merges = student.train_bpe("zy xw", 258)
    expect_equal(list(merges), [(32, 120), (122, 121)], "the merges (every pair occurs once)")


@exercise("train_bpe", hint="Tie-break on the pair of ids (a, b) compared as a tuple of ids: a merged "
                            "token (id 256 and above) sorts after every byte, whatever bytes it stands for.")
def test_train_bpe_ties_compare_ids_not_bytes(student):
    """A tie between (98, 256) and (256, 98): the smaller tuple of ids wins, not the smaller bytes."""
    expect_equal(list(student.train_bpe("baab", 258).items()), [((97, 97), 256), ((98, 256), 257)],
                 "train_bpe('baab', 258)")


@exercise("train_bpe", hint="Count overlapping pairs when training: 'aaa' holds ('a','a') twice.")
def test_train_bpe_counts_overlapping_pairs(student):
    """Overlapping pairs count when choosing the merge."""
    merges = student.train_bpe("aaa bcbc", 257)
    expect_equal(list(merges), [(97, 97)], "the first merge")


@exercise("train_bpe", hint="Pre-tokenize with GPT-2's pattern first: pairs never cross pre-token "
                            "boundaries; stop early when no pair is left.")
def test_train_bpe_never_merges_across_pretokens(student):
    """Pairs do not cross pre-tokens, and training stops when none is left."""
    merges = student.train_bpe("ab!ab!ab!", 300)
    expect_equal(merges, {(97, 98): 256}, "the merges")


@exercise("train_bpe", hint="After each merge, count pairs on the merged words, so merged tokens "
                            "can merge again.")
def test_train_bpe_merges_merged_tokens(student):
    """Merged tokens take part in later merges."""
    merges = student.train_bpe("aaaa aaaa", 258)
    expect_equal(merges, {(97, 97): 256, (256, 256): 257}, "the merges")


@exercise("train_bpe", hint="Return the merges in the order they were learned (the dict's insertion "
                            "order), not sorted by pair.")
def test_train_bpe_returns_merges_in_learned_order(student):
    """The dict lists the merges in the order they were learned."""
    expect_equal(list(student.train_bpe("zz zz zz ab", 260).items()),
                 [((122, 122), 256), ((32, 256), 257), ((32, 97), 258), ((258, 98), 259)],
                 "train_bpe('zz zz zz ab', 260)")


@exercise("train_bpe", hint="Start from the UTF-8 bytes (text.encode('utf-8')), not from ord() of "
                            "characters.")
def test_train_bpe_starts_from_utf8_bytes(student):
    """Non-ASCII text starts from its UTF-8 bytes."""
    merges = student.train_bpe("éé éé", 257)
    expect_equal(list(merges), [(195, 169)], "the first merge ('é' is the bytes 195, 169)")


@exercise("train_bpe", hint="Train on the text exactly as given: do not normalize it (unicodedata.normalize "
                            "turns '½' into '1⁄2', 'ﬁ' into 'fi', 'é' written e + accent into one character).")
def test_train_bpe_does_not_normalize_text(student, reference):
    """Compatibility characters and combining accents keep their own bytes."""
    for text in ["½½ ½½", "ﬁﬁ ﬁﬁ", "ＡＢ ＡＢ", "e\u0301e\u0301 e\u0301", "ⅫⅫ Ⅻ"]:
        expect_equal(list(student.train_bpe(text, 258).items()), list(reference.train_bpe(text, 258).items()),
                     f"train_bpe({text!r}, 258)")


@exercise("train_bpe", hint="Pre-tokenize the whole text as given: do not strip it; leading and trailing "
                            "whitespace are pre-tokens too.")
def test_train_bpe_keeps_leading_and_trailing_whitespace(student):
    """Whitespace at both ends of the text is trained on."""
    expect_equal(list(student.train_bpe("\n\n\n hi hi \n\n\n", 258).items()), [((10, 10), 256), ((32, 104), 257)],
                 "train_bpe('\\n\\n\\n hi hi \\n\\n\\n', 258)")


@exercise("train_bpe", hint="vocab_size below 256 is an error (raise ValueError); 256 means no merge.")
def test_train_bpe_validates_vocab_size(student):
    """vocab_size 256 learns nothing; below 256 raises ValueError."""
    expect_equal(student.train_bpe("hello hello", 256), {}, "train_bpe(text, 256)")
    with pytest.raises(ValueError):
        student.train_bpe("hello hello", 255)


@exercise("train_bpe", hint="Validate vocab_size first, before any early return: vocab_size < 256 raises "
                            "ValueError even when the text is empty or has no pair.")
def test_train_bpe_validates_vocab_size_even_for_empty_text(student):
    """vocab_size < 256 raises ValueError for an empty text, a one-character text, 0 and negative sizes."""
    for text, size in [("", 255), ("a", 0), ("", -1)]:
        with pytest.raises(ValueError):
            result = student.train_bpe(text, size)
            expect(False, f"train_bpe({text!r}, {size}) returned {short(result)} instead of raising ValueError")


@exercise("train_bpe", weight=3, hint="Check the tie-break, the frequency weighting and that "
                                       "overlapping pairs count.", broad=True)
def test_train_bpe_matches_reference_on_stories(student, reference):
    """Generated stories: the same 80 merges, in the same order, as the reference."""
    text = generate_text(3_000, seed=11)
    expect_equal(list(student.train_bpe(text, 336).items()), list(reference.train_bpe(text, 336).items()),
                 "the merges in order")


@exercise("train_bpe", weight=2, hint="Check the tie-break and the GPT-2 pre-tokenization.", broad=True)
def test_train_bpe_matches_reference_on_real_text(student, reference):
    """Python's documentation: the same 60 merges, in the same order, as the reference."""
    text = real_text(3_000)
    expect_equal(list(student.train_bpe(text, 316).items()), list(reference.train_bpe(text, 316).items()),
                 "the merges in order")


@exercise("train_bpe", weight=2, hint="Pre-tokenize the text as given with GPT-2's pattern, start from its "
                                      "UTF-8 bytes (1 to 4 per character), weight by frequency, break ties "
                                      "by the smallest (a, b) tuple, stop when no pair is left; "
                                      "vocab_size < 256 raises ValueError.", broad=True)
def test_train_bpe_matches_reference_on_random_text(student, reference):
    """Random short texts (every Unicode plane, BOM, numerals, empty text) and vocab sizes 255 to 10,000."""
    expect_same_as_reference(student.train_bpe, reference.train_bpe, train_bpe_cases(seed=23, n=25),
                             "train_bpe", compare=same_merges)


@exercise("train_bpe", hint=STATE_HINT)
def test_train_bpe_calls_are_independent(student, reference):
    """Calls in a row: each result depends only on its own arguments, not on earlier calls."""
    text, other = "the cat and the hat", "aaab aaab"
    calls = [(text, 260), (text, 300), (other, 259), (text, 258), (text, 260)]
    expect_independent_calls(student, reference, "train_bpe", calls, ordered=True)


# apply_merges ---------------------------------------------------------------------------------

def merge_table(rng: random.Random, base: list[int], samples: list[list[int]], size: int) -> dict:
    """A table that training could have learned: each merged id is new and larger than the merged ids
    it is made of, ids may start anywhere and skip values; most merges occur in `samples`."""
    merges, new_id = {}, rng.choice([256, 1000, 50_257, max(base) + 1])
    work = [list(ids) for ids in samples]
    pool = list(base)
    for _ in range(size):
        present = [p for ids in work for p in zip(ids, ids[1:]) if p not in merges]
        pair = rng.choice(present) if present and rng.random() < 0.85 else (rng.choice(pool), rng.choice(pool))
        if pair in merges:
            continue
        while new_id in base:
            new_id += 1
        merges[pair] = new_id
        pool.append(new_id)
        work = [_merged(ids, pair, new_id) for ids in work]
        new_id += rng.choice([1, 1, 1, 2, 17, 1000])
    items = list(merges.items())
    rng.shuffle(items)  # the rank is the merged id, not the position in the dict
    return dict(items)


def _merged(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def apply_merges_cases(seed: int, n: int, reference) -> list:
    rng = random.Random(seed)
    cases = [([], {}), ([5], {(5, 5): 256}), ([1, 2, 3], {}), ([9, 9, 9, 9, 9], {(9, 9): 300, (300, 300): 301})]
    for _ in range(n):
        base = alphabet(rng, 3)
        samples = [[rng.choice(base) for _ in range(rng.randint(0, 10))] for _ in range(3)]
        merges = merge_table(rng, base, samples, rng.randint(0, 8))
        for ids in samples[:2]:
            cases.append((ids, merges))
    text = "".join(g.text(rng, 8) for _ in range(6))
    learned = reference.train_bpe(text * 2, 300)
    pieces = reference.pretokenize(text)
    for piece in rng.sample(pieces, min(10, len(pieces))):
        cases.append((list(piece.encode("utf-8")), learned))
    return cases


@exercise("apply_merges", weight=2, hint="Apply the pair with the LOWEST merged id (the earliest learned) "
                                         "first, wherever it is; not the leftmost pair.", broad=True)
def test_apply_merges_follows_rank_order(student):
    """The earliest-learned merge applies first, even if another pair is further left."""
    expect_equal(student.apply_merges([97, 98, 99], {(98, 99): 256, (97, 98): 257}), [97, 256])


@exercise("apply_merges", hint="Rank is the merged id, not the position in the dict.")
def test_apply_merges_uses_merged_id_not_dict_order(student):
    """Rank is the merged id, whatever the dict's order."""
    expect_equal(student.apply_merges([97, 98, 99], {(97, 98): 300, (98, 99): 256}), [97, 256])


@exercise("apply_merges", hint="Rank pairs by their merged id whatever its size; a pair that is not in "
                               "`merges` must rank after every known one (float('inf'), or skip unknown "
                               "pairs), not at 256 + len(merges): merged ids need not be contiguous.")
def test_apply_merges_merged_ids_of_any_size(student):
    """Merged ids need not be 256, 257, ...: five-digit, non-contiguous ids, next to an unknown pair."""
    merges = {(1, 2): 50_000, (2, 3): 70_001, (50_000, 3): 99_999}
    expect_equal(student.apply_merges([7, 1, 2, 3], merges), [7, 99_999])


@exercise("apply_merges", hint="Keep merging until no adjacent pair is in `merges`.")
def test_apply_merges_repeats_until_nothing_merges(student):
    """Merging repeats on merged tokens until nothing applies."""
    expect_equal(student.apply_merges([97] * 4, {(97, 97): 256, (256, 256): 257}), [257])


@exercise("apply_merges", hint="Within one merge step, scan left to right without overlap.")
def test_apply_merges_does_not_overlap(student):
    """A run of three merges once, from the left."""
    expect_equal(student.apply_merges([97, 97, 97], {(97, 97): 256}), [256, 97])


@exercise("apply_merges", hint="Short inputs: [] and a single id come back unchanged "
                               "(no pair to look at).")
def test_apply_merges_short_inputs(student):
    """Empty and one-token inputs come back unchanged."""
    expect_equal(student.apply_merges([], {(97, 97): 256}), [], "apply_merges([])")
    expect_equal(student.apply_merges([97], {(97, 97): 256}), [97], "apply_merges([97])")


@exercise("apply_merges", hint="Work on a copy (list(ids)) and rebind it; never write the merged ids back "
                               "into the caller's list, and leave `merges` as it was.")
def test_apply_merges_leaves_inputs_unchanged(student):
    """Neither the caller's ids nor the merges are modified."""
    call = observe(student.apply_merges, [97, 97, 98, 97], {(97, 97): 256, (256, 98): 257})
    expect_equal(call.result, [257, 97], "apply_merges([97, 97, 98, 97], ...)")
    expect(0 not in call.changed, "apply_merges changed the caller's list `ids` in place")
    expect(1 not in call.changed, "apply_merges changed the caller's dict `merges` in place")


@exercise("apply_merges", hint="Return a new list (list(ids)) even when nothing merges or ids has fewer "
                               "than two ids: returning `ids` itself lets a later change to the result "
                               "change the caller's list.")
def test_apply_merges_returns_a_new_list(student):
    """With nothing to merge (no ids, one id, no known pair), the result is still a new list."""
    for ids in ([], [97], [1, 2, 3]):
        call = observe(student.apply_merges, ids, {(97, 97): 256})
        expect(call.returned_argument != 0,
               f"apply_merges({ids}, ...) returned the caller's list `ids` itself, not a new list")
        expect_equal(call.result, ids, f"apply_merges({ids}, {{(97, 97): 256}})")


@exercise("apply_merges", weight=3, hint="Apply merges in rank order until none applies.", broad=True)
def test_apply_merges_matches_reference(student, reference):
    """Every pre-token of a story: the same ids as the reference."""
    merges = reference.train_bpe(generate_text(4_000, seed=5), 400)
    pieces = list(dict.fromkeys(reference.pretokenize(generate_text(1_500, seed=6))))  # each distinct one once
    encoded = [list(piece.encode("utf-8")) for piece in pieces]
    got = probe(student, apply_to_each, student.apply_merges, encoded, merges)  # one trip: the table is sent once
    for piece, ids, ids_got in zip(pieces, encoded, got):
        expect_equal(ids_got, reference.apply_merges(ids, merges), repr(piece))


def apply_to_each(apply_merges, pieces, merges):
    """(Runs in the worker.) apply_merges on each piece in turn, each call with fresh copies."""
    return [apply_merges(list(ids), dict(merges)) for ids in pieces]


@exercise("apply_merges", weight=2, hint="Repeatedly merge every occurrence of the pair with the lowest "
                                         "merged id (ids and merged ids of any size, not contiguous) until "
                                         "no pair is in `merges`; return a new list; change neither argument.",
          broad=True)
def test_apply_merges_matches_reference_on_random_tables(student, reference):
    """Random merge tables (ids of every size, shuffled, gaps) and learned ones on Unicode text."""
    expect_same_as_reference(student.apply_merges, reference.apply_merges,
                             apply_merges_cases(seed=24, n=30, reference=reference), "apply_merges")


@exercise("apply_merges", hint=STATE_HINT)
def test_apply_merges_calls_are_independent(student, reference):
    """Calls in a row: each result depends only on its own arguments, not on earlier calls."""
    ids, first, second = [1, 2, 3], {(1, 2): 256}, {(2, 3): 256}
    calls = [(ids, first), (ids, second), (ids, {}), (ids, first)]
    expect_independent_calls(student, reference, "apply_merges", calls)


# decode ---------------------------------------------------------------------------------------

# bytes that trip decoders: overlong forms, encoded surrogates, above U+10FFFF, invalid leads, BOM,
# partial characters, NUL and whitespace (at either end of the text, where a strip() would show)
TRICKY_BYTES = [b"\x00", b" \n", b"\t\r\n", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf",
                b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xff", b"\xfe", b"\x80", b"\xbf",
                b"\xef\xbb\xbf", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc3", b"\xa9"]


def decode_cases(seed: int, n: int) -> list:
    rng = random.Random(seed)
    cases = [([], {}), ([0], {0: b""}), ([5], {5: b"\xef\xbb\xbfA"}), ([9], {9: b"ok\xf0\x9f\x98"}),
             ([3, 4], {3: b"\x00 end", 4: b" \n\x00"}), ([4, 3], {3: b"end\t ", 4: b"\x00\n"})]
    for _ in range(n):
        vocab = {}
        for token_id in alphabet(rng, 4):
            kind = rng.random()
            if kind < 0.4:
                data = g.text(rng, 3).encode("utf-8")
                cut = sorted(rng.randint(0, len(data)) for _ in range(2))
                vocab[token_id] = data[cut[0]:cut[1]] if rng.random() < 0.5 else data
            elif kind < 0.7:
                vocab[token_id] = rng.choice(TRICKY_BYTES)
            else:
                vocab[token_id] = g.code_point(rng).encode("utf-8")
        ids = [rng.choice(list(vocab)) for _ in range(rng.randint(0, 8))]
        cases.append((ids, vocab))
    return cases


@exercise("decode", hint="Look every id up in `vocab` and join the bytes in order.")
def test_decode_joins_token_bytes(student):
    """Token bytes are joined in order."""
    expect_equal(student.decode([2, 0, 1], {0: b"he", 1: b"llo", 2: b"oh, "}), "oh, hello")


@exercise("decode", weight=2, hint="Join ALL the bytes first, then decode once: a character can be "
                                   "split across two tokens.", broad=True)
def test_decode_joins_before_decoding(student):
    """A character split across two tokens comes back whole."""
    expect_equal(student.decode([0, 1, 2], {0: b"caf", 1: b"\xc3", 2: b"\xa9"}), "café")


@exercise("decode", hint="Join all the bytes, then decode once with errors='replace', even when some bytes "
                         "are invalid: a character split across tokens must come back whole (no "
                         "token-by-token fallback).")
def test_decode_split_character_next_to_invalid_byte(student):
    """A split character next to an invalid byte still comes back whole."""
    expect_equal(student.decode([0, 1, 2], {0: b"\xc3", 1: b"\xa9\xff", 2: b"!"}), "é\ufffd!")


@exercise("decode", weight=2, hint="Decode with errors='replace': invalid bytes become U+FFFD, "
                                   "never an exception, and are not dropped.")
def test_decode_replaces_invalid_bytes(student):
    """Bytes that are not valid UTF-8 become U+FFFD."""
    expect_equal(student.decode([0, 1], {0: b"\xe2\x82", 1: b"!"}), "\ufffd!")


@exercise("decode", hint="An incomplete character at the end becomes U+FFFD too: an incremental "
                         "decoder must be flushed with final=True.")
def test_decode_incomplete_character_at_the_end(student):
    """An incomplete character at the very end becomes U+FFFD."""
    expect_equal(student.decode([0, 1], {0: b"ok", 1: b"\xf0\x9f\x98"}), "ok\ufffd")


@exercise("decode", hint="Decode with 'utf-8', not 'utf-8-sig': a leading byte-order mark (U+FEFF) is "
                         "text and comes back.")
def test_decode_keeps_byte_order_mark(student):
    """A leading byte-order mark U+FEFF is kept."""
    expect_equal(student.decode([0, 1], {0: b"\xef\xbb\xbf", 1: b"hi"}), "\ufeffhi")


@exercise("decode", hint="Invalid UTF-8 (overlong forms such as C0 AF, encoded surrogates ED A0 80, code "
                         "points above U+10FFFF, bytes F5 to FF) becomes U+FFFD exactly as "
                         "bytes.decode('utf-8', errors='replace') does; a hand-written decoder must "
                         "reject them.")
def test_decode_rejects_overlong_forms_and_surrogates(student):
    """Overlong forms, encoded surrogates and bytes above U+10FFFF become U+FFFD like Python's decoder."""
    vocab = {i: bytes([i]) for i in range(256)}
    for data in [b"\xc0\xaf!", b"\xe0\x80\xaf!", b"\xed\xa0\x80!", b"\xf4\x90\x80\x80!", b"\xf5\x80\x80\x80!"]:
        expect_equal(student.decode(list(data), vocab), data.decode("utf-8", errors="replace"), repr(data))


@exercise("decode", hint="No ids decode to the empty string.")
def test_decode_empty(student):
    """No ids give ''."""
    expect_equal(student.decode([], {0: b"a"}), "")


@exercise("decode", weight=2, hint="Join the bytes of every id, then decode UTF-8 once.", broad=True)
def test_decode_inverts_reference_encode(student, reference):
    """Text encoded by the reference tokenizer decodes back exactly."""
    tokenizer = reference.BPETokenizer(reference.train_bpe(generate_text(3_000, seed=2), 330))
    text = "Zoé's naïve café: 42 🙂 cats!\n" + generate_text(600, seed=3)
    expect_equal(student.decode(tokenizer.encode(text), tokenizer.vocab), text)


@exercise("decode", weight=2, hint="Join the bytes of all the ids (any ids, any bytes), then decode once "
                                   "with bytes.decode('utf-8', errors='replace'); change neither argument.", broad=True)
def test_decode_matches_reference_on_random_bytes(student, reference):
    """Random vocabularies (partial characters, invalid bytes, every plane, ids of every size)."""
    expect_same_as_reference(student.decode, reference.decode, decode_cases(seed=25, n=60), "decode")


@exercise("decode", hint=STATE_HINT)
def test_decode_calls_are_independent(student, reference):
    """Calls in a row: each result depends only on its own arguments, not on earlier calls."""
    first, second = {0: b"ab", 1: b"c"}, {0: b"\xc3\xa9", 1: b"!"}
    calls = [([0, 1], first), ([0, 1], second), ([1, 0], first), ([0, 1], second)]
    expect_independent_calls(student, reference, "decode", calls)


# split_special --------------------------------------------------------------------------------

EOT = {"<|endoftext|>": 50256}
SPECIAL_STRINGS = ["<|endoftext|>", "<|end|>", "<|endoftext|>x", "[MASK]", "a.b", "(?:", "\\d+", "|", "$^",
                   "<s>", "</s>", "日本", "🙂🙂", "ab", "bcd", "<|im_start|>", "\n\n", "\ufeff", "<|tool|>",
                   "<|tool|>_call"]


def split_special_cases(seed: int, n: int) -> list:
    rng = random.Random(seed)
    cases = [("", {}), ("", EOT), ("x", {}), ("<|endoftext|>", EOT), ("abcd", {"ab": 1, "bcd": 2})]
    for _ in range(n):
        specials = rng.sample(SPECIAL_STRINGS, rng.randint(0, 4))
        if rng.random() < 0.3:
            specials.append("<" + g.text(rng, 2) + ">")
        pieces = []
        for _ in range(rng.randint(0, 6)):
            kind = rng.random()
            if specials and kind < 0.4:
                special = rng.choice(specials)
                pieces.append(rng.choice([special, special, special.upper(), special[:-1], special[1:]]))
            else:
                pieces.append(g.text(rng, 3))
        cases.append(("".join(pieces), {s: 50_000 + i for i, s in enumerate(specials)}))
    return cases


@exercise("split_special", hint="Keep each special token as its own item between the text pieces.", broad=True)
def test_split_special_separates_special_tokens(student):
    """A special token becomes its own item."""
    expect_equal(student.split_special("Hi<|endoftext|>Bye", EOT), ["Hi", "<|endoftext|>", "Bye"])


@exercise("split_special", hint="Drop the empty strings that splitting leaves at the edges and "
                                "between adjacent special tokens.")
def test_split_special_drops_empty_pieces(student):
    """Adjacent and edge special tokens leave no empty strings."""
    expect_equal(student.split_special("<|endoftext|><|endoftext|>x", EOT),
                 ["<|endoftext|>", "<|endoftext|>", "x"])


@exercise("split_special", hint="Drop only empty strings: whitespace between or around special tokens is "
                                "text (it gets encoded) and must be kept.")
def test_split_special_keeps_whitespace_pieces(student):
    """Whitespace-only pieces between special tokens are kept."""
    expect_equal(student.split_special(" <|endoftext|>\n<|endoftext|> ", EOT),
                 [" ", "<|endoftext|>", "\n", "<|endoftext|>", " "])


@exercise("split_special", hint="With no special token present, return [text]; for '' return [].")
def test_split_special_without_specials(student):
    """No special present: [text]; empty text: []."""
    expect_equal(student.split_special("plain text", EOT), ["plain text"], "split_special('plain text')")
    expect_equal(student.split_special("a<|endoftext|>", {}), ["a<|endoftext|>"], "with no special tokens")
    expect_equal(student.split_special("", EOT), [], "split_special('')")


@exercise("split_special", hint="'' gives [] with or without special tokens: drop empty strings on every "
                                "path, also the one for an empty `special_tokens`.")
def test_split_special_empty_text_and_no_special_tokens(student):
    """Empty text with no special tokens: []."""
    expect_equal(student.split_special("", {}), [], "split_special('', {})")


@exercise("split_special", hint="When one special token is a prefix of another, the longest match "
                                "wins: try longer special tokens first.")
def test_split_special_prefers_longest_match(student):
    """A special token that is a prefix of another loses to the longer one."""
    specials = {"<|tool|>": 1, "<|tool|>_call": 2}
    expect_equal(student.split_special("a<|tool|>_call b<|tool|>", specials),
                 ["a", "<|tool|>_call", " b", "<|tool|>"])


@exercise("split_special", hint="Scan the text left to right: the special that starts first is split off "
                                "first; the longest wins only among specials starting at the same position "
                                "(one regex alternation of all of them, longest first, does this).")
def test_split_special_leftmost_match_first(student):
    """Overlapping specials at different positions: the one that starts first wins."""
    expect_equal(student.split_special("abcd", {"bcd": 1, "ab": 2}), ["ab", "cd"])


@exercise("split_special", hint="Special tokens may contain regex metacharacters: escape them "
                                "(re.escape) before building a pattern.")
def test_split_special_escapes_metacharacters(student):
    """'[MASK]' and 'a.b' are matched literally."""
    expect_equal(student.split_special("a.b axb [MASK]", {"[MASK]": 5, "a.b": 6}), ["a.b", " axb ", "[MASK]"])


@exercise("split_special", hint="Match special strings exactly, case included: '<|EndOfText|>' is not "
                                "'<|endoftext|>' (no re.IGNORECASE, no lower()).")
def test_split_special_is_case_sensitive(student):
    """Case variants of a special token are ordinary text."""
    expect_equal(student.split_special("<|EndOfText|><|endoftext|><|ENDOFTEXT|>", EOT),
                 ["<|EndOfText|>", "<|endoftext|>", "<|ENDOFTEXT|>"])


@exercise("split_special", weight=2, hint="Split at every special string (escaped, case-sensitive), scanning "
                                          "left to right with the longest special first at a position; keep "
                                          "the specials and every non-empty piece; leave special_tokens "
                                          "unchanged.", broad=True)
def test_split_special_matches_reference_on_random_text(student, reference):
    """Random Unicode text with specials, their case variants and fragments, metacharacters, overlaps."""
    expect_same_as_reference(student.split_special, reference.split_special, split_special_cases(seed=26, n=60),
                             "split_special")


@exercise("split_special", hint=STATE_HINT)
def test_split_special_calls_are_independent(student, reference):
    """Calls in a row: each result depends only on its own arguments, not on earlier calls."""
    text = "a<|x|>b[y]c"
    calls = [(text, {"<|x|>": 1}), (text, {"[y]": 2}), (text, {}), (text, {"<|x|>": 1, "[y]": 2})]
    expect_independent_calls(student, reference, "split_special", calls)

