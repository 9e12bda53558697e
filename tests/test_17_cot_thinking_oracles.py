"""Oracle tests for notebook 17 (chain of thought): the reference solutions against implementations nobody on
this project wrote, or written from a different description than the notebook's.

* `pass_at_k`: exact binomials with `math.comb` and `fractions.Fraction`; an enumeration of every k-subset of n
  samples (itertools.combinations) for small n; and the HumanEval paper's numerically stable estimator
  (Chen et al. 2021, figure 3: `1 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1))`, written from the paper's
  description) up to n = 2,000.
* `majority_vote`: `collections.Counter.most_common`, whose ties keep first-insertion order (CPython 3.7+), over
  the non-None answers.
* `format_reward`: a parser written without regular expressions (`str.partition` on the four tags) on generated
  texts, and trl's `think_format_reward` (trl 1.16.0): every text our reward accepts, trl's accepts too (trl
  checks only the `<think>` block, with `re.match` and `.*$` after it, so it also accepts what we refuse: text
  after `</think>` without an `<answer>` block). The differences are counted and named.
* `extract_answer`: hand cases for every rule of the text (last box, nested braces, markers, normalisation).
"""
import itertools
import math
import random
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest

from autograder.generators import text
from autograder.notebook import load_reference


@pytest.fixture(scope="module")
def ref():
    return load_reference("17-cot-thinking")


def test_pass_at_k_equals_exact_binomials(ref):
    worst = 0.0
    for n in range(1, 25):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1 - Fraction(math.comb(n - c, k), math.comb(n, k))
                worst = max(worst, abs(ref.pass_at_k(n, c, k) - float(exact)))
    assert worst < 1e-14, worst


def test_pass_at_k_equals_subset_enumeration(ref):
    rng = random.Random(0)
    for n in (1, 4, 7, 9):
        for c in range(n + 1):
            samples = [True] * c + [False] * (n - c)
            rng.shuffle(samples)
            for k in range(1, n + 1):
                subsets = list(itertools.combinations(samples, k))
                share = sum(any(s) for s in subsets) / len(subsets)
                assert ref.pass_at_k(n, c, k) == pytest.approx(share, abs=1e-14), (n, c, k)


def test_pass_at_k_equals_humaneval_estimator(ref):
    def estimate(n, c, k):  # Chen et al. 2021, the numerically stable form of figure 3
        if n - c < k:
            return 1.0
        return 1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1))

    rng = random.Random(1)
    for _ in range(300):
        n = rng.choice([10, 100, 2000])
        c, k = rng.randint(0, n), rng.randint(1, n)
        assert ref.pass_at_k(n, c, k) == pytest.approx(float(estimate(n, c, k)), rel=1e-12, abs=1e-12)


def test_majority_vote_equals_counter(ref):
    rng = random.Random(2)
    for _ in range(500):
        pool = [None] + [text(rng, 2) or "0" for _ in range(rng.randint(1, 4))]
        answers = [rng.choice(pool) for _ in range(rng.randint(0, 12))]
        counts = Counter(a for a in answers if a is not None)
        expected = (None, 0.0) if not counts else (counts.most_common(1)[0][0], counts.most_common(1)[0][1] / len(answers))
        assert ref.majority_vote(answers) == expected, answers


TAGS = ["<think>", "</think>", "<answer>", "</answer>"]


def parsed_format(value):
    """1.0 iff value is ws <think> A </think> ws <answer> B </answer> ws with no tag in A or B (str methods only)."""
    body = value.strip()  # str.strip and \s (re, Unicode) agree on whitespace
    if not body.startswith("<think>"):
        return 0.0
    think, sep, rest = body[len("<think>"):].partition("</think>")
    if not sep:
        return 0.0
    rest = rest.lstrip()
    if not rest.startswith("<answer>") or not rest.endswith("</answer>") or len(rest) < len("<answer></answer>"):
        return 0.0
    answer = rest[len("<answer>"):-len("</answer>")]
    if any(tag in part for tag in TAGS for part in (think, answer)):
        return 0.0
    return 1.0


def format_texts(seed, count):
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        ws = lambda: rng.choice(["", " ", "\n", "\t\r\n", "\u00a0", "\u2003", "\x1c"])
        inner = lambda: rng.choice(["", "x", "a\nb", text(rng, 4), "<b>", rng.choice(TAGS), "<think"])
        if rng.random() < 0.6:
            out.append(f"{ws()}<think>{inner()}</think>{rng.choice([ws(), 'z'])}<answer>{inner()}</answer>{ws()}")
        else:
            out.append("".join(rng.choice(TAGS + ["a", " ", "\n"]) for _ in range(rng.randint(0, 7))))
    return out


def test_format_reward_equals_a_parser_without_regex(ref):
    texts = format_texts(3, 1500)
    assert sum(parsed_format(t) for t in texts) > 300  # both outcomes are well represented
    for t in texts:
        assert ref.format_reward(t) == parsed_format(t), repr(t)


def test_format_reward_against_trl_think_format_reward(ref):
    trl_rewards = pytest.importorskip("trl.rewards")
    texts = [t for t in format_texts(4, 1500) if not t[:1].isspace()]  # trl allows no leading whitespace
    ours = [ref.format_reward(t) for t in texts]
    theirs = trl_rewards.think_format_reward([[{"content": t}] for t in texts])
    accepted_by_us_only = [t for t, a, b in zip(texts, ours, theirs) if a == 1.0 and b != 1.0]
    assert not accepted_by_us_only, accepted_by_us_only[:3]
    accepted_by_trl_only = [t for t, a, b in zip(texts, ours, theirs) if a == 0.0 and b == 1.0]
    # the differences are the answer block's rules, which trl does not check
    assert accepted_by_trl_only and all(parsed_format(t) == 0.0 for t in accepted_by_trl_only)
    assert trl_rewards.think_format_reward([[{"content": "<think>a</think> no answer block"}]]) == [1.0]
    assert ref.format_reward("<think>a</think> no answer block") == 0.0


@pytest.mark.parametrize("trace, expected", [
    ("\\boxed{1} and \\boxed{\\sqrt{2}}", "\\sqrt{2}"),
    ("\\boxed{a{b}c}", "a{b}c"),
    ("\\boxed{1} \\boxed{2", None),
    ("The answer is 5.\n#### 6,000", "6000"),
    ("#### 6\nThe answer is: x", ": x"),
    ("The answer is 1,2,3.", "123"),
    ("#### 1, 2", "1, 2"),
    ("The answer is -0.50 .", "-0.50"),
    ("nothing", None),
])
def test_extract_answer_hand_cases(ref, trace, expected):
    assert ref.extract_answer(trace) == expected
