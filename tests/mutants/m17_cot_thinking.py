"""Plausible wrong solutions for 17-cot-thinking."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "17-cot-thinking"

EXTRACT = '''
def extract_answer(text):
    def normalise(answer):
        answer = answer.strip()
        if answer.endswith("."):
            answer = answer[:-1].strip()
        if re.fullmatch(r"-?\\d+(\\.\\d+)?", answer.replace(",", "")):
            answer = answer.replace(",", "")
        return answer or None

    start = text.rfind("\\\\boxed{")
    if start != -1:
        begin = start + len("\\\\boxed{")
        depth = 1
        for i in range(begin, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    return normalise(text[begin:i])
    markers = [(text.rfind(m), m) for m in ("The answer is", "####")]
    position, marker = max(markers)
    if position == -1:
        return None
    rest = text[position + len(marker):]
    return normalise(rest.split("\\n", 1)[0])
'''

FORMAT = '''
def format_reward(text):
    inner = r"(?:(?!</?think>|</?answer>).)*"
    pattern = r"\\s*<think>" + inner + r"</think>\\s*<answer>" + inner + r"</answer>\\s*"
    return 1.0 if re.fullmatch(pattern, text, re.DOTALL) else 0.0
'''

ACCURACY = '''
def accuracy_reward(text, gold):
    answer = extract_answer(text)
    target = extract_answer("\\\\boxed{" + gold + "}")
    if answer is None or target is None:
        return 0.0
    number = r"-?\\d+(\\.\\d+)?"
    if re.fullmatch(number, answer) and re.fullmatch(number, target):
        return 1.0 if float(answer) == float(target) else 0.0
    return 1.0 if answer == target else 0.0
'''

VOTE = '''
def majority_vote(answers):
    counts = {}
    for answer in answers:
        if answer is not None:
            counts[answer] = counts.get(answer, 0) + 1
    if not counts:
        return (None, 0.0)
    best = None
    for answer, count in counts.items():
        if best is None or count > counts[best]:
            best = answer
    return (best, counts[best] / len(answers))
'''

PASS = '''
def pass_at_k(n, c, k):
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product
'''

MUTANTS = [
    Mutant("extract_answer", "the first box, not the last",
           variant(EXTRACT, ('start = text.rfind("\\\\boxed{")', 'start = text.find("\\\\boxed{")')), "LAST \\boxed{"),
    Mutant("extract_answer", "a lazy regex stops at the first closing brace",
           variant(EXTRACT, ('''                if depth == 0:
                    return normalise(text[begin:i])''', '''                return normalise(text[begin:i])''')),
           "Count the braces"),
    Mutant("extract_answer", "the first marker found, not the later one",
           variant(EXTRACT, ("position, marker = max(markers)",
                             "position, marker = markers[0] if markers[0][0] != -1 else markers[1]")), "starts later"),
    Mutant("extract_answer", "the rest of the whole text after the marker",
           variant(EXTRACT, ('return normalise(rest.split("\\n", 1)[0])', "return normalise(rest)")), "first '\\n'"),
    Mutant("extract_answer", "commas kept in numbers",
           variant(EXTRACT, ('            answer = answer.replace(",", "")\n', "            pass\n")), "remove commas"),
    Mutant("extract_answer", "every trailing period stripped",
           variant(EXTRACT, ('''        if answer.endswith("."):
            answer = answer[:-1].strip()''', '''        answer = answer.rstrip(". ")''')), "ONE trailing"),
    Mutant("extract_answer", "an empty answer returned as ''",
           variant(EXTRACT, ("return answer or None", "return answer")), "empty answer is None"),
    Mutant("format_reward", "re.match: text after </answer> accepted",
           variant(FORMAT, ("re.fullmatch(pattern, text, re.DOTALL)", "re.match(pattern, text, re.DOTALL)")),
           "whole text must match"),
    Mutant("format_reward", "no re.DOTALL: parts cannot span lines",
           variant(FORMAT, ("re.fullmatch(pattern, text, re.DOTALL)", "re.fullmatch(pattern, text)")), "re.DOTALL"),
    Mutant("format_reward", "no whitespace allowed between the parts",
           variant(FORMAT, ('r"</think>\\s*<answer>"', 'r"</think><answer>"')), "whitespace"),
    Mutant("format_reward", "tags allowed inside the parts",
           variant(FORMAT, ('inner = r"(?:(?!</?think>|</?answer>).)*"', 'inner = r".*?"')), "four tags"),
    Mutant("format_reward", "a bool instead of a float",
           variant(FORMAT, ("return 1.0 if re.fullmatch(pattern, text, re.DOTALL) else 0.0",
                            "return re.fullmatch(pattern, text, re.DOTALL) is not None")), "floats 1.0 and 0.0"),
    Mutant("accuracy_reward", "strings compared, '3.0' != '3'",
           variant(ACCURACY, ("        return 1.0 if float(answer) == float(target) else 0.0\n", "        pass\n")),
           "float(answer) == float(gold)"),
    Mutant("accuracy_reward", "gold not normalised",
           variant(ACCURACY, ('target = extract_answer("\\\\boxed{" + gold + "}")', "target = gold")), "Normalise gold"),
    Mutant("accuracy_reward", "lower-cased strings",
           variant(ACCURACY, ("return 1.0 if answer == target else 0.0", "return 1.0 if answer.lower() == target.lower() else 0.0")),
           "exactly"),
    Mutant("accuracy_reward", "any float-parsable strings compared by value",
           variant(ACCURACY, ("    if re.fullmatch(number, answer) and re.fullmatch(number, target):\n        return 1.0 if float(answer) == float(target) else 0.0\n",
                              "    try:\n        return 1.0 if float(answer) == float(target) else 0.0\n    except ValueError:\n        pass\n")),
           "1e3"),
    Mutant("accuracy_reward", "None == None counts as right",
           variant(ACCURACY, ("    if answer is None or target is None:\n        return 0.0\n",
                              "    if answer is None or target is None:\n        return float(answer == target)\n")),
           "No answer"),
    Mutant("accuracy_reward", "a bool instead of a float",
           variant(ACCURACY, ("return 1.0 if answer == target else 0.0", "return answer == target"),
                   ("return 1.0 if float(answer) == float(target) else 0.0", "return float(answer) == float(target)")),
           "floats 1.0 and 0.0"),
    Mutant("majority_vote", "ties to the last answer with the top count",
           variant(VOTE, ("count > counts[best]", "count >= counts[best]")), "FIRST occurrence"),
    Mutant("majority_vote", "ties to the smallest answer",
           variant(VOTE, ("for answer, count in counts.items():", "for answer, count in sorted(counts.items()):")),
           "FIRST occurrence"),
    Mutant("majority_vote", "the share over the non-None answers only",
           variant(VOTE, ("counts[best] / len(answers)", "counts[best] / sum(counts.values())")), "Nones included"),
    Mutant("majority_vote", "None counted as an answer",
           variant(VOTE, ("        if answer is not None:\n            counts[answer]", "        if True:\n            counts[answer]")),
           "never an answer"),
    Mutant("majority_vote", "a list instead of a tuple",
           variant(VOTE, ("return (best, counts[best] / len(answers))", "return [best, counts[best] / len(answers)]")),
           "tuple"),
    Mutant("majority_vote", "counts kept between calls in a mutable default",
           variant(VOTE, ("def majority_vote(answers):\n    counts = {}", "def majority_vote(answers, counts={}):\n    counts.clear() if not answers else None")),
           "between calls"),
    Mutant("pass_at_k", "the product over the wrong range (n - c .. n - 1)",
           variant(PASS, ("range(n - c + 1, n + 1)", "range(n - c, n)")), "i = n - c + 1 .. n"),
    Mutant("pass_at_k", "integer division k // i in the product",
           variant(PASS, ("product *= 1.0 - k / i", "product *= 1.0 - k // i")), "i = n - c + 1 .. n"),
    Mutant("pass_at_k", "the naive 1 - (1 - c/n)^k (with replacement)",
           variant(PASS, ("    product = 1.0\n    for i in range(n - c + 1, n + 1):\n        product *= 1.0 - k / i\n",
                          "    product = (1.0 - c / n) ** k\n")), "C(n - c, k) / C(n, k)"),
    Mutant("pass_at_k", "no ValueError for k > n",
           variant(PASS, ("1 <= k <= n)", "1 <= k)")), "ValueError"),
    Mutant("pass_at_k", "math.comb",
           variant(PASS, ("    product = 1.0\n    for i in range(n - c + 1, n + 1):\n        product *= 1.0 - k / i\n",
                          "    product = math.comb(n - c, k) / math.comb(n, k)\n")), "no math.comb"),
    Mutant("pass_at_k", "c / n regardless of k",
           variant(PASS, ("    return 1.0 - product", "    return c / n")), "C(n - c, k)"),
]
