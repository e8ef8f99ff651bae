"""Security headers on every console response: a strict CSP (no script runs, every asset is
bouncer's own), no framing, no caching of pages that show the list."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No JavaScript at all: forms post, links link, charts are inline SVG. form-action 'self'
# keeps an injected form from posting elsewhere; base-uri 'none' an injected <base> from
# re-pointing relative links.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_NO_STORE = (b"cache-control", b"no-store")


class ConsoleHeaders:
    def __init__(self, app: ASGIApp, *, prefix: str = "/console") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (
            path == self.prefix or path.startswith(self.prefix + "/")
        ):
            await self.app(scope, receive, send)
            return
        static = path.startswith(self.prefix + "/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"cache-control"]
                headers += _HEADERS
                headers.append((b"cache-control", b"public, max-age=3600") if static else _NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
