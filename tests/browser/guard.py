"""What every browser test must not see: a request to another host (issue #18: "no request
leaves for another host"), a console error, a Content-Security-Policy violation."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Error, Request, Response, Route

# Not network requests: nothing leaves the machine for these.
_LOCAL_SCHEMES = frozenset({"about", "data", "blob"})
# Chromium's console line for a page answered with an HTTP error status. A page the test
# expects to be a 4xx logs it too; it is allowed for documents only (a missing stylesheet
# or image stays an error).
_HTTP_ERROR_LINE = "Failed to load resource: the server responded with a status of"


@dataclass
class Guard:
    origin: str = ""
    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    documents: set[str] = field(default_factory=set)

    def watch(self, context: BrowserContext, origin: str) -> None:
        """Record every request of ``context``; abort (and remember) any for another host."""
        self.origin = origin
        context.on("request", self._on_request)
        context.on("response", self._on_response)
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self.page_errors.append(str(error.error)))
        context.route(lambda url: not self._is_ours(url), self._abort)

    def _is_ours(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in _LOCAL_SCHEMES or f"{parts.scheme}://{parts.netloc}" == self.origin

    def _on_request(self, request: Request) -> None:
        self.requests.append(request.url)
        if not self._is_ours(request.url):
            self.foreign.append(request.url)

    def _on_response(self, response: Response) -> None:
        if response.request.resource_type == "document":
            self.documents.add(response.url)

    def _abort(self, route: Route) -> None:
        with contextlib.suppress(Error):  # the page went away first
            route.abort("blockedbyclient")

    def _on_console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.console.append(f"CSP violation: {text}")
        elif message.type == "error":
            if text.startswith(_HTTP_ERROR_LINE) and message.location.get("url") in self.documents:
                return
            self.console.append(f"console error at {message.location.get('url')}: {text}")

    def problems(self) -> list[str]:
        found = [f"request to another host: {url}" for url in self.foreign]
        found += self.console
        found += [f"page error: {error}" for error in self.page_errors]
        return found
