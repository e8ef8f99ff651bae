"""uvicorn's HTTP protocol with a deadline for the request line and headers.

uvicorn (0.54, httptools) times a connection only while it idles between requests
(``timeout_keep_alive``): a new connection that sends nothing, or a client that sends its
headers a byte at a time, holds a connection and its memory for ever (a slowloris).
This protocol gives each request ``REQUEST_HEADER_TIMEOUT_SECONDS`` from the connection
(or from the first byte of a later request on a kept-alive one) to its last header line;
past it, a request begun is answered 408 and the connection closed. The body has its own
bounds, in app.api.middleware.BodyLimit. ``bouncer serve`` uses it; a bare
``uvicorn app.main:app`` does not (README, "Limits").
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.settings import get_settings

log = logging.getLogger("bouncer.http")


class HeaderDeadlineProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = get_settings().REQUEST_HEADER_TIMEOUT_SECONDS
        self._header_timer: asyncio.TimerHandle | None = None
        self._request_begun = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_begun = True
        if self._header_timer is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        self._request_begun = False
        super().on_headers_complete()

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._request_begun:
            log.info("closed a connection whose headers took over %g s", self.header_timeout)
            body = json.dumps(
                {
                    "error": f"the request headers took longer than {self.header_timeout:g} s "
                    "to arrive: send the whole request at once"
                }
            ).encode()
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                b"connection: close\r\ncontent-length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
        self.transport.close()
