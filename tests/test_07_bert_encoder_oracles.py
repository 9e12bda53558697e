"""Oracle tests for notebook 07 (BERT): the reference solutions against Hugging Face transformers (5.23),
built from a tiny random config offline.

* `BertForMaskedLM` with the reference `MiniBert`'s weights (LayerNorms and biases perturbed first, so a
  misplaced norm or bias shows) gives the same last hidden states and MLM logits on a padded batch with
  two segments: Post-LN, LayerNorm eps 1e-12, erf GELU, the padding mask on keys only, the tied decoder
  plus its bias. The [CLS] head equals `BertForSequenceClassification`'s pooler and classifier.
* `DataCollatorForLanguageModeling` (mlm_probability 0.15, mask_replace_prob 0.8, random_replace_prob
  0.1, seed 7) makes exactly the masks and labels that `mask_tokens` makes with a generator seeded 7:
  the same four draws in the same order. Over 100,000 tokens both select 15% and split 80/10/10.
"""
import pytest
import torch
import transformers
from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertTokenizer
from transformers import DataCollatorForLanguageModeling

from autograder.notebook import load_reference

transformers.logging.set_verbosity_error()

SIZES = dict(vocab_size=101, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
             max_position_embeddings=16, type_vocab_size=2, layer_norm_eps=1e-12)
PAD = 100


@pytest.fixture(scope="module")
def ref():
    return load_reference("07-bert-encoder")


def hf_config(**extra):
    return BertConfig(**SIZES, pad_token_id=PAD, hidden_act="gelu", hidden_dropout_prob=0.0,
                      attention_probs_dropout_prob=0.0, attn_implementation="eager", **extra)


def perturbed(model, seed):
    """LayerNorm weights away from 1 and every bias away from 0 (in place)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "LayerNorm" in name:
                p.add_(0.3 * torch.randn(p.shape, generator=g))
    return model.eval()


LAYER_NAMES = {"attention.self.query": "attention.query", "attention.self.key": "attention.key",
               "attention.self.value": "attention.value", "attention.output.dense": "attention.dense",
               "attention.output.LayerNorm": "attention_norm", "intermediate.dense": "intermediate",
               "output.dense": "output", "output.LayerNorm": "output_norm"}


def course_name(hf_name):
    """A BertForMaskedLM parameter name as the reference MiniBert's (None for the tied decoder)."""
    name = hf_name.removeprefix("bert.")
    if name.startswith("embeddings."):
        return name
    if name.startswith("encoder.layer."):
        _, _, index, rest = name.split(".", 3)
        module, part = rest.rsplit(".", 1)
        return f"layers.{index}.{LAYER_NAMES[module]}.{part}"
    return {"cls.predictions.transform.dense.weight": "mlm_head.dense.weight",
            "cls.predictions.transform.dense.bias": "mlm_head.dense.bias",
            "cls.predictions.transform.LayerNorm.weight": "mlm_head.LayerNorm.weight",
            "cls.predictions.transform.LayerNorm.bias": "mlm_head.LayerNorm.bias",
            "cls.predictions.bias": "mlm_head.bias"}.get(name)


def masked_lm_pair(ref, seed):
    torch.manual_seed(seed)
    hf = perturbed(BertForMaskedLM(hf_config()), seed)
    mine = ref.MiniBert(ref.BertConfig(pad_token_id=PAD, **SIZES)).eval()
    state = {course_name(n): t for n, t in hf.state_dict().items() if course_name(n)}
    state["mlm_head.decoder.weight"] = state["embeddings.word_embeddings.weight"]
    mine.load_state_dict(state)
    return mine, hf


def padded_batch(seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(100, (3, 12), generator=g)
    ids[0, 7:] = PAD
    ids[2, 10:] = PAD
    types = torch.zeros_like(ids)
    types[:, 5:] = 1
    return ids, types, (ids != PAD).long()


@pytest.mark.parametrize("seed", [0, 1])
def test_bert_for_masked_lm_hidden_states(ref, seed):
    mine, hf = masked_lm_pair(ref, seed)
    ids, types, attention = padded_batch(10 + seed)
    with torch.no_grad():
        expected = hf(input_ids=ids, token_type_ids=types, attention_mask=attention,
                      output_hidden_states=True).hidden_states[-1]
        got = mine.encode(ids, types)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)  # measured: about 1e-6 (float32)


@pytest.mark.parametrize("seed", [0, 1])
def test_bert_for_masked_lm_logits(ref, seed):
    mine, hf = masked_lm_pair(ref, seed)
    ids, types, attention = padded_batch(20 + seed)
    with torch.no_grad():
        expected = hf(input_ids=ids, token_type_ids=types, attention_mask=attention).logits
        got = mine(ids, types)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_bert_for_masked_lm_padding_invariance(ref):
    """Both models: appending [PAD]s leaves the real positions' hidden states unchanged."""
    mine, hf = masked_lm_pair(ref, 3)
    ids = torch.randint(100, (1, 6), generator=torch.Generator().manual_seed(3))
    longer = torch.cat([ids, torch.full((1, 5), PAD)], dim=1)
    with torch.no_grad():
        short = mine.encode(ids)
        long = mine.encode(longer)[:, :6]
        hf_long = hf(input_ids=longer, attention_mask=(longer != PAD).long(),
                     output_hidden_states=True).hidden_states[-1][:, :6]
    torch.testing.assert_close(long, short, atol=1e-5, rtol=0)
    torch.testing.assert_close(hf_long, short, atol=1e-5, rtol=0)


def test_bert_for_sequence_classification_head(ref):
    torch.manual_seed(4)
    hf = perturbed(BertForSequenceClassification(hf_config(num_labels=3)), 4)
    head = ref.BertClassificationHead(ref.BertConfig(pad_token_id=PAD, **SIZES), 3).eval()
    head.load_state_dict({"dense.weight": hf.bert.pooler.dense.weight, "dense.bias": hf.bert.pooler.dense.bias,
                          "classifier.weight": hf.classifier.weight, "classifier.bias": hf.classifier.bias})
    ids, types, attention = padded_batch(30)
    with torch.no_grad():
        out = hf(input_ids=ids, token_type_ids=types, attention_mask=attention, output_hidden_states=True)
        got = head(out.hidden_states[-1])
    torch.testing.assert_close(got, out.logits, atol=1e-6, rtol=0)


# masking ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tokenizer():
    vocab = {token: i for i, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])}
    vocab.update({f"w{i}": 5 + i for i in range(95)})
    return BertTokenizer(vocab=vocab)


def text_rows(tokenizer, B, T, seed):
    """[CLS] text ... [SEP] [PAD] ... rows with lengths varying."""
    g = torch.Generator().manual_seed(seed)
    rows = torch.randint(5, len(tokenizer), (B, T), generator=g)
    rows[:, 0] = tokenizer.cls_token_id
    for b in range(B):
        end = T - 1 - b % 4
        rows[b, end] = tokenizer.sep_token_id
        rows[b, end + 1:] = tokenizer.pad_token_id
    return rows


def collated(tokenizer, rows, seed):
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, mask_replace_prob=0.8,
                                               random_replace_prob=0.1, seed=seed, return_tensors="pt")
    batch = collator([{"input_ids": row} for row in rows.tolist()])
    return batch["input_ids"], batch["labels"]


@pytest.mark.parametrize("seed", [7, 8])
def test_data_collator_makes_the_same_masks(ref, tokenizer, seed):
    rows = text_rows(tokenizer, 16, 40, seed)
    expected_ids, expected_labels = collated(tokenizer, rows, seed)
    got_ids, got_labels = ref.mask_tokens(rows, tokenizer.all_special_ids, tokenizer.mask_token_id, len(tokenizer),
                                          torch.Generator().manual_seed(seed))
    assert torch.equal(got_labels, expected_labels)
    assert torch.equal(got_ids, expected_ids)


def shares(ids, labels, rows, mask_id):
    selected = labels != -100
    n = int(selected.sum())
    return (n / int((labels.numel())), int((selected & (ids == mask_id)).sum()) / n,
            int((selected & (ids != mask_id) & (ids != rows)).sum()) / n, int((selected & (ids == rows)).sum()) / n)


def test_data_collator_statistics_15_80_10_10(ref, tokenizer):
    rows = torch.randint(5, len(tokenizer), (400, 250), generator=torch.Generator().manual_seed(9))
    for ids, labels in (collated(tokenizer, rows, 9),
                        ref.mask_tokens(rows, tokenizer.all_special_ids, tokenizer.mask_token_id, len(tokenizer),
                                        torch.Generator().manual_seed(11))):
        selected, masked, random_ids, kept = shares(ids, labels, rows, tokenizer.mask_token_id)
        # 100,000 tokens, ~15,000 selected: one standard deviation is 0.0011 for the 15%, 0.0033 for the
        # 80% and 0.0025 for the 10%s; a random replacement equal to the original (1 in 100) counts as kept
        assert abs(selected - 0.15) < 0.005, selected
        assert abs(masked - 0.8) < 0.015, masked
        assert abs(random_ids - 0.099) < 0.012 and abs(kept - 0.101) < 0.012, (random_ids, kept)
