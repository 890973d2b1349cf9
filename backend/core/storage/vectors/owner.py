"""The one-writer rule of the embedded engine: one process owns the folder, the others ask it.

qdrant-edge lets only one process open a shard. The first local process that needs the folder
takes an exclusive lock on ``owner.lock``, opens the shards (converting an old local-mode folder
first) and serves the other processes on an authenticated Unix socket; the others send it each
operation. In ``s2m serve`` / ``s2m demo`` the serving process opens the store before it starts
its workers, so it is the owner, and a worker that dies or restarts loses nothing. When an owner
exits, the kernel frees its lock and its socket; the next call of any other process takes over.

The socket lives in Linux's abstract namespace (no file, no path-length limit), named after the
folder; every connection must prove it knows the folder's ``owner.key`` (0600) before it may
send anything (``multiprocessing.connection``'s HMAC handshake), so only a user who can read the
data folder can use it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

from backend.core.storage.vectors.edge import EdgeEngine
from backend.core.storage.vectors.upgrade import convert_local_mode_folder

log = logging.getLogger(__name__)

LOCK_FILE = "owner.lock"
KEY_FILE = "owner.key"
# What a non-owner may ask the owner to do: the engine's operations, nothing else.
OPERATIONS = frozenset(
    {
        "ping",
        "collection_exists",
        "ensure_collection",
        "drop_collection",
        "set_alias",
        "aliases",
        "upsert",
        "delete",
        "embeddings",
        "point_ids",
        "count",
        "search",
        "optimize",
    }
)
# A connection broken or refused: the owner is gone or not yet there, so elect again.
_GONE = (ConnectionError, EOFError, FileNotFoundError, OSError)


class OwnerUnavailableError(TimeoutError):
    """No process answered for the folder in time (the owner is busy starting or stuck)."""


class RemoteOperationError(RuntimeError):
    """The owner's engine raised an error that cannot travel as itself; the message says what."""


def socket_address(root: Path) -> str:
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:32]
    return f"\0s2m-vectors-{digest}"


def _read_or_make_key(root: Path) -> bytes:
    path = root / KEY_FILE
    if not path.is_file():
        staged = root / (KEY_FILE + f".{os.getpid()}")
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
        os.replace(staged, path)
    return path.read_bytes()


class _Owner:
    """This process owns the folder: the engine, the lock that proves it and the socket it serves."""

    def __init__(self, root: Path, lock_fd: int):
        self.root = root
        self.lock_fd = lock_fd
        self.users = 0
        self.upgrade = convert_local_mode_folder(root)
        self.engine = EdgeEngine(root)
        self.address = socket_address(root)
        self.key = _read_or_make_key(root)
        self.listener = Listener(self.address, family="AF_UNIX", authkey=self.key)
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="s2m-vectors-owner", daemon=True).start()
        log.info("this process (pid %s) owns the embedded vector folder", os.getpid())

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection = self.listener.accept()
            except Exception:  # a client failing the handshake, or the listener closed
                continue
            threading.Thread(target=self._serve, args=(connection,), name="s2m-vectors-peer", daemon=True).start()

    def _serve(self, connection: Connection) -> None:
        with connection:
            while not self._closed.is_set():
                try:
                    name, args = connection.recv()
                except (EOFError, OSError):
                    return
                connection.send(self.run(name, args))

    def run(self, name: str, args: tuple) -> tuple[bool, Any]:
        if name not in OPERATIONS:
            return False, RemoteOperationError(f"unknown vector operation {name!r}")
        try:
            return True, getattr(self.engine, name)(*args)
        except (LookupError, ValueError, TypeError) as exc:  # ours, and picklable as themselves
            return False, exc
        except Exception as exc:  # the engine's own errors may not pickle: send their words
            log.exception("vector operation %s failed", name)
            return False, RemoteOperationError(f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(Exception):  # wake the accept loop so it sees the flag
            Client(self.address, family="AF_UNIX", authkey=self.key).close()
        self.listener.close()
        self.engine.close()
        os.close(self.lock_fd)  # releases the lock: another process may own the folder now


_owned: dict[Path, _Owner] = {}
_owned_lock = threading.Lock()


def _forget_after_fork() -> None:
    """A forked child owns nothing: the shards and the lock belong to its parent."""
    global _owned_lock
    _owned.clear()
    _owned_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def _become_owner(root: Path) -> _Owner | None:
    """Own the folder if no other process does (None when one does)."""
    with _owned_lock:
        if root in _owned:
            return _owned[root]
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            # A POSIX record lock: held by this process only (not by forked children), freed at exit.
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        try:
            owner = _owned[root] = _Owner(root, fd)
        except BaseException:
            os.close(fd)
            raise
        return owner


class EmbeddedEngine:
    """The engine operations on one embedded folder, from whichever process calls them.

    In the owning process they run on the engine directly; elsewhere each is sent to the owner
    over a pooled connection. If no process owns the folder, this one takes it over.
    """

    name = "qdrant-edge"

    def __init__(self, root: Path, wait_seconds: float = 60.0):
        self.root = Path(root).absolute()
        self.wait_seconds = wait_seconds
        self._pool: queue.LifoQueue[Connection] = queue.LifoQueue()
        self._pid = os.getpid()
        self._using: _Owner | None = None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in OPERATIONS:
            raise AttributeError(name)
        return lambda *args: self.call(name, args)

    def own(self) -> bool:
        """Take the folder now if no other process has it (the serving process does at start)."""
        return self._owner() is not None

    def _owner(self) -> _Owner | None:
        owner = _owned.get(self.root) or _become_owner(self.root)
        if owner is not None and self._using is not owner:
            owner.users += 1
            self._using = owner
        return owner

    def owns(self) -> bool:
        return _owned.get(self.root) is not None

    def upgrade_report(self) -> dict[str, int] | None:
        owner = _owned.get(self.root)
        return None if owner is None else owner.upgrade

    def call(self, name: str, args: tuple) -> Any:
        deadline = time.monotonic() + self.wait_seconds
        pause = 0.01
        while True:
            owner = self._owner()
            if owner is not None:
                ok, value = owner.run(name, args)
            else:
                try:
                    ok, value = self._ask(name, args)
                except _GONE:  # no owner listening (yet): elect again
                    if time.monotonic() > deadline:
                        raise OwnerUnavailableError(
                            f"no process answered for the vector folder within {self.wait_seconds:g} s"
                        ) from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.2)
                    continue
            if ok:
                return value
            raise value

    def _ask(self, name: str, args: tuple) -> tuple[bool, Any]:
        if self._pid != os.getpid():  # connections are not shared with a forked child
            self._pool, self._pid = queue.LifoQueue(), os.getpid()
        try:
            connection = self._pool.get_nowait()
        except queue.Empty:
            key = (self.root / KEY_FILE).read_bytes()
            connection = Client(socket_address(self.root), family="AF_UNIX", authkey=key)
        try:
            connection.send((name, args))
            answer = connection.recv()
        except BaseException:
            connection.close()
            raise
        self._pool.put(connection)
        return answer

    def close(self) -> None:
        while not self._pool.empty():
            self._pool.get_nowait().close()
        owner, self._using = self._using, None
        if owner is None:
            return
        with _owned_lock:
            owner.users -= 1
            if owner.users <= 0 and _owned.get(self.root) is owner:
                del _owned[self.root]
                owner.close()
