"""17-cot-thinking: edge-case bugs the text's domain exposes (a box closed by a brace of an earlier box, the
lower-case marker, commas removed from text, whitespace that \\s does not cover, a period kept on gold, None
voted when it is most frequent, a first-reached tie rule, pass@k from comb ratios that overflow), and correct
solutions written in unusual ways. Each solution replaces the whole solution cell of its exercise."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m17_cot_thinking import ACCURACY as ACCURACY_PLAIN
from tests.mutants.m17_cot_thinking import EXTRACT as EXTRACT_PLAIN
from tests.mutants.m17_cot_thinking import FORMAT as FORMAT_PLAIN
from tests.mutants.m17_cot_thinking import PASS as PASS_PLAIN
from tests.mutants.m17_cot_thinking import VOTE as VOTE_PLAIN

ASSIGNMENT = "17-cot-thinking"

EXTRACT, FORMAT, ACCURACY, VOTE, PASS = "extract_answer", "format_reward", "accuracy_reward", "majority_vote", "pass_at_k"

WRONG = [
    # extract_answer ---------------------------------------------------------------------------------
    Wrong(EXTRACT, "markers matched case-insensitively",
          variant(EXTRACT_PLAIN, ('markers = [(text.rfind(m), m) for m in ("The answer is", "####")]',
                                  'markers = [(text.lower().rfind(m.lower()), m) for m in ("The answer is", "####")]')),
          "case-sensitive"),
    Wrong(EXTRACT, "commas removed from every answer, numbers or not",
          variant(EXTRACT_PLAIN, ('''        if re.fullmatch(r"-?\\d+(\\.\\d+)?", answer.replace(",", "")):
            answer = answer.replace(",", "")''', '''        answer = answer.replace(",", "")''')),
          "remove commas only"),
    Wrong(EXTRACT, "an unclosed last box falls back to an earlier closed box",
          variant(EXTRACT_PLAIN, ('    start = text.rfind("\\\\boxed{")\n    if start != -1:',
                                  '    starts = [i for i in range(len(text)) if text.startswith("\\\\boxed{", i)]\n'
                                  '    for start in reversed(starts):')),
          "never closed"),
    Wrong(EXTRACT, "the period dropped before stripping: '3 . ' keeps its period",
          variant(EXTRACT_PLAIN, ('''        answer = answer.strip()
        if answer.endswith("."):
            answer = answer[:-1].strip()''', '''        if answer.endswith("."):
            answer = answer[:-1]
        answer = answer.strip()''')),
          "ONE trailing"),
    # format_reward ----------------------------------------------------------------------------------
    Wrong(FORMAT, "only spaces and newlines allowed around the parts, not every \\s",
          variant(FORMAT_PLAIN, ('pattern = r"\\s*<think>" + inner + r"</think>\\s*<answer>" + inner + r"</answer>\\s*"',
                                 'pattern = r"[ \\n]*<think>" + inner + r"</think>[ \\n]*<answer>" + inner + r"</answer>[ \\n]*"')),
          "whitespace"),
    Wrong(FORMAT, "split on the tags: stray closing tags inside go unnoticed",
          '''
def format_reward(text):
    text = text.strip()
    if not (text.startswith("<think>") and text.endswith("</answer>")):
        return 0.0
    think, _, rest = text[len("<think>"):].partition("</think>")
    rest = rest.strip()
    if not rest.startswith("<answer>") or "<think>" in think or "<answer>" in think:
        return 0.0
    answer = rest[len("<answer>"):-len("</answer>")]
    return 0.0 if "<answer>" in answer or "<think>" in answer else 1.0
''', "four tags"),
    Wrong(FORMAT, "trl's think pattern plus an answer: anything after </answer> accepted",
          '''
def format_reward(text):
    pattern = r"^\\s*<think>(?!.*<think>)(.*?)</think>\\s*<answer>(.*?)</answer>"
    return 1.0 if re.match(pattern, text, re.DOTALL) else 0.0
''', "whole text must match"),
    # accuracy_reward --------------------------------------------------------------------------------
    Wrong(ACCURACY, "gold stripped but its period kept",
          variant(ACCURACY_PLAIN, ('target = extract_answer("\\\\boxed{" + gold + "}")', "target = gold.strip() or None")),
          "Normalise gold"),
    Wrong(ACCURACY, "numbers compared after rounding to integers",
          variant(ACCURACY_PLAIN, ("return 1.0 if float(answer) == float(target) else 0.0",
                                   "return 1.0 if round(float(answer)) == round(float(target)) else 0.0")),
          "float(answer) == float(gold)"),
    Wrong(ACCURACY, "one side a number is enough to compare by value",
          variant(ACCURACY_PLAIN, ("if re.fullmatch(number, answer) and re.fullmatch(number, target):",
                                   "if re.fullmatch(number, answer) or re.fullmatch(number, target):\n        try:\n            return 1.0 if float(answer) == float(target) else 0.0\n        except ValueError:\n            return 0.0\n    if False:")),
          "compare"),
    # majority_vote ----------------------------------------------------------------------------------
    Wrong(VOTE, "ties to the answer that reached the top count first",
          '''
def majority_vote(answers):
    counts, best = {}, None
    for answer in answers:
        if answer is None:
            continue
        counts[answer] = counts.get(answer, 0) + 1
        if best is None or counts[answer] > counts[best]:
            best = answer
    return (None, 0.0) if best is None else (best, counts[best] / len(answers))
''', "FIRST occurrence"),
    Wrong(VOTE, "Counter.most_common over the list with None, then None skipped only if it won alone",
          '''
def majority_vote(answers):
    if not answers:
        return (None, 0.0)
    answer, count = Counter(answers).most_common(1)[0]
    if answer is None:
        return (None, 0.0)
    return (answer, count / len(answers))
''', "never an answer"),
    Wrong(VOTE, "an empty list divides by zero",
          variant(VOTE_PLAIN, ("    if not counts:\n        return (None, 0.0)\n",
                               "    if not counts:\n        return (None, 0.0 / len(answers))\n")),
          "empty list"),
    # pass_at_k --------------------------------------------------------------------------------------
    Wrong(PASS, "c = 0 treated as invalid",
          variant(PASS_PLAIN, ("if not (0 <= c <= n and 1 <= k <= n):", "if not (0 < c <= n and 1 <= k <= n):")),
          "ValueError"),
    Wrong(PASS, "1.0 already when n - c == k",
          variant(PASS_PLAIN, ("if n - c < k:", "if n - c <= k:")), "n - c < k"),
    Wrong(PASS, "a Fraction-exact result returned as a Fraction",
          '''
def pass_at_k(n, c, k):
    from fractions import Fraction
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError("bad arguments")
    if n - c < k:
        return 1.0
    product = Fraction(1)
    for i in range(n - c + 1, n + 1):
        product *= 1 - Fraction(k, i)
    return 1 - product
''', "Python float"),
]

CORRECT = [
    Correct(EXTRACT, "a stack of brace positions and str.partition for the line",
            '''
def extract_answer(text):
    def clean(s):
        s = s.strip()
        s = s[:-1].strip() if s.endswith(".") else s
        plain = s.replace(",", "")
        if re.fullmatch(r"-?\\d+(\\.\\d+)?", plain):
            s = plain
        return s if s else None

    key = "\\\\boxed{"
    at = text.rfind(key)
    if at >= 0:
        stack = ["{"]
        for j, ch in enumerate(text[at + len(key):]):
            if ch == "{":
                stack.append(ch)
            elif ch == "}":
                stack.pop()
                if not stack:
                    return clean(text[at + len(key):at + len(key) + j])
    a, b = text.rfind("The answer is"), text.rfind("####")
    if a == b == -1:
        return None
    line = text[a + 13:] if a > b else text[b + 4:]
    return clean(line.partition("\\n")[0])
'''),
    Correct(EXTRACT, "regular expressions for the markers",
            variant(EXTRACT_PLAIN, ('''    markers = [(text.rfind(m), m) for m in ("The answer is", "####")]
    position, marker = max(markers)
    if position == -1:
        return None
    rest = text[position + len(marker):]
    return normalise(rest.split("\\n", 1)[0])''', '''    found = list(re.finditer(r"The answer is|####", text))
    if not found:
        return None
    return normalise(text[found[-1].end():].split("\\n", 1)[0])''')),
            ),
    Correct(FORMAT, "a hand-written scan of the four tags",
            '''
def format_reward(text):
    body = text.strip(" \\t\\n\\r\\x0b\\x0c\\x1c\\x1d\\x1e\\x1f\\x85\\xa0\\u1680\\u2000\\u2001\\u2002\\u2003\\u2004\\u2005"
                      "\\u2006\\u2007\\u2008\\u2009\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000")
    body = re.sub(r"^\\s+|\\s+$", "", text)
    tags = re.findall(r"</?think>|</?answer>", body)
    if tags != ["<think>", "</think>", "<answer>", "</answer>"]:
        return 0.0
    if not (body.startswith("<think>") and body.endswith("</answer>")):
        return 0.0
    between = body[body.index("</think>") + len("</think>"):body.index("<answer>")]
    return 1.0 if between.strip() == "" and re.fullmatch(r"\\s*", between) else 0.0
'''),
    Correct(FORMAT, "re.compile with ^ and \\Z",
            variant(FORMAT_PLAIN, ("return 1.0 if re.fullmatch(pattern, text, re.DOTALL) else 0.0",
                                   "return 1.0 if re.compile(\"^\" + pattern + r\"\\Z\", re.DOTALL).search(text) else 0.0"))),
    Correct(ACCURACY, "Decimal comparison of numbers",
            variant(ACCURACY_PLAIN, ("return 1.0 if float(answer) == float(target) else 0.0",
                                     "from decimal import Decimal\n        return 1.0 if float(Decimal(answer)) == float(Decimal(target)) else 0.0"))),
    Correct(ACCURACY, "a shared normalisation through a box and a conditional expression",
            '''
def accuracy_reward(text, gold):
    got, want = extract_answer(text), extract_answer("\\\\boxed{%s}" % gold)
    numeric = lambda s: s is not None and re.fullmatch(r"-?\\d+(\\.\\d+)?", s) is not None
    if got is None or want is None:
        return 0.0
    same = float(got) == float(want) if numeric(got) and numeric(want) else got == want
    return float(same)
'''),
    Correct(VOTE, "Counter.most_common (first-insertion order among ties)",
            '''
def majority_vote(answers):
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return (None, 0.0)
    answer, count = counts.most_common(1)[0]
    return (answer, count / len(answers))
'''),
    Correct(VOTE, "max over the answers by (count, -first index)",
            '''
def majority_vote(answers):
    seen = [a for a in answers if a is not None]
    if not seen:
        return (None, 0.0)
    best = max(dict.fromkeys(seen), key=lambda a: (seen.count(a), -seen.index(a)))
    return (best, seen.count(best) / len(answers))
'''),
    Correct(PASS, "numpy's prod over an arange, as in the HumanEval code",
            '''
def pass_at_k(n, c, k):
    import numpy as np
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError("need 0 <= c <= n and 1 <= k <= n")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))
'''),
    Correct(PASS, "the product over k factors (n - c - j) / (n - j)",
            variant(PASS_PLAIN, ("    for i in range(n - c + 1, n + 1):\n        product *= 1.0 - k / i\n",
                                 "    for j in range(k):\n        product *= (n - c - j) / (n - j)\n"))),
    Correct(PASS, "no special case: a factor 1 - k/k = 0 makes the product 0",
            variant(PASS_PLAIN, ("    if n - c < k:\n        return 1.0\n", ""),
                    ("    return 1.0 - product", "    return 1.0 - product if product else 1.0"))),
]
