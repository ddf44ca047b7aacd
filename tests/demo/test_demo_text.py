"""What ``linkgap demo`` prints, and how it picks its port."""

from __future__ import annotations

import json
import shlex
import socket
import sys

from linkgap.demo import base_url, choose_port, instructions
from linkgap.demo_web import DEMO_COMPETITORS, DEMO_LABEL, DEMO_TARGET


def test_instructions_are_pasteable_shell_with_the_key_and_the_niche() -> None:
    key = "lgk_abc123_secret"
    text = instructions("http://127.0.0.1:8123", key)
    assert DEMO_LABEL in text and "http://127.0.0.1:8123/" in text and key in text
    curls = [line.strip() for line in text.splitlines() if line.strip().startswith("curl ")]
    assert len(curls) == 4
    create = shlex.split(curls[0])
    assert create[create.index("-X") + 1] == "POST"
    assert "http://127.0.0.1:8123/v1/backlinks/gap" in create
    assert f"Authorization: Bearer {key}" in create
    body = json.loads(create[create.index("-d") + 1])
    assert body == {"domain": DEMO_TARGET, "competitors": list(DEMO_COMPETITORS), "limit": 100}
    for line in curls[1:]:
        argv = shlex.split(line)
        assert any("/v1/backlinks/gap/RUN_ID" in a for a in argv)
        assert f"Authorization: Bearer {key}" in argv


def test_base_url_shows_an_address_a_local_browser_can_open() -> None:
    assert base_url("0.0.0.0", 80) == "http://127.0.0.1:80"
    assert base_url("::", 8000) == "http://[::1]:8000"
    assert base_url("192.0.2.7", 9000) == "http://192.0.2.7:9000"


def test_choose_port_keeps_a_free_port_and_replaces_a_taken_one() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    assert choose_port("127.0.0.1", free) == (free, True)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        port, preferred = choose_port("127.0.0.1", busy)
        assert not preferred and port != busy and port > 0


def test_the_printed_python_line_is_valid_python_using_the_client() -> None:
    from linkgap.demo import python_example

    line = python_example("http://127.0.0.1:8123", "lgk_abc_def")
    argv = shlex.split(line)
    assert argv[0] == sys.executable and argv[1] == "-c"
    compile(argv[2], "<demo>", "exec")
    assert 'Client("http://127.0.0.1:8123", "lgk_abc_def")' in argv[2]
    assert line.endswith("'") and line.count("'") - sys.executable.count("'") == 2
    assert line in instructions("http://127.0.0.1:8123", "lgk_abc_def")
