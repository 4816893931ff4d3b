"""Errors of Hub operations, and the translation of ``huggingface_hub`` failures into them.

Why: a failed upload surfaces as an HTTP status or a transport exception of whichever HTTP client
``huggingface_hub`` uses; users need to know what to do (log in, check ``HF_ENDPOINT``, fix a branch name).
:func:`hub_errors` wraps a block of Hub calls and re-raises those failures as :class:`HubError` and
subclasses whose message names the action, the repo, the endpoint and the remedy, and never the token.
Malformed repo ids and folders that are not checkpoints are reported by :mod:`hf_hybrid.checkpoint`
(``InvalidRepoIdError``, ``NotACheckpointError``) before anything is sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["HubAuthError", "HubError", "HubUnreachableError", "endpoint_of", "hub_errors"]


class HubError(RuntimeError):
    """A Hub operation failed for a reason the user can fix; the message says what to do."""


class HubAuthError(HubError, PermissionError):
    """The Hub refused the request: no token, a rejected token, or no write access."""


class HubUnreachableError(HubError, ConnectionError):
    """The Hub endpoint could not be reached at all."""


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Connection/timeout exception classes of the HTTP clients that may be installed."""
    errors: list[type[BaseException]] = []
    for module in ("httpx2", "httpx", "requests"):
        try:
            mod = __import__(module)
        except ImportError:
            continue
        for name in ("TransportError", "ConnectionError", "Timeout"):
            cls = getattr(mod, name, None) or getattr(getattr(mod, "exceptions", None), name, None)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                errors.append(cls)
    return tuple(errors)


def endpoint_of(api: Any = None) -> str:
    """The Hub URL ``api`` (an ``HfApi``) talks to, else the configured ``HF_ENDPOINT``."""
    from huggingface_hub import constants

    return (getattr(api, "endpoint", None) or constants.ENDPOINT).rstrip("/")


@contextlib.contextmanager
def hub_errors(action: str, repo_id: str, *, endpoint: str, token_sent: bool) -> Iterator[None]:
    """Turn transport and HTTP failures of ``huggingface_hub`` into :class:`HubError` with a remedy."""
    from huggingface_hub.errors import (
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        yield
    except HubError:
        raise
    except OfflineModeIsEnabled as exc:
        raise HubUnreachableError(
            f"Cannot {action} {repo_id}: offline mode is on (HF_HUB_OFFLINE=1). Unset HF_HUB_OFFLINE to talk to "
            f"the Hub at {endpoint}."
        ) from exc
    except _transport_errors() as exc:
        raise HubUnreachableError(
            f"Cannot {action} {repo_id}: the Hub at {endpoint} is unreachable ({type(exc).__name__}: {exc}). "
            "Check your network and the HF_ENDPOINT environment variable."
        ) from exc
    except RevisionNotFoundError as exc:
        raise HubError(f"Cannot {action} {repo_id}: the revision does not exist on {endpoint}. "
                       "Check the branch/tag name (or push to create it).") from exc
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            why = ("no token was sent" if not token_sent else
                   "the token was rejected or lacks write access to this namespace")
            raise HubAuthError(
                f"Cannot {action} {repo_id}: the Hub at {endpoint} answered HTTP {status} ({why}). Log in with "
                "`hf auth login`, or set the HF_TOKEN environment variable to a token with write access."
            ) from exc
        if isinstance(exc, RepositoryNotFoundError):
            raise HubError(
                f"Cannot {action} {repo_id}: the repository was not found on {endpoint} (or it is private and "
                f"{'your token cannot read it' if token_sent else 'no token was sent'})."
            ) from exc
        raise HubError(f"Cannot {action} {repo_id}: the Hub at {endpoint} answered HTTP {status}: "
                       f"{getattr(exc, 'server_message', None) or exc}") from exc
