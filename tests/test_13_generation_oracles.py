"""Oracle tests for notebook 13 (generation): the reference solutions against transformers (5.23.0), an
implementation nobody on this project wrote: its logits warpers on random logits, and its `generate` (greedy,
seeded sampling, beam search) on small random LlamaForCausalLM models built from a config, and on the course's
`tiny` checkpoint, which transformers loads directly (the course models use its parameter names).

Traps (../shared/notes/oracles.md): `generate` applies top_k=50 unless top_k=0 is passed; always pass
max_new_tokens; sampling draws from the default generator, so `torch.manual_seed(seed)` comes right before it
and the reference gets the same seed; pad_token_id is given so that generate does not warn; top-p's sort is not
stable in transformers, so tied logits are compared for top-k only (the reference's stable order is its own
convention, stated in the notebook).
"""
import itertools

import pytest
import torch
import transformers
from transformers import LlamaForCausalLM, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

from autograder.notebook import load_reference
from coursekit.data import MODELS_DIR
from coursekit.models import load_model
from tests.hf_oracles import CourseInterface, hf_model

transformers.logging.set_verbosity_error()


@pytest.fixture(scope="module")
def ref():
    return load_reference("13-generation")


def prompt(seed, length=5, vocab_size=40):
    return torch.randint(1, vocab_size, (length,), generator=torch.Generator().manual_seed(seed))


def random_logits(seed, ties):
    x = torch.randn(3, 17, generator=torch.Generator().manual_seed(seed)) * 2
    return x.round() if ties else x


@pytest.mark.parametrize("seed", range(40))
def test_warpers_equal_transformers(ref, seed):
    x = random_logits(seed, ties=seed % 2 == 1)
    for T in (1e-3, 0.5, 1.0, 3.0, 100.0):
        assert torch.equal(ref.apply_temperature(x, T), TemperatureLogitsWarper(T)(None, x.clone()))
    for k in (1, 2, 5, 17, 30):
        assert torch.equal(ref.top_k_filter(x, k), TopKLogitsWarper(k)(None, x.clone())), k
    if seed % 2 == 0:  # top-p without ties: transformers' sort is not stable
        for p in (0.01, 0.3, 0.5, 0.9, 0.999, 1.0):
            assert torch.equal(ref.top_p_filter(x, p), TopPLogitsWarper(p)(None, x.clone())), p


@pytest.mark.parametrize("seed", range(6))
def test_greedy_and_sampling_equal_generate(ref, seed):
    model = hf_model(seed)
    ids, eos = prompt(seed), [None, 3][seed % 2]
    expected = model.generate(ids[None], max_new_tokens=12, do_sample=False, top_k=0, eos_token_id=eos, pad_token_id=0)[0]
    assert torch.equal(ref.generate(CourseInterface(model), ids, 12, greedy=True, eos_id=eos), expected)
    for temperature, top_k, top_p in ((1.0, 0, 1.0), (0.7, 5, 1.0), (1.3, 0, 0.8), (0.9, 10, 0.9)):
        torch.manual_seed(seed)
        expected = model.generate(ids[None], max_new_tokens=12, do_sample=True, temperature=temperature, top_k=top_k,
                                  top_p=top_p, eos_token_id=eos, pad_token_id=0)[0]
        got = ref.generate(CourseInterface(model), ids, 12, temperature=temperature, top_k=top_k, top_p=top_p,
                           eos_id=eos, seed=seed)
        assert torch.equal(got, expected), (temperature, top_k, top_p)


@pytest.mark.parametrize("seed", range(3))
def test_beam_search_equals_generate(ref, seed):
    model = hf_model(10 + seed)
    ids, eos = prompt(10 + seed), [None, 3, 7][seed]
    for beams, penalty in itertools.product((2, 4), (1.0, 0.0, 2.0, -0.5)):
        expected = model.generate(ids[None], max_new_tokens=10, do_sample=False, num_beams=beams, length_penalty=penalty,
                                  top_k=0, eos_token_id=eos, pad_token_id=0, early_stopping=False)[0]
        assert torch.equal(ref.beam_search(CourseInterface(model), ids, beams, 10, penalty, eos), expected), (beams, penalty)


def test_course_model_decodes_as_transformers(ref):
    """The course's tiny checkpoint, loaded by transformers and by coursekit: the same greedy and beam tokens."""
    hf = LlamaForCausalLM.from_pretrained(MODELS_DIR / "tiny", torch_dtype=torch.float32).eval()
    ours = load_model("tiny")
    ids = torch.tensor([464, 3797, 318, 257])
    expected = hf.generate(ids[None], max_new_tokens=16, do_sample=False, top_k=0, eos_token_id=None, pad_token_id=0)[0]
    assert torch.equal(ref.generate(ours, ids, 16, greedy=True), expected)
    expected = hf.generate(ids[None], max_new_tokens=12, do_sample=False, num_beams=3, top_k=0, eos_token_id=None,
                           pad_token_id=0, early_stopping=False)[0]
    assert torch.equal(ref.beam_search(ours, ids, 3, 12), expected)
