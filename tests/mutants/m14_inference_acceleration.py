"""Plausible wrong solutions for 14-inference-acceleration."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "14-inference-acceleration"

KV_CACHE = '''
class KVCache:
    def __init__(self, num_layers):
        self.keys = [None] * num_layers
        self.values = [None] * num_layers

    def update(self, layer, keys, values):
        if self.keys[layer] is None:
            self.keys[layer], self.values[layer] = keys, values
        else:
            self.keys[layer] = torch.cat((self.keys[layer], keys), dim=-2)
            self.values[layer] = torch.cat((self.values[layer], values), dim=-2)
        return self.keys[layer], self.values[layer]

    def seq_length(self, layer=0):
        return 0 if self.keys[layer] is None else self.keys[layer].shape[-2]
'''

ATTENTION = '''
def cached_attention(q, k, v):
    t_q, t_k = q.shape[-2], k.shape[-2]
    if t_k < t_q:
        raise ValueError("fewer keys than queries")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    visible = torch.ones(t_q, t_k, dtype=torch.bool, device=q.device).tril(diagonal=t_k - t_q)
    scores = scores.masked_fill(~visible, float("-inf"))
    return scores.softmax(dim=-1) @ v
'''

FORWARD = '''
def forward_with_cache(model, ids, cache):
    past, (batch, t_new) = cache.seq_length(), ids.shape
    cos, sin = model.model.rotary_emb(past + t_new)
    cos, sin = cos[past:], sin[past:]
    x = model.model.embed_tokens(ids)
    for index, layer in enumerate(model.model.layers):
        attn = layer.self_attn
        h = layer.input_layernorm(x)
        q = attn.q_proj(h).view(batch, t_new, attn.n_heads, attn.head_dim).transpose(1, 2)
        k = attn.k_proj(h).view(batch, t_new, attn.n_kv_heads, attn.head_dim).transpose(1, 2)
        v = attn.v_proj(h).view(batch, t_new, attn.n_kv_heads, attn.head_dim).transpose(1, 2)
        c, s = cos.to(q.dtype), sin.to(q.dtype)
        q = q * c + rotate_half(q) * s
        k = k * c + rotate_half(k) * s
        k, v = cache.update(index, k, v)
        groups = attn.n_heads // attn.n_kv_heads
        y = cached_attention(q, k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1))
        x = x + attn.o_proj(y.transpose(1, 2).reshape(batch, t_new, -1))
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    return model.lm_head(model.model.norm(x))
'''

MERGE = '''
def merge_partials(a, b):
    m_a, l_a, o_a = a
    m_b, l_b, o_b = b
    m = torch.maximum(m_a, m_b)
    safe_m = torch.where(torch.isinf(m), 0.0, m)
    scale_a, scale_b = (m_a - safe_m).exp(), (m_b - safe_m).exp()
    return m, l_a * scale_a + l_b * scale_b, o_a * scale_a[..., None] + o_b * scale_b[..., None]
'''

FLASH = '''
def flash_attention(q, k, v, block_q, block_k):
    t_q, t_k = q.shape[-2], k.shape[-2]
    if t_k < t_q or block_q < 1 or block_k < 1:
        raise ValueError("bad sizes")
    offset, scale = t_k - t_q, 1 / math.sqrt(q.shape[-1])
    outputs = []
    for i in range(0, t_q, block_q):
        q_block = q[..., i:i + block_q, :]
        rows = torch.arange(i, i + q_block.shape[-2])[:, None] + offset
        state = empty_partial(q_block.shape, v.shape[-1], q.dtype)
        for j in range(0, min(t_k, int(rows[-1]) + 1), block_k):
            k_block, v_block = k[..., j:j + block_k, :], v[..., j:j + block_k, :]
            cols = torch.arange(j, j + k_block.shape[-2])[None, :]
            scores = (q_block @ k_block.transpose(-2, -1) * scale).masked_fill(cols > rows, float("-inf"))
            state = merge_partials(state, block_partial(scores, v_block))
        m, l, o = state
        outputs.append(o / l[..., None])
    return torch.cat(outputs, dim=-2)
'''

PAGED = '''
class PagedKVCache:
    def __init__(self, num_blocks, block_size, num_kv_heads, head_dim, dtype=torch.float32):
        self.block_size = block_size
        self.key_pool = torch.zeros(num_blocks, block_size, num_kv_heads, head_dim, dtype=dtype)
        self.value_pool = torch.zeros(num_blocks, block_size, num_kv_heads, head_dim, dtype=dtype)
        self.free_blocks = list(range(num_blocks))
        self.block_tables = {}
        self.lengths = {}

    def append(self, seq_id, keys, values):
        table = self.block_tables.get(seq_id, [])
        length = self.lengths.get(seq_id, 0)
        needed = -(-(length + len(keys)) // self.block_size) - len(table)
        if needed > len(self.free_blocks):
            raise MemoryError("out of blocks")
        table = table + [self.free_blocks.pop(0) for _ in range(needed)]
        for t in range(len(keys)):
            block, slot = divmod(length + t, self.block_size)
            self.key_pool[table[block], slot] = keys[t]
            self.value_pool[table[block], slot] = values[t]
        self.block_tables[seq_id] = table
        self.lengths[seq_id] = length + len(keys)

    def gather(self, seq_id):
        table, length = self.block_tables[seq_id], self.lengths[seq_id]
        keys = self.key_pool[table].flatten(0, 1)[:length]
        values = self.value_pool[table].flatten(0, 1)[:length]
        return keys, values

    def free(self, seq_id):
        self.free_blocks.extend(self.block_tables.pop(seq_id))
        del self.lengths[seq_id]
'''

MUTANTS = [
    # KVCache
    Mutant("KVCache", "concatenated along the heads (dim 1) instead of the sequence",
           variant(KV_CACHE, ("torch.cat((self.keys[layer], keys), dim=-2)", "torch.cat((self.keys[layer], keys), dim=1)"),
                   ("torch.cat((self.values[layer], values), dim=-2)", "torch.cat((self.values[layer], values), dim=1)")),
           "sequence dimension"),
    Mutant("KVCache", "new positions put before the old ones",
           variant(KV_CACHE, ("torch.cat((self.keys[layer], keys), dim=-2)", "torch.cat((keys, self.keys[layer]), dim=-2)"),
                   ("torch.cat((self.values[layer], values), dim=-2)", "torch.cat((values, self.values[layer]), dim=-2)")),
           "the old positions first"),
    Mutant("KVCache", "update returns only the new keys and values",
           variant(KV_CACHE, ("        return self.keys[layer], self.values[layer]", "        return keys, values")),
           "WHOLE keys"),
    Mutant("KVCache", "the keys appended to the values' list too",
           variant(KV_CACHE, ("torch.cat((self.values[layer], values), dim=-2)", "torch.cat((self.values[layer], keys), dim=-2)")),
           "self.values"),
    Mutant("KVCache", "one list for every layer: layer ignored",
           '''
class KVCache:
    def __init__(self, num_layers):
        self.keys = [None] * num_layers
        self.values = [None] * num_layers

    def update(self, layer, keys, values):
        if self.keys[0] is None:
            self.keys[0], self.values[0] = keys, values
        else:
            self.keys[0] = torch.cat((self.keys[0], keys), dim=-2)
            self.values[0] = torch.cat((self.values[0], values), dim=-2)
        self.keys[layer], self.values[layer] = self.keys[0], self.values[0]
        return self.keys[0], self.values[0]

    def seq_length(self, layer=0):
        return 0 if self.keys[layer] is None else self.keys[layer].shape[-2]
''', "own entry"),
    Mutant("KVCache", "the lists are class attributes shared by every cache",
           variant(KV_CACHE, ("class KVCache:\n", "class KVCache:\n    keys, values = [None] * 8, [None] * 8\n\n"),
                   ("        self.keys = [None] * num_layers\n        self.values = [None] * num_layers\n",
                    "        pass\n")), "share"),
    Mutant("KVCache", "seq_length counts the batch (shape[0]) instead of the positions",
           variant(KV_CACHE, ("self.keys[layer].shape[-2]", "self.keys[layer].shape[0]")), "seq_length"),
    Mutant("KVCache", "concatenated along dim 2: only 4-D keys work",
           variant(KV_CACHE, ("torch.cat((self.keys[layer], keys), dim=-2)", "torch.cat((self.keys[layer], keys), dim=2)"),
                   ("torch.cat((self.values[layer], values), dim=-2)", "torch.cat((self.values[layer], values), dim=2)")),
           "dim=-2"),
    # cached_attention
    Mutant("cached_attention", "the mask's triangle at the top left (diagonal 0)",
           variant(ATTENTION, (".tril(diagonal=t_k - t_q)", ".tril(diagonal=0)")), "diagonal=T_k - T_q"),
    Mutant("cached_attention", "no mask at all",
           variant(ATTENTION, ('    scores = scores.masked_fill(~visible, float("-inf"))\n', "")), "causal lower triangle"),
    Mutant("cached_attention", "the mask one too wide: each query sees the next key",
           variant(ATTENTION, (".tril(diagonal=t_k - t_q)", ".tril(diagonal=t_k - t_q + 1)")), "causal"),
    Mutant("cached_attention", "not scaled by 1/sqrt(head_dim)",
           variant(ATTENTION, (" / math.sqrt(q.shape[-1])", "")), "sqrt(head_dim)"),
    Mutant("cached_attention", "softmax over the queries (dim -2)",
           variant(ATTENTION, ("scores.softmax(dim=-1)", "scores.softmax(dim=-2)")), "dim=-1"),
    Mutant("cached_attention", "no ValueError with fewer keys than queries",
           variant(ATTENTION, ('    if t_k < t_q:\n        raise ValueError("fewer keys than queries")\n', "")), "ValueError"),
    Mutant("cached_attention", "scaled by 1/head_dim",
           variant(ATTENTION, ("/ math.sqrt(q.shape[-1])", "/ q.shape[-1]")), "sqrt(head_dim)"),
    # forward_with_cache
    Mutant("forward_with_cache", "RoPE at positions 0 ... T_new - 1 whatever the cache holds",
           variant(FORWARD, ("    cos, sin = cos[past:], sin[past:]\n", "    cos, sin = cos[:t_new], sin[:t_new]\n")),
           "RoPE's row P"),
    Mutant("forward_with_cache", "scaled_dot_product_attention(is_causal=True) instead of cached_attention",
           variant(FORWARD, ("y = cached_attention(q, k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1))",
                             "y = F.scaled_dot_product_attention(q, k.repeat_interleave(groups, dim=1), "
                             "v.repeat_interleave(groups, dim=1), is_causal=True)")), "attends to every cached key"),
    Mutant("forward_with_cache", "keys cached before RoPE (rotated after the update)",
           variant(FORWARD, ("        k = k * c + rotate_half(k) * s\n        k, v = cache.update(index, k, v)\n",
                             "        k, v = cache.update(index, k, v)\n"
                             "        c_all, s_all = model.model.rotary_emb(past + t_new)\n"
                             "        k = k * c_all.to(k.dtype) + rotate_half(k) * s_all.to(k.dtype)\n")), "AFTER RoPE"),
    Mutant("forward_with_cache", "keys repeated with repeat instead of repeat_interleave",
           variant(FORWARD, ("k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)",
                             "k.repeat(1, groups, 1, 1), v.repeat(1, groups, 1, 1)")), "repeat_interleave"),
    Mutant("forward_with_cache", "the final norm forgotten",
           variant(FORWARD, ("return model.lm_head(model.model.norm(x))", "return model.lm_head(x)")), "final norm"),
    Mutant("forward_with_cache", "the keys cached after repeat_interleave (n_heads heads)",
           variant(FORWARD, ("        k, v = cache.update(index, k, v)\n        groups = attn.n_heads // attn.n_kv_heads\n"
                             "        y = cached_attention(q, k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1))\n",
                             "        groups = attn.n_heads // attn.n_kv_heads\n"
                             "        k, v = cache.update(index, k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1))\n"
                             "        y = cached_attention(q, k, v)\n")), "BEFORE repeat_interleave"),
    Mutant("forward_with_cache", "every layer written into cache layer 0",
           variant(FORWARD, ("k, v = cache.update(index, k, v)", "k, v = cache.update(0, k, v)")), "every layer's cached keys"),
    # merge_partials
    Mutant("merge_partials", "sums added without rescaling",
           variant(MERGE, ("return m, l_a * scale_a + l_b * scale_b, o_a * scale_a[..., None] + o_b * scale_b[..., None]",
                           "return m, l_a + l_b, o_a + o_b")), "Rescale BOTH"),
    Mutant("merge_partials", "only b rescaled",
           variant(MERGE, ("l_a * scale_a + l_b * scale_b, o_a * scale_a[..., None] + o_b",
                           "l_a + l_b * scale_b, o_a + o_b")), "Rescale BOTH"),
    Mutant("merge_partials", "the factors' exponent reversed: exp(m - m_a)",
           variant(MERGE, ("scale_a, scale_b = (m_a - safe_m).exp(), (m_b - safe_m).exp()",
                           "scale_a, scale_b = (safe_m - m_a).exp(), (safe_m - m_b).exp()")), "exp(m_a - m)"),
    Mutant("merge_partials", "no guard for an empty pair: -inf - (-inf) = NaN",
           variant(MERGE, ("    safe_m = torch.where(torch.isinf(m), 0.0, m)\n", "    safe_m = m\n")), "NaN"),
    Mutant("merge_partials", "m the minimum instead of the maximum: right in exact arithmetic, overflows",
           variant(MERGE, ("m = torch.maximum(m_a, m_b)", "m = torch.minimum(m_a, m_b)")), "torch.maximum"),
    Mutant("merge_partials", "o rescaled by l instead of by the factor",
           variant(MERGE, ("o_a * scale_a[..., None] + o_b * scale_b[..., None]",
                           "o_a * (l_a * scale_a)[..., None] + o_b * (l_b * scale_b)[..., None]")), "softmax"),
    # flash_attention
    Mutant("flash_attention", "the tile's mask from positions inside the tile (0 ... block - 1)",
           variant(FLASH, ("cols = torch.arange(j, j + k_block.shape[-2])[None, :]", "cols = torch.arange(k_block.shape[-2])[None, :]"),
                   ("rows = torch.arange(i, i + q_block.shape[-2])[:, None] + offset",
                    "rows = torch.arange(q_block.shape[-2])[:, None] + offset")), "the causal mask"),
    Mutant("flash_attention", "no offset: queries at positions 0 ... T_q - 1",
           variant(FLASH, ("rows = torch.arange(i, i + q_block.shape[-2])[:, None] + offset",
                           "rows = torch.arange(i, i + q_block.shape[-2])[:, None]")), "T_k - T_q"),
    Mutant("flash_attention", "the last, shorter query block dropped",
           variant(FLASH, ("for i in range(0, t_q, block_q):", "for i in range(0, t_q - block_q + 1, block_q):")), "shorter"),
    Mutant("flash_attention", "the running result starts at m = 0: scores of -1000 underflow",
           variant(FLASH, ("state = empty_partial(q_block.shape, v.shape[-1], q.dtype)",
                           "state = (torch.zeros(q_block.shape[:-1], dtype=q.dtype), torch.zeros(q_block.shape[:-1], dtype=q.dtype), "
                           "torch.zeros(q_block.shape[:-1] + v.shape[-1:], dtype=q.dtype))")), "empty_partial"),
    Mutant("flash_attention", "no scaling by 1/sqrt(head_dim)",
           variant(FLASH, ("offset, scale = t_k - t_q, 1 / math.sqrt(q.shape[-1])", "offset, scale = t_k - t_q, 1.0")),
           "scores / sqrt(d)"),
    Mutant("flash_attention", "the last key block skipped",
           variant(FLASH, ("for j in range(0, min(t_k, int(rows[-1]) + 1), block_k):",
                           "for j in range(0, min(t_k, int(rows[-1]) + 1) - block_k + 1, block_k):")), "key blocks"),
    Mutant("flash_attention", "no ValueError for a block size of 0",
           variant(FLASH, ("if t_k < t_q or block_q < 1 or block_k < 1:", "if t_k < t_q:"),
                   ("for i in range(0, t_q, block_q):", "for i in range(0, t_q, max(block_q, 1)):"),
                   ("int(rows[-1]) + 1), block_k):", "int(rows[-1]) + 1), max(block_k, 1)):")), "ValueError"),
    # PagedKVCache
    Mutant("PagedKVCache", "a new block at every append, even when the last one has room",
           variant(PAGED, ("        needed = -(-(length + len(keys)) // self.block_size) - len(table)\n",
                           "        needed = -(-len(keys) // self.block_size)\n"),
                   ("            block, slot = divmod(length + t, self.block_size)\n",
                    "            block, slot = len(table) - needed + t // self.block_size, t % self.block_size\n")), "only when"),
    Mutant("PagedKVCache", "blocks taken from the end of the free list",
           variant(PAGED, ("self.free_blocks.pop(0)", "self.free_blocks.pop()")), "pop(0)"),
    Mutant("PagedKVCache", "the slot ignores the positions already there",
           variant(PAGED, ("block, slot = divmod(length + t, self.block_size)", "block, slot = len(table) - 1, t % self.block_size")),
           "p % block_size"),
    Mutant("PagedKVCache", "gather returns whole blocks (padding zeros included)",
           variant(PAGED, ("keys = self.key_pool[table].flatten(0, 1)[:length]", "keys = self.key_pool[table].flatten(0, 1)"),
                   ("values = self.value_pool[table].flatten(0, 1)[:length]", "values = self.value_pool[table].flatten(0, 1)")),
           "keep the first `length`"),
    Mutant("PagedKVCache", "freed blocks put at the front of the free list",
           variant(PAGED, ("self.free_blocks.extend(self.block_tables.pop(seq_id))",
                           "self.free_blocks[:0] = self.block_tables.pop(seq_id)")), "END of free_blocks"),
    Mutant("PagedKVCache", "blocks taken before checking: a failed append keeps them",
           variant(PAGED, ("        if needed > len(self.free_blocks):\n            raise MemoryError(\"out of blocks\")\n"
                           "        table = table + [self.free_blocks.pop(0) for _ in range(needed)]\n",
                           "        table = table + [self.free_blocks.pop(0) for _ in range(min(needed, len(self.free_blocks)))]\n"
                           "        self.block_tables[seq_id] = table\n"
                           "        if len(table) * self.block_size < length + len(keys):\n"
                           "            raise MemoryError(\"out of blocks\")\n")), "BEFORE"),
    Mutant("PagedKVCache", "free forgets the sequence but never gives its blocks back",
           variant(PAGED, ("self.free_blocks.extend(self.block_tables.pop(seq_id))", "self.block_tables.pop(seq_id)")),
           "END of free_blocks"),
    Mutant("PagedKVCache", "values written into the key pool",
           variant(PAGED, ("self.value_pool[table[block], slot] = values[t]", "self.key_pool[table[block], slot] = values[t]")),
           "value_pool"),
]
