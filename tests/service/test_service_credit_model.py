"""Property test: any sequence of charges, top-ups, failures and month turns matches a model."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from linkgap.errors import InsufficientCredits
from linkgap.service.dburl import parse_database_url
from linkgap.service.sqlite_store import SQLiteStore
from linkgap.service.store import AccountRecord, RunRecord

MONTHS = ["2026-01", "2026-02", "2026-03"]

ops = st.lists(st.one_of(
    st.tuples(st.just("run"), st.integers(1, 12)),
    st.tuples(st.just("topup"), st.integers(1, 10)),
    st.tuples(st.just("fail"), st.integers(0, 30)),
    st.tuples(st.just("month"), st.just(0)),
), max_size=40)


@dataclass
class Model:
    quota: int
    topup: int
    period: int = 0
    used: dict[int, int] = field(default_factory=dict)
    runs: list[tuple[int, int, int, bool]] = field(default_factory=list)  # (fq, ft, month, failed)

    def available(self) -> int:
        return self.quota - self.used.get(self.period, 0) + self.topup


@settings(max_examples=100, deadline=None)
@given(quota=st.integers(0, 20), topup=st.integers(0, 20), steps=ops)
def test_store_matches_the_credit_model(quota: int, topup: int,
                                        steps: list[tuple[str, int]]) -> None:
    store = SQLiteStore(parse_database_url("sqlite://"))
    store.create_account(AccountRecord("acct", "acme", "2026-01-01T00:00:00.000Z", quota, 0,
                                       MONTHS[0], topup))
    model = Model(quota, topup)
    ids: list[str] = []
    for op, n in steps:
        month = MONTHS[model.period]
        now = f"{month}-15T00:00:00.000Z"
        if op == "run":
            run = RunRecord(id=f"run_{len(ids)}", account_id="acct", status="queued",
                            domain="t.com", competitors=["c.com"], mode="union", min_overlap=1,
                            limit=10, created_at=now, credits_charged=n)
            try:
                charge = store.insert_run(run, month)
            except InsufficientCredits:
                assert n > model.available()
                continue
            left = model.quota - model.used.get(model.period, 0)
            fq = min(n, left)
            assert (charge.from_quota, charge.from_topup) == (fq, n - fq)
            model.used[model.period] = model.used.get(model.period, 0) + fq
            model.topup -= n - fq
            model.runs.append((fq, n - fq, model.period, False))
            ids.append(run.id)
        elif op == "topup":
            store.add_topup("acct", n, now)
            model.topup += n
        elif op == "fail" and ids:
            i = n % len(ids)
            fq, ft, m, failed = model.runs[i]
            assert store.fail_run(ids[i], now, {"code": "x", "message": "x"}, month) != failed
            if not failed:
                if m == model.period:
                    model.used[m] -= fq
                model.topup += ft
                model.runs[i] = (fq, ft, m, True)
        elif op == "month" and model.period < len(MONTHS) - 1:
            model.period += 1
        rec = store.account_by_id("acct")
        assert rec is not None
        used = rec.monthly_used if rec.quota_period == MONTHS[model.period] else 0
        assert used == model.used.get(model.period, 0)
        assert rec.topup_balance == model.topup >= 0
        assert 0 <= used <= quota
    store.close()
