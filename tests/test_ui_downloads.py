"""Files with customer data reach only the session that made them: through an unguessable,
expiring link, never by path (issue 16, item 1)."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest
from gradio_client import Client
from ui_server import running_app

from assistant.ui.downloads import DownloadStore, links_html


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store():
    return DownloadStore(ttl=60, clock=Clock())


def _token(url: str) -> str:
    return url.split("/")[2]


def test_a_link_is_unguessable_and_names_the_file(store, tmp_path):
    f = tmp_path / "audience.csv"
    f.write_text("email\nx@example.com\n")
    a, b = store.offer(f, session="s1"), store.offer(f, session="s1")
    assert a != b and a.endswith("/audience.csv")
    assert len(_token(a)) >= 43                                    # 256 random bits
    assert store.resolve(_token(a), None).path == f.resolve()


def test_a_link_expires(store, tmp_path):
    f = tmp_path / "r.csv"
    f.write_text("x\n")
    url = store.offer(f, session="s1")
    store._clock.now += 59
    assert store.resolve(_token(url), None) is not None
    store._clock.now += 2
    assert store.resolve(_token(url), None) is None
    assert store.resolve(_token(url), None) is None                # and stays gone


def test_with_authentication_only_the_same_user_gets_the_file(store, tmp_path):
    f = tmp_path / "r.csv"
    f.write_text("x\n")
    url = store.offer(f, session="s1", user="maria")
    assert store.resolve(_token(url), "maria") is not None
    assert store.resolve(_token(url), "eve") is None
    assert store.resolve(_token(url), None) is None


def test_a_closed_session_revokes_its_links_only(store, tmp_path):
    f = tmp_path / "r.csv"
    f.write_text("x\n")
    mine, theirs = store.offer(f, session="s1"), store.offer(f, session="s2")
    store.revoke_session("s1")
    assert store.resolve(_token(mine), None) is None
    assert store.resolve(_token(theirs), None) is not None


def test_a_deleted_file_is_not_served(store, tmp_path):
    f = tmp_path / "r.csv"
    f.write_text("x\n")
    url = store.offer(f, session="s1")
    f.unlink()
    assert store.resolve(_token(url), None) is None


def test_links_are_escaped():
    html = links_html([("/downloads/t/a.csv", "<img src=x onerror=alert(1)>.csv")], 1800)
    assert "<img" not in html and "30 minutes" in html


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_server_serves_offered_files_and_nothing_else(warehouse_path, tmp_path):
    exports = tmp_path / "exports"           # where the served copy's audiences would go
    exports.mkdir()
    (exports / "audience-email.csv").write_text("email\nsomeone@example.com\n")
    with running_app(warehouse_path, tmp_path) as url:
        client = Client(url, verbose=False)
        out = client.predict("Customers by country", api_name="/chat")
        links = re.findall(r"href='([^']+)'", out[5])
        assert links and links[0].startswith("/downloads/")
        base = url.rstrip("/")
        with urllib.request.urlopen(base + links[0], timeout=10) as resp:
            assert resp.status == 200
            assert resp.headers["Cache-Control"] == "no-store"
            assert resp.read().decode().startswith("country,")
        token = _token(links[0])
        # a guessed token, the right token with another name, and every path form of Gradio's
        # file route all get the same refusal, whether the file exists or not
        assert _status(f"{base}/downloads/{'A' * 43}/customers-by-country.csv") == 404
        assert _status(f"{base}/downloads/{token}/other.csv") == 404
        for path in (exports / "audience-email.csv", exports / "missing.csv"):
            for route in ("/gradio_api/file=", "/file="):
                assert _status(f"{base}{route}{path}") in (403, 404)
        # the model cannot learn where audiences are written
        out = client.predict("SELECT file_path FROM assistant.audiences", api_name="/chat")
        assert "unknown table 'assistant.audiences'" in str(out[1])
