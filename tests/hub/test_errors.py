"""hf_hybrid.hub.errors: huggingface_hub failures -> HubError and subclasses naming action, repo, endpoint, remedy.

No network: the huggingface_hub / httpx / requests exceptions are built by hand, and the end-to-end cases talk
to the local Hub of tests/hub_server.py (the ``hub_server`` fixture of tests/conftest.py).
"""

from __future__ import annotations

import re

import httpx
import httpx2
import pytest
import requests
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from hf_hybrid.hub import HubAuthError, HubError, HubUnreachableError
from hf_hybrid.hub.errors import endpoint_of, hub_errors

ENDPOINT = "https://hub.example"
TOKEN = "hf_TestTokenAbcdefghijklmnopqrstuv"


def _response(status: int) -> httpx2.Response:
    return httpx2.Response(status, request=httpx2.Request("GET", f"{ENDPOINT}/api/models/org/x"))


def _raise(exc: BaseException, *, token_sent: bool = False, action: str = "push to") -> BaseException:
    """What ``hub_errors`` turns ``exc`` into (it must raise)."""
    with pytest.raises(BaseException) as info, hub_errors(action, "org/x", endpoint=ENDPOINT, token_sent=token_sent):
        raise exc
    assert info.value is exc or info.value.__cause__ is exc
    return info.value


def test_the_error_classes():
    assert issubclass(HubError, RuntimeError)
    assert issubclass(HubAuthError, HubError) and issubclass(HubAuthError, PermissionError)
    assert issubclass(HubUnreachableError, HubError) and issubclass(HubUnreachableError, ConnectionError)


def test_nothing_raised_nothing_changed():
    with hub_errors("push to", "org/x", endpoint=ENDPOINT, token_sent=False):
        value = 1 + 1
    assert value == 2


@pytest.mark.parametrize("status, token_sent, why", [
    (401, False, "no token was sent"),
    (403, False, "no token was sent"),
    (401, True, "the token was rejected or lacks write access to this namespace"),
    (403, True, "the token was rejected or lacks write access to this namespace"),
])
def test_401_and_403_are_auth_errors(status, token_sent, why):
    err = _raise(HfHubHTTPError("denied", response=_response(status)), token_sent=token_sent)
    assert type(err) is HubAuthError
    assert str(err) == (f"Cannot push to org/x: the Hub at {ENDPOINT} answered HTTP {status} ({why}). Log in with "
                        "`hf auth login`, or set the HF_TOKEN environment variable to a token with write access.")


def test_a_gated_or_unknown_repo_answering_401_is_an_auth_error_too():
    # the status decides first: a repo-not-found (or gated) answer with 401/403 means "log in"
    err = _raise(RepositoryNotFoundError("nf", response=_response(401)))
    assert type(err) is HubAuthError and "HTTP 401 (no token was sent)" in str(err)
    err = _raise(GatedRepoError("gated", response=_response(403)), token_sent=True)
    assert type(err) is HubAuthError and "HTTP 403 (the token was rejected" in str(err)


@pytest.mark.parametrize("token_sent, tail", [
    (False, "(or it is private and no token was sent)."),
    (True, "(or it is private and your token cannot read it)."),
])
def test_repository_not_found(token_sent, tail):
    err = _raise(RepositoryNotFoundError("nf", response=_response(404)), token_sent=token_sent, action="download")
    assert type(err) is HubError
    assert str(err) == f"Cannot download org/x: the repository was not found on {ENDPOINT} {tail}"


def test_revision_not_found():
    err = _raise(RevisionNotFoundError("no rev", response=_response(404)))
    assert type(err) is HubError
    assert str(err) == (f"Cannot push to org/x: the revision does not exist on {ENDPOINT}. Check the branch/tag name "
                        "(or push to create it).")


def test_other_statuses_carry_the_server_message():
    err = _raise(HfHubHTTPError("500 Server Error", response=_response(500), server_message="internal oops"))
    assert type(err) is HubError
    assert str(err) == f"Cannot push to org/x: the Hub at {ENDPOINT} answered HTTP 500: internal oops"
    err = _raise(HfHubHTTPError("413 Payload Too Large", response=_response(413)))
    assert str(err) == f"Cannot push to org/x: the Hub at {ENDPOINT} answered HTTP 413: 413 Payload Too Large"


def test_offline_mode():
    err = _raise(OfflineModeIsEnabled("offline"))
    assert type(err) is HubUnreachableError
    assert str(err) == (f"Cannot push to org/x: offline mode is on (HF_HUB_OFFLINE=1). Unset HF_HUB_OFFLINE to talk to "
                        f"the Hub at {ENDPOINT}.")


@pytest.mark.parametrize("exc", [
    httpx2.ConnectError("connection refused"),
    httpx2.ReadTimeout("timed out"),
    httpx.ConnectError("connection refused"),
    requests.ConnectionError("connection refused"),
    requests.Timeout("timed out"),
], ids=lambda e: f"{type(e).__module__}.{type(e).__name__}")
def test_transport_failures_are_unreachable(exc):
    err = _raise(exc)
    assert type(err) is HubUnreachableError
    assert str(err) == (f"Cannot push to org/x: the Hub at {ENDPOINT} is unreachable ({type(exc).__name__}: {exc}). "
                        "Check your network and the HF_ENDPOINT environment variable.")


@pytest.mark.parametrize("exc", [HubAuthError("already clear"), ValueError("not a Hub failure"), KeyError("k"),
                                 FileNotFoundError("missing")])
def test_hub_errors_and_unrelated_exceptions_pass_through_unchanged(exc):
    assert _raise(exc) is exc


def test_endpoint_of():
    from huggingface_hub import HfApi, constants

    assert endpoint_of(HfApi(endpoint="https://my-hub.example/")) == "https://my-hub.example"
    assert endpoint_of() == constants.ENDPOINT.rstrip("/")
    assert endpoint_of(object()) == constants.ENDPOINT.rstrip("/")  # not an HfApi: the configured endpoint


# ---------------------------------------------------------------- end to end, against the local Hub


def test_real_failures_of_the_local_hub(hub_server, monkeypatch):
    from huggingface_hub import HfApi

    monkeypatch.delenv("HF_TOKEN", raising=False)
    api = HfApi()
    endpoint = endpoint_of(api)
    assert endpoint == hub_server.base_url
    not_found = re.escape(f"Cannot read org/missing: the repository was not found on {endpoint} (or it is private and "
                          "no token was sent).")
    with (pytest.raises(HubError, match=not_found),
          hub_errors("read", "org/missing", endpoint=endpoint, token_sent=False)):
        api.model_info("org/missing")
    api.create_repo("org/r")
    with (pytest.raises(HubError, match="Cannot read org/r: the revision does not exist"),
          hub_errors("read", "org/r", endpoint=endpoint, token_sent=False)):
        api.model_info("org/r", revision="no-such-branch")
    hub_server.require_token = TOKEN
    with (pytest.raises(HubAuthError, match=r"HTTP 401 \(no token was sent\)"),
          hub_errors("read", "org/r", endpoint=endpoint, token_sent=False)):
        api.model_info("org/r")
    wrong = "hf_WrongTokenAbcdefghijklmnopqrstu"
    with (pytest.raises(HubAuthError, match=r"HTTP 401 \(the token was rejected") as info,
          hub_errors("read", "org/r", endpoint=endpoint, token_sent=True)):
        api.model_info("org/r", token=wrong)
    assert wrong not in str(info.value) and TOKEN not in str(info.value)
