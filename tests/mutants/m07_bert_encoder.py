"""Plausible wrong solutions for 07-bert-encoder."""
from tests.mutants import Mutant, variant

ASSIGNMENT = "07-bert-encoder"

PAM = '''
def padding_attention_mask(input_ids, pad_id):
    B, T = input_ids.shape
    keys = input_ids != pad_id
    return keys[:, None, None, :].expand(B, 1, T, T).clone()
'''

EMBEDDINGS = '''
class BertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        d = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, d)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, d)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, d)
        self.LayerNorm = nn.LayerNorm(d, eps=config.layer_norm_eps)

    def forward(self, input_ids, token_type_ids=None):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings(token_type_ids)
        return self.LayerNorm(x)
'''

LAYER = '''
class BertLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        d = config.hidden_size
        self.attention = SelfAttention(config)
        self.attention_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.intermediate = nn.Linear(d, config.intermediate_size)
        self.output = nn.Linear(config.intermediate_size, d)
        self.output_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)

    def forward(self, x, mask=None):
        x = self.attention_norm(x + self.attention(x, mask))
        return self.output_norm(x + self.output(F.gelu(self.intermediate(x))))
'''

MASKING = '''
def mask_tokens(input_ids, special_ids, mask_id, vocab_size, generator, mlm_probability=0.15):
    shape = input_ids.shape
    special = torch.isin(input_ids, torch.tensor(list(special_ids), dtype=input_ids.dtype))
    p = torch.full(shape, mlm_probability).masked_fill(special, 0.0)
    selected = torch.bernoulli(p, generator=generator).bool()
    to_mask = torch.bernoulli(torch.full(shape, 0.8), generator=generator).bool() & selected
    to_random = torch.bernoulli(torch.full(shape, 0.5), generator=generator).bool() & selected & ~to_mask
    random_ids = torch.randint(vocab_size, shape, generator=generator)
    masked_ids = torch.where(to_random, random_ids, input_ids.masked_fill(to_mask, mask_id))
    labels = input_ids.masked_fill(~selected, -100)
    return masked_ids, labels
'''

HEAD = '''
class BertMLMHead(nn.Module):
    def __init__(self, config, word_embeddings):
        super().__init__()
        d = config.hidden_size
        self.dense = nn.Linear(d, d)
        self.LayerNorm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(d, config.vocab_size, bias=False)
        self.decoder.weight = word_embeddings.weight
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden_states):
        return self.decoder(self.LayerNorm(F.gelu(self.dense(hidden_states)))) + self.bias
'''

CLS = '''
class BertClassificationHead(nn.Module):
    def __init__(self, config, num_labels):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.classifier = nn.Linear(config.hidden_size, num_labels)

    def forward(self, hidden_states):
        return self.classifier(torch.tanh(self.dense(hidden_states[:, 0])))
'''

MUTANTS = [
    # padding_attention_mask ------------------------------------------------------------------------
    Mutant("padding_attention_mask", "mask not applied to PAD keys: everything allowed",
           variant(PAM, ("keys = input_ids != pad_id", "keys = torch.ones_like(input_ids, dtype=torch.bool)")),
           "[PAD] key"),
    Mutant("padding_attention_mask", "masks the PAD query rows instead of the PAD key columns",
           variant(PAM, ("keys[:, None, None, :].expand(B, 1, T, T)", "keys[:, None, :, None].expand(B, 1, T, T)")),
           "[PAD] key"),
    Mutant("padding_attention_mask", "masks PAD rows and columns: PAD query rows see nothing",
           variant(PAM, ("keys[:, None, None, :].expand(B, 1, T, T).clone()",
                         "keys[:, None, :, None] & keys[:, None, None, :]")),
           "[PAD] QUERY rows"),
    Mutant("padding_attention_mask", "causal and padding (a decoder's mask)",
           variant(PAM, (".expand(B, 1, T, T).clone()",
                         ".expand(B, 1, T, T) & torch.ones(T, T, dtype=torch.bool).tril()")),
           "bidirectional"),
    Mutant("padding_attention_mask", "True = masked out (nn.MultiheadAttention's convention)",
           variant(PAM, ("keys = input_ids != pad_id", "keys = input_ids == pad_id")), "may attend"),
    Mutant("padding_attention_mask", "pad id hard-coded to 0",
           variant(PAM, ("keys = input_ids != pad_id", "keys = input_ids != 0")), "pad_id ARGUMENT"),
    Mutant("padding_attention_mask", "returns the (B, 1, 1, T) key mask without the query axis",
           variant(PAM, (".expand(B, 1, T, T).clone()", ".clone()")), "(B, 1, T, T)"),

    # BertEmbeddings --------------------------------------------------------------------------------
    Mutant("BertEmbeddings", "LayerNorm with PyTorch's default eps 1e-5",
           variant(EMBEDDINGS, ("nn.LayerNorm(d, eps=config.layer_norm_eps)", "nn.LayerNorm(d)")), "epsilon"),
    Mutant("BertEmbeddings", "no LayerNorm in forward",
           variant(EMBEDDINGS, ("return self.LayerNorm(x)", "return x")), "LayerNorm"),
    Mutant("BertEmbeddings", "segment embedding left out",
           variant(EMBEDDINGS, (" + self.token_type_embeddings(token_type_ids)", "")), "token_type_embeddings"),
    Mutant("BertEmbeddings", "position embedding left out",
           variant(EMBEDDINGS, (" + self.position_embeddings(positions)", "")), "position_embeddings"),
    Mutant("BertEmbeddings", "default segment 1 instead of 0",
           variant(EMBEDDINGS, ("torch.zeros_like(input_ids)", "torch.ones_like(input_ids)")), "segment 0"),
    Mutant("BertEmbeddings", "LayerNorm of the word vectors only, positions and segments added after",
           variant(EMBEDDINGS, ("x = self.word_embeddings(input_ids) + self.position_embeddings(positions)",
                                "x = self.LayerNorm(self.word_embeddings(input_ids)) + self.position_embeddings(positions)"),
                   ("return self.LayerNorm(x)", "return x")), "AFTER the sum"),
    Mutant("BertEmbeddings", "dropout 0.1 as in BERT's training",
           variant(EMBEDDINGS, ("return self.LayerNorm(x)", "return F.dropout(self.LayerNorm(x), 0.1, self.training)")),
           "dropout"),

    # BertLayer -------------------------------------------------------------------------------------
    Mutant("BertLayer", "Pre-LN (GPT-2's) instead of BERT's Post-LN",
           variant(LAYER, ("x = self.attention_norm(x + self.attention(x, mask))\n"
                           "        return self.output_norm(x + self.output(F.gelu(self.intermediate(x))))",
                           "x = x + self.attention(self.attention_norm(x), mask)\n"
                           "        return x + self.output(F.gelu(self.intermediate(self.output_norm(x))))")),
           "Post-LN"),
    Mutant("BertLayer", "tanh GELU", variant(LAYER, ("F.gelu(self.intermediate(x))",
                                                     "F.gelu(self.intermediate(x), approximate='tanh')")), "erf"),
    Mutant("BertLayer", "LayerNorm eps 1e-5",
           variant(LAYER, ("self.output_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)",
                           "self.output_norm = nn.LayerNorm(d)")), "1e-12"),
    Mutant("BertLayer", "the mask is not passed to the attention",
           variant(LAYER, ("self.attention(x, mask)", "self.attention(x)")), "Pass the mask on"),
    Mutant("BertLayer", "ReLU instead of GELU",
           variant(LAYER, ("F.gelu(self.intermediate(x))", "F.relu(self.intermediate(x))")), "GELU"),
    Mutant("BertLayer", "the feed-forward residual adds the layer's input, not the normalised stream",
           variant(LAYER, ("x = self.attention_norm(x + self.attention(x, mask))\n"
                           "        return self.output_norm(x + self.output(F.gelu(self.intermediate(x))))",
                           "h = self.attention_norm(x + self.attention(x, mask))\n"
                           "        return self.output_norm(x + self.output(F.gelu(self.intermediate(h))))")),
           "residual adds h"),
    Mutant("BertLayer", "one LayerNorm used twice",
           variant(LAYER, ("return self.output_norm(x + ", "return self.attention_norm(x + ")), "Post-LN"),

    # mask_tokens -----------------------------------------------------------------------------------
    Mutant("mask_tokens", "10/10/80: 10% [MASK], 10% random, 80% unchanged",
           variant(MASKING, ("torch.full(shape, 0.8)", "torch.full(shape, 0.1)"),
                   ("torch.full(shape, 0.5)", "torch.full(shape, 0.1111)")), "80%"),
    Mutant("mask_tokens", "random replacement with probability 0.1 of the rest (2% instead of 10%)",
           variant(MASKING, ("torch.full(shape, 0.5)", "torch.full(shape, 0.1)")), "half of the remaining"),
    Mutant("mask_tokens", "special tokens can be selected",
           variant(MASKING, (".masked_fill(special, 0.0)", "")), "Special ids"),
    Mutant("mask_tokens", "labels are 0 instead of -100 where not selected",
           variant(MASKING, ("input_ids.masked_fill(~selected, -100)", "input_ids.masked_fill(~selected, 0)")),
           "-100"),
    Mutant("mask_tokens", "labels keep every token (loss on all positions)",
           variant(MASKING, ("labels = input_ids.masked_fill(~selected, -100)", "labels = input_ids.clone()")),
           "-100"),
    Mutant("mask_tokens", "draws from the global RNG instead of the generator",
           MASKING.replace(", generator=generator)", ")"), "generator"),
    Mutant("mask_tokens", "random ids drawn before the 50% draw",
           variant(MASKING, ("    to_random = torch.bernoulli(torch.full(shape, 0.5), generator=generator).bool() & selected & ~to_mask\n"
                             "    random_ids = torch.randint(vocab_size, shape, generator=generator)\n",
                             "    random_ids = torch.randint(vocab_size, shape, generator=generator)\n"
                             "    to_random = torch.bernoulli(torch.full(shape, 0.5), generator=generator).bool() & selected & ~to_mask\n")),
           "draw order"),
    Mutant("mask_tokens", "writes the masks into the caller's input_ids",
           variant(MASKING, ("    masked_ids = torch.where(to_random, random_ids, input_ids.masked_fill(to_mask, mask_id))\n"
                             "    labels = input_ids.masked_fill(~selected, -100)\n",
                             "    labels = input_ids.masked_fill(~selected, -100)\n"
                             "    input_ids[to_mask] = mask_id\n"
                             "    input_ids[to_random] = random_ids[to_random]\n"
                             "    masked_ids = input_ids\n")), "in place"),

    # BertMLMHead -----------------------------------------------------------------------------------
    Mutant("BertMLMHead", "decoder not tied: a weight of its own",
           variant(HEAD, ("        self.decoder.weight = word_embeddings.weight\n", "")), "tied"),
    Mutant("BertMLMHead", "tanh GELU", variant(HEAD, ("F.gelu(self.dense(hidden_states))",
                                                      "F.gelu(self.dense(hidden_states), approximate='tanh')")), "erf"),
    Mutant("BertMLMHead", "LayerNorm eps 1e-5",
           variant(HEAD, ("nn.LayerNorm(d, eps=config.layer_norm_eps)", "nn.LayerNorm(d)")), "1e-12"),
    Mutant("BertMLMHead", "LayerNorm before the GELU",
           variant(HEAD, ("self.LayerNorm(F.gelu(self.dense(hidden_states)))",
                          "F.gelu(self.LayerNorm(self.dense(hidden_states)))")), "order"),
    Mutant("BertMLMHead", "the bias is never added",
           variant(HEAD, (")))) + self.bias", "))))")), "bias"),
    Mutant("BertMLMHead", "no dense transform before the GELU",
           variant(HEAD, ("F.gelu(self.dense(hidden_states))", "F.gelu(hidden_states)")), "dense"),
    Mutant("BertMLMHead", "the decoder's own bias instead of a separate bias parameter",
           variant(HEAD, ("bias=False)", "bias=True)"),
                   ("        self.bias = nn.Parameter(torch.zeros(config.vocab_size))\n", ""),
                   (")))) + self.bias", "))))")), "bias"),

    # BertClassificationHead ------------------------------------------------------------------------
    Mutant("BertClassificationHead", "mean over positions instead of [CLS]",
           variant(CLS, ("hidden_states[:, 0]", "hidden_states.mean(dim=1)")), "position 0"),
    Mutant("BertClassificationHead", "the last position instead of [CLS]",
           variant(CLS, ("hidden_states[:, 0]", "hidden_states[:, -1]")), "position 0"),
    Mutant("BertClassificationHead", "no tanh in the pooler",
           variant(CLS, ("torch.tanh(self.dense(hidden_states[:, 0]))", "self.dense(hidden_states[:, 0])")), "tanh"),
    Mutant("BertClassificationHead", "ReLU instead of tanh",
           variant(CLS, ("torch.tanh(", "torch.relu(")), "tanh"),
    Mutant("BertClassificationHead", "the batch's first sequence instead of each sequence's first token",
           variant(CLS, ("hidden_states[:, 0]", "hidden_states[0]")), "hidden_states[:, 0]"),
    Mutant("BertClassificationHead", "the pooler skipped: classifier on h[:, 0] directly",
           variant(CLS, ("self.classifier(torch.tanh(self.dense(hidden_states[:, 0])))",
                         "self.classifier(torch.tanh(hidden_states[:, 0]))")), "pooler"),
]
