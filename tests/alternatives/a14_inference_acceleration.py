"""14-inference-acceleration: edge-case bugs the text's domain exposes (defaults shared between objects, a length
that is not an int, a mask shifted the wrong way, a scale by the number of keys, a float64 result, a position read
after the first layer's update, one token per step assumed, a guard on one side only, an in-place rescale, a tile
skip that is too eager, an extra block at a full boundary, a gather that returns a view of the pool, a sorted free
list), and correct solutions written in unusual ways. Each solution replaces the whole solution cell of its exercise."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m14_inference_acceleration import ATTENTION as ATTENTION_PLAIN
from tests.mutants.m14_inference_acceleration import FLASH as FLASH_PLAIN
from tests.mutants.m14_inference_acceleration import FORWARD as FORWARD_PLAIN
from tests.mutants.m14_inference_acceleration import KV_CACHE as KV_CACHE_PLAIN
from tests.mutants.m14_inference_acceleration import MERGE as MERGE_PLAIN
from tests.mutants.m14_inference_acceleration import PAGED as PAGED_PLAIN

ASSIGNMENT = "14-inference-acceleration"

KV_CACHE = "KVCache"
ATTENTION = "cached_attention"
FORWARD = "forward_with_cache"
MERGE = "merge_partials"
FLASH = "flash_attention"
PAGED = "PagedKVCache"

WRONG = [
    # KVCache ---------------------------------------------------------------------------------------
    Wrong(KV_CACHE, "the lists are default arguments, shared by every cache",
          variant(KV_CACHE_PLAIN, ("    def __init__(self, num_layers):\n        self.keys = [None] * num_layers\n"
                                   "        self.values = [None] * num_layers\n",
                                   "    def __init__(self, num_layers, keys=[], values=[]):\n"
                                   "        keys[:], values[:] = [None] * num_layers, [None] * num_layers\n"
                                   "        self.keys, self.values = keys, values\n")), "share"),
    Wrong(KV_CACHE, "seq_length returns a 0-d tensor, not an int",
          variant(KV_CACHE_PLAIN, ("return 0 if self.keys[layer] is None else self.keys[layer].shape[-2]",
                                   "return 0 if self.keys[layer] is None else torch.tensor(self.keys[layer].shape[-2])")),
          "an int"),
    Wrong(KV_CACHE, "seq_length reads shape[2]: right for 4-D keys only",
          variant(KV_CACHE_PLAIN, ("self.keys[layer].shape[-2]", "self.keys[layer].shape[2]")), "dim=-2"),
    Wrong(KV_CACHE, "seq_length adds up every layer's positions",
          variant(KV_CACHE_PLAIN, ("return 0 if self.keys[layer] is None else self.keys[layer].shape[-2]",
                                   "return sum(k.shape[-2] for k in self.keys if k is not None)")), "seq_length"),

    # cached_attention ------------------------------------------------------------------------------
    Wrong(ATTENTION, "the mask shifted the wrong way: diagonal=T_q - T_k",
          variant(ATTENTION_PLAIN, (".tril(diagonal=t_k - t_q)", ".tril(diagonal=t_q - t_k)")), "every key"),
    Wrong(ATTENTION, "scaled by the square root of the number of keys",
          variant(ATTENTION_PLAIN, ("/ math.sqrt(q.shape[-1])", "/ math.sqrt(k.shape[-2])")), "sqrt"),
    Wrong(ATTENTION, "computed in float64: float32 inputs come back as float64",
          variant(ATTENTION_PLAIN, ("return scores.softmax(dim=-1) @ v", "return scores.double().softmax(dim=-1) @ v.double()")),
          "dtype"),
    Wrong(ATTENTION, "ValueError also when T_q = T_k",
          variant(ATTENTION_PLAIN, ("if t_k < t_q:", "if t_k <= t_q:")), "causal"),

    # forward_with_cache ----------------------------------------------------------------------------
    Wrong(FORWARD, "the past length read again in every layer, after the earlier layers' updates",
          variant(FORWARD_PLAIN, ("        c, s = cos.to(q.dtype), sin.to(q.dtype)\n",
                                  "        past = cache.seq_length()\n"
                                  "        cos, sin = model.model.rotary_emb(past + t_new)\n"
                                  "        c, s = cos[past:].to(q.dtype), sin[past:].to(q.dtype)\n")), "RoPE"),
    Wrong(FORWARD, "one token per step assumed after the prefill: RoPE's last row only",
          variant(FORWARD_PLAIN, ("    cos, sin = cos[past:], sin[past:]\n",
                                  "    if past:\n        cos, sin = cos[-1:], sin[-1:]\n")), "chunks"),
    Wrong(FORWARD, "the queries rotated from position 0, the keys from P",
          variant(FORWARD_PLAIN, ("        q = q * c + rotate_half(q) * s\n",
                                  "        c0, s0 = model.model.rotary_emb(t_new)\n"
                                  "        q = q * c0.to(q.dtype) + rotate_half(q) * s0.to(q.dtype)\n")), "RoPE"),

    # merge_partials --------------------------------------------------------------------------------
    Wrong(MERGE, "the NaN guard on m_a only",
          variant(MERGE_PLAIN, ("    safe_m = torch.where(torch.isinf(m), 0.0, m)\n",
                                "    safe_m = torch.where(torch.isinf(m_a), m_b, m)\n")), "NaN"),
    Wrong(MERGE, "a's sum and output rescaled in place",
          variant(MERGE_PLAIN, ("    return m, l_a * scale_a + l_b * scale_b, o_a * scale_a[..., None] + o_b * scale_b[..., None]",
                                "    l_a.mul_(scale_a)\n    o_a.mul_(scale_a[..., None])\n"
                                "    return m, l_a + l_b * scale_b, o_a + o_b * scale_b[..., None]")), "in place"),
    Wrong(MERGE, "m returned with 0 in place of -inf for empty rows",
          variant(MERGE_PLAIN, ("    return m, l_a", "    return safe_m, l_a")), "-inf"),
    Wrong(MERGE, "factors as exp(m_a) / exp(m): overflow",
          variant(MERGE_PLAIN, ("scale_a, scale_b = (m_a - safe_m).exp(), (m_b - safe_m).exp()",
                                "scale_a, scale_b = m_a.exp() / safe_m.exp(), m_b.exp() / safe_m.exp()")), "±1000"),

    # flash_attention -------------------------------------------------------------------------------
    Wrong(FLASH, "the diagonal masked too: cols >= rows",
          variant(FLASH_PLAIN, ("masked_fill(cols > rows,", "masked_fill(cols >= rows,")), "causal"),
    Wrong(FLASH, "the running result always float64",
          variant(FLASH_PLAIN, ("state = empty_partial(q_block.shape, v.shape[-1], q.dtype)",
                                "state = empty_partial(q_block.shape, v.shape[-1], torch.float64)")), "dtype"),
    Wrong(FLASH, "key blocks skipped after the FIRST query of the block instead of the last",
          variant(FLASH_PLAIN, ("min(t_k, int(rows[-1]) + 1)", "min(t_k, int(rows[0]) + 1)")), "tile's mask"),
    Wrong(FLASH, "each tile normalised on its own and the outputs added",
          variant(FLASH_PLAIN, ("        state = empty_partial(q_block.shape, v.shape[-1], q.dtype)\n",
                                "        total = torch.zeros(q_block.shape[:-1] + v.shape[-1:], dtype=q.dtype)\n"),
                  ("            state = merge_partials(state, block_partial(scores, v_block))\n"
                   "        m, l, o = state\n        outputs.append(o / l[..., None])\n",
                   "            m, l, o = block_partial(scores, v_block)\n"
                   "            total = total + torch.nan_to_num(o / l[..., None])\n        outputs.append(total)\n")),
          "merge_partials"),

    # PagedKVCache ----------------------------------------------------------------------------------
    Wrong(PAGED, "an extra block taken when the last one is exactly full",
          variant(PAGED_PLAIN, ("needed = -(-(length + len(keys)) // self.block_size) - len(table)",
                                "needed = (length + len(keys)) // self.block_size + 1 - len(table)")), "only when"),
    Wrong(PAGED, "gather returns a view of the pool for a one-block sequence",
          variant(PAGED_PLAIN, ("        table, length = self.block_tables[seq_id], self.lengths[seq_id]\n",
                                "        table, length = self.block_tables[seq_id], self.lengths[seq_id]\n"
                                "        if len(table) == 1:\n"
                                "            return self.key_pool[table[0]][:length], self.value_pool[table[0]][:length]\n")),
          "new tensors"),
    Wrong(PAGED, "the free list kept sorted",
          variant(PAGED_PLAIN, ("        self.free_blocks.extend(self.block_tables.pop(seq_id))\n",
                                "        self.free_blocks.extend(self.block_tables.pop(seq_id))\n        self.free_blocks.sort()\n")),
          "END of free_blocks"),
    Wrong(PAGED, "the MemoryError check ignores the room left in the last block",
          variant(PAGED_PLAIN, ("        if needed > len(self.free_blocks):",
                                "        if -(-len(keys) // self.block_size) > len(self.free_blocks):")), "MemoryError"),
]

CORRECT = [
    Correct(KV_CACHE, "torch.cat of whatever is there, also on the first update", variant(KV_CACHE_PLAIN, (
        '''        if self.keys[layer] is None:
            self.keys[layer], self.values[layer] = keys, values
        else:
            self.keys[layer] = torch.cat((self.keys[layer], keys), dim=-2)
            self.values[layer] = torch.cat((self.values[layer], values), dim=-2)
''', '''        self.keys[layer] = torch.cat([t for t in (self.keys[layer], keys) if t is not None], dim=-2)
        self.values[layer] = torch.cat([t for t in (self.values[layer], values) if t is not None], dim=-2)
'''))),
    Correct(KV_CACHE, "list comprehensions and size(-2)", '''
class KVCache:
    def __init__(self, num_layers):
        self.keys = [None for _ in range(num_layers)]
        self.values = [None for _ in range(num_layers)]

    def update(self, layer, keys, values):
        old_keys, old_values = self.keys[layer], self.values[layer]
        self.keys[layer] = keys if old_keys is None else torch.cat([old_keys, keys], -2)
        self.values[layer] = values if old_values is None else torch.cat([old_values, values], -2)
        return (self.keys[layer], self.values[layer])

    def seq_length(self, layer=0):
        keys = self.keys[layer]
        return int(keys.size(-2)) if keys is not None else 0
'''),
    Correct(ATTENTION, "the last T_q rows of the square causal mask", variant(ATTENTION_PLAIN, (
        "visible = torch.ones(t_q, t_k, dtype=torch.bool, device=q.device).tril(diagonal=t_k - t_q)",
        "visible = torch.ones(t_k, t_k, dtype=torch.bool, device=q.device).tril()[t_k - t_q:]"))),
    Correct(ATTENTION, "einsum, torch.where and a hand-written softmax", '''
def cached_attention(q, k, v):
    t_q, t_k = q.size(-2), k.size(-2)
    if t_q > t_k:
        raise ValueError("more queries than keys")
    scores = torch.einsum("...qd,...kd->...qk", q, k) * q.size(-1) ** -0.5
    positions = torch.arange(t_q)[:, None] + (t_k - t_q)
    scores = torch.where(torch.arange(t_k)[None, :] <= positions, scores, torch.tensor(float("-inf"), dtype=scores.dtype))
    weights = (scores - scores.amax(-1, keepdim=True)).exp()
    return torch.einsum("...qk,...kd->...qd", weights / weights.sum(-1, keepdim=True), v)
'''),
    Correct(FORWARD, "RoPE's angles computed by hand from inv_freq", variant(FORWARD_PLAIN, (
        '''    cos, sin = model.model.rotary_emb(past + t_new)
    cos, sin = cos[past:], sin[past:]
''', '''    positions = torch.arange(past, past + t_new, dtype=torch.float32)
    angles = positions[:, None] * model.model.rotary_emb.inv_freq.float()[None, :]
    angles = torch.cat((angles, angles), dim=-1)
    cos, sin = angles.cos(), angles.sin()
'''))),
    Correct(FORWARD, "permute, and the key/value heads picked by index", '''
def forward_with_cache(model, ids, cache):
    start = cache.seq_length()
    B, T = ids.shape
    cos, sin = (t[start:start + T] for t in model.model.rotary_emb(start + T))
    hidden = model.model.embed_tokens(ids)
    for i, block in enumerate(model.model.layers):
        a = block.self_attn
        x = block.input_layernorm(hidden)
        q = a.q_proj(x).reshape(B, T, a.n_heads, a.head_dim).permute(0, 2, 1, 3)
        k = a.k_proj(x).reshape(B, T, a.n_kv_heads, a.head_dim).permute(0, 2, 1, 3)
        v = a.v_proj(x).reshape(B, T, a.n_kv_heads, a.head_dim).permute(0, 2, 1, 3)
        q = q * cos.to(q.dtype) + rotate_half(q) * sin.to(q.dtype)
        k = k * cos.to(k.dtype) + rotate_half(k) * sin.to(k.dtype)
        keys, values = cache.update(i, k, v)
        which = torch.arange(a.n_heads) // (a.n_heads // a.n_kv_heads)
        out = cached_attention(q, keys[:, which], values[:, which])
        hidden = hidden + a.o_proj(out.permute(0, 2, 1, 3).reshape(B, T, a.n_heads * a.head_dim))
        hidden = hidden + block.mlp(block.post_attention_layernorm(hidden))
    return model.lm_head(model.model.norm(hidden))
'''),
    Correct(MERGE, "factors computed plainly, NaN turned into 0", '''
def merge_partials(a, b):
    (m_a, l_a, o_a), (m_b, l_b, o_b) = a, b
    m = torch.max(m_a, m_b)
    scale_a = torch.nan_to_num(torch.exp(m_a - m), nan=0.0)
    scale_b = torch.nan_to_num(torch.exp(m_b - m), nan=0.0)
    return m, scale_a * l_a + scale_b * l_b, scale_a.unsqueeze(-1) * o_a + scale_b.unsqueeze(-1) * o_b
'''),
    Correct(MERGE, "stacked partials, the factors zero where a maximum is -inf", '''
def merge_partials(a, b):
    ms = torch.stack((a[0], b[0]))
    m = ms.amax(dim=0)
    scales = torch.where(torch.isneginf(ms), torch.zeros_like(ms), (ms - m).exp())
    l = (scales * torch.stack((a[1], b[1]))).sum(dim=0)
    o = (scales[..., None] * torch.stack((a[2], b[2]))).sum(dim=0)
    return m, l, o
'''),
    Correct(FLASH, "no tile skipped: block_partial gives the masked rows nothing", variant(FLASH_PLAIN, (
        "for j in range(0, min(t_k, int(rows[-1]) + 1), block_k):", "for j in range(0, t_k, block_k):"))),
    Correct(FLASH, "a preallocated output and the mask from triu", '''
def flash_attention(q, k, v, block_q, block_k):
    T_q, T_k = q.shape[-2], k.shape[-2]
    if min(block_q, block_k) < 1 or T_k < T_q:
        raise ValueError("invalid sizes")
    out = torch.empty(q.shape[:-1] + v.shape[-1:], dtype=q.dtype)
    for start in range(0, T_q, block_q):
        stop = min(start + block_q, T_q)
        state = empty_partial(q[..., start:stop, :].shape, v.shape[-1], q.dtype)
        for key_start in range(0, T_k, block_k):
            key_stop = min(key_start + block_k, T_k)
            scores = q[..., start:stop, :] @ k[..., key_start:key_stop, :].transpose(-1, -2) / q.shape[-1] ** 0.5
            future = torch.ones(T_q, T_k, dtype=torch.bool).triu(diagonal=T_k - T_q + 1)[start:stop, key_start:key_stop]
            scores = scores.masked_fill(future, float("-inf"))
            state = merge_partials(state, block_partial(scores, v[..., key_start:key_stop, :]))
        out[..., start:stop, :] = state[2] / state[1].unsqueeze(-1)
    return out
'''),
    Correct(PAGED, "gather position by position with torch.stack", variant(PAGED_PLAIN, (
        '''        keys = self.key_pool[table].flatten(0, 1)[:length]
        values = self.value_pool[table].flatten(0, 1)[:length]
''', '''        where = [divmod(p, self.block_size) for p in range(length)]
        keys = torch.stack([self.key_pool[table[b], s] for b, s in where]) if where else self.key_pool[:0, 0]
        values = torch.stack([self.value_pool[table[b], s] for b, s in where]) if where else self.value_pool[:0, 0]
'''))),
    Correct(PAGED, "blocks counted first, then all positions written with index tensors", '''
class PagedKVCache:
    def __init__(self, num_blocks, block_size, num_kv_heads, head_dim, dtype=torch.float32):
        self.block_size = block_size
        shape = (num_blocks, block_size, num_kv_heads, head_dim)
        self.key_pool, self.value_pool = torch.zeros(shape, dtype=dtype), torch.zeros(shape, dtype=dtype)
        self.free_blocks = [*range(num_blocks)]
        self.block_tables, self.lengths = {}, {}

    def append(self, seq_id, keys, values):
        start = self.lengths.get(seq_id, 0)
        table = list(self.block_tables.get(seq_id, ()))
        end = start + keys.shape[0]
        blocks_needed = (end + self.block_size - 1) // self.block_size
        if blocks_needed - len(table) > len(self.free_blocks):
            raise MemoryError("the pool is full")
        while len(table) < blocks_needed:
            table.append(self.free_blocks.pop(0))
        positions = torch.arange(start, end)
        physical = torch.tensor(table, dtype=torch.long)[positions // self.block_size]
        self.key_pool[physical, positions % self.block_size] = keys
        self.value_pool[physical, positions % self.block_size] = values
        self.block_tables[seq_id], self.lengths[seq_id] = table, end

    def gather(self, seq_id):
        table = self.block_tables[seq_id]
        n = self.lengths[seq_id]
        return (self.key_pool[table].reshape(-1, *self.key_pool.shape[2:])[:n],
                self.value_pool[table].reshape(-1, *self.value_pool.shape[2:])[:n])

    def free(self, seq_id):
        blocks = self.block_tables.pop(seq_id)
        self.lengths.pop(seq_id)
        self.free_blocks += blocks
'''),
]
