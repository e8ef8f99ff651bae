"""/docs works offline and knows the bearer scheme (SPEC §4 Edges): every asset it loads is
served by bouncer, and every /v1 operation declares the bearer token it needs."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import httpx

from tests.conftest import READ, WRITE

_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|\burl\s*:\s*["']([^"']+)["']""")


def _references(html: str) -> list[str]:
    return [a or b for a, b in _REFERENCE.findall(html)]


class TestDocsPage:
    async def test_every_asset_is_local_and_answers(self, client: httpx.AsyncClient) -> None:
        page = await client.get("/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        references = _references(page.text)
        # The stylesheet, the script, the icon and the OpenAPI document.
        assert len(references) >= 4, references
        for reference in references:
            absolute = urljoin(str(page.url), reference)
            assert urlsplit(absolute).netloc == "bouncer.example", reference
            answer = await client.get(absolute)
            assert answer.status_code == 200, reference
            assert answer.content, reference
        assert "cdn" not in page.text.lower()
        assert re.search(r"https?://|//[a-z]", page.text) is None, page.text
        # No call to the public Swagger validator either.
        assert '"validatorUrl": null' in page.text

    async def test_assets_have_their_content_types(self, client: httpx.AsyncClient) -> None:
        page = (await client.get("/docs")).text
        kinds = {
            urlsplit(ref).path.rsplit(".", 1)[-1]: ref
            for ref in _references(page)
            if ref.startswith("/docs/")
        }
        assert (
            (await client.get(kinds["js"]))
            .headers["content-type"]
            .startswith(("text/javascript", "application/javascript"))
        )
        assert (await client.get(kinds["css"])).headers["content-type"].startswith("text/css")

    async def test_only_the_listed_assets(self, client: httpx.AsyncClient) -> None:
        for path in ("/docs/assets/../../app/main.py", "/docs/assets/LICENSE", "/docs/assets/x"):
            assert (await client.get(path)).status_code == 404, path

    async def test_redoc_is_not_served_from_a_cdn(self, client: httpx.AsyncClient) -> None:
        # ReDoc would load its script from a CDN: it is switched off.
        assert (await client.get("/redoc")).status_code == 404


class TestBearerScheme:
    async def test_every_v1_operation_needs_the_bearer_token(
        self, client: httpx.AsyncClient
    ) -> None:
        document = (await client.get("/openapi.json")).json()
        schemes = document["components"]["securitySchemes"]
        [(name, scheme)] = schemes.items()
        assert scheme["type"] == "http"
        assert scheme["scheme"].lower() == "bearer"
        operations = [
            (path, method, operation)
            for path, item in document["paths"].items()
            for method, operation in item.items()
        ]
        v1 = [(p, m, o) for p, m, o in operations if p.startswith("/v1/")]
        assert len(v1) >= 12
        for path, method, operation in v1:
            assert operation.get("security") == [{name: []}], (method, path)
        for path, method, operation in operations:
            if not path.startswith("/v1/"):
                assert "security" not in operation, (method, path)
        assert "security" not in document

    async def test_the_token_as_docs_sends_it_works(self, client: httpx.AsyncClient) -> None:
        # "Try it out" sends exactly this header once a token is entered under Authorize.
        assert (await client.get("/v1/suppressions", headers=READ)).status_code == 200
        response = await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
        assert response.status_code == 201
