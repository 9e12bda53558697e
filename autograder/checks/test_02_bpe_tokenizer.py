"""Hidden checks for 02-bpe-tokenizer. Inputs differ from the notebook's visible checks."""
import random

import pytest

from autograder.checking import expect, expect_equal, expect_type, exercise
from autograder.remote import observe
from coursekit.corpus import generate_text, real_text


def random_word_counts(seed: int, n_words: int = 40) -> dict:
    rng = random.Random(seed)
    return {tuple(rng.choices(range(6), k=rng.randint(1, 7))): rng.randint(1, 5) for _ in range(n_words)}


# count_pairs ----------------------------------------------------------------------------------

@exercise("count_pairs", hint="Add the word's frequency word_counts[word] for each pair, not 1.")
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


@exercise("count_pairs", weight=2, hint="Compare with the worked example in the notebook.")
def test_count_pairs_matches_reference_on_random_words(student, reference):
    """Random words: the same counts as the reference."""
    for seed in range(3):
        words = random_word_counts(seed)
        expect_equal(dict(student.count_pairs(words)), reference.count_pairs(words), f"seed {seed}")


# merge ----------------------------------------------------------------------------------------

@exercise("merge", hint="Replace every occurrence of the pair, not only the first.")
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
    expect(not call.changed, "merge changed the caller's list `ids` in place")
    expect(call.returned_argument is None, "merge returned the caller's list `ids` itself, not a new list")


@exercise("merge", hint="Short inputs: [] and a single id come back unchanged.")
def test_merge_short_inputs(student):
    """Empty and one-token inputs come back unchanged."""
    expect_equal(student.merge([], (1, 2), 9), [], "merge([])")
    expect_equal(student.merge([1], (1, 2), 9), [1], "merge([1])")


# train_bpe ------------------------------------------------------------------------------------

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


@exercise("train_bpe", hint="Start from the UTF-8 bytes (text.encode('utf-8')), not from ord() of "
                            "characters.")
def test_train_bpe_starts_from_utf8_bytes(student):
    """Non-ASCII text starts from its UTF-8 bytes."""
    merges = student.train_bpe("éé éé", 257)
    expect_equal(list(merges), [(195, 169)], "the first merge ('é' is the bytes 195, 169)")


@exercise("train_bpe", hint="vocab_size below 256 is an error (raise ValueError); 256 means no merge.")
def test_train_bpe_validates_vocab_size(student):
    """vocab_size 256 learns nothing; below 256 raises ValueError."""
    expect_equal(student.train_bpe("hello hello", 256), {}, "train_bpe(text, 256)")
    with pytest.raises(ValueError):
        student.train_bpe("hello hello", 255)


@exercise("train_bpe", weight=3, hint="Check the tie-break, the frequency weighting and that "
                                       "overlapping pairs count.")
def test_train_bpe_matches_reference_on_stories(student, reference):
    """Generated stories: the same 80 merges, in the same order, as the reference."""
    text = generate_text(3_000, seed=11)
    expect_equal(list(student.train_bpe(text, 336).items()), list(reference.train_bpe(text, 336).items()),
                 "the merges in order")


@exercise("train_bpe", weight=2, hint="Check the tie-break and the GPT-2 pre-tokenization.")
def test_train_bpe_matches_reference_on_real_text(student, reference):
    """Python's documentation: the same 60 merges, in the same order, as the reference."""
    text = real_text(3_000)
    expect_equal(list(student.train_bpe(text, 316).items()), list(reference.train_bpe(text, 316).items()),
                 "the merges in order")


# apply_merges ---------------------------------------------------------------------------------

@exercise("apply_merges", weight=2, hint="Apply the pair with the LOWEST merged id (the earliest learned) "
                                         "first, wherever it is; not the leftmost pair.")
def test_apply_merges_follows_rank_order(student):
    """The earliest-learned merge applies first, even if another pair is further left."""
    expect_equal(student.apply_merges([97, 98, 99], {(98, 99): 256, (97, 98): 257}), [97, 256])


@exercise("apply_merges", hint="Rank is the merged id, not the position in the dict.")
def test_apply_merges_uses_merged_id_not_dict_order(student):
    """Rank is the merged id, whatever the dict's order."""
    expect_equal(student.apply_merges([97, 98, 99], {(97, 98): 300, (98, 99): 256}), [97, 256])


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


@exercise("apply_merges", weight=3, hint="Apply merges in rank order until none applies.")
def test_apply_merges_matches_reference(student, reference):
    """Every pre-token of a story: the same ids as the reference."""
    merges = reference.train_bpe(generate_text(4_000, seed=5), 400)
    for piece in reference.pretokenize(generate_text(1_500, seed=6)):
        ids = list(piece.encode("utf-8"))
        expect_equal(student.apply_merges(ids, merges), reference.apply_merges(ids, merges), repr(piece))


# decode ---------------------------------------------------------------------------------------

@exercise("decode", hint="Look every id up in `vocab` and join the bytes in order.")
def test_decode_joins_token_bytes(student):
    """Token bytes are joined in order."""
    expect_equal(student.decode([2, 0, 1], {0: b"he", 1: b"llo", 2: b"oh, "}), "oh, hello")


@exercise("decode", weight=2, hint="Join ALL the bytes first, then decode once: a character can be "
                                   "split across two tokens.")
def test_decode_joins_before_decoding(student):
    """A character split across two tokens comes back whole."""
    expect_equal(student.decode([0, 1, 2], {0: b"caf", 1: b"\xc3", 2: b"\xa9"}), "café")


@exercise("decode", weight=2, hint="Decode with errors='replace': invalid bytes become U+FFFD, "
                                   "never an exception, and are not dropped.")
def test_decode_replaces_invalid_bytes(student):
    """Bytes that are not valid UTF-8 become U+FFFD."""
    expect_equal(student.decode([0, 1], {0: b"\xe2\x82", 1: b"!"}), "\ufffd!")


@exercise("decode", hint="No ids decode to the empty string.")
def test_decode_empty(student):
    """No ids give ''."""
    expect_equal(student.decode([], {0: b"a"}), "")


@exercise("decode", weight=2, hint="Join the bytes of every id, then decode UTF-8 once.")
def test_decode_inverts_reference_encode(student, reference):
    """Text encoded by the reference tokenizer decodes back exactly."""
    tokenizer = reference.BPETokenizer(reference.train_bpe(generate_text(3_000, seed=2), 330))
    text = "Zoé's naïve café: 42 🙂 cats!\n" + generate_text(600, seed=3)
    expect_equal(student.decode(tokenizer.encode(text), tokenizer.vocab), text)


# split_special --------------------------------------------------------------------------------

EOT = {"<|endoftext|>": 50256}


@exercise("split_special", hint="Keep each special token as its own item between the text pieces.")
def test_split_special_separates_special_tokens(student):
    """A special token becomes its own item."""
    expect_equal(student.split_special("Hi<|endoftext|>Bye", EOT), ["Hi", "<|endoftext|>", "Bye"])


@exercise("split_special", hint="Drop the empty strings that splitting leaves at the edges and "
                                "between adjacent special tokens.")
def test_split_special_drops_empty_pieces(student):
    """Adjacent and edge special tokens leave no empty strings."""
    expect_equal(student.split_special("<|endoftext|><|endoftext|>x", EOT),
                 ["<|endoftext|>", "<|endoftext|>", "x"])


@exercise("split_special", hint="With no special token present, return [text]; for '' return [].")
def test_split_special_without_specials(student):
    """No special present: [text]; empty text: []."""
    expect_equal(student.split_special("plain text", EOT), ["plain text"], "split_special('plain text')")
    expect_equal(student.split_special("a<|endoftext|>", {}), ["a<|endoftext|>"], "with no special tokens")
    expect_equal(student.split_special("", EOT), [], "split_special('')")


@exercise("split_special", hint="When one special token is a prefix of another, the longest match "
                                "wins: try longer special tokens first.")
def test_split_special_prefers_longest_match(student):
    """A special token that is a prefix of another loses to the longer one."""
    specials = {"<|tool|>": 1, "<|tool|>_call": 2}
    expect_equal(student.split_special("a<|tool|>_call b<|tool|>", specials),
                 ["a", "<|tool|>_call", " b", "<|tool|>"])


@exercise("split_special", hint="Special tokens may contain regex metacharacters: escape them "
                                "(re.escape) before building a pattern.")
def test_split_special_escapes_metacharacters(student):
    """'[MASK]' and 'a.b' are matched literally."""
    expect_equal(student.split_special("a.b axb [MASK]", {"[MASK]": 5, "a.b": 6}), ["a.b", " axb ", "[MASK]"])
