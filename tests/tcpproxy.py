"""A TCP proxy on loopback that a test puts between a client and a server, to cut a connection at the
moment it chooses.

It forwards bytes both ways, a thread per direction and connection. Told
to `cut` at a message, it watches what clients send; on the first
connection whose stream has carried `armed_by`, at the next `message` it
either drops the message and closes both ends (the server never saw it),
or forwards it, waits for the server's first answer, swallows that and
closes both ends (the server did it; the client never hears). It can also
keep the server's end open (the server does not learn the client is gone,
as in a network partition) and refuse every connection after the cut (the
server is unreachable again). It understands no protocol: `message` is the
exact bytes to look for, so it serves PostgreSQL's wire protocol as well
as HTTP.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType

#: How long a delivered message's answer is waited for before the cut happens anyway.
ANSWER_TIMEOUT = 5.0


@dataclass
class _Cut:
    message: bytes
    deliver: bool
    armed_by: bytes
    keep_server: bool
    then_refuse: bool


class _Link:
    """One client's connection and the proxy's own connection to the server for it."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client, self.server = client, server
        self.swallowing = threading.Event()  # the message went through: what the server says next is dropped
        self.answered = threading.Event()

    def close(self, keep_server: bool = False) -> None:
        ends = (self.client,) if keep_server else (self.client, self.server)
        for end in ends:
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)  # wakes a recv() in the other thread
            end.close()


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `upstream`; use as a context manager."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._cut: _Cut | None = None
        self._refusing = False
        self._links: list[_Link] = []
        self._threads: list[threading.Thread] = []
        #: Set once the cut has happened.
        self.cut_done = threading.Event()
        self.connections = 0

    def cut(
        self,
        message: bytes,
        *,
        deliver: bool,
        armed_by: bytes = b"",
        keep_server: bool = False,
        then_refuse: bool = False,
    ) -> None:
        """Cut, once, the first connection whose client sent `armed_by` and then `message`."""
        with self._lock:
            self._cut = _Cut(message, deliver, armed_by, keep_server, then_refuse)
            self.cut_done.clear()

    def refuse(self) -> None:
        """Close every new connection as soon as it is accepted."""
        self._refusing = True

    def __enter__(self) -> TcpProxy:
        self._start(self._accept_loop)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() that close() alone would not
        self._listener.close()
        with self._lock:
            links = list(self._links)
        for link in links:
            link.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed: the proxy stops
            if self._refusing:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            link = _Link(client, server)
            with self._lock:
                self._links.append(link)
                self.connections += 1
            self._start(self._client_to_server, link)
            self._start(self._server_to_client, link)

    def _client_to_server(self, link: _Link) -> None:
        armed = False
        tail = b""  # the end of what came before, so that a pattern split between reads is found
        while True:
            try:
                chunk = link.client.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                link.close()
                return
            seen = tail + chunk
            with self._lock:
                cut = self._cut
                start = 0
                if cut is not None and not armed and cut.armed_by in seen:
                    armed, start = True, seen.index(cut.armed_by) + len(cut.armed_by)
                found = seen.find(cut.message, start) if cut is not None and armed else -1
                if found >= 0:
                    self._cut = None  # one cut only
            if cut is not None and found >= 0:
                end = found - len(tail) + (len(cut.message) if cut.deliver else 0)
                self._cut_here(link, cut, chunk[: max(0, end)])
                return
            try:
                link.server.sendall(chunk)
            except OSError:
                link.close()
                return
            keep = max(len(cut.message) if cut else 0, len(cut.armed_by) if cut else 0)
            tail = seen[-keep:] if keep else b""

    def _cut_here(self, link: _Link, cut: _Cut, forward: bytes) -> None:
        if cut.then_refuse:
            self._refusing = True
        if cut.deliver:
            link.swallowing.set()
        with suppress(OSError):
            link.server.sendall(forward)
        if cut.deliver:
            link.answered.wait(ANSWER_TIMEOUT)
        link.close(keep_server=cut.keep_server)
        self.cut_done.set()

    def _server_to_client(self, link: _Link) -> None:
        while True:
            try:
                chunk = link.server.recv(65536)
            except OSError:
                chunk = b""
            if link.swallowing.is_set():
                link.answered.set()
                if chunk:
                    continue  # what the server answered never reaches the client
            if not chunk:
                link.close()
                return
            try:
                link.client.sendall(chunk)
            except OSError:
                if not link.swallowing.is_set():
                    link.close()
                    return
