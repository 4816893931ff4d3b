"""A small Hugging Face Hub-compatible HTTP server for the test suite.

Why hand-written: the tests must exercise the *real* `huggingface_hub`, `transformers`, `peft`,
`sentence-transformers` and `evaluate` clients end to end (create repo, commit, download by repo id),
with no network. No maintained package serves the Hub's *write* API locally (olah is a read-only
mirror and answers 401 where the clients expect 404), so this module implements the handful of
endpoints those clients call, with the response shapes of huggingface_hub 2.x:

- ``GET  /api/agent-harnesses``, ``GET /api/whoami-v2``
- ``POST /api/repos/create`` (409 when it exists), ``POST|DELETE /api/repos/delete``
- ``POST /api/validate-yaml`` (README front matter must be a YAML mapping)
- ``GET  /api/{type}s/{ns}/{name}[/revision/{rev}]`` (id, 40-hex sha, siblings, cardData)
- ``POST /api/{type}s/{id}/preupload/{rev}`` (always ``uploadMode: regular``: contents travel inline,
  no LFS/Xet; ``oid`` = git blob sha1 of the file at ``rev`` so unchanged files are skipped)
- ``POST /api/{type}s/{id}/commit/{rev}`` (NDJSON header/file/deletedFile/deletedFolder; ``create_pr``)
- ``POST /api/{type}s/{id}/branch/{branch}``, ``GET /api/{type}s/{id}/refs``,
  ``GET /api/{type}s/{id}/commits/{rev}``, ``POST /api/{type}s/{id}/paths-info/{rev}``
- ``GET  /api/{type}s/{id}/tree/{rev}[/{path}]`` (missing folder: 404 ``X-Error-Code: EntryNotFound``)
- ``HEAD``/``GET /{prefix}{id}/resolve/{rev}/{path}`` (``X-Repo-Commit``, ``ETag``, ``Content-Length``)

Repositories live in memory (every commit keeps a full snapshot: test repos are tiny). Unknown repos
answer 404 ``RepoNotFound`` at once, so clients never wait on retries. Setting ``server.require_token``
makes every request (except the agent-harness registry) need ``Authorization: Bearer <token>``.

Usage::

    server, base_url = start_server()          # port 0: a free port on 127.0.0.1
    os.environ["HF_ENDPOINT"] = base_url       # before huggingface_hub is imported
    server.require_token = "hf_test"           # toggle at run time
    server.reset()                             # forget every repo
    server.commits("org/name")                 # commit history, newest first
    server.shutdown()
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

__all__ = ["HubServer", "start_server", "git_blob_sha1"]

USER = "test-user"
_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob: what the Hub returns as a regular file's ``oid``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Commit:
    sha: str
    parent: str | None
    title: str
    message: str
    files: dict[str, bytes]
    date: str


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    sdk: str | None = None
    branches: dict[str, str] = field(default_factory=dict)  # name (or refs/pr/N) -> sha
    tags: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    n_prs: int = 0

    def resolve(self, revision: str) -> Commit | None:
        sha = self.branches.get(revision) or self.tags.get(revision)
        if sha is None and revision in self.commits:
            sha = revision
        return self.commits.get(sha) if sha else None


class _HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class HubServer(ThreadingHTTPServer):
    """The server object: holds the repositories and the token requirement."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], require_token: str | None = None):
        super().__init__(address, _Handler)
        self.require_token: str | None = require_token
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lock = threading.RLock()
        self.request_log: list[tuple[str, str, dict[str, str]]] = []  # (method, path, headers)
        self._counter = itertools.count()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    # -- helpers for tests -------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every repository and the request log; drop the token requirement."""
        with self.lock:
            self.repos.clear()
            self.request_log.clear()
            self.require_token = None

    def get_repo(self, repo_id: str, repo_type: str = "model") -> Repo | None:
        with self.lock:
            return self.repos.get((repo_type, repo_id))

    def commits(self, repo_id: str, repo_type: str = "model", revision: str = "main") -> list[Commit]:
        """Commit history of ``revision``, newest first (empty when the repo does not exist)."""
        with self.lock:
            repo = self.repos.get((repo_type, repo_id))
            out: list[Commit] = []
            commit = repo.resolve(revision) if repo else None
            while commit is not None:
                out.append(commit)
                commit = repo.commits.get(commit.parent) if commit.parent else None
            return out

    def files(self, repo_id: str, repo_type: str = "model", revision: str = "main") -> dict[str, bytes]:
        """Files at ``revision`` (a copy)."""
        with self.lock:
            repo = self.repos.get((repo_type, repo_id))
            commit = repo.resolve(revision) if repo else None
            return dict(commit.files) if commit else {}

    # -- state changes -----------------------------------------------------------------------
    def _new_sha(self, *parts: Any) -> str:
        h = hashlib.sha1(repr((next(self._counter), time.time_ns(), parts)).encode())
        return h.hexdigest()

    def _create_repo(self, repo_type: str, repo_id: str, private: bool, sdk: str | None) -> Repo:
        repo = Repo(repo_type=repo_type, repo_id=repo_id, private=private, sdk=sdk)
        files: dict[str, bytes] = {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"}
        self._commit(repo, None, "main", "initial commit", "", files)
        self.repos[(repo_type, repo_id)] = repo
        return repo

    def _commit(self, repo: Repo, parent: str | None, branch: str, title: str, message: str,
                files: dict[str, bytes]) -> Commit:
        sha = self._new_sha(repo.repo_id, parent, title, sorted(files))
        date = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        commit = Commit(sha=sha, parent=parent, title=title, message=message, files=files, date=date)
        repo.commits[sha] = commit
        repo.branches[branch] = sha
        return commit


def start_server(port: int = 0, require_token: str | None = None) -> tuple[HubServer, str]:
    """Start a server on 127.0.0.1 in a daemon thread; return ``(server, base_url)``."""
    server = HubServer(("127.0.0.1", port), require_token=require_token)
    thread = threading.Thread(target=server.serve_forever, name="local-hub", daemon=True)
    thread.start()
    return server, server.base_url


def _front_matter(readme: bytes) -> dict | None:
    text = readme.decode("utf-8", errors="replace")
    if not text.startswith("---"):
        return None
    end = text.find("\n---", 3)
    if end < 0:
        return None
    data = yaml.safe_load(text[3:end])
    return data if isinstance(data, dict) else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the httpx/requests clients expect
    server: HubServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
        pass

    # -- plumbing ----------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        # Always drain the body, even on routes that ignore it: a keep-alive connection would
        # otherwise parse the leftover bytes as the next request.
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              content_type: str = "application/json", head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers)

    def _error(self, err: _HubError, head: bool = False, extra: dict[str, str] | None = None) -> None:
        headers = {"X-Error-Message": err.message, **(extra or {})}
        if err.code:
            headers["X-Error-Code"] = err.code
        self._send(err.status, json.dumps({"error": err.message}).encode(), headers, head=head)

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None

    def _check_auth(self, path: str) -> None:
        required = self.server.require_token
        if required is None or path == "/api/agent-harnesses":
            return
        token = self._token()
        if token is None:
            raise _HubError(401, "Invalid username or password.")
        if token != required:
            raise _HubError(401, "Invalid credentials in Authorization header")

    def _authorized(self) -> bool:
        """Whether the caller may see private repos."""
        required = self.server.require_token
        return self._token() is not None and (required is None or self._token() == required)

    def _repo(self, repo_type: str, repo_id: str) -> Repo:
        repo = self.server.repos.get((repo_type, repo_id))
        if repo is None or (repo.private and not self._authorized()):
            raise _HubError(404, "Repository not found", "RepoNotFound")
        return repo

    @staticmethod
    def _commit_at(repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise _HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    def _dispatch(self, method: str) -> None:
        body = self._read_body()
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query)
        self.server.request_log.append((method, self.path, dict(self.headers.items())))
        head = method == "HEAD"
        try:
            self._check_auth(path)
            with self.server.lock:
                self._route(method, path, query, body)
        except _HubError as err:
            extra = getattr(err, "headers", None)
            self._error(err, head=head, extra=extra)
        except Exception as exc:  # a bug here must show up as a clear 500, not a hang
            self._send(500, json.dumps({"error": f"local hub server error: {exc!r}"}).encode(), head=head)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    # -- routing -----------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if parts[0] == "api":
            return self._route_api(method, parts[1:], query, body)
        # /{prefix}{ns}/{name}/resolve/{rev}/{path...}
        repo_type = "model"
        if parts and parts[0] in ("datasets", "spaces") and len(parts) > 1 and parts[1] != "resolve":
            repo_type = _TYPES[parts[0]]
            parts = parts[1:]
        if len(parts) >= 5 and parts[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve(method, repo_type, f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]))
        raise _HubError(404, f"Not found: {path}")

    def _route_api(self, method: str, parts: list[str], query: dict[str, list[str]], body: bytes) -> None:
        srv = self.server
        if parts == ["agent-harnesses"]:
            return self._json(200, {"standardEnvVars": [], "harnesses": {}})
        if parts == ["whoami-v2"]:
            if self._token() is None:
                raise _HubError(401, "Invalid username or password.")
            return self._json(200, {"type": "user", "name": USER, "fullname": "Test User", "orgs": [],
                                    "auth": {"type": "access_token",
                                             "accessToken": {"displayName": "test", "role": "write"}}})
        if parts == ["validate-yaml"] and method == "POST":
            return self._validate_yaml(body)
        if parts[:1] == ["repos"] and method in ("POST", "DELETE"):
            payload = json.loads(body or b"{}")
            repo_type = payload.get("type") or "model"
            ns = payload.get("organization") or USER
            repo_id = f"{ns}/{payload['name']}"
            if parts[1:] == ["create"]:
                url = f"{srv.base_url}/{_URL_PREFIX[repo_type]}{repo_id}"
                if (repo_type, repo_id) in srv.repos:  # the Hub names the existing repo in its 409
                    return self._json(409, {"error": "You already created this model repo", "url": url},
                                      {"X-Error-Message": "You already created this model repo"})
                private = payload.get("private") or payload.get("visibility") == "private"
                srv._create_repo(repo_type, repo_id, bool(private), payload.get("sdk"))
                return self._json(200, {"url": url, "name": repo_id})
            if parts[1:] == ["delete"]:
                if srv.repos.pop((repo_type, repo_id), None) is None:
                    raise _HubError(404, "Repository not found", "RepoNotFound")
                return self._json(200, {})
        if len(parts) >= 3 and parts[0] in _TYPES:
            repo_type = _TYPES[parts[0]]
            repo_id = f"{parts[1]}/{parts[2]}"
            rest = parts[3:]
            repo = self._repo(repo_type, repo_id)
            if not rest and method == "GET":
                return self._info(repo, "main")
            action, args = rest[0], rest[1:]
            if action == "revision" and args and method == "GET":
                return self._info(repo, "/".join(args))
            if action == "preupload" and args and method == "POST":
                return self._preupload(repo, args[0], body)
            if action == "commit" and args and method == "POST":
                return self._commit(repo, args[0], body, query)
            if action == "tree" and args and method == "GET":
                return self._tree(repo, args[0], "/".join(args[1:]), query)
            if action == "paths-info" and args and method == "POST":
                return self._paths_info(repo, args[0], body)
            if action == "branch" and args and method == "POST":
                return self._branch(repo, "/".join(args), body)
            if action == "refs" and method == "GET":
                return self._json(200, {
                    "branches": [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": s}
                                 for b, s in repo.branches.items() if not b.startswith("refs/pr/")],
                    "tags": [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": s} for t, s in repo.tags.items()],
                    "converts": [],
                    "pullRequests": [{"name": b, "ref": b, "targetCommit": s}
                                     for b, s in repo.branches.items() if b.startswith("refs/pr/")],
                })
            if action == "commits" and args and method == "GET":
                commits = self.server.commits(repo_id, repo_type, args[0])
                if not commits:
                    self._commit_at(repo, args[0])
                return self._json(200, [{"id": c.sha, "title": c.title, "message": c.message, "date": c.date,
                                         "authors": [{"user": USER}]} for c in commits])
        raise _HubError(404, f"Not found: /api/{'/'.join(parts)}")

    # -- endpoints ---------------------------------------------------------------------------
    def _validate_yaml(self, body: bytes) -> None:
        payload = json.loads(body or b"{}")
        content = payload.get("content", "")
        try:
            meta = _front_matter(content.encode())
        except yaml.YAMLError as exc:
            return self._json(400, {"errors": [{"message": f"Invalid YAML: {exc}"}]})
        errors = []
        if meta is not None and "model-index" in meta:
            mi = meta["model-index"]
            if not (isinstance(mi, list) and all(isinstance(m, dict) and "results" in m for m in mi)):
                errors.append({"message": '"model-index" must be a list of {name, results}'})
        if errors:
            return self._json(400, {"errors": errors})
        return self._json(200, {"errors": [], "warnings": []})

    def _info(self, repo: Repo, revision: str) -> None:
        commit = self._commit_at(repo, revision)
        card = None
        if "README.md" in commit.files:
            try:
                card = _front_matter(commit.files["README.md"])
            except yaml.YAMLError:
                card = None
        info: dict[str, Any] = {
            "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": commit.sha,
            "private": repo.private,
            "disabled": False,
            "gated": False,
            "lastModified": commit.date,
            "tags": list((card or {}).get("tags") or []),
            "siblings": [{"rfilename": p} for p in sorted(commit.files)],
        }
        if card is not None:
            info["cardData"] = card
            for key in ("library_name", "pipeline_tag"):
                if key in card:
                    info[key] = card[key]
            if "model-index" in card:
                info["model-index"] = card["model-index"]
        if repo.repo_type == "space":
            info["sdk"] = repo.sdk
        self._json(200, info)

    def _preupload(self, repo: Repo, revision: str, body: bytes) -> None:
        payload = json.loads(body or b"{}")
        commit = repo.resolve(revision)
        if commit is None and not revision.startswith("refs/pr/"):
            self._commit_at(repo, revision)  # raises RevisionNotFound
        existing = commit.files if commit else {}
        files = []
        for f in payload.get("files", []):
            entry = {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
            if f["path"] in existing:
                entry["oid"] = git_blob_sha1(existing[f["path"]])
            files.append(entry)
        self._json(200, {"files": files, "commitOid": commit.sha if commit else None})

    def _commit(self, repo: Repo, revision: str, body: bytes, query: dict[str, list[str]]) -> None:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise _HubError(400, "Commit payload must start with a header line")
        header = lines[0]["value"]
        create_pr = query.get("create_pr", ["0"])[0] in ("1", "true")
        base = self._commit_at(repo, revision)
        branch = revision
        pr_num = None
        if create_pr:
            repo.n_prs += 1
            pr_num = repo.n_prs
            branch = f"refs/pr/{pr_num}"
        elif revision not in repo.branches:
            raise _HubError(400, f"Cannot commit to {revision}: not a branch")
        parent_commit = header.get("parentCommit")
        if parent_commit and not base.sha.startswith(parent_commit):
            raise _HubError(412, "A commit has happened since. Please refresh and try again.")
        files = dict(base.files)
        for item in lines[1:]:
            key, value = item.get("key"), item.get("value", {})
            p = value.get("path", "")
            if not p or p.startswith("/") or ".." in p.split("/"):
                raise _HubError(400, f"Invalid path in commit: {p!r}")
            if key == "file":
                if value.get("encoding") != "base64":
                    raise _HubError(400, "Only base64-encoded inline files are supported")
                files[p] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                if p not in files:
                    raise _HubError(404, f"A file with this name doesn't exist: {p}", "EntryNotFound")
                del files[p]
            elif key == "deletedFolder":
                prefix = p.rstrip("/") + "/"
                for name in [n for n in files if n.startswith(prefix)]:
                    del files[name]
            elif key == "lfsFile":
                raise _HubError(400, "This local hub server only accepts regular (inline) files")
            else:
                raise _HubError(400, f"Unknown commit operation {key!r}")
        commit = self.server._commit(repo, base.sha, branch, header.get("summary", ""),
                                     header.get("description", ""), files)
        prefix = f"{self.server.base_url}/{_URL_PREFIX[repo.repo_type]}{repo.repo_id}"
        out = {"success": True, "commitOid": commit.sha, "commitUrl": f"{prefix}/commit/{commit.sha}"}
        if pr_num is not None:
            out["pullRequestUrl"] = f"{prefix}/discussions/{pr_num}"
        self._json(200, out)

    def _branch(self, repo: Repo, branch: str, body: bytes) -> None:
        payload = json.loads(body or b"{}")
        if branch in repo.branches:
            raise _HubError(409, f"Reference already exists: refs/heads/{branch}")
        start = self._commit_at(repo, payload.get("startingPoint") or "main")
        repo.branches[branch] = start.sha
        self._json(200, {})

    @staticmethod
    def _entries(commit: Commit, folder: str, recursive: bool) -> list[dict[str, Any]]:
        prefix = folder.strip("/") + "/" if folder.strip("/") else ""
        out: dict[str, dict[str, Any]] = {}
        for name in sorted(commit.files):
            if not name.startswith(prefix):
                continue
            rel = name[len(prefix):]
            pieces = rel.split("/")
            for depth in range(1, len(pieces)):  # the folders on the way
                if depth > 1 and not recursive:
                    break
                sub = prefix + "/".join(pieces[:depth])
                out.setdefault(sub, {"type": "directory", "path": sub, "oid": hashlib.sha1(sub.encode()).hexdigest()})
            if recursive or len(pieces) == 1:
                data = commit.files[name]
                out[name] = {"type": "file", "path": name, "size": len(data), "oid": git_blob_sha1(data)}
        return list(out.values())

    def _tree(self, repo: Repo, revision: str, folder: str, query: dict[str, list[str]]) -> None:
        commit = self._commit_at(repo, revision)
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        if folder and not any(n.startswith(folder.strip("/") + "/") for n in commit.files):
            err = _HubError(404, f"Entry not found: {folder}", "EntryNotFound")
            err.headers = {"X-Repo-Commit": commit.sha}  # type: ignore[attr-defined]
            raise err
        self._json(200, self._entries(commit, folder, recursive))

    def _paths_info(self, repo: Repo, revision: str, body: bytes) -> None:
        commit = self._commit_at(repo, revision)
        form = urllib.parse.parse_qs(body.decode())
        out = []
        for p in form.get("paths", []):
            if p in commit.files:
                data = commit.files[p]
                out.append({"type": "file", "path": p, "size": len(data), "oid": git_blob_sha1(data)})
            elif any(n.startswith(p.rstrip("/") + "/") for n in commit.files):
                out.append({"type": "directory", "path": p, "oid": hashlib.sha1(p.encode()).hexdigest()})
        self._json(200, out)

    def _resolve(self, method: str, repo_type: str, repo_id: str, revision: str, filename: str) -> None:
        repo = self._repo(repo_type, repo_id)
        commit = self._commit_at(repo, revision)
        if filename not in commit.files:
            err = _HubError(404, "Entry not found", "EntryNotFound")
            err.headers = {"X-Repo-Commit": commit.sha}  # type: ignore[attr-defined]
            raise err
        data = commit.files[filename]
        headers = {"X-Repo-Commit": commit.sha, "ETag": f'"{git_blob_sha1(data)}"', "Accept-Ranges": "bytes"}
        status = 200
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and method == "GET":
            start_s, _, end_s = rng[6:].partition("-")
            start = int(start_s or 0)
            end = int(end_s) if end_s else len(data) - 1
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start:end + 1], 206
        self._send(status, data, headers, content_type="application/octet-stream", head=method == "HEAD")


_SESSION: tuple[HubServer, str] | None = None


def ensure_session_server() -> tuple[HubServer, str]:
    """Start the process-wide server once and point the HF clients at it (idempotent).

    Must run before ``huggingface_hub``/``transformers``/``evaluate`` are imported, since they read
    ``HF_ENDPOINT`` (and ``HF_HOME``, ``HF_HUB_OFFLINE``) at import: ``tests/conftest.py`` calls it at import
    time. The HF cache goes to a fresh temporary folder so that tests never read or write ``~/.cache``.
    """
    global _SESSION
    if _SESSION is None:
        import atexit
        import os
        import shutil
        import tempfile

        server, url = start_server()
        home = tempfile.mkdtemp(prefix="hf-hybrid-test-hf-home-")
        atexit.register(shutil.rmtree, home, ignore_errors=True)
        atexit.register(server.shutdown)
        os.environ["HF_ENDPOINT"] = url
        os.environ["HF_HOME"] = home
        for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
                    "HF_DATASETS_OFFLINE", "HF_EVALUATE_OFFLINE", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
            os.environ.pop(var, None)
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        os.environ.setdefault("HF_UPDATE_DOWNLOAD_COUNTS", "0")
        _SESSION = (server, url)
    return _SESSION
