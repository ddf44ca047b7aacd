"""The parts of signed webhooks (SPEC 13): signatures, where a delivery may go (checked
again at send time), one attempt against a real receiver, the backoff schedule."""

from __future__ import annotations

import ssl
import time
from datetime import UTC, datetime, timedelta

import pytest
import trustme
from support.receiver import receiver

from linkgap.errors import InvalidInput
from linkgap.webhooks.addresses import TargetRefused, check_callback_url, resolve_target
from linkgap.webhooks.schedule import MAX_AGE, next_attempt_at, retry_delay
from linkgap.webhooks.sender import send_once
from linkgap.webhooks.signing import new_secret, sign, signature_header, verify

# ---------------------------------------------------------------- signatures


def test_signature_is_hmac_sha256_of_t_dot_body() -> None:
    import hashlib
    import hmac

    secret, body = "whsec_test", b'{"data": 1}'
    header = signature_header(secret, body, timestamp=1700000000)
    expected = hmac.new(b"whsec_test", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify(secret, header, body, now=1700000100)
    assert not verify("whsec_other", header, body, now=1700000100)
    assert not verify(secret, header, body + b" ", now=1700000100)
    assert not verify(secret, header, body, now=1700000000 + 301)  # too old: a replay
    assert not verify(secret, header.replace("t=1700000000", "t=1700000001"), body,
                      now=1700000000)
    assert not verify(secret, "v1=" + expected, body) and not verify(secret, "", body)
    # A receiver accepts any v1 entry (room for two during a key change).
    assert verify(secret, f"t=1700000000,v1=00,v1={sign(secret, 1700000000, body)}", body,
                  now=1700000000)


def test_secrets_are_prefixed_and_random() -> None:
    a, b = new_secret(), new_secret()
    assert a.startswith("whsec_") and len(a) == 6 + 64 and a != b


# ---------------------------------------------------------------- addresses

@pytest.mark.parametrize("url", [
    "https://hooks.example.com/linkgap", "https://hooks.example.com:8443/x?y=1",
    "https://93.184.216.34/hook", "https://[2606:4700::1111]/hook",
])
def test_public_https_urls_are_accepted(url: str) -> None:
    assert check_callback_url(url, allow_http=False, allow_private=False) == url


@pytest.mark.parametrize("url,why", [
    ("http://hooks.example.com/", "https"),
    ("ftp://hooks.example.com/", "https"),
    ("hooks.example.com/x", "https"),
    ("https://user:pw@hooks.example.com/", "password"),
    ("https:///nohost", "host"),
    ("https://hooks.example.com:99999/", "port"),
    ("https://127.0.0.1/", "loopback"),
    ("https://10.1.2.3/", "private"),
    ("https://192.168.0.10/", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://100.64.0.1/", "private"),
    ("https://[::1]/", "loopback"),
    ("https://[fe80::1]/", "link-local"),
    ("https://[::ffff:127.0.0.1]/", "loopback"),
    ("https://0.0.0.0/", "loopback"),
    ("https://localhost/", "loopback"),
    ("https://api.localhost/", "loopback"),
    ("https://hooks.example.com/a b", "spaces"),
    ("https://" + "a" * 2100 + ".com/", "longer"),
])
def test_bad_callback_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_callback_url(url, allow_http=False, allow_private=False)
    assert err.value.param == "callback_url" and why in err.value.message


def test_settings_allow_http_and_private_addresses() -> None:
    assert check_callback_url("http://127.0.0.1:9/x", allow_http=True, allow_private=True)
    with pytest.raises(InvalidInput):
        check_callback_url("http://127.0.0.1:9/x", allow_http=True, allow_private=False)
    with pytest.raises(InvalidInput):
        check_callback_url("http://hooks.example.com/", allow_http=False, allow_private=True)


def test_every_resolved_address_is_checked_at_send_time() -> None:
    # DNS rebinding: public when the run was made, private when the delivery goes.
    answers = iter([["93.184.216.34"], ["10.0.0.5"]])
    def resolver(host: str, port: int) -> list[str]:
        return next(answers)

    url = "https://hooks.example.com/x"
    first = resolve_target(url, allow_private=False, resolver=resolver)
    assert first.address == "93.184.216.34" and first.host_header == "hooks.example.com"
    assert first.connect_url == "https://93.184.216.34:443/x"
    with pytest.raises(TargetRefused, match="10.0.0.5"):
        resolve_target(url, allow_private=False, resolver=resolver)
    with pytest.raises(TargetRefused, match="127.0.0.1"):  # one bad address is enough
        resolve_target(url, allow_private=False,
                       resolver=lambda h, p: ["93.184.216.34", "127.0.0.1"])
    with pytest.raises(TargetRefused, match="no address"):
        resolve_target(url, allow_private=False, resolver=lambda h, p: [])

    def fails(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")
    with pytest.raises(TargetRefused, match="could not be resolved"):
        resolve_target(url, allow_private=False, resolver=fails)
    assert resolve_target(url, allow_private=True, resolver=lambda h, p: ["10.0.0.5"]).address \
        == "10.0.0.5"


# ---------------------------------------------------------------- one attempt, real receiver

def test_a_delivery_reaches_the_receiver_with_its_headers() -> None:
    with receiver([200]) as r:
        result = send_once(r.url, b'{"x": 1}', {"Linkgap-Signature": "t=1,v1=ab"},
                           timeout=5, allow_private=True)
        assert result.ok and result.status == 200 and result.error is None
        (got,) = r.wait_for(1)
    assert got.body == b'{"x": 1}' and got.path == "/hook"
    assert got.headers["Linkgap-Signature"] == "t=1,v1=ab"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["Host"] == f"127.0.0.1:{r.port}"


@pytest.mark.parametrize("status,words", [(500, "answered 500"), (404, "answered 404"),
                                          (302, "redirects are not followed")])
def test_a_non_2xx_answer_is_a_failure(status: int, words: str) -> None:
    with receiver([status]) as r:
        result = send_once(r.url, b"{}", {}, timeout=5, allow_private=True)
    assert not result.ok and result.status == status and words in (result.error or "")


def test_a_private_address_is_refused_before_connecting() -> None:
    with receiver([200]) as r:
        named = f"http://hooks.example.com:{r.port}/hook"
        result = send_once(named, b"{}", {}, timeout=5, allow_private=False,
                           resolver=lambda h, p: ["127.0.0.1"])
        assert not result.ok and result.status is None
        assert "127.0.0.1" in (result.error or "") and "refused" in (result.error or "")
        direct = send_once(r.url, b"{}", {}, timeout=5, allow_private=False)
        assert not direct.ok and "refused" in (direct.error or "")
        time.sleep(0.2)
        assert r.received == []  # nothing was sent


def test_a_hanging_receiver_is_timed_out() -> None:
    with receiver(["hang"]) as r:
        started = time.monotonic()
        result = send_once(r.url, b"{}", {}, timeout=0.5, allow_private=True)
        elapsed = time.monotonic() - started
        assert len(r.received) == 1
    assert not result.ok and "timed out" in (result.error or "")
    assert elapsed < 10  # bounded by the timeout, not by the receiver


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_deadline() -> None:
    # A byte every 0.2 s keeps every single read within a 1 s timeout; the deadline on the
    # whole attempt still ends it.
    with receiver(["trickle"]) as r:
        started = time.monotonic()
        result = send_once(r.url, b"{}", {}, timeout=1, allow_private=True)
        elapsed = time.monotonic() - started
    assert not result.ok and "timed out" in (result.error or ""), result
    assert elapsed < 10


def test_a_closed_port_is_a_failure_not_an_exception() -> None:
    with receiver([200]) as r:
        url = r.url
    result = send_once(url, b"{}", {}, timeout=2, allow_private=True)
    assert not result.ok and result.status is None and "could not deliver" in (result.error or "")


def test_https_goes_to_the_checked_address_and_verifies_the_name() -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("hooks.example.com")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    with receiver([200], tls=server_ctx) as r:
        url = f"https://hooks.example.com:{r.port}/hook"
        result = send_once(url, b"{}", {}, timeout=5, allow_private=True,
                           resolver=lambda h, p: ["127.0.0.1"], verify=client_ctx)
        assert result.ok, result.error
        assert r.received[0].headers["Host"] == f"hooks.example.com:{r.port}"
        # The certificate is for hooks.example.com: another name is not trusted.
        wrong = send_once(f"https://other.example.com:{r.port}/hook", b"{}", {}, timeout=5,
                          allow_private=True, resolver=lambda h, p: ["127.0.0.1"],
                          verify=client_ctx)
        assert not wrong.ok and "could not deliver" in (wrong.error or "")
        assert len(r.received) == 1


# ---------------------------------------------------------------- schedule

def test_backoff_doubles_up_to_an_hour_within_24_hours() -> None:
    assert [retry_delay(n, 30).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(30, 30) == timedelta(hours=1)
    first = datetime(2025, 1, 1, tzinfo=UTC)
    now, attempts, times = first, 0, []
    while True:
        attempts += 1
        nxt = next_attempt_at(first, now, attempts, 30)
        if nxt is None:
            break
        times.append(nxt)
        now = nxt
    assert times[-1] <= first + MAX_AGE < times[-1] + timedelta(hours=1)
    assert 25 < len(times) < 35
