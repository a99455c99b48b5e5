"""Real TCP servers that misbehave on purpose: a JWKS endpoint that can stop answering, and a
PostgreSQL proxy whose later connections are slow. Both count the connections they accept."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any
from urllib.parse import urlparse


class _Listener:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port: int = self.sock.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)
            threading.Thread(target=self.handle, args=(conn, self.accepted), daemon=True).start()

    def handle(self, conn: socket.socket, n: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._closed = True
        self.sock.close()
        for conn in self._held:
            try:
                conn.close()
            except OSError:
                pass

    def __enter__(self) -> _Listener:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class JwksServer(_Listener):
    """``down``: accepts connections and never answers (the worst outage: every client waits out
    its timeout). ``up``: answers any GET with ``document`` as JSON."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.up = False
        self.delay = 0.0  # seconds before an answer, when up
        super().__init__()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, conn: socket.socket, n: int) -> None:
        if not self.up:
            return  # held open, silent
        try:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            time.sleep(self.delay)
            body = json.dumps(self.document).encode()
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
        except OSError:
            pass
        finally:
            conn.close()


class SlowPostgresProxy(_Listener):
    """Forwards to PostgreSQL; every connection after the first waits ``delay`` seconds before
    it reaches the server (a loaded or distant database)."""

    def __init__(self, database_url: str, delay: float) -> None:
        url = urlparse(database_url)
        self.upstream = (url.hostname or "127.0.0.1", url.port or 5432)
        self.delay = delay
        self._database_url = database_url
        super().__init__()

    @property
    def database_url(self) -> str:
        url = urlparse(self._database_url)
        netloc = f"{url.username}@127.0.0.1:{self.port}" if url.username else f"127.0.0.1:{self.port}"
        return url._replace(netloc=netloc).geturl()

    def handle(self, conn: socket.socket, n: int) -> None:
        if n > 1:
            time.sleep(self.delay)
        try:
            upstream = socket.create_connection(self.upstream)
        except OSError:
            conn.close()
            return
        self._held.append(upstream)
        threading.Thread(target=_pipe, args=(conn, upstream), daemon=True).start()
        _pipe(upstream, conn)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
