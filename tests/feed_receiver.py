"""A system's webhook endpoint, as a 110 system or a 311 app would run one: it checks each delivery's
signature, records the CloudEvent it carries (parsed with the CloudEvents SDK), and can be taken
offline (answering 503) to see the platform hold the feed and deliver it when it is back."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat

from devtools.stack import free_port
from services.notify.adapters.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


class FeedReceiver:
    """Webhook endpoints on 127.0.0.1, one path per feed (`/<feed>`), sharing one secret."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.port = free_port()
        self.offline = False
        self.refused_while_offline = 0
        self.bad_signatures = 0
        self._lock = threading.Lock()
        self._events: dict[str, list[dict[str, Any]]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.take(self.path.strip("/"), dict(self.headers.items()), body, self)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, feed: str) -> str:
        """The endpoint of one feed."""
        return f"http://127.0.0.1:{self.port}/{feed}"

    def start(self) -> "FeedReceiver":
        """Listen (in a thread of this process)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self._server.shutdown()
        self._server.server_close()

    def take(self, feed: str, headers: dict[str, str], body: bytes, handler: BaseHTTPRequestHandler) -> None:
        """Answer one delivery: 503 while offline, 401 for a bad signature, else record it and 200."""
        status = 200
        if self.offline:
            status = 503
            with self._lock:
                self.refused_while_offline += 1
        elif not verify(
            self.secret, headers.get(TIMESTAMP_HEADER, ""), body, headers.get(SIGNATURE_HEADER, "")
        ):
            status = 401
            with self._lock:
                self.bad_signatures += 1
        else:
            event = from_http(
                HTTPMessage(headers={k.lower(): v for k, v in headers.items()}, body=body), JSONFormat()
            )
            record = {
                "id": event.get_id(),
                "type": event.get_type(),
                "time": event.get_time(),
                "data": event.get_data(),
                "idempotency_key": headers.get("Idempotency-Key"),
                "content_type": headers.get("Content-Type"),
            }
            with self._lock:
                self._events.setdefault(feed, []).append(record)
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.end_headers()
        handler.wfile.write(json.dumps({"ok": status == 200}).encode())

    def events(self, feed: str) -> list[dict[str, Any]]:
        """The events delivered on one feed, in the order they came."""
        with self._lock:
            return list(self._events.get(feed, []))
