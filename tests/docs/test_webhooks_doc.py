"""docs/webhooks.md: its verification snippet accepts what linkgap signs and nothing else,
and the page names every header a delivery carries and every webhook setting."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from linkgap.service import webhooks as service_webhooks
from linkgap.settings import SETTINGS
from linkgap.webhooks.signing import SIGNATURE_HEADER, new_secret, signature_header

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _snippet() -> Any:
    text = DOC.read_text(encoding="utf-8")
    first = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)[0]
    namespace: dict[str, Any] = {}
    exec(compile(first, "docs/webhooks.md python block 1", "exec"), namespace)
    return namespace["verify_linkgap_signature"]


def test_the_snippet_verifies_what_linkgap_signs() -> None:
    verify = _snippet()
    secret, body = new_secret(), b'{"id":"run_1","status":"completed"}'
    header = signature_header(secret, body)
    assert verify(secret, header, body)
    assert not verify(new_secret(), header, body)  # another secret (a rotation)
    assert not verify(secret, header, body + b"\n")  # another body
    assert not verify(secret, signature_header(secret, body, int(time.time()) - 301), body)
    assert not verify(secret, "", body) and not verify(secret, "t=abc,v1=00", body)
    assert not verify(secret, header.split(",")[1], body)  # no timestamp


def test_the_page_names_every_header_and_setting() -> None:
    text = DOC.read_text(encoding="utf-8")
    for header in (SIGNATURE_HEADER, service_webhooks.EVENT_HEADER,
                   service_webhooks.ATTEMPT_HEADER):
        assert f"`{header}`" in text, header
    for setting in SETTINGS:
        if setting.env.startswith("LINKGAP_WEBHOOK_"):
            assert setting.env in text, setting.env
