"""Hidden checks for 17-cot-thinking. Inputs differ from the visible checks: traces built from random pieces
(\\boxed{ with and without its closing brace, nested braces, both markers in either order, numbers with commas,
trailing periods, Unicode from every plane, several lines); format templates with whitespace of every kind,
empty parts, extra text and stray tags; answers and gold strings as numbers ("3.0", "-12", "1,000") and text;
vote lists with None, ties and a single element; pass@k from n = 1 to n = 3,000. Strings, floats and tuples
are compared exactly; pass@k to 1e-12.

Every promise of the text and docstrings, and the check that exercises it:

extract_answer
- the last \\boxed{ wins: test_extract_last_boxed
- nested braces counted: test_extract_nested_braces
- an unclosed \\boxed{ falls back to the markers: test_extract_unclosed_boxed_falls_back
- \\boxed before the markers, wherever they are: test_extract_boxed_before_markers
- the later of the last "The answer is" / "####" (exact case): test_extract_later_marker_wins
- the rest of its line only: test_extract_rest_of_the_line
- normalisation (strip, one trailing period, commas of numbers only), empty is None: test_extract_normalises
- None when absent: test_extract_none_when_absent
- many traces, the argument unchanged: test_extract_matches_reference
format_reward
- the template with whitespace around and between, multiline and empty parts: test_format_accepts_the_template
- nothing else before, between or after: test_format_rejects_extra_text
- no tag inside either part: test_format_rejects_tags_inside
- the order think then answer: test_format_needs_the_order
- Python floats 1.0 / 0.0: test_format_returns_floats
- many texts: test_format_matches_reference
accuracy_reward
- numbers compared as floats ("3.0" = "3"), both must be numbers: test_accuracy_numbers_by_value
- gold normalised like an answer: test_accuracy_normalises_gold
- strings otherwise compared exactly: test_accuracy_strings_exactly
- no answer: 0.0: test_accuracy_no_answer
- Python floats: test_accuracy_returns_floats
- many traces and golds: test_accuracy_matches_reference
majority_vote
- ties to the earliest first occurrence: test_vote_ties_first_occurrence
- the share over all answers, None included: test_vote_share_counts_none
- None never wins; (None, 0.0) without an answer, empty list included: test_vote_no_answer
- a tuple (answer, float): test_vote_returns_a_tuple
- calls independent of each other: test_vote_independent_calls
- many lists, the argument unchanged: test_vote_matches_reference
pass_at_k
- 1 - C(n - c, k) / C(n, k): test_pass_matches_binomials
- 1.0 when n - c < k: test_pass_one_when_every_subset_passes
- ValueError unless 0 <= c <= n, 1 <= k <= n: test_pass_rejects_bad_arguments
- no binomials (no comb, no factorial), large n: test_pass_without_binomials
- a Python float: test_pass_returns_a_float
- many (n, c, k): test_pass_matches_reference
"""
import math
import random

from autograder import generators
from autograder.checking import (Case, exercise, expect, expect_close, expect_equal, expect_independent_calls,
                                 expect_same_as_reference)
from autograder.remote import kind_of

EXTRACT, FORMAT, ACCURACY, VOTE, PASS = "extract_answer", "format_reward", "accuracy_reward", "majority_vote", "pass_at_k"

PIECES = ["\\boxed{", "}", "{", "The answer is", "the answer is", "####", "\n", " ", ".", ",", "1,234", "-7",
          "3.50", "1e3", "x", "\\frac{1}{2}", "42", " 1,000. ", "a, b"]


def trace(rng):
    parts = []
    for _ in range(rng.randint(0, 9)):
        parts.append(rng.choice(PIECES) if rng.random() < 0.75 else generators.text(rng, 4))
    return "".join(parts)


def float_result(got, expected, what):
    expect(type(got) is float, f"{what}: expected a Python float, got {kind_of(got)}: {got!r}")
    expect_equal(got, expected, what)


# extract_answer -----------------------------------------------------------------------------------

@exercise(EXTRACT, weight=1, hint="Take the LAST \\boxed{ (str.rfind), not the first.")
def test_extract_last_boxed(student):
    """Two boxed answers: the last one."""
    expect_equal(student.extract_answer("\\boxed{1} then \\boxed{2} and text"), "2", "two boxes")


@exercise(EXTRACT, weight=1, hint="Count the braces: '{' adds one level, '}' removes one, and the box ends where the "
                                  "level returns to 0 (a regex like \\boxed{(.*?)} stops at the first '}').")
def test_extract_nested_braces(student):
    """\\boxed{\\frac{a}{b}} and \\boxed{{x}}: the whole balanced content."""
    expect_equal(student.extract_answer("\\boxed{\\frac{3}{4}}"), "\\frac{3}{4}", "\\boxed{\\frac{3}{4}}")
    expect_equal(student.extract_answer("so \\boxed{{x}} done}"), "{x}", "so \\boxed{{x}} done}")


@exercise(EXTRACT, weight=1, hint="When the last \\boxed{ is never closed, use the markers (rule 2), not the rest of the "
                                  "text and not an earlier box.")
def test_extract_unclosed_boxed_falls_back(student):
    """An unclosed last \\boxed{ after a GSM8K line and a closed box: the marker's answer."""
    expect_equal(student.extract_answer("#### 12\n\\boxed{13"), "12", "'#### 12\\n\\boxed{13'")
    expect_equal(student.extract_answer("\\boxed{1 no end"), None, "'\\boxed{1 no end'")
    expect_equal(student.extract_answer("#### 5\n\\boxed{1} \\boxed{2"), "5", "'#### 5\\n\\boxed{1} \\boxed{2'")


@exercise(EXTRACT, weight=1, hint="A closed \\boxed{} wins over the markers even when a marker comes later.")
def test_extract_boxed_before_markers(student):
    """A marker after the box: the box still wins."""
    expect_equal(student.extract_answer("\\boxed{5}\nThe answer is 6"), "5", "box then marker")


@exercise(EXTRACT, weight=1, hint="Find the LAST occurrence of each marker and take the one that starts later; the "
                                  "marker 'The answer is' is case-sensitive.")
def test_extract_later_marker_wins(student):
    """Both markers in both orders; the lower-case phrase is no marker."""
    expect_equal(student.extract_answer("The answer is 1\n#### 2"), "2", "'The answer is 1\\n#### 2'")
    expect_equal(student.extract_answer("#### 2\nThe answer is 1"), "1", "'#### 2\\nThe answer is 1'")
    expect_equal(student.extract_answer("The answer is 1. The answer is 3"), "3", "a marker twice")
    expect_equal(student.extract_answer("the answer is 9"), None, "'the answer is 9' (lower case)")


@exercise(EXTRACT, weight=1, hint="Only the rest of the marker's line: stop at the first '\\n' after the marker.")
def test_extract_rest_of_the_line(student):
    """A marker followed by more lines."""
    expect_equal(student.extract_answer("#### 7\nexplanation\nmore"), "7", "'#### 7\\nexplanation\\nmore'")


@exercise(EXTRACT, weight=1, hint="Normalise: strip, drop ONE trailing '.', strip again, and remove commas only when "
                                  "the result without commas is a number; an empty answer is None.")
def test_extract_normalises(student):
    """Commas in numbers, trailing periods, commas in text kept, an empty box."""
    for text, expected in [("#### -1,234,567.", "-1234567"), ("\\boxed{ 3.5 . }", "3.5"), ("#### a, b.", "a, b"),
                           ("\\boxed{2..}", "2."), ("\\boxed{ }", None), ("####  . ", None), ("#### 1,2", "12")]:
        expect_equal(student.extract_answer(text), expected, f"extract_answer({text!r})")


@exercise(EXTRACT, weight=1, hint="Return None (not '' or the whole text) when there is no box and no marker.")
def test_extract_none_when_absent(student):
    """No box, no marker; the empty text."""
    expect_equal(student.extract_answer("it is 5"), None, "'it is 5'")
    expect_equal(student.extract_answer(""), None, "''")


@exercise(EXTRACT, weight=2, broad=True, hint="Follow the rules in order: the last closed box, else the later marker's "
                                              "line, then the normalisation.")
def test_extract_matches_reference(student, reference):
    """150 traces of random pieces: boxes, braces, markers, numbers, Unicode."""
    rng = random.Random(170)
    expect_same_as_reference(student.extract_answer, reference.extract_answer,
                             [(trace(rng),) for _ in range(150)], EXTRACT)


# format_reward ------------------------------------------------------------------------------------

def wrap(think, answer, before="", between="", after=""):
    return f"{before}<think>{think}</think>{between}<answer>{answer}</answer>{after}"


@exercise(FORMAT, weight=1, hint="Allow whitespace (\\s*) before, between and after, empty parts, and '\\n' inside "
                                 "the parts (re.DOTALL).")
def test_format_accepts_the_template(student):
    """Whitespace around and between, parts over several lines, empty parts."""
    for text in [wrap("", ""), wrap("a\nb\n", "\n4\n", " \n", "\t\n ", "\n\n"), wrap("x < y > z", "<b>1</b>")]:
        float_result(student.format_reward(text), 1.0, f"format_reward({text!r})")


@exercise(FORMAT, weight=1, hint="The whole text must match (re.fullmatch, or ^...$ without re.MULTILINE): no text "
                                 "before <think>, between the parts or after </answer>.")
def test_format_rejects_extra_text(student):
    """Text before, between and after the template."""
    for text in [wrap("a", "b", before="Sure: "), wrap("a", "b", between=" so "), wrap("a", "b", after="\nmore"),
                 wrap("a", "b", after="\nmore\n")]:
        float_result(student.format_reward(text), 0.0, f"format_reward({text!r})")


@exercise(FORMAT, weight=1, hint="Neither part may contain any of the four tags: a second <think>, a </think> or an "
                                 "<answer> inside the reasoning, or a second answer block, all get 0.0.")
def test_format_rejects_tags_inside(student):
    """Stray tags inside the reasoning or the answer, two answer blocks."""
    for text in [wrap("a<answer>b", "c"), wrap("a</answer>", "c"), wrap("a", "b<think>"), wrap("a", "b</think>"),
                 "<think>a</think><answer>b</answer><answer>c</answer>", "<think>a</think>x</think><answer>b</answer>"]:
        float_result(student.format_reward(text), 0.0, f"format_reward({text!r})")


@exercise(FORMAT, weight=1, hint="The reasoning comes first: <answer>...</answer> before <think>...</think> is 0.0, "
                                 "and each part needs both of its tags.")
def test_format_needs_the_order(student):
    """The parts swapped; a part missing or unclosed."""
    for text in ["<answer>4</answer><think>a</think>", "<think>a</think>", "<answer>4</answer>",
                 "<think>a<answer>4</answer>"]:
        float_result(student.format_reward(text), 0.0, f"format_reward({text!r})")


@exercise(FORMAT, weight=1, hint="Return the floats 1.0 and 0.0, not True/False or a match object.")
def test_format_returns_floats(student):
    """Both values are Python floats."""
    float_result(student.format_reward(wrap("a", "b")), 1.0, "a well-formed text")
    float_result(student.format_reward("b"), 0.0, "'b'")


def format_text(rng):
    tags = ["<think>", "</think>", "<answer>", "</answer>"]
    if rng.random() < 0.5:
        ws = lambda: rng.choice(["", " ", "\n", "\t \n", "\u00a0", "\r\n"])
        inner = lambda: rng.choice(["", "x", "2+2\n=4", generators.text(rng, 5), "<b>", rng.choice(tags)])
        return wrap(inner(), inner(), ws(), rng.choice([ws(), "z"]), ws())
    return "".join(rng.choice(tags + ["a", " ", "\n", "4"]) for _ in range(rng.randint(0, 8)))


@exercise(FORMAT, weight=2, broad=True, hint="The text must be exactly: optional whitespace, <think>, a part without "
                                             "tags, </think>, optional whitespace, <answer>, a part without tags, "
                                             "</answer>, optional whitespace.")
def test_format_matches_reference(student, reference):
    """150 texts: near-templates with Unicode whitespace, stray tags, random tag sequences."""
    rng = random.Random(171)
    expect_same_as_reference(student.format_reward, reference.format_reward,
                             [(format_text(rng),) for _ in range(150)], FORMAT)


# accuracy_reward ----------------------------------------------------------------------------------

@exercise(ACCURACY, weight=1, hint="When both strings are numbers (-?\\d+(\\.\\d+)? in full), compare float(answer) == "
                                   "float(gold): '3.0' equals '3'; only those are compared by value ('1e3' is not "
                                   "one: compare it as a string).")
def test_accuracy_numbers_by_value(student):
    """'3.0' vs '3', '-2.50' vs '-2.5', '0.1' vs '1'; '1e3' is no number of the text's form."""
    for text, gold, expected in [("#### 3.0", "3", 1.0), ("\\boxed{-2.50}", "-2.5", 1.0), ("#### 0.1", "1", 0.0),
                                 ("#### -0", "0", 1.0),
                                 ("#### 1e3", "1000", 0.0), ("\\boxed{inf}", "inf", 1.0), ("#### 0x1", "1", 0.0),
                                 ("#### 2.5", "2", 0.0)]:
        float_result(student.accuracy_reward(text, gold), expected, f"accuracy_reward({text!r}, {gold!r})")


@exercise(ACCURACY, weight=1, hint="Normalise gold as an answer is normalised (strip, one trailing period, commas of "
                                   "numbers): extract_answer('\\\\boxed{' + gold + '}').")
def test_accuracy_normalises_gold(student):
    """Gold with spaces, a period and commas."""
    for text, gold in [("#### 1000", " 1,000. "), ("\\boxed{yes}", "yes."), ("#### a, b", "a, b ")]:
        float_result(student.accuracy_reward(text, gold), 1.0, f"accuracy_reward({text!r}, {gold!r})")


@exercise(ACCURACY, weight=1, hint="Outside numbers compare the strings exactly: no lower-casing, no conversion of "
                                   "fractions ('\\\\frac{1}{2}' is not '0.5').")
def test_accuracy_strings_exactly(student):
    """Case, fractions and text compared as strings."""
    for text, gold, expected in [("\\boxed{\\frac{1}{2}}", "0.5", 0.0), ("#### Yes", "yes", 0.0),
                                 ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}", 1.0), ("#### 1/2", "0.5", 0.0)]:
        float_result(student.accuracy_reward(text, gold), expected, f"accuracy_reward({text!r}, {gold!r})")


@exercise(ACCURACY, weight=1, hint="No answer extracted (None) scores 0.0, even when gold is empty too.")
def test_accuracy_no_answer(student):
    """No answer; an empty gold."""
    float_result(student.accuracy_reward("nothing", "3"), 0.0, "no answer")
    float_result(student.accuracy_reward("nothing", ""), 0.0, "no answer, empty gold")
    float_result(student.accuracy_reward("#### 3", " "), 0.0, "gold of spaces")


@exercise(ACCURACY, weight=1, hint="Return the floats 1.0 and 0.0, not True/False.")
def test_accuracy_returns_floats(student):
    """Both values are Python floats."""
    float_result(student.accuracy_reward("#### 5", "5"), 1.0, "a right answer")
    float_result(student.accuracy_reward("#### 5", "6"), 0.0, "a wrong answer")


@exercise(ACCURACY, weight=2, broad=True, hint="Extract the answer, normalise gold the same way, compare numbers by "
                                               "value and everything else as strings.")
def test_accuracy_matches_reference(student, reference):
    """120 traces against golds that are numbers, text and near-numbers."""
    rng = random.Random(172)
    golds = ["3", "3.0", "1,234", "1234.", "-7", "x", "a, b", "", " 42 ", "1e3", "\\frac{1}{2}", "0.50"]
    cases = [(trace(rng), rng.choice(golds + [generators.text(rng, 3)])) for _ in range(120)]
    expect_same_as_reference(student.accuracy_reward, reference.accuracy_reward, cases, ACCURACY)


# majority_vote ------------------------------------------------------------------------------------

@exercise(VOTE, weight=1, hint="On a tie the answer whose FIRST occurrence comes first wins (not the last seen, not "
                                "the smallest, not the one that reached the count first).")
def test_vote_ties_first_occurrence(student):
    """Ties where first occurrence, last occurrence and sort order disagree."""
    for answers, expected in [(["b", "a", "a", "b"], ("b", 0.5)), (["z", "a", "a", "z"], ("z", 0.5)),
                              (["x", "y", "y", "x", "z"], ("x", 0.4))]:
        expect_equal(student.majority_vote(answers), expected, f"majority_vote({answers!r})")


@exercise(VOTE, weight=1, hint="The share divides by len(answers), the Nones included.")
def test_vote_share_counts_none(student):
    """Nones in the list."""
    expect_equal(student.majority_vote(["7", None, None, "7", None]), ("7", 0.4), "['7', None, None, '7', None]")


@exercise(VOTE, weight=1, hint="None is never an answer: skip it when counting, and return (None, 0.0) when nothing "
                                "is left (an empty list included, without dividing by zero).")
def test_vote_no_answer(student):
    """Only Nones, more Nones than answers, the empty list."""
    expect_equal(student.majority_vote([None, None]), (None, 0.0), "[None, None]")
    expect_equal(student.majority_vote([None, None, "1"]), ("1", 1 / 3), "[None, None, '1']")
    expect_equal(student.majority_vote([]), (None, 0.0), "[]")


@exercise(VOTE, weight=1, hint="Return a tuple (answer, share) with a Python float share.")
def test_vote_returns_a_tuple(student):
    """The result is a tuple of the answer and a float."""
    got = student.majority_vote(["1"])
    expect(type(got) is tuple and len(got) == 2, f"expected a tuple of 2, got {kind_of(got)}: {got!r}")
    expect(type(got[1]) is float, f"the share should be a Python float, got {kind_of(got[1])}")


@exercise(VOTE, weight=1, hint="Keep the counts in a local variable: a counter kept between calls (a mutable default "
                                "or a global) mixes votes.")
def test_vote_independent_calls(student, reference):
    """Three calls in a row, one repeated."""
    expect_independent_calls(student, reference, VOTE, [(["a", "b", "b"],), (["a", "a"],), (["a", "b", "b"],)])


@exercise(VOTE, weight=2, broad=True, hint="Count the non-None answers, take the largest count, break ties by first "
                                           "occurrence, divide by len(answers).")
def test_vote_matches_reference(student, reference):
    """120 lists of 0 to 12 answers from small pools (many ties), Nones, Unicode answers."""
    rng = random.Random(173)
    cases = []
    for _ in range(120):
        pool = [None] + [generators.text(rng, 2) or "0" for _ in range(rng.randint(1, 4))]
        cases.append(([rng.choice(pool) for _ in range(rng.randint(0, 12))],))
    expect_same_as_reference(student.majority_vote, reference.majority_vote, cases, VOTE)


# pass_at_k ----------------------------------------------------------------------------------------

def close_float(got, expected, what):
    expect(type(got) is float, f"{what}: expected a Python float, got {kind_of(got)}: {got!r}")
    expect_close(got, expected, 1e-12, what=what)


@exercise(PASS, weight=1, hint="pass@k = 1 - C(n - c, k) / C(n, k): the product runs over i = n - c + 1 .. n "
                                "(c factors) of (1 - k / i).")
def test_pass_matches_binomials(student):
    """Cases against exact binomials."""
    for n, c, k in [(10, 1, 3), (7, 3, 2), (20, 5, 5), (3, 0, 1), (12, 2, 10), (6, 3, 3)]:
        expected = 1 - math.comb(n - c, k) / math.comb(n, k)
        close_float(student.pass_at_k(n, c, k), expected, f"pass_at_k({n}, {c}, {k})")


@exercise(PASS, weight=1, hint="When n - c < k every k-subset holds a right sample: return 1.0.")
def test_pass_one_when_every_subset_passes(student):
    """n - c < k, c = n, k = n."""
    for n, c, k in [(5, 4, 2), (3, 3, 1), (6, 1, 6)]:
        close_float(student.pass_at_k(n, c, k), 1.0, f"pass_at_k({n}, {c}, {k})")


@exercise(PASS, weight=1, hint="Raise ValueError unless 0 <= c <= n and 1 <= k <= n (k = 0, k > n, c < 0, c > n).")
def test_pass_rejects_bad_arguments(student):
    """k = 0, k > n, c < 0, c > n."""
    import pytest
    for n, c, k in [(5, 2, 0), (5, 2, 6), (5, -1, 2), (5, 6, 2)]:
        with pytest.raises(ValueError):
            student.pass_at_k(n, c, k)


@exercise(PASS, weight=1, hint="Use the product 1 - prod(1 - k / i): no math.comb or factorial.")
def test_pass_without_binomials(student, student_code):
    """n = 3,000 works, and pass_at_k and its helpers call no comb or factorial."""
    close_float(student.pass_at_k(3000, 17, 100), 1 - math.comb(2983, 100) / math.comb(3000, 100), "pass_at_k(3000, 17, 100)")
    found = student_code.calls_to(PASS, {"comb", "factorial", "binom", "perm", "gamma", "lgamma"})
    expect(not found, f"pass_at_k calls {', '.join(sorted(set(found)))}")


@exercise(PASS, weight=1, hint="Return a Python float (not a numpy number or a Fraction), also for 1.0.")
def test_pass_returns_a_float(student):
    """A float from both branches."""
    close_float(student.pass_at_k(4, 1, 1), 0.25, "pass_at_k(4, 1, 1)")
    close_float(student.pass_at_k(4, 4, 1), 1.0, "pass_at_k(4, 4, 1)")


@exercise(PASS, weight=2, broad=True, hint="1.0 when n - c < k, else 1 - prod(1 - k / i for i in n - c + 1 .. n); "
                                           "ValueError outside 0 <= c <= n, 1 <= k <= n.")
def test_pass_matches_reference(student, reference):
    """150 (n, c, k) from n = 1 to 400, edges and invalid ones included."""
    rng = random.Random(174)
    cases = []
    for _ in range(150):
        n = rng.choice([1, 2, 3, 5, 16, 100, 400])
        cases.append(Case((n, rng.randint(-1, n + 1), rng.randint(0, n + 1))))
    expect_same_as_reference(student.pass_at_k, reference.pass_at_k, cases, PASS,
                             compare=lambda got, expected, what: close_float(got, expected, what))
