"""``build_tiny_encoder``: a small randomly initialised BERT with a WordPiece tokenizer trained on given texts.

Why this exists: the quickstart, the demo Space and the test-suite must run offline in seconds, so
they cannot download a pretrained checkpoint. A random-init BERT whose tokenizer was trained on the
very texts it will see gives a model that loads through every path a real one does
(``AutoModel``, ``AutoTokenizer``, ``SentenceTransformer``, :class:`hf_hybrid.modeling.DualEncoder`)
and that training can visibly improve. Its embeddings are meaningless before training: the README
written next to it says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

# A handful of multilingual sentences so that the builder works with no texts at all (tests that only
# need "some encoder"). Kept short: the tokenizer trains in milliseconds.
DEFAULT_TEXTS = [
    "What is the capital of France?",
    "Paris is the capital and largest city of France.",
    "Wie hoch ist der Eiffelturm?",
    "Der Eiffelturm ist 330 Meter hoch.",
    "¿Cuándo se fundó la universidad?",
    "La universidad se fundó en 1088.",
    "Кто написал эту книгу?",
    "Эту книгу написал Лев Толстой.",
    "这座桥有多长？",
    "这座桥长两公里。",
    "ما هي عاصمة مصر؟",
    "القاهرة هي عاصمة مصر.",
    "यह नदी कितनी लंबी है?",
    "Sông này dài bao nhiêu?",
    "Bu köprü ne zaman yapıldı?",
    "Ποια είναι η πρωτεύουσα της Ελλάδας;",
    "ประเทศไทยมีกี่จังหวัด",
    "Which river flows through the city?",
]


def train_wordpiece_tokenizer(texts: Iterable[str], vocab_size: int = 1000, lowercase: bool = True):
    """Build a WordPiece vocabulary from ``texts`` and wrap it as a transformers ``BertTokenizer``.

    The vocabulary is counted here rather than by ``tokenizers``' WordPieceTrainer because that trainer
    breaks ties between equally frequent merges differently from run to run, so the same texts and seed
    gave different tokenizers (and different demo results). Counting is deterministic: the special tokens,
    the characters that start words and the ``##`` characters that continue them (most frequent first),
    then whole words, word prefixes and ``##`` word pieces of up to 6 characters ranked by how many
    characters they save (count x (length - 1)), ties broken alphabetically, up to ``vocab_size``.

    ``BertTokenizer`` in transformers 5 is the fast, ``tokenizers``-backed class (``BertTokenizerFast``
    is an alias), so it saves a ``tokenizer.json`` that ``AutoTokenizer`` and sentence-transformers
    load without this package.
    """
    from collections import Counter

    from tokenizers import normalizers, pre_tokenizers
    from transformers import BertTokenizer

    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        raise ValueError("train_wordpiece_tokenizer needs at least one non-empty text to learn a vocabulary from")
    if vocab_size <= len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size={vocab_size} leaves no room beside the {len(SPECIAL_TOKENS)} special tokens")
    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=lowercase
    )
    pre = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for text in texts:
        words.update(w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(text)))
    first: Counter[str] = Counter()
    rest: Counter[str] = Counter()
    for word, n in words.items():
        first[word[0]] += n
        for ch in word[1:]:
            rest[ch] += n

    def ranked(counts: Counter[str]) -> list[str]:
        return [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    pieces: Counter[str] = Counter()  # candidate multi-character tokens -> characters saved
    for word, n in words.items():
        if len(word) > 1:
            pieces[word] += n * (len(word) - 1)
        for size in range(2, min(6, len(word) - 1) + 1):
            pieces[word[:size]] += n * (size - 1)
            for start in range(1, len(word) - size + 1):
                pieces["##" + word[start:start + size]] += n * (size - 1)
    vocab: dict[str, int] = {}
    for token in [*SPECIAL_TOKENS, *ranked(first), *("##" + c for c in ranked(rest)), *ranked(pieces)]:
        if len(vocab) >= vocab_size:
            break
        vocab.setdefault(token, len(vocab))
    return BertTokenizer(vocab=vocab, do_lower_case=lowercase, strip_accents=False, tokenize_chinese_chars=True)


def build_tiny_encoder(
    out_dir: str | os.PathLike,
    texts: Iterable[str] | None = None,
    *,
    vocab_size: int = 2000,
    hidden_size: int = 128,
    num_layers: int = 2,
    num_heads: int | None = None,
    intermediate_size: int | None = None,
    max_position_embeddings: int = 512,
    seed: int = 0,
) -> Path:
    """Save a random-init ``BertModel`` plus a tokenizer trained on ``texts`` to ``out_dir``.

    The directory is a plain Hugging Face encoder (``config.json``, ``model.safetensors``,
    ``tokenizer.json``...) with a ``README.md`` stating "demo model, random init" so that nobody
    mistakes it for a pretrained checkpoint. Deterministic for a given ``seed`` and ``texts``.

    Returns the output directory as a ``Path``.
    """
    import torch
    from transformers import BertConfig, BertModel

    texts = list(texts) if texts is not None else list(DEFAULT_TEXTS)
    tokenizer = train_wordpiece_tokenizer(texts, vocab_size=vocab_size)
    if num_heads is None:
        num_heads = max(1, hidden_size // 64) if hidden_size >= 64 else 2
    if hidden_size % num_heads:
        raise ValueError(f"hidden_size={hidden_size} must be divisible by num_heads={num_heads}")
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size or 4 * hidden_size,
        max_position_embeddings=max_position_embeddings,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    # Keep the (unused) pooler so that AutoModel and sentence-transformers load the checkpoint without a
    # "missing weights" report.
    model = BertModel(config)
    model.eval()
    tokenizer.model_max_length = max_position_embeddings

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "README.md").write_text(
        "---\nlibrary_name: transformers\ntags:\n- hf-hybrid\n- demo\n---\n\n"
        "# hf-hybrid demo encoder\n\n"
        "demo model, random init: a "
        f"{num_layers}-layer BERT (hidden {hidden_size}) with random weights and a WordPiece tokenizer "
        f"(vocabulary {len(tokenizer)}) trained on {len(texts)} texts. Its embeddings mean nothing until it is "
        "trained; it exists so that examples and tests run offline.\n",
        encoding="utf-8",
    )
    return out
