"""The HTTP transport: turns socket traffic into app Requests and app Responses into bytes.

Also where injected network faults happen, because only the transport can drop a connection.
"""

from __future__ import annotations

import logging
import shutil
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .app import HarvestApp, Request, Response, json_response

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


class HarvestHTTPServer(ThreadingHTTPServer):
    """Tracks open connections so stop() also closes idle keep-alive sockets."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: HarvestApp) -> None:
        self.app = app
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, HarvestRequestHandler)

    def process_request(self, request, client_address) -> None:  # type: ignore[override]
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:  # type: ignore[override]
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            open_now = list(self._connections)
        for connection in open_now:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:  # type: ignore[override]
        # Clients dropping connections is routine here (timeouts, resets); keep it out of stderr.
        log.debug("error while serving %s", client_address, exc_info=True)


class HarvestRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LocalGreenhouse/1.0"
    timeout = 60  # idle keep-alive connections give up after this
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: HarvestHTTPServer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, oversized headers) in JSON like everything else."""
        reason = message or self.responses.get(code, ("error",))[0]
        self._send(json_response(code, {"message": reason}), close=True)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)

    def _dispatch(self, method: str) -> None:
        body = self._read_body()
        if body is None:
            return
        parts = urlsplit(self.path)
        request = Request(method, parts.path, parts.query, self.headers, body)
        try:
            response = self.server.app.handle(request)
        except Exception:
            log.exception("local greenhouse failed on %s %s", method, parts.path)
            response = json_response(500, {"message": "internal server error"})
        self._send(response)

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding"):
            self._send(json_response(411, {"message": "send a Content-Length"}), close=True)
            return None
        raw_length = self.headers.get("Content-Length", "0") or "0"
        if not raw_length.isdigit():
            self._send(json_response(400, {"message": "bad Content-Length"}), close=True)
            return None
        length = int(raw_length)
        if length > MAX_BODY_BYTES:
            self._send(json_response(413, {"message": "request body too large"}), close=True)
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, response: Response, close: bool = False) -> None:
        if response.action == "reset":
            self._reset()
            return
        if response.action == "timeout":
            self.server.stopping.wait(response.hold_seconds)
            self.close_connection = True
            return
        if response.hold_seconds > 0:  # an injected hang: answer, but late
            if self.server.stopping.wait(response.hold_seconds):
                self.close_connection = True
                return
        try:
            self.send_response(response.status)
            headers = dict(response.headers)
            if response.file is None:
                headers["Content-Length"] = str(len(response.body))
            for name, value in headers.items():
                self.send_header(name, value)
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if response.file is not None:
                with response.file.open("rb") as source:
                    shutil.copyfileobj(source, self.wfile, 64 * 1024)
            else:
                self.wfile.write(response.body)
        except OSError:  # client went away, or a file vanished mid-stream
            self.close_connection = True

    def _reset(self) -> None:
        """Abort the connection with a TCP RST: the client sees a reset, not a clean close."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
