"""hf_hybrid.hub.secrets: secrets scrubbed from what a card renders, uploads holding the token refused."""

from __future__ import annotations

import json

import pytest

from hf_hybrid.hub import HubError, scrub_secrets
from hf_hybrid.hub import secrets as secrets_module
from hf_hybrid.hub.secrets import refuse_secrets, tokens_in_use

TOKEN = "hf_TestTokenAbcdefghijklmnopqrstuv"
OTHER = "hf_OldTokenZyxwvutsrqponmlkjihgfe"


# ---------------------------------------------------------------- scrub_secrets


def test_secret_keys_are_dropped_at_every_depth():
    record = {
        "learning_rate": 1e-3, "hub_token": TOKEN, "HUB_TOKEN": "x", "db_password": "p", "client_secret": "s",
        "api_key": "k", "openai_apikey": "k", "training": {"seed": 1, "push_token": TOKEN},
        "runs": [{"id": 1, "Secret": "s"}, {"id": 2}],
    }
    assert scrub_secrets(record) == {"learning_rate": 1e-3, "training": {"seed": 1}, "runs": [{"id": 1}, {"id": 2}]}
    # the input is left alone
    assert record["hub_token"] == TOKEN and record["training"]["push_token"] == TOKEN


def test_token_looking_strings_are_redacted_anywhere():
    value = {"note": f"pushed with {TOKEN} to org/x", "args": ["--hub_model_id", "org/x", OTHER], "n": 3}
    out = scrub_secrets(value)
    assert out == {"note": "pushed with <redacted> to org/x", "args": ["--hub_model_id", "org/x", "<redacted>"], "n": 3}
    assert TOKEN not in json.dumps(out) and OTHER not in json.dumps(out)


def test_names_that_only_look_like_tokens_are_kept():
    # hf_ + fewer than 20 letters/digits, or broken by '_', is not a Hub token
    kept = ["hf_hybrid_training.json", "hf_hybrid", "hf_" + "a" * 19, "HF_TOKEN is unset"]
    assert scrub_secrets(kept) == kept
    assert scrub_secrets("hf_" + "a" * 20) == "<redacted>"


def test_explicit_secrets_are_redacted_even_when_not_hub_shaped():
    out = scrub_secrets({"cmd": "login s3cr3t-value and s3cr3t-value again", "empty": ""}, secrets=["s3cr3t-value", ""])
    assert out == {"cmd": "login <redacted> and <redacted> again", "empty": ""}


def test_non_string_values_pass_through_and_tuples_become_lists():
    assert scrub_secrets(None) is None
    assert scrub_secrets(0.05) == 0.05 and scrub_secrets(True) is True
    assert scrub_secrets(("a", TOKEN, 1)) == ["a", "<redacted>", 1]
    assert scrub_secrets({1: "one"}) == {1: "one"}  # non-string keys are matched by their str()


def test_key_match_is_a_substring_match():
    # documented as *token* / *password* / *secret*: any key containing the word goes, tokenizer settings too
    assert scrub_secrets({"tokenizer_name": "bert", "max_tokens": 5, "pooling": "mean"}) == {"pooling": "mean"}


# ---------------------------------------------------------------- tokens_in_use


@pytest.fixture
def no_stored_token(monkeypatch, tmp_path):
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))


def test_tokens_in_use_without_any_token(no_stored_token):
    assert tokens_in_use(None) == []
    assert tokens_in_use(True) == [] and tokens_in_use(False) == []
    assert tokens_in_use("") == []
    assert tokens_in_use(TOKEN) == [TOKEN]


def test_tokens_in_use_adds_the_stored_token_once(no_stored_token, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", OTHER)
    assert tokens_in_use(None) == [OTHER]
    assert tokens_in_use(True) == [OTHER]
    assert tokens_in_use(TOKEN) == [TOKEN, OTHER]  # the explicit one first
    assert tokens_in_use(OTHER) == [OTHER]  # no duplicate


def test_tokens_in_use_reads_the_token_file(no_stored_token, tmp_path):
    (tmp_path / "no-token").write_text(OTHER + "\n")
    assert tokens_in_use(TOKEN) == [TOKEN, OTHER]


def test_a_broken_token_store_does_not_block_publishing(monkeypatch):
    import huggingface_hub.utils

    def broken():
        raise OSError("token file unreadable")

    monkeypatch.setattr(huggingface_hub.utils, "get_token", broken)
    assert tokens_in_use(TOKEN) == [TOKEN]
    assert tokens_in_use(None) == []


# ---------------------------------------------------------------- refuse_secrets


def test_refuses_bytes_and_files_holding_the_token(tmp_path):
    (tmp_path / "training_args.bin").write_bytes(b"\x80\x04pickle..." + TOKEN.encode() + b"...")
    (tmp_path / "config.json").write_text('{"hidden_size": 32}')
    with pytest.raises(HubError, match=r"^Refusing to upload training_args.bin: it contains your Hub token\. .*HF_TOKEN"
                       ) as info:
        refuse_secrets({"config.json": tmp_path / "config.json", "training_args.bin": tmp_path / "training_args.bin"},
                       [TOKEN])
    assert TOKEN not in str(info.value)
    with pytest.raises(HubError, match="Refusing to upload README.md"):
        refuse_secrets({"README.md": f"token: {OTHER}".encode()}, [TOKEN, OTHER])


def test_clean_files_pass(tmp_path):
    (tmp_path / "config.json").write_text('{"hidden_size": 32}')
    assert refuse_secrets({"config.json": tmp_path / "config.json", "README.md": b"# card"}, [TOKEN]) is None


def test_no_secret_or_too_short_secrets_check_nothing():
    data = {"notes.txt": b"short abc1234 and empty"}
    refuse_secrets(data, [])
    refuse_secrets(data, ["", "abc1234"])  # under 8 characters: too likely to match by chance
    with pytest.raises(HubError):
        refuse_secrets(data, ["abc1234 "])  # 8 characters


def test_huge_weight_files_are_not_scanned(tmp_path, monkeypatch):
    monkeypatch.setattr(secrets_module, "_MAX_SCAN_BYTES", len(TOKEN))
    body = b"x" * 32 + TOKEN.encode()
    for name in ("model.safetensors", "pytorch_model.bin", "w.pt", "w.pth"):
        (tmp_path / name).write_bytes(body)
        refuse_secrets({name: tmp_path / name}, [TOKEN])  # tokens live in text files and pickles, not weights
    # the same size in any other file type is scanned
    (tmp_path / "big.json").write_bytes(body)
    with pytest.raises(HubError, match="Refusing to upload big.json"):
        refuse_secrets({"big.json": tmp_path / "big.json"}, [TOKEN])
    # and a weight file up to the limit is scanned too
    (tmp_path / "small.safetensors").write_bytes(TOKEN.encode())
    with pytest.raises(HubError, match="Refusing to upload small.safetensors"):
        refuse_secrets({"small.safetensors": tmp_path / "small.safetensors"}, [TOKEN])
