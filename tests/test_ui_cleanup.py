"""Result files hold customer data: they live in private folders that go with the session or
the server."""

from __future__ import annotations

import os

from gradio_client import Client
from ui_server import running_app

from assistant.ui.session import Session, downloads_root


class _Conversation:
    closed = False

    def close(self):
        self.closed = True


def test_a_closed_session_forgets_its_conversation_and_deletes_its_files():
    session = Session(assistant=None, conversation=_Conversation())
    (session.downloads / "customers.csv").write_text("customer_id\n1\n")
    assert session.downloads.parent == downloads_root()
    assert oct(session.downloads.stat().st_mode & 0o777) == "0o700"   # not for other users
    conversation = session.conversation
    session.close()
    assert not session.downloads.exists() and conversation.closed
    assert downloads_root().exists()                                  # other sessions' stay


def test_a_stopped_server_leaves_no_result_files(warehouse_path, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp), "GRADIO_TEMP_DIR": ""}
    with running_app(warehouse_path, tmp_path, env=env) as url:
        client = Client(url, verbose=False)
        client.predict("Customers by country", api_name="/chat")
        roots = list(tmp.glob("assistant-downloads-*"))
        assert len(roots) == 1 and list(roots[0].rglob("*.csv"))       # a CSV was offered
    # the server got SIGTERM and stopped cleanly
    assert not list(tmp.rglob("*.csv")), os.listdir(tmp)
