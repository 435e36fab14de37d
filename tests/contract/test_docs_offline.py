"""/docs and /redoc work without the internet: every URL their pages name is the service's own, under
the prefix it is served under, and each of those assets is served."""

import re

import pytest

from tests.contract.conftest import SERVICES, build

URL = re.compile(r"""(?:src|href|url|spec-url)\s*[=:]\s*["']([^"']+)["']""")


def named_urls(html: str) -> list[str]:
    """Every URL the page loads or fetches (scripts, styles, icons, the OpenAPI document)."""
    return URL.findall(html)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_pages_name_only_local_urls_and_each_is_served(clients, service: str, page: str) -> None:
    client = clients[service]
    answer = client.get(page)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "http://" not in answer.text and "https://" not in answer.text  # no CDN, no web fonts
    urls = named_urls(answer.text)
    assert any(u.endswith(".js") for u in urls) and any(u.endswith("openapi.json") for u in urls)
    for url in urls:
        assert url.startswith("/"), url
        loaded = client.get(url)
        assert loaded.status_code == 200, url
        assert len(loaded.content) > 0


def test_swagger_ui_keeps_the_token_and_sends_nothing_to_an_online_validator(clients) -> None:
    html = clients["routing"].get("/docs").text
    assert '"persistAuthorization": true' in html and '"validatorUrl": null' in html


def test_the_assets_are_the_pinned_files_with_their_licences(clients) -> None:
    client = clients["notify"]
    script = client.get("/docs/assets/swagger-ui/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert "no-store" not in script.headers.get("cache-control", "")  # assets may be cached
    for licence in ("/docs/assets/swagger-ui/LICENSE", "/docs/assets/redoc/LICENSE"):
        assert client.get(licence).status_code == 200


def test_behind_a_prefix_every_url_of_the_pages_carries_it(contract_dir) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(build("supervision", contract_dir, http_root_path="/supervision"))
    for page in ("/supervision/docs", "/supervision/redoc"):
        urls = named_urls(client.get(page).text)
        assert urls and all(u.startswith("/supervision/") for u in urls), urls
        for url in urls:
            assert client.get(url).status_code == 200, url
