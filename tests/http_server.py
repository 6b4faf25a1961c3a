"""A real HTTP server on 127.0.0.1 (or another loopback address) serving test pages, with routes a test can change."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network

# What the settings of a test that fetches from a PageServer allow (ALLOW_PRIVATE_NETWORKS).
LOCAL_NETWORKS = (ip_network("127.0.0.0/8"),)


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the response
    drip: float = 0.0  # seconds between the body's bytes: a server that sends its page slowly, byte by byte


class PageServer:
    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self.host_headers: list[str] = []
        self.request_headers: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.requests.append(self.path)
                server.host_headers.append(self.headers.get("Host", ""))
                server.request_headers.append(dict(self.headers.items()))
                route = server.routes.get(self.path) or server.routes.get(
                    self.path.split("?")[0], Route(b"not found", 404, "text/plain")
                )
                if self._unchanged(route):
                    route = Route(status=304, headers=route.headers)
                time.sleep(route.delay)
                try:
                    self._respond(route)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as a client with a deadline does

            def _unchanged(self, route: Route) -> bool:
                """A conditional GET whose validators match the route's ETag or Last-Modified header."""
                sent = {name.lower(): value for name, value in route.headers.items()}
                return any(
                    self.headers.get(condition) is not None and self.headers.get(condition) == sent.get(validator)
                    for condition, validator in (("If-None-Match", "etag"), ("If-Modified-Since", "last-modified"))
                )

            def _respond(self, route: Route) -> None:
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if not route.drip:
                    self.wfile.write(route.body)
                    return
                for byte in route.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(route.drip)

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer((host, 0), Handler)
        if tls:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._scheme = "https" if tls else "http"
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{self._scheme}://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, body: str | bytes = b"", **options) -> str:
        self.routes[path] = Route(body.encode() if isinstance(body, str) else body, **options)
        return self.url(path)

    def __enter__(self) -> PageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def article_html(title: str, paragraphs: list[str], site: str = "The Daily", published: str = "2024-10-22") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title} - {site}</title><meta property='og:site_name' content='{site}'>"
        f"<meta property='og:title' content='{title}'>"
        f"<meta property='article:published_time' content='{published}T08:00:00Z'></head>"
        f"<body><nav><a href='/'>Home</a> | <a href='/world'>World</a></nav>"
        f"<article><h1>{title}</h1>{body}</article><footer>Copyright The Daily</footer></body></html>"
    )


def listening(port: int, timeout: float = 30.0) -> None:
    """Waits until something listens on 127.0.0.1:`port` (a webhook server: PTB registers the webhook before it
    starts listening)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
