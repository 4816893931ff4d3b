"""Issue 16: a failed first push leaves no empty repository behind, and says what happened to it.

The commit fails on the server (the local Hub of tests/hub_server.py answers HTTP 500 to it) after the push
created the repository: the push deletes the repository it had just created and the error says so. A repository
that existed before is never deleted. A file holding the token is refused before anything is created.
"""

from __future__ import annotations

import hub_server as hub_server_module
import pytest
from hub_fixtures import TOKEN, full_ckpt, hub_server, tiny_dir  # noqa: F401 - fixtures

from hf_hybrid.hub import HubError, push


@pytest.fixture
def failing_commits(monkeypatch):
    """Every commit the local Hub receives fails with HTTP 500 (repo creation still works)."""

    def refuse(self, repo, revision, body, query):
        raise hub_server_module._HubError(500, "Internal Error - We're working hard to fix this as soon as possible!")

    monkeypatch.setattr(hub_server_module._Handler, "_commit", refuse)


def test_hub_failed_first_push_deletes_the_repo_it_created(hub_server, full_ckpt, failing_commits):
    with pytest.raises(HubError) as info:
        push(full_ckpt, "org/first")
    message = str(info.value)
    assert "HTTP 500" in message
    assert "org/first" in message and "deleted" in message and "no empty repository" in message
    assert hub_server.get_repo("org/first") is None


def test_hub_failed_push_keeps_an_existing_repo(hub_server, full_ckpt, monkeypatch):
    from huggingface_hub import HfApi

    HfApi().create_repo("org/existing")
    HfApi().upload_file(path_or_fileobj=b"keep me", path_in_repo="notes.txt", repo_id="org/existing")

    def refuse(self, repo, revision, body, query):
        raise hub_server_module._HubError(500, "Internal Error")

    monkeypatch.setattr(hub_server_module._Handler, "_commit", refuse)
    with pytest.raises(HubError) as info:
        push(full_ckpt, "org/existing")
    assert "deleted" not in str(info.value)
    assert hub_server.files("org/existing")["notes.txt"] == b"keep me"


def test_hub_failed_first_push_says_when_the_repo_could_not_be_deleted(hub_server, full_ckpt, failing_commits,
                                                                        monkeypatch):
    original = hub_server_module._Handler._route_api

    def route(self, method, parts, query, body):
        if parts[:2] == ["repos", "delete"]:
            raise hub_server_module._HubError(403, "You don't have the rights to delete this repo")
        return original(self, method, parts, query, body)

    monkeypatch.setattr(hub_server_module._Handler, "_route_api", route)
    with pytest.raises(HubError) as info:
        push(full_ckpt, "org/stuck")
    message = str(info.value)
    assert "org/stuck" in message and "empty" in message and "could not be deleted" in message
    assert hub_server.get_repo("org/stuck") is not None


def test_hub_token_in_a_file_is_refused_before_anything_is_created(hub_server, full_ckpt, tmp_path, monkeypatch):
    import shutil

    folder = tmp_path / "ckpt"
    shutil.copytree(full_ckpt, folder)
    (folder / "notes.txt").write_text(f"my token is {TOKEN}\n")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with pytest.raises(HubError, match="Refusing to upload notes.txt: it contains your Hub token") as info:
        push(folder, "org/leak")
    assert TOKEN not in str(info.value)
    assert hub_server.get_repo("org/leak") is None
