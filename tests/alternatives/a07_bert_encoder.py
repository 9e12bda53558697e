"""07-bert-encoder: edge-case bugs the text's domain exposes ([PAD] in the middle of a sequence, an eps
from the config other than 1e-12, the caller's tensors changed in place, a batch of one, one label,
masks applied in the wrong order) and correct solutions written in unusual ways. Each solution replaces
the whole solution cell of its exercise (the other exercises stay the reference's)."""
from tests.alternatives import Correct, Wrong, variant
from tests.mutants.m07_bert_encoder import CLS as CLS_PLAIN
from tests.mutants.m07_bert_encoder import EMBEDDINGS as EMB_PLAIN
from tests.mutants.m07_bert_encoder import HEAD as HEAD_PLAIN
from tests.mutants.m07_bert_encoder import LAYER as LAYER_PLAIN
from tests.mutants.m07_bert_encoder import MASKING as MASK_PLAIN

ASSIGNMENT = "07-bert-encoder"

PAM = "padding_attention_mask"
EMB = "BertEmbeddings"
LAYER = "BertLayer"
MASK = "mask_tokens"
HEAD = "BertMLMHead"
CLS = "BertClassificationHead"

WRONG = [
    # padding_attention_mask ------------------------------------------------------------------------
    Wrong(PAM, "lengths counted, positions below the length allowed: [PAD] assumed at the end", '''
def padding_attention_mask(input_ids, pad_id):
    B, T = input_ids.shape
    lengths = (input_ids != pad_id).sum(dim=1, keepdim=True)
    keys = torch.arange(T)[None, :] < lengths
    return keys[:, None, None, :].repeat(1, 1, T, 1)
''', "Only the id decides"),
    Wrong(PAM, "compares in place on the caller's ids", '''
def padding_attention_mask(input_ids, pad_id):
    B, T = input_ids.shape
    keys = input_ids.ne_(pad_id).bool()
    return keys[:, None, None, :].expand(B, 1, T, T).clone()
''', "in place"),
    Wrong(PAM, "a float mask of 1.0 and 0.0", '''
def padding_attention_mask(input_ids, pad_id):
    B, T = input_ids.shape
    keys = (input_ids != pad_id).float()
    return keys[:, None, None, :].expand(B, 1, T, T).clone()
''', "torch.bool"),

    # BertEmbeddings --------------------------------------------------------------------------------
    Wrong(EMB, "token_type_ids or zeros: a tensor in a boolean context", variant(
        EMB_PLAIN, ("        if token_type_ids is None:\n            token_type_ids = torch.zeros_like(input_ids)\n",
                    "        token_type_ids = token_type_ids or torch.zeros_like(input_ids)\n")), "raised"),
    Wrong(EMB, "eps hard-coded to BERT's 1e-12 instead of config.layer_norm_eps", variant(
        EMB_PLAIN, ("nn.LayerNorm(d, eps=config.layer_norm_eps)", "nn.LayerNorm(d, eps=1e-12)")), "epsilon"),
    Wrong(EMB, "LayerNorm without weight and bias", variant(
        EMB_PLAIN, ("nn.LayerNorm(d, eps=config.layer_norm_eps)",
                    "nn.LayerNorm(d, eps=config.layer_norm_eps, elementwise_affine=False)")), "Hugging Face's names"),

    # BertLayer -------------------------------------------------------------------------------------
    Wrong(LAYER, "eps hard-coded to 1e-12 instead of config.layer_norm_eps", LAYER_PLAIN.replace(
        "eps=config.layer_norm_eps", "eps=1e-12"), "config.layer_norm_eps"),
    Wrong(LAYER, "the attention residual added in place to the caller's x", variant(
        LAYER_PLAIN, ("x = self.attention_norm(x + self.attention(x, mask))",
                      "x += self.attention(x, mask)\n        x = self.attention_norm(x)")), "in place"),
    Wrong(LAYER, "a hand-written erf GELU with sqrt(2) kept in a float32 tensor", variant(
        LAYER_PLAIN, ("F.gelu(self.intermediate(x))",
                      "(lambda h: 0.5 * h * (1 + torch.erf(h / torch.tensor(2.0).sqrt())))(self.intermediate(x))")),
        "rounded constants"),

    # mask_tokens -----------------------------------------------------------------------------------
    Wrong(MASK, "to_random not restricted to ~to_mask, applied last: random ids overwrite [MASK]", variant(
        MASK_PLAIN, (" & selected & ~to_mask\n", " & selected\n")), "80%"),
    Wrong(MASK, "labels are the caller's tensor, written in place", variant(
        MASK_PLAIN, ("    labels = input_ids.masked_fill(~selected, -100)\n",
                     "    labels = input_ids\n    labels[~selected] = -100\n"),
        ("input_ids.masked_fill(to_mask, mask_id))", "input_ids.clone().masked_fill(to_mask, mask_id))")),
        "in place"),
    Wrong(MASK, "exactly 15% of each row chosen with randperm", '''
def mask_tokens(input_ids, special_ids, mask_id, vocab_size, generator, mlm_probability=0.15):
    shape = input_ids.shape
    special = torch.isin(input_ids, torch.tensor(list(special_ids), dtype=input_ids.dtype))
    scores = torch.rand(shape, generator=generator).masked_fill(special, 2.0)
    count = round(mlm_probability * shape[1])
    selected = torch.zeros(shape, dtype=torch.bool)
    if count:
        selected.scatter_(1, scores.argsort(dim=1)[:, :count], True)
    selected &= ~special
    to_mask = torch.bernoulli(torch.full(shape, 0.8), generator=generator).bool() & selected
    to_random = torch.bernoulli(torch.full(shape, 0.5), generator=generator).bool() & selected & ~to_mask
    random_ids = torch.randint(vocab_size, shape, generator=generator)
    masked_ids = torch.where(to_random, random_ids, input_ids.masked_fill(to_mask, mask_id))
    return masked_ids, input_ids.masked_fill(~selected, -100)
''', "draw order"),

    # BertMLMHead -----------------------------------------------------------------------------------
    Wrong(HEAD, "decoder weight initialised from a copy of the embeddings", variant(
        HEAD_PLAIN, ("self.decoder.weight = word_embeddings.weight",
                     "self.decoder.weight = nn.Parameter(word_embeddings.weight.detach().clone())")), "tied"),
    Wrong(HEAD, "bias initialised at random", variant(
        HEAD_PLAIN, ("torch.zeros(config.vocab_size)", "0.02 * torch.randn(config.vocab_size)")), "zeros"),
    Wrong(HEAD, "hidden states flattened to (N, d) and never reshaped", variant(
        HEAD_PLAIN, ("return self.decoder(self.LayerNorm(F.gelu(self.dense(hidden_states)))) + self.bias",
                     "h = hidden_states.reshape(-1, hidden_states.shape[-1])\n"
                     "        return self.decoder(self.LayerNorm(F.gelu(self.dense(h)))) + self.bias")),
        "leading dimensions"),

    # BertClassificationHead ------------------------------------------------------------------------
    Wrong(CLS, "slices position 0 with :1, keeping a length-1 axis", variant(
        CLS_PLAIN, ("hidden_states[:, 0]", "hidden_states[:, :1]")), "shape"),
    Wrong(CLS, "squeezes the logits: batch 1 or one label loses an axis", variant(
        CLS_PLAIN, ("return self.classifier(torch.tanh(self.dense(hidden_states[:, 0])))",
                    "return self.classifier(torch.tanh(self.dense(hidden_states[:, 0]))).squeeze()")), "shape"),
    Wrong(CLS, "the pooler without a bias", variant(
        CLS_PLAIN, ("self.dense = nn.Linear(config.hidden_size, config.hidden_size)",
                    "self.dense = nn.Linear(config.hidden_size, config.hidden_size, bias=False)")), "both with bias"),
]

CORRECT = [
    Correct(PAM, "unsqueeze and repeat", '''
def padding_attention_mask(input_ids, pad_id):
    T = input_ids.shape[1]
    return input_ids.ne(pad_id).unsqueeze(1).unsqueeze(2).repeat(1, 1, T, 1)
'''),
    Correct(PAM, "an expanded view of a new tensor, built with an outer AND", '''
def padding_attention_mask(input_ids, pad_id):
    B, T = input_ids.shape
    every_query = torch.ones(B, 1, T, 1, dtype=torch.bool)
    return every_query & (input_ids != pad_id)[:, None, None, :]
'''),
    Correct(EMB, "the tables indexed by hand and F.layer_norm with the module's parameters", variant(
        EMB_PLAIN, ("        positions = torch.arange(input_ids.shape[1], device=input_ids.device)\n"
                    "        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + "
                    "self.token_type_embeddings(token_type_ids)\n"
                    "        return self.LayerNorm(x)\n",
                    "        T = input_ids.shape[-1]\n"
                    "        x = self.word_embeddings.weight[input_ids] + self.position_embeddings.weight[:T]\n"
                    "        x = x + self.token_type_embeddings.weight[token_type_ids]\n"
                    "        norm = self.LayerNorm\n"
                    "        return F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)\n"))),
    Correct(EMB, "segment 0 added by default without building zeros", variant(
        EMB_PLAIN, ("        if token_type_ids is None:\n            token_type_ids = torch.zeros_like(input_ids)\n", ""),
        (" + self.token_type_embeddings(token_type_ids)\n",
         "\n        x = x + (self.token_type_embeddings.weight[0] if token_type_ids is None\n"
         "                 else self.token_type_embeddings(token_type_ids))\n"))),
    Correct(LAYER, "a hand-written erf GELU with Python floats", variant(
        LAYER_PLAIN, ("F.gelu(self.intermediate(x))",
                      "(lambda h: 0.5 * h * (1.0 + torch.erf(h / math.sqrt(2.0))))(self.intermediate(x))"))),
    Correct(LAYER, "named steps and functional LayerNorms reading each module's eps", variant(
        LAYER_PLAIN, ("        x = self.attention_norm(x + self.attention(x, mask))\n"
                      "        return self.output_norm(x + self.output(F.gelu(self.intermediate(x))))\n",
                      "        def post_ln(norm, residual, branch):\n"
                      "            return F.layer_norm(residual + branch, norm.normalized_shape, norm.weight, norm.bias,\n"
                      "                                norm.eps)\n"
                      "        h = post_ln(self.attention_norm, x, self.attention(x, mask=mask))\n"
                      "        ffn = self.output(F.gelu(self.intermediate(h)))\n"
                      "        return post_ln(self.output_norm, h, ffn)\n"))),
    Correct(MASK, "specials found with a loop, results written by indexing clones", '''
def mask_tokens(input_ids, special_ids, mask_id, vocab_size, generator, mlm_probability=0.15):
    shape = input_ids.shape
    special = torch.zeros(shape, dtype=torch.bool)
    for s in special_ids:
        special |= input_ids == s
    p = torch.full(shape, float(mlm_probability), dtype=torch.float32)
    p[special] = 0.0
    selected = torch.bernoulli(p, generator=generator) == 1
    to_mask = (torch.bernoulli(torch.full(shape, 0.8), generator=generator) == 1) & selected
    to_random = (torch.bernoulli(torch.full(shape, 0.5), generator=generator) == 1) & selected & ~to_mask
    random_ids = torch.randint(vocab_size, shape, generator=generator, dtype=torch.int64)
    masked_ids = input_ids.clone()
    masked_ids[to_mask] = mask_id
    masked_ids[to_random] = random_ids[to_random]
    labels = torch.full_like(input_ids, -100)
    labels[selected] = input_ids[selected]
    return masked_ids, labels
'''),
    Correct(MASK, "the three kinds as one category drawn per token", variant(
        MASK_PLAIN, ("    masked_ids = torch.where(to_random, random_ids, input_ids.masked_fill(to_mask, mask_id))\n",
                     "    kind = torch.zeros(shape, dtype=torch.long)\n"
                     "    kind[to_mask] = 1\n"
                     "    kind[to_random] = 2\n"
                     "    choices = torch.stack([input_ids, torch.full_like(input_ids, mask_id), random_ids])\n"
                     "    masked_ids = choices.gather(0, kind[None]).squeeze(0)\n"))),
    Correct(HEAD, "F.linear with the tied weight and the bias", variant(
        HEAD_PLAIN, ("return self.decoder(self.LayerNorm(F.gelu(self.dense(hidden_states)))) + self.bias",
                     "z = self.LayerNorm(F.gelu(self.dense(hidden_states)))\n"
                     "        return F.linear(z, self.decoder.weight, self.bias)"))),
    Correct(HEAD, "register_parameter and a hand-written erf GELU", variant(
        HEAD_PLAIN, ("self.bias = nn.Parameter(torch.zeros(config.vocab_size))",
                     "self.register_parameter('bias', nn.Parameter(torch.zeros(config.vocab_size)))"),
        ("F.gelu(self.dense(hidden_states))",
         "(lambda h: h * 0.5 * (1.0 + torch.erf(h * 0.7071067811865476)))(self.dense(hidden_states))"))),
    Correct(CLS, "h[..., 0, :] and a matrix product for the classifier", variant(
        CLS_PLAIN, ("return self.classifier(torch.tanh(self.dense(hidden_states[:, 0])))",
                    "pooled = torch.tanh(self.dense(hidden_states[..., 0, :]))\n"
                    "        return pooled @ self.classifier.weight.T + self.classifier.bias"))),
    Correct(CLS, "select(1, 0) and F.linear", variant(
        CLS_PLAIN, ("return self.classifier(torch.tanh(self.dense(hidden_states[:, 0])))",
                    "first = hidden_states.select(1, 0)\n"
                    "        pooled = F.linear(first, self.dense.weight, self.dense.bias).tanh()\n"
                    "        return self.classifier(pooled)"))),
]
