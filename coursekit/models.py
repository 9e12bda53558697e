"""The course models: a LLaMA-architecture language model in plain PyTorch, and its loader.

One readable file in the manner of nanoGPT's model.py: RMSNorm, rotary position embeddings (RoPE),
grouped-query attention, a SwiGLU feed-forward layer, pre-norm residual blocks, an untied output
head. Parameter names and the files on disk follow Hugging Face's Llama (`config.json` +
`model.safetensors`), so `transformers.LlamaForCausalLM.from_pretrained(path)` loads the same
checkpoints; learners never need transformers.

    from coursekit.models import load_model
    model = load_model("base")                   # models/base/, float32, eval mode
"""
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from coursekit.data import END_OF_TEXT, MODELS_DIR, VOCAB_SIZE


@dataclass
class LlamaConfig:
    vocab_size: int = VOCAB_SIZE
    hidden_size: int = 256
    intermediate_size: int = 768        # SwiGLU's hidden width, about 8/3 of hidden_size
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2        # grouped-query attention: heads share key/value heads
    max_position_embeddings: int = 512  # the context length the model was trained at
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # normalise in float32 even under bf16 autocast, as Hugging Face's LlamaRMSNorm does
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


def rotate_half(x):
    """(x1, x2) -> (-x2, x1) over the two halves of the head dimension (Hugging Face's RoPE)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class RotaryEmbedding(nn.Module):
    """cos and sin of position × frequency; `inv_freq` is a buffer so RoPE scaling can swap it."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        dim = config.head_dim
        inv_freq = 1.0 / config.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, seq_len: int):
        positions = torch.arange(seq_len, device=self.inv_freq.device, dtype=torch.float32)
        angles = torch.outer(positions, self.inv_freq.float())
        angles = torch.cat((angles, angles), dim=-1)        # (T, head_dim)
        return angles.cos(), angles.sin()


class Attention(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.n_heads = config.num_attention_heads
        self.n_kv_heads = config.num_key_value_heads
        self.head_dim = config.head_dim
        d = config.hidden_size
        self.q_proj = nn.Linear(d, self.n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(d, self.n_kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(d, self.n_kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.n_heads * self.head_dim, d, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        cos, sin = cos.to(q.dtype), sin.to(q.dtype)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # query head h reads key/value head h // (n_heads / n_kv_heads)
        groups = self.n_heads // self.n_kv_heads
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, -1))


class MLP(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.self_attn = Attention(config)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp = MLP(config)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.rotary_emb = RotaryEmbedding(config)

    def forward(self, idx):
        x = self.embed_tokens(idx)
        cos, sin = self.rotary_emb(idx.shape[1])
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.norm(x)


class LlamaForCausalLM(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        self.model = LlamaModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)  # untied
        self.apply(self._init_weights)
        # GPT-2's scaling: each residual branch's last projection shrinks with depth
        for name, parameter in self.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                nn.init.normal_(parameter, std=0.02 / math.sqrt(2 * config.num_hidden_layers))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)

    def forward(self, idx, targets=None):
        """Logits (B, T, vocab) for token ids (B, T); with targets, also the mean cross-entropy."""
        logits = self.lm_head(self.model(idx))
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten())
        return logits, loss

    def num_parameters(self, non_embedding: bool = False) -> int:
        """All parameters; with non_embedding, without the input embedding and the output head."""
        total = sum(p.numel() for p in self.parameters())
        if non_embedding:
            total -= self.model.embed_tokens.weight.numel() + self.lm_head.weight.numel()
        return total

    @torch.no_grad()
    def generate(self, idx, max_new_tokens: int, temperature: float = 0.0, generator=None):
        """Append max_new_tokens tokens to idx (B, T): greedy at temperature 0, else sampled.
        No KV cache (assignment 14 adds one): each step reruns the last context window."""
        for _ in range(max_new_tokens):
            context = idx[:, -self.config.max_position_embeddings:]
            logits = self(context)[0][:, -1, :].float()
            if temperature == 0:
                next_id = logits.argmax(-1, keepdim=True)
            else:
                probs = F.softmax(logits / temperature, dim=-1)
                next_id = torch.multinomial(probs, 1, generator=generator)
            idx = torch.cat((idx, next_id), dim=1)
        return idx


def hf_config(config: LlamaConfig) -> dict:
    """The config.json that transformers' LlamaForCausalLM reads (v4 and v5 field names)."""
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        **asdict(config), "head_dim": config.head_dim,
        "rope_parameters": {"rope_type": "default", "rope_theta": config.rope_theta},
        "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
        "tie_word_embeddings": False, "bos_token_id": None, "eos_token_id": VOCAB_SIZE - 1,
        "pad_token_id": None, "torch_dtype": "float16", "end_of_text": END_OF_TEXT,
    }


def save_model(model: LlamaForCausalLM, directory) -> None:
    """Write config.json and model.safetensors (float16) in Hugging Face's layout."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(hf_config(model.config), indent=2) + "\n")
    tensors = {name: t.detach().to("cpu", torch.float16).contiguous()
               for name, t in model.state_dict().items()}
    save_file(tensors, directory / "model.safetensors", metadata={"format": "pt"})


def load_model(name_or_path, dtype=torch.float32, device="cpu") -> LlamaForCausalLM:
    """A course model ('tiny', 'small', 'base', 'small-short') or a saved folder, in eval mode."""
    directory = Path(name_or_path)
    if not directory.is_dir():
        directory = MODELS_DIR / str(name_or_path)
    saved = json.loads((directory / "config.json").read_text())
    config = LlamaConfig(**{field: saved[field] for field in LlamaConfig.__dataclass_fields__})
    model = LlamaForCausalLM(config)
    model.load_state_dict(load_file(directory / "model.safetensors"))
    return model.to(device=device, dtype=dtype).eval()
