"""A loopback HTTP server for tests that stays quiet when a client drops its connection.

socketserver prints the traceback of any handler error to ``sys.stderr``. A client closing a
keep-alive connection (a pool shutting down) is not a failure of the test, yet that traceback,
printed by a server thread that outlives its test, lands in whatever later test reads stderr.
"""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any


class QuietHTTPServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)
