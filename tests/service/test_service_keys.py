"""API keys: format, hash-only storage, authentication, revocation."""

from __future__ import annotations

import sqlite3

import pytest

from linkgap.errors import InvalidInput, NotFound, Unauthorized
from linkgap.service import LinkgapService


def test_key_format_and_authentication(service: LinkgapService) -> None:
    acct = service.create_account("acme")
    full, view = service.create_key("acme", name="ci")
    prefix, key_id, secret = full.split("_")
    assert prefix == "lgk" and key_id == view.id and len(key_id) == 12
    assert len(bytes.fromhex(secret)) * 8 >= 128
    assert view.prefix == f"lgk_{key_id}" and view.account == "acme" and view.name == "ci"
    principal = service.authenticate(full)
    assert principal.account_id == acct.id and principal.key_id == key_id
    assert service.create_key("acme")[0] != full


def test_only_a_hash_of_the_secret_is_stored(service: LinkgapService) -> None:
    service.create_account("acme")
    full, _ = service.create_key("acme")
    secret = full.rsplit("_", 1)[1]
    database = service.store.database  # type: ignore[attr-defined]
    if database.kind == "postgresql":
        import psycopg

        with psycopg.connect(database.conninfo) as conn:
            raw = repr(conn.execute("SELECT * FROM api_keys").fetchall()).encode()
            (stored,) = conn.execute("SELECT secret_hash FROM api_keys").fetchone() or ("",)
    else:
        db_path = database.path
        raw = b""
        for name in (db_path, db_path.with_name(db_path.name + "-wal")):
            if name.exists():
                raw += name.read_bytes()
        with sqlite3.connect(db_path) as conn:
            (stored,) = conn.execute("SELECT secret_hash FROM api_keys").fetchone()
    assert secret.encode() not in raw and full.encode() not in raw
    assert stored != secret and len(stored) == 64


@pytest.mark.parametrize("bad", [
    None, "", "Bearer", "lgk_", "not-a-key", "lgk_zzzzzzzzzzzz_" + "0" * 40,
    "lgk_0123456789ab", "lgk_0123456789ab_" + "0" * 39, 42,
])
def test_malformed_keys_are_unauthorized(service: LinkgapService, bad: object) -> None:
    service.create_account("acme")
    service.create_key("acme")
    with pytest.raises(Unauthorized):
        service.authenticate(bad)  # type: ignore[arg-type]


def test_unknown_and_wrong_secret_keys_are_unauthorized(service: LinkgapService) -> None:
    service.create_account("acme")
    full, view = service.create_key("acme")
    wrong_secret = full[:-1] + ("0" if full[-1] != "0" else "1")
    unknown = "lgk_" + ("0" * 12) + full[16:]
    for bad in (wrong_secret, unknown):
        with pytest.raises(Unauthorized) as caught:
            service.authenticate(bad)
        assert caught.value.message == "a valid API key is required (Authorization: Bearer <key>)"


def test_revoke_by_id(service: LinkgapService) -> None:
    service.create_account("acme")
    full, view = service.create_key("acme")
    keep, _ = service.create_key("acme", name="other")
    revoked = service.revoke_key(view.id)
    assert revoked.revoked and revoked.revoked_at is not None
    with pytest.raises(Unauthorized):
        service.authenticate(full)
    service.authenticate(keep)
    # Revoking again is harmless and keeps the first time; the lgk_ form is accepted too.
    assert service.revoke_key(f"lgk_{view.id}").revoked_at == revoked.revoked_at
    with pytest.raises(NotFound):
        service.revoke_key("0123456789ab")
    with pytest.raises(NotFound):
        service.revoke_key("nonsense")


def test_list_keys_per_account(service: LinkgapService) -> None:
    service.create_account("acme")
    service.create_account("globex")
    _, k1 = service.create_key("acme", name="one")
    _, k2 = service.create_key("globex")
    assert [k.id for k in service.list_keys("acme")] == [k1.id]
    assert {k.id for k in service.list_keys()} == {k1.id, k2.id}
    assert service.list_keys("globex")[0].as_dict() == {
        "id": k2.id, "account": "globex", "name": None, "prefix": f"lgk_{k2.id}",
        "created_at": k2.created_at, "revoked_at": None}
    with pytest.raises(NotFound):
        service.list_keys("nobody")
    with pytest.raises(NotFound):
        service.create_key("nobody")
    with pytest.raises(InvalidInput):
        service.create_key("acme", name="x" * 101)
