"""A local npm registry on 127.0.0.1 for the tests: the two endpoints npp's fetch uses
(version metadata `/<name>/<version>` with `dist.tarball` and `dist.integrity`, and the
tarball), real HTTP from a real server thread, and ways to misbehave (a truncated body, other
bytes than the metadata's integrity). Tests point `NPP_NPM_REGISTRY` at `url`; nothing ever
reaches the network."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple
from urllib.parse import unquote


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def make_tarball(files: Dict[str, bytes]) -> bytes:
    """An npm-style .tgz: every file under `package/`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@dataclass
class Published:
    data: bytes
    #: what the metadata claims (default: the true integrity of `data`)
    integrity: str
    #: "ok", or "truncate" (announce the full length, send half, close)
    mode: str = "ok"


class FakeRegistry:
    """`with FakeRegistry() as reg: reg.publish(...); os.environ[...] = reg.url`."""

    def __init__(self) -> None:
        self.packages: Dict[Tuple[str, str], Published] = {}
        self.requests: List[str] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep the test output clean
                pass

            def do_GET(self) -> None:
                registry.requests.append(self.path)
                path = unquote(self.path)
                for (name, version), pub in registry.packages.items():
                    tgz = f"/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"
                    if path == f"/{name}/{version}":
                        body = json.dumps({"name": name, "version": version, "dist": {
                            "tarball": registry.url + tgz, "integrity": pub.integrity}}).encode()
                        return self._send(body, len(body))
                    if path == tgz:
                        if pub.mode == "truncate":
                            return self._send(pub.data[: len(pub.data) // 2], len(pub.data))
                        return self._send(pub.data, len(pub.data))
                self.send_error(404)

            def _send(self, body: bytes, length: int) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def publish(self, name: str, version: str, data: bytes, claimed: Optional[str] = None,
                mode: str = "ok") -> None:
        self.packages[(name, version)] = Published(data, claimed or integrity(data), mode)

    def tarball_requests(self) -> int:
        return sum(r.endswith(".tgz") for r in self.requests)

    def __enter__(self) -> "FakeRegistry":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()
