"""Oracle tests for notebook 19 (evaluation): the reference solutions against lm-eval (0.4.13) and transformers
(5.23.0), implementations nobody on this project wrote.

* `multiple_choice_metrics`: lm-eval's `ConfigurableTask.process_results` for a multiple-choice task (called on
  a stand-in for the task object that carries only what that method reads), which computes acc, acc_norm
  (per character) and acc_bytes (per UTF-8 byte) with `numpy.argmax`, on Unicode choices and ties.
* `perplexity_metrics`: the same method for a `loglikelihood_rolling` task (lm-eval's word and byte counts),
  aggregated with `lm_eval.api.metrics.weighted_perplexity` and `bits_per_byte`; token perplexity with
  `weighted_perplexity` over token counts.
* `bootstrap_stderr`: `lm_eval.api.metrics.bootstrap_stderr(mean, values, iters)`, single-process
  (`DISABLE_MULTIPROC`) and with its multiprocessing pool: the same number, bit for bit.
* `choice_logprob`: transformers' `LlamaForCausalLM` with the course's `tiny` weights, its own shifted
  cross-entropy (`labels` with -100 on the context) times the number of continuation tokens; and random
  transformers models called through `CourseInterface`.

lm-eval is installed with `--no-deps` (`.ci/run`): `lm_eval.api.metrics` needs only numpy and sacrebleu
(pinned in requirements-dev.txt); `lm_eval.api.task` imports `datasets` (from trl's requirements) and takes a
few seconds, so it is imported once per module. FastChat (MT-Bench's judge) is not installed: `win_rate_matrix`
follows the rule its `load_pairwise_model_judgments` applies (a winner only when both games agree, otherwise
"inconsistent"), tested by the hand-written cases of the hidden checks.
"""
import contextlib
import io
import math
import os
import random
from types import SimpleNamespace

import pytest
import torch
import transformers
from transformers import LlamaForCausalLM

from autograder.generators import text
from autograder.notebook import load_reference
from coursekit.data import MODELS_DIR
from coursekit.models import load_model
from tests.hf_oracles import CourseInterface, hf_model

transformers.logging.set_verbosity_error()


@pytest.fixture(scope="module")
def ref():
    return load_reference("19-evaluation")


@pytest.fixture(scope="module")
def lm_eval():
    import lm_eval.api.metrics as metrics
    from lm_eval.api.task import ConfigurableTask
    return SimpleNamespace(metrics=metrics, ConfigurableTask=ConfigurableTask)


def task(lm_eval, output_type, metric_names):
    """What ConfigurableTask.process_results reads of its task: docs are dicts with 'choices' and 'target'; the
    word and byte counts are lm-eval's own (ConfigurableTask.count_words and count_bytes)."""
    return SimpleNamespace(config=SimpleNamespace(process_results=None), OUTPUT_TYPE=output_type,
                           _metric_fn_list={name: None for name in metric_names}, multiple_input=False,
                           multiple_target=False, doc_to_choice=lambda doc: doc["choices"],
                           doc_to_target=lambda doc: doc["target"], doc_to_text=lambda doc: doc["target"],
                           count_words=lm_eval.ConfigurableTask.count_words,
                           count_bytes=lm_eval.ConfigurableTask.count_bytes)


def test_multiple_choice_metrics_equal_process_results(ref, lm_eval):
    """400 questions of 1 to 6 Unicode choices, a third with a tie after one normalisation."""
    fake = task(lm_eval, "multiple_choice", ["acc", "acc_norm", "acc_bytes"])
    rng = random.Random(0)
    disagreements = 0
    for k in range(400):
        n = rng.randint(1, 6)
        choices = [text(rng, 6) or "x" for _ in range(n)]
        lls = [-round(rng.uniform(0, 30), rng.choice([0, 1, 3])) for _ in range(n)]
        if k % 3 == 0 and n > 1:
            a, b = rng.sample(range(n), 2)
            divisor = rng.choice([lambda c: 1, len, lambda c: len(c.encode("utf-8"))])
            lls[b] = lls[a] / divisor(choices[a]) * divisor(choices[b])
        gold = rng.randrange(n)
        expected = lm_eval.ConfigurableTask.process_results(fake, {"choices": choices, "target": gold},
                                                            [(ll, False) for ll in lls])
        got = ref.multiple_choice_metrics(lls, choices, gold)
        assert got == {key: float(value) for key, value in expected.items()}, (lls, choices, gold)
        disagreements += got["acc_norm"] != got["acc_bytes"]
    assert disagreements > 10  # the per-character and per-byte picks really differ on these inputs


def test_perplexity_metrics_equal_lm_eval_aggregation(ref, lm_eval):
    """lm-eval's rolling-loglikelihood results, aggregated by its weighted_perplexity and bits_per_byte."""
    fake = task(lm_eval, "loglikelihood_rolling", ["word_perplexity", "byte_perplexity", "bits_per_byte"])
    rng = random.Random(1)
    for _ in range(200):
        n = rng.randint(1, 5)
        texts = [text(rng, 10) for _ in range(n)]
        texts[0] = texts[0] or " x"
        lls = [-rng.uniform(0, 40) for _ in range(n)]
        counts = [rng.randint(1, 12) for _ in range(n)]
        items = [lm_eval.ConfigurableTask.process_results(fake, {"target": t}, (ll,)) for t, ll in zip(texts, lls)]
        m = lm_eval.metrics
        expected = {"word_perplexity": m.weighted_perplexity([i["word_perplexity"] for i in items]),
                    "byte_perplexity": m.weighted_perplexity([i["byte_perplexity"] for i in items]),
                    "bits_per_byte": m.bits_per_byte([i["bits_per_byte"] for i in items]),
                    "token_perplexity": m.weighted_perplexity(list(zip(lls, counts)))}
        got = ref.perplexity_metrics(lls, texts, counts)
        assert got.keys() == expected.keys()
        for key in expected:
            assert math.isclose(got[key], expected[key], rel_tol=1e-12), (key, texts)


@pytest.mark.parametrize("multiprocessing", [False, True])
def test_bootstrap_stderr_equals_lm_eval(ref, lm_eval, multiprocessing, monkeypatch):
    """lm-eval's bootstrap standard error of the mean, draw for draw: the same float."""
    if multiprocessing:
        monkeypatch.delenv("DISABLE_MULTIPROC", raising=False)
        monkeypatch.setattr("multiprocessing.cpu_count", lambda: 2)
        cases = [(40, 2000)]
    else:
        monkeypatch.setenv("DISABLE_MULTIPROC", "1")
        cases = [(1, 2), (5, 3), (13, 999), (30, 1000), (7, 2500), (50, 3000)]
    rng = random.Random(2)
    for n, iterations in cases:
        values = [float(rng.random() < 0.6) if rng.random() < 0.5 else rng.uniform(-3, 3) for _ in range(n)]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            expected = lm_eval.metrics.bootstrap_stderr(lm_eval.metrics.mean, values, iterations)
        assert ref.bootstrap_stderr(values, iterations) == expected, (n, iterations)


def hf_sum(model, context, continuation):
    """transformers' own shifted cross-entropy over the continuation (labels -100 on the context), as a sum."""
    ids = torch.tensor([context + continuation])
    labels = ids.clone()
    labels[0, :len(context)] = -100
    with torch.no_grad():
        loss = model(ids, labels=labels).loss.double()
    return -loss.item() * len(continuation)


def test_choice_logprob_equals_transformers_on_the_course_tiny_model(ref):
    """The course's tiny checkpoint loaded by transformers and by coursekit: the same log-likelihoods."""
    hf = LlamaForCausalLM.from_pretrained(MODELS_DIR / "tiny", torch_dtype=torch.float32).eval()
    ours = load_model("tiny")
    rng = random.Random(3)
    for _ in range(6):
        context = [rng.randrange(4096) for _ in range(rng.randint(1, 20))]
        continuation = [rng.randrange(4096) for _ in range(rng.randint(1, 12))]
        assert math.isclose(ref.choice_logprob(ours, context, continuation), hf_sum(hf, context, continuation),
                            rel_tol=1e-5, abs_tol=1e-3)


@pytest.mark.parametrize("seed", [0, 1])
def test_choice_logprob_equals_transformers_on_random_models(ref, seed):
    """Random transformers models (peaked distributions) through CourseInterface (transformers computes its loss
    in float32 even for a float64 model, hence 1e-6)."""
    model = hf_model(seed).double()
    rng = random.Random(seed)
    for _ in range(8):
        context = [rng.randrange(40) for _ in range(rng.randint(1, 10))]
        continuation = [rng.randrange(40) for _ in range(rng.randint(1, 10))]
        assert math.isclose(ref.choice_logprob(CourseInterface(model), context, continuation),
                            hf_sum(model, context, continuation), rel_tol=1e-6, abs_tol=1e-6)
