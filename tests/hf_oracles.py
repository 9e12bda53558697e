"""What the oracle tests of several assignments share to call Hugging Face models."""
import os

import torch
from transformers import LlamaConfig, LlamaForCausalLM


class CourseInterface(torch.nn.Module):
    """A transformers model called as the course models are: ids -> (logits, None)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, idx):
        return self.model(idx).logits, None


def hf_model(seed, vocab_size=40):
    """A small random LlamaForCausalLM with large weights: peaked distributions, repetitions, eos hits."""
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         pad_token_id=0, bos_token_id=None, eos_token_id=None)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() > 1:
                parameter.normal_(0.0, 0.3)
    return model


def trl_generalized_jsd():
    """trl's GKDTrainer.generalized_jsd_loss (20's and 21's oracle); in trl 1.16 it lives in trl.experimental."""
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    from trl.experimental.gkd import GKDTrainer
    return GKDTrainer.generalized_jsd_loss


def random_logits(seed, *shape, scale=2.0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale
