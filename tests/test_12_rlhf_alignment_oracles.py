"""Oracle tests for notebook 12 (RLHF and alignment): the reference solutions against Hugging Face's trl
(1.16.0), an implementation nobody on this project wrote, on small random LlamaForCausalLM models built from a
config and a word-level tokenizer made on the spot (nothing is downloaded):

- DPO: `DPOTrainer.compute_loss` (loss_type ["sigmoid"]) on a collated batch of ragged preference pairs, with a
  policy and a reference model that differ, equals `dpo_loss` of `sequence_logprobs` of the two models' logits;
- GRPO advantages: `GRPOTrainer._generate_and_score_completions` with a reward function that returns chosen
  rewards equals `group_advantages` (trl divides by the unbiased std + 1e-4, scale_rewards="group");
- PPO clip: `GRPOTrainer._compute_loss` with loss_type "bnpo" (a masked mean over all tokens), beta 0,
  token-level and per-sequence advantages and old log-probabilities that differ from the current ones, equals
  `ppo_clip_loss` of trl's own per-token log-probabilities; those, summed over the completion, equal
  `sequence_logprobs` of the whole sequence;
- k3: the same loss with zero advantages, ratio 1 and beta != 0 is beta times the masked mean of `kl_k3`.

Traps (../shared/notes/oracles.md): DPOConfig's bf16 defaults to True (set bf16=False); trl's GRPO defaults
changed (loss_type "dapo", beta 0, a bias-corrected KL), so every option is explicit; the losses are computed
in eval mode, where trl divides by no gradient-accumulation count. With beta != 0 at construction trl loads a
reference model from the model's path; the k3 test instead sets the trainer's beta after construction and
passes the reference log-probabilities in the inputs, which is all `_compute_loss` reads.
"""
import os

import pytest
import torch

from autograder.notebook import load_reference

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers = pytest.importorskip("transformers")
trl = pytest.importorskip("trl")
from datasets import Dataset  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast  # noqa: E402
from trl import DPOConfig, DPOTrainer, GRPOConfig, GRPOTrainer  # noqa: E402
from trl.trainer.dpo_trainer import DataCollatorForPreference  # noqa: E402

transformers.logging.set_verbosity_error()
VOCAB = 40
GROUP = 4


@pytest.fixture(scope="module")
def ref():
    return load_reference("12-rlhf-alignment")


def llama(seed):
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=64, pad_token_id=0, eos_token_id=VOCAB - 1)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() > 1:
                parameter.normal_(0.0, 0.2)  # peaked enough that log-probabilities differ between models
    return model


@pytest.fixture(scope="module")
def tokenizer():
    word_level = Tokenizer(models.WordLevel({f"t{i}": i for i in range(VOCAB)}, unk_token="t1"))
    word_level.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=word_level, pad_token="t0", eos_token=f"t{VOCAB - 1}")


def words(ids):
    return " ".join(f"t{i}" for i in ids)


def random_ids(generator, n):
    return torch.randint(2, VOCAB - 1, (n,), generator=generator).tolist()


# DPO -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("beta, seed", [(0.1, 0), (0.5, 1)])
def test_dpo_loss_equals_trl(ref, tokenizer, tmp_path, beta, seed):
    generator = torch.Generator().manual_seed(seed)
    pairs = [{"prompt_ids": random_ids(generator, 2 + i), "chosen_ids": random_ids(generator, 1 + i % 3),
              "rejected_ids": random_ids(generator, 1 + (2 * i) % 4)} for i in range(5)]
    dataset = Dataset.from_dict({"prompt": [words(p["prompt_ids"]) for p in pairs],
                                 "chosen": [" " + words(p["chosen_ids"]) for p in pairs],
                                 "rejected": [" " + words(p["rejected_ids"]) for p in pairs]})
    policy, reference_model = llama(10 + seed), llama(20 + seed)
    config = DPOConfig(output_dir=str(tmp_path), beta=beta, loss_type=["sigmoid"], use_cpu=True, bf16=False, report_to=[])
    trainer = DPOTrainer(model=policy, ref_model=reference_model, args=config, train_dataset=dataset, processing_class=tokenizer)
    batch = DataCollatorForPreference(pad_token_id=0)(pairs)
    trainer.model.eval()
    with torch.no_grad():
        expected = trainer.compute_loss(trainer.model, batch)
        ids, attention, completion = batch["input_ids"], batch["attention_mask"], batch["completion_mask"]
        policy_logps = ref.sequence_logprobs(policy(input_ids=ids, attention_mask=attention).logits, ids, completion)
        reference_logps = ref.sequence_logprobs(reference_model(input_ids=ids, attention_mask=attention).logits, ids, completion)
    n = len(pairs)
    loss, chosen, rejected = ref.dpo_loss(policy_logps[:n], policy_logps[n:], reference_logps[:n], reference_logps[n:], beta)
    assert abs(loss.item() - expected.item()) < 1e-6, (loss.item(), expected.item())
    assert abs(loss.item() - 0.6931) > 1e-2  # the two models differ: not the trivial log 2
    assert (chosen - rejected).abs().max() > 1e-2


# GRPO ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def grpo(tokenizer, tmp_path_factory):
    """A GRPOTrainer (loss bnpo, beta 0, epsilon 0.2, groups of 4) whose reward function pops preset rewards."""
    queue = []

    def preset_rewards(prompts, completions, **kwargs):
        return [queue.pop(0) for _ in completions]

    config = GRPOConfig(output_dir=str(tmp_path_factory.mktemp("grpo")), loss_type="bnpo", beta=0.0, epsilon=0.2,
                        num_generations=GROUP, per_device_train_batch_size=2 * GROUP, max_completion_length=4,
                        scale_rewards="group", use_bias_correction_kl=False, use_cpu=True, bf16=False, report_to=[])
    dataset = Dataset.from_dict({"prompt": ["t3 t5 t7", "t9 t2 t4"] * GROUP})
    trainer = GRPOTrainer(model=llama(1), reward_funcs=preset_rewards, args=config, train_dataset=dataset,
                          processing_class=tokenizer)
    trainer.model.eval()
    return trainer, queue


@pytest.mark.parametrize("rewards", [[1.0, 0.0, 0.0, 1.0, 0.5, 2.0, -1.0, 0.25],
                                     [3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 1.0, 0.0],
                                     [10.0, -10.0, 0.001, 0.0, 0.0, 2e-4, 0.0, 1e-4]])
def test_group_advantages_equal_trl(ref, grpo, rewards):
    trainer, queue = grpo
    queue.extend(rewards)
    scored = trainer._generate_and_score_completions([{"prompt": "t3 t5 t7"}] * GROUP + [{"prompt": "t9 t2 t4"}] * GROUP)
    expected = scored["advantages"]
    got = ref.group_advantages(torch.tensor(rewards), GROUP)
    assert torch.allclose(got, expected, atol=1e-6, rtol=1e-6), (got, expected)


def loss_inputs(seed, batch=4, prompt=3, completion=5):
    generator = torch.Generator().manual_seed(seed)
    completion_mask = torch.ones(batch, completion, dtype=torch.long)
    for row in range(batch):
        completion_mask[row, completion - row:] = 0  # completions of 5, 4, 3 and 2 tokens
    return {"prompt_ids": torch.randint(2, VOCAB - 1, (batch, prompt), generator=generator),
            "prompt_mask": torch.ones(batch, prompt, dtype=torch.long),
            "completion_ids": torch.randint(2, VOCAB - 1, (batch, completion), generator=generator),
            "completion_mask": completion_mask}


def trl_token_logps(trainer, inputs):
    input_ids = torch.cat((inputs["prompt_ids"], inputs["completion_ids"]), dim=1)
    attention = torch.cat((inputs["prompt_mask"], inputs["completion_mask"]), dim=1)
    with torch.no_grad():
        return trainer._get_per_token_logps_and_entropies(trainer.model, input_ids, attention,
                                                           inputs["completion_ids"].size(1))[0]


@pytest.mark.parametrize("seed, token_level", [(0, True), (1, False), (2, True)])
def test_ppo_clip_loss_equals_trl(ref, grpo, seed, token_level):
    trainer, _ = grpo
    inputs = loss_inputs(seed)
    logps = trl_token_logps(trainer, inputs)
    generator = torch.Generator().manual_seed(100 + seed)
    old = logps + 0.3 * torch.randn(logps.shape, generator=generator)  # ratios on both sides of [0.8, 1.2]
    advantages = torch.randn(logps.shape if token_level else logps.shape[:1], generator=generator)
    with torch.no_grad():
        expected = trainer._compute_loss(trainer.model, {**inputs, "advantages": advantages, "old_per_token_logps": old})
    ratio = (logps - old).exp()
    assert ((ratio < 0.8) | (ratio > 1.2)).any() and ((ratio > 0.8) & (ratio < 1.2)).any()
    got = ref.ppo_clip_loss(logps, old, advantages if token_level else advantages[:, None], inputs["completion_mask"], 0.2)
    assert abs(got.item() - expected.item()) < 1e-6, (got.item(), expected.item())


def test_sequence_logprobs_equals_trl_token_logps(ref, grpo):
    trainer, _ = grpo
    inputs = loss_inputs(3)
    summed = (trl_token_logps(trainer, inputs) * inputs["completion_mask"]).sum(dim=1)
    ids = torch.cat((inputs["prompt_ids"], inputs["completion_ids"]), dim=1)
    mask = torch.cat((torch.zeros_like(inputs["prompt_mask"]), inputs["completion_mask"]), dim=1)
    with torch.no_grad():
        got = ref.sequence_logprobs(trainer.model(input_ids=ids).logits, ids, mask)
    assert torch.allclose(got, summed, atol=1e-5), (got, summed)


def test_kl_k3_equals_trl_penalty(ref, grpo):
    trainer, _ = grpo
    inputs = loss_inputs(4)
    logps = trl_token_logps(trainer, inputs)
    reference_logps = logps + 0.5 * torch.randn(logps.shape, generator=torch.Generator().manual_seed(7))
    mask = inputs["completion_mask"]
    trainer.beta = 0.04
    try:
        with torch.no_grad():
            expected = trainer._compute_loss(trainer.model, {**inputs, "advantages": torch.zeros(len(mask)),
                                                             "ref_per_token_logps": reference_logps})
    finally:
        trainer.beta = 0.0
    got = 0.04 * (ref.kl_k3(logps, reference_logps) * mask).sum() / mask.sum()
    assert abs(got.item() - expected.item()) < 1e-7, (got.item(), expected.item())
    assert got.item() > 1e-3
