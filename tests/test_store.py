"""The state store against real SQLite files, and log checkpoints against real files,
real renames and real gzip rotations."""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from listcare import schema
from listcare.exceptions import InputError, StoreError
from listcare.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Checkpoint,
    Store,
    _migrate,
    file_identity,
    plan_log_reads,
    rotated_siblings,
)

from .conftest import sqlite_indexes


def make_events(n: int, start: int = 0, *, recipient="a@example.org") -> pd.DataFrame:
    ids = [f"{i:024x}" for i in range(start, start + n)]
    return pd.DataFrame(
        {
            "event_id": ids,
            "timestamp": pd.Timestamp("2026-01-01", tz="UTC")
            + pd.to_timedelta(np.arange(start, start + n), unit="min"),
            "recipient": recipient,
            "kind": "soft",
            "reason": "mailboxfull",
            "status": "4.2.2",
            "reply_code": "452",
            "diagnostic": "452 4.2.2 Mailbox full",
            "remote_mta": "mx.example.org",
            "source_format": "postfix",
            "source": "mail.log",
            "position": np.arange(start, start + n) + 1,
        }
    )


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# =========================================================================== opening
def test_new_store_is_owner_only_wal_and_current_schema(tmp_path):
    db = tmp_path / "listcare.db"
    old = os.umask(0o022)  # a typical umask that would make files world-readable
    try:
        with Store(db) as store:
            assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
            store.add_events(make_events(10))
            # while the store is open, the WAL side files exist and are owner-only too
            for suffix in ("", "-wal", "-shm"):
                p = tmp_path / f"listcare.db{suffix}"
                assert p.exists(), suffix
                assert mode(p) == 0o600, (suffix, oct(mode(p)))
    finally:
        os.umask(old)
    assert os.umask(old) == old  # the process umask was restored
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    version = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    assert int(version) == SCHEMA_VERSION
    con.close()


def test_a_store_can_be_named_by_url(tmp_path):
    db = tmp_path / "by-url.db"
    with Store(f"sqlite:///{db}") as store:
        assert store.path == db
        store.add_events(make_events(3))
    with Store(db) as store:  # the same file by path
        assert store.count_events() == 3


def test_opening_an_older_store_migrates_it_forward_and_keeps_data(tmp_path):
    db = tmp_path / "old.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        assert _migrate(conn, target=1) == 1
        conn.execute(
            sa.text(
                "INSERT INTO events (event_id, recipient, kind, timestamp) "
                "VALUES ('e1', 'x@example.org', 'hard', 1767225600000000)"
            )
        )
    engine.dispose()
    with Store(db) as store:
        assert store.schema_version == SCHEMA_VERSION
        ev = store.events(["event_id", "recipient", "kind", "timestamp", "run_id"])
        assert ev["event_id"].tolist() == ["e1"]
        assert ev["timestamp"].iloc[0] == pd.Timestamp("2026-01-01", tz="UTC")
        assert ev["run_id"].isna().all()
        assert store.begin_run(as_of="2026-01-02") == 1  # the v2 runs table exists


def test_a_newer_store_than_the_code_is_refused_clearly(tmp_path):
    db = tmp_path / "new.db"
    Store(db).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match=r"schema version 99.*upgrade listcare"):
        Store(db)


def test_not_a_store_and_bad_paths_raise_store_error(tmp_path):
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not a listcare store"):
        Store(other)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="Cannot open the store"):
        Store(junk)
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "no" / "such" / "folder.db")


def test_statements_and_migrations_compile_for_postgresql():
    """The later PostgreSQL step: the same DDL and upserts must compile for it."""
    from sqlalchemy.dialects import postgresql

    from listcare import store as store_mod

    ddl: list[str] = []
    engine = sa.create_mock_engine(
        "postgresql://", lambda sql, *a, **k: ddl.append(str(sql.compile(dialect=engine.dialect)))
    )
    for step in MIGRATIONS:
        step(engine)
    text = "\n".join(ddl)
    assert "CREATE TABLE events" in text and "ALTER TABLE events ADD COLUMN run_id" in text
    assert "SERIAL" in text  # runs.run_id autoincrement, portable
    stmt = postgresql.insert(store_mod.events_t).on_conflict_do_nothing(index_elements=["event_id"])
    assert "ON CONFLICT (event_id) DO NOTHING" in str(stmt.compile(dialect=postgresql.dialect()))


# =========================================================================== events
def test_add_events_counts_new_rows_and_reingesting_changes_nothing(tmp_path):
    with Store(tmp_path / "s.db") as store:
        first = make_events(1000)
        assert store.add_events(first) == 1000
        assert store.add_events(first) == 0
        overlap = make_events(1000, start=500)  # 500 known, 500 new
        assert store.add_events(overlap) == 500
        dup_in_batch = pd.concat([make_events(3, start=5000)] * 2, ignore_index=True)
        assert store.add_events(dup_in_batch) == 3
        assert store.count_events() == 1503
        assert store.add_events(make_events(0)) == 0



def test_bulk_insert_in_statements_of_a_few_rows_stores_the_same(tmp_path):
    """SQLite inserts go in multi-row statements sized to the bound-parameter limit
    (999 in older SQLite builds): with a limit of 40 (two events per statement), odd
    batch sizes, in-batch duplicates and re-ingestion store exactly what the default
    limit stores, and the counts of new rows stay exact."""
    events = pd.concat(
        [make_events(7), make_events(3, start=2), make_events(6, start=20)], ignore_index=True
    )
    events.loc[4, "diagnostic"] = pd.NA
    events.loc[5, "timestamp"] = pd.NaT
    stored, limited = {}, []
    for limit in (None, 40):
        with Store(tmp_path / f"s{limit}.db") as store:
            if limit:

                @sa.event.listens_for(store._engine, "connect")
                def _small(dbapi_conn, _record, limit=limit):
                    dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
                    limited.append(limit)

                store._engine.dispose()
            assert store.add_events(events, run_id=1) == 13
            assert store.add_events(events.iloc[::-1], run_id=2) == 0
            assert store.add_events(make_events(3, start=19), run_id=3) == 1
            stored[limit] = store.events(list(schema.EVENT_COLUMNS) + ["run_id"])
    assert limited  # (the limited store's connections had the small limit)
    assert len(stored[None]) == 14
    pd.testing.assert_frame_equal(stored[40], stored[None])


def test_events_round_trip_with_schema_dtypes(tmp_path):
    ev = make_events(5)
    ev.loc[2, "timestamp"] = pd.NaT
    ev.loc[3, "diagnostic"] = pd.NA
    ev["message_id"] = ["<m@x>", None, "<ü@x>", "", "<q@x>"]
    before = ev.copy()
    with Store(tmp_path / "s.db") as store:
        store.add_events(ev, run_id=7)
        back = store.events()
        with_run = store.events(["event_id", "run_id"])
    pd.testing.assert_frame_equal(ev, before)  # input untouched
    expected = schema.coerce(ev, schema.EVENT_COLUMNS)
    back = back.sort_values("event_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected.reset_index(drop=True))
    assert with_run["run_id"].tolist() == [7] * 5


def test_events_until_and_bad_input(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.add_events(make_events(10))  # one per minute from 00:00
        assert len(store.events(until="2026-01-01T00:04:00Z")) == 5
        undated = make_events(2, start=100).assign(timestamp=pd.NaT, kind=["hard", "delivered"])
        store.add_events(undated)
        got = store.events(["event_id", "kind"], until="2026-01-01T00:04:00Z")
        assert len(got) == 7  # an event without a time cannot be after as_of: kept
        assert store.events(["kind"], kinds=["hard", "delivered"])["kind"].tolist() == [
            "hard",
            "delivered",
        ]
        assert store.count_events(after_run=0) == 0  # none was ingested by a run
        bad = make_events(3)
        bad.loc[1, "event_id"] = None
        with pytest.raises(InputError, match="1 event"):
            store.add_events(bad)
        odd = make_events(2, start=200).assign(kind=["hard", "bounced"])
        with pytest.raises(InputError, match="unknown kind.*bounced"):
            store.add_events(odd)
        with pytest.raises(InputError, match="no column"):
            store.events(["nope"])
        assert store.count_events() == 12


def test_bulk_insert_is_one_executemany_per_batch(tmp_path):
    # correctness at a size that crosses the batch boundary (the speed is benchmarked)
    from listcare import store as store_mod

    n = store_mod.BATCH_ROWS + 1234
    with Store(tmp_path / "s.db") as store:
        assert store.add_events(make_events(n)) == n
        assert store.add_events(make_events(n, start=n - 10)) == n - 10


# =========================================================================== transactions
def test_transaction_rolls_back_everything_on_error(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.add_events(make_events(5))
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.begin_run(as_of="2026-01-02")
                store.add_events(make_events(5, start=5))
                store.put_validation({"example.org": {"status": "valid"}}, checked_at="2026-01-02")
                raise RuntimeError("boom")
        assert store.count_events() == 5
        assert store.runs() == []
        assert store.cached_validation(as_of="2026-01-02") == {}
        with store.transaction():
            with pytest.raises(StoreError, match="do not nest"):
                with store.transaction():
                    pass


def test_a_killed_process_leaves_the_previous_state(tmp_path):
    db = tmp_path / "s.db"
    with Store(db) as store:
        store.add_events(make_events(5))
    code = textwrap.dedent(
        f"""
        import os, signal
        from tests.test_store import make_events
        from listcare.store import Store
        store = Store({str(db)!r})
        with store.transaction():
            store.begin_run(as_of="2026-01-02")
            store.add_events(make_events(20000, start=5))
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()
    with Store(db) as store:
        assert store.count_events() == 5
        assert store.runs() == []


# =========================================================================== validation cache
def test_validation_cache_serves_fresh_known_verdicts_only(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.put_validation(
            {
                "good.example": {
                    "status": "valid",
                    "reason": "",
                    "detail": "",
                    "mx": ["mx1", "mx2"],
                },
                "gone.example": {
                    "status": "invalid",
                    "reason": "domain_not_found",
                    "detail": "The domain does not exist.",
                    "mx": None,
                },
                "slow.example": {"status": "unknown", "reason": "dns_timeout", "detail": "t"},
            },
            checked_at="2026-01-01",
        )
        got = store.cached_validation(as_of="2026-01-20", max_age=timedelta(days=30))
        assert set(got) == {"good.example", "gone.example"}  # unknown is retried
        assert got["good.example"].mx == ("mx1", "mx2")
        assert got["gone.example"].reason == "domain_not_found" and got["gone.example"].mx is None
        assert got["good.example"].checked_at == pd.Timestamp("2026-01-01", tz="UTC")
        # exactly max_age old is still fresh; one second more is not
        assert set(store.cached_validation(as_of="2026-01-31", max_age=timedelta(days=30)))
        assert (
            store.cached_validation(as_of="2026-01-31T00:00:01", max_age=timedelta(days=30)) == {}
        )
        assert set(store.cached_validation(["good.example", "x"], as_of="2026-01-02")) == {
            "good.example"
        }

        class Result:  # what validate() attaches per domain (attributes, not a dict)
            status, reason, detail, mx = "valid", "", "", ("mx.slow.example",)

        store.put_validation({"slow.example": Result()}, checked_at="2026-01-10")
        got = store.cached_validation(as_of="2026-01-20")
        assert got["slow.example"].status == "valid"
        assert got["slow.example"].mx == ("mx.slow.example",)


# =========================================================================== snapshot, runs
def test_suppressions_snapshot_is_replaced_each_run(tmp_path):
    d1 = pd.DataFrame(
        {
            "address": ["a@x.de", "b@x.de", "c@x.de"],
            "decision": ["suppress", "keep", "reconfirm"],
            "rule": ["hard", "", "sunset"],
            "reason": ["Hard bounce on 2026-01-01", "", "No delivery since 2024-01-01"],
            "since": pd.to_datetime(["2026-01-01", None, "2025-01-01"], utc=True),
            "flags": ["", "role", ""],
            "evidence": ['[{"event_id":"e1"}]', "[]", "[]"],
        }
    )
    with Store(tmp_path / "s.db") as store:
        assert store.replace_suppressions(d1, run_id=1) == 2
        snap = store.suppressions()
        assert snap["address"].tolist() == ["a@x.de", "c@x.de"]
        assert snap.loc[0, "since"] == pd.Timestamp("2026-01-01", tz="UTC")
        assert snap.loc[0, "evidence"] == '[{"event_id":"e1"}]'
        d2 = d1.assign(decision=["keep", "suppress", "reconfirm"], rule=["", "soft", "sunset"])
        store.replace_suppressions(d2, run_id=2)
        snap = store.suppressions()
        assert snap["address"].tolist() == ["b@x.de", "c@x.de"]
        # only what changed is written: c@x.de is exactly as run 1 stored it
        assert snap["run_id"].tolist() == [2, 1]
        d3 = d2.assign(evidence=["[]", "[]", '[{"event_id":"e9"}]'])  # new evidence only
        store.replace_suppressions(d3, run_id=3)
        snap = store.suppressions()
        assert snap["run_id"].tolist() == [2, 3]
        assert snap.loc[1, "evidence"] == '[{"event_id":"e9"}]'
        assert snap.loc[1, "since"] == pd.Timestamp("2025-01-01", tz="UTC")
        with pytest.raises(InputError, match="more than one decision"):
            store.replace_suppressions(pd.concat([d1, d1]), run_id=4)
        assert store.suppressions()["run_id"].tolist() == [2, 3]  # refused: unchanged
        for change in ({"since": pd.to_datetime(["2026-01-01", None, "2025-02-01"], utc=True)},
                       {"flags": ["", "role", "disposable"]}, {"rule": ["", "soft", "x"]}):
            d3 = d3.assign(**change)  # every stored column counts as a change
            store.replace_suppressions(d3, run_id=store.suppressions()["run_id"].max() + 1)
            assert store.suppressions()["run_id"].tolist()[1] == store.suppressions()[
                "run_id"
            ].max()


def test_replace_suppressions_writes_only_what_changed(tmp_path):
    """A night changes a few decisions of a big list: the rest is not rewritten."""
    n = 2_000
    d = pd.DataFrame(
        {
            "address": [f"u{i}@x.de" for i in range(n)],
            "decision": ["suppress"] * n,
            "rule": ["hard"] * n,
            "reason": ["Hard bounce"] * n,
            "since": pd.to_datetime(["2026-01-01"] * n, utc=True),
            "flags": [""] * n,
            "evidence": ["[]"] * n,
        }
    )
    d2 = d.copy()
    d2.loc[5, "decision"] = "keep"  # released
    d2.loc[7, "reason"] = "Hard bounce (again)"  # changed
    d2 = pd.concat([d2, d.iloc[:1].assign(address="new@x.de")], ignore_index=True)
    with Store(tmp_path / "s.db") as store:
        store.replace_suppressions(d, run_id=1)
        with store.transaction():
            sqlite = store._conn.connection.driver_connection
            before = sqlite.total_changes
            store.replace_suppressions(d2, run_id=2)
            written = sqlite.total_changes - before
        got = store.suppressions().set_index("address")
    # u5 deleted, u7 deleted and inserted again, new@x.de inserted, the meta row
    assert written == 5
    assert len(got) == n  # 2,000 - 1 released + 1 new
    assert "u5@x.de" not in got.index and got.loc["new@x.de", "run_id"] == 2
    assert got.loc["u7@x.de", "reason"] == "Hard bounce (again)"
    assert got.loc["u7@x.de", "run_id"] == 2
    assert (got.drop(["u7@x.de", "new@x.de"])["run_id"] == 1).all()


def test_runs_record_as_of_and_counts(tmp_path):
    with Store(tmp_path / "s.db") as store:
        assert store.last_run() is None
        r1 = store.begin_run(as_of="2026-01-01", started="2026-01-01T02:00:00Z")
        store.finish_run(r1, {"clean": 10, "suppressed": 2})
        r2 = store.begin_run(as_of="2026-01-02")  # never finished (crashed run)
        assert r2 == r1 + 1
        last = store.last_run()
        assert last["run_id"] == r1 and last["counts"] == {"clean": 10, "suppressed": 2}
        assert last["as_of"] == pd.Timestamp("2026-01-01", tz="UTC")
        assert [r["counts"] for r in store.runs()] == [{"clean": 10, "suppressed": 2}, None]


# =========================================================================== checkpoints
def write_lines(path, lines, mode="a"):
    with open(path, mode, encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")


def gzip_file(src, dst):
    with open(src, "rb") as f, gzip.open(dst, "wb") as g:
        shutil.copyfileobj(f, g)
    os.utime(dst, ns=(os.stat(src).st_atime_ns, os.stat(src).st_mtime_ns))
    os.unlink(src)


def read_plan(plan) -> list[str]:
    """What a reader following the plan gets: every line from each file's offset on."""
    out = []
    for path, offset in plan:
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "rb") as f:
            f.seek(offset)
            out.extend(line.decode().rstrip("\n") for line in f)
    return out


def checkpoint_at_end(path) -> Checkpoint:
    return Checkpoint.of(path, os.path.getsize(path))


def lines(prefix, n):
    return [
        f"Nov 27 0{i % 10}:00:00 mx postfix/smtp[{i}]: {prefix}-{i} status=sent" for i in range(n)
    ]


def test_plan_without_checkpoint_and_for_a_missing_file(tmp_path):
    log = tmp_path / "mail.log"
    assert plan_log_reads(log, {}) == []
    write_lines(log, lines("a", 3))
    assert plan_log_reads(log, {}) == [(log, 0)]
    assert plan_log_reads(log, None) == [(log, 0)]


def test_plan_after_appends_reads_only_what_is_new(tmp_path):
    log = tmp_path / "mail.log"
    write_lines(log, lines("a", 3))
    cps = {str(log): checkpoint_at_end(log)}
    write_lines(log, lines("b", 2))
    plan = plan_log_reads(log, cps)
    assert plan == [(log, cps[str(log)].offset)]
    assert read_plan(plan) == lines("b", 2)


def test_plan_after_rename_rotation_reads_old_remainder_then_new_file(tmp_path):
    log = tmp_path / "mail.log"
    write_lines(log, lines("a", 3))
    cps = {str(log): checkpoint_at_end(log)}
    write_lines(log, lines("b", 2))  # written after our read, before the rotation
    os.rename(log, tmp_path / "mail.log.1")  # logrotate "create"
    write_lines(log, lines("c", 2), mode="w")
    plan = plan_log_reads(log, cps)
    assert plan == [(tmp_path / "mail.log.1", cps[str(log)].offset), (log, 0)]
    assert read_plan(plan) == lines("b", 2) + lines("c", 2)


def test_plan_after_two_rotations_with_delaycompress(tmp_path):
    log = tmp_path / "mail.log"
    write_lines(log, lines("a", 3))
    cps = {str(log): checkpoint_at_end(log)}
    write_lines(log, lines("b", 1))
    os.rename(log, tmp_path / "mail.log.1")
    write_lines(log, lines("c", 2), mode="w")
    # second night without a run: .1 is compressed to .2.gz, the log becomes .1
    gzip_file(tmp_path / "mail.log.1", tmp_path / "mail.log.2.gz")
    os.rename(log, tmp_path / "mail.log.1")
    write_lines(log, lines("d", 2), mode="w")
    write_lines(tmp_path / "mail.log.3.gz.unrelated", ["not a rotation"], mode="w")
    plan = plan_log_reads(log, cps)
    assert plan == [
        (tmp_path / "mail.log.2.gz", cps[str(log)].offset),
        (tmp_path / "mail.log.1", 0),
        (log, 0),
    ]
    assert read_plan(plan) == lines("b", 1) + lines("c", 2) + lines("d", 2)


def test_plan_after_immediate_gzip_rotation(tmp_path):
    log = tmp_path / "mail.log"
    write_lines(log, lines("a", 4))
    cps = {str(log): checkpoint_at_end(log)}
    write_lines(log, lines("b", 3))
    gzip_file(log, tmp_path / "mail.log.1.gz")  # compress without delaycompress
    write_lines(log, lines("c", 1), mode="w")
    plan = plan_log_reads(log, cps)
    assert plan[0][0].name == "mail.log.1.gz"
    assert read_plan(plan) == lines("b", 3) + lines("c", 1)


def test_plan_after_copytruncate(tmp_path):
    log = tmp_path / "mail.log"
    write_lines(log, lines("a", 3))
    cps = {str(log): checkpoint_at_end(log)}
    write_lines(log, lines("b", 2))
    shutil.copyfile(log, tmp_path / "mail.log.1")  # copytruncate: copy, then truncate
    with open(log, "r+b") as f:
        f.truncate(0)
    write_lines(log, lines("c", 2))
    assert file_identity(log).inode == cps[str(log)].inode  # same inode, new content
    plan = plan_log_reads(log, cps)
    assert plan == [(tmp_path / "mail.log.1", cps[str(log)].offset), (log, 0)]
    assert read_plan(plan) == lines("b", 2) + lines("c", 2)


def test_plan_with_dateext_rotation(tmp_path):
    log = tmp_path / "mail.log"
    write_lines(log, lines("a", 2))
    cps = {str(log): checkpoint_at_end(log)}
    write_lines(log, lines("b", 2))
    gzip_file(log, tmp_path / "mail.log-20261127.gz")
    write_lines(log, lines("c", 1), mode="w")
    write_lines(tmp_path / "mail.log-20261120", lines("old", 1), mode="w")
    assert [p.name for p in rotated_siblings(log)] == ["mail.log-20261120", "mail.log-20261127.gz"]
    assert read_plan(plan_log_reads(log, cps)) == lines("b", 2) + lines("c", 1)


def test_plan_when_the_checkpointed_file_is_gone_reads_newer_rotations(tmp_path):
    log = tmp_path / "mail.log"
    write_lines(log, lines("a", 2))
    write_lines(tmp_path / "mail.log.3", lines("ancient", 1), mode="w")
    os.utime(tmp_path / "mail.log.3", ns=(0, 0))  # older than the checkpoint
    cps = {str(log): checkpoint_at_end(log)}
    os.unlink(log)  # e.g. rotated beyond "rotate N" between two runs
    write_lines(tmp_path / "mail.log.1", lines("b", 1), mode="w")
    write_lines(log, lines("c", 1), mode="w")
    st = os.stat(tmp_path / "mail.log.1")
    os.utime(tmp_path / "mail.log.1", ns=(st.st_atime_ns, cps[str(log)].mtime_ns + 1))
    plan = plan_log_reads(log, cps)
    assert [p.name for p, _ in plan] == ["mail.log.1", "mail.log"]
    assert all(off == 0 for _, off in plan)


def test_plan_when_the_log_is_rotated_but_not_recreated_yet(tmp_path):
    log = tmp_path / "mail.log"
    write_lines(log, lines("a", 2))
    cps = {str(log): checkpoint_at_end(log)}
    write_lines(log, lines("b", 1))
    os.rename(log, tmp_path / "mail.log.1")
    plan = plan_log_reads(log, cps)
    assert plan == [(tmp_path / "mail.log.1", cps[str(log)].offset)]


def test_store_checkpoints_survive_reopening_and_drive_the_plan(tmp_path):
    log = tmp_path / "mail.log"
    write_lines(log, lines("a", 3))
    db = tmp_path / "s.db"
    with Store(db) as store:
        assert store.plan_reads(log) == [(log, 0)]
        ident = file_identity(log)  # taken before reading, as the job does
        got = read_plan(store.plan_reads(log))
        assert got == lines("a", 3)
        store.save_checkpoint(log, ident.size, identity=ident)
    write_lines(log, lines("b", 1))
    os.rename(log, tmp_path / "mail.log.1")
    write_lines(log, lines("c", 1), mode="w")
    with Store(db) as store:
        plan = store.plan_reads(log)
        assert read_plan(plan) == lines("b", 1) + lines("c", 1)
        # the plan's last file is the new log: checkpoint it, nothing is new afterwards
        store.save_checkpoint(log, os.path.getsize(log))
        assert read_plan(store.plan_reads(log)) == []
        cp = store.checkpoints()[str(log)]
        assert cp.inode == os.stat(log).st_ino and cp.first_line_hash


def test_first_line_identity_needs_a_complete_line(tmp_path):
    log = tmp_path / "mail.log"
    log.write_bytes(b"partial line without newline")
    assert file_identity(log).first_line_hash == ""
    log.write_bytes(b"first\nsecond\n")
    h = file_identity(log).first_line_hash
    gz = tmp_path / "copy.gz"
    with gzip.open(gz, "wb") as g:
        g.write(b"first\nother\n")
    assert file_identity(gz).first_line_hash == h  # decompressed first line
    with pytest.raises(InputError, match="Cannot read the log file"):
        file_identity(tmp_path / "missing.log")


def test_snapshots_rebuild_the_base_of_a_rerun_from_the_changes(tmp_path):
    def decisions(*pairs):
        return pd.DataFrame(
            {
                "address": [a for a, _ in pairs],
                "decision": [d for _, d in pairs],
                "rule": ["hard" if d == "suppress" else "" for _, d in pairs],
                "reason": ["r"] * len(pairs),
                "since": pd.to_datetime([None] * len(pairs), utc=True),
            }
        )

    def record(store, run_id, dec, as_of):
        base = store.base_run(as_of=as_of)
        base_id = base["run_id"] if base else None
        previous = store.snapshot(base_id)
        store.replace_suppressions(dec, run_id=run_id)
        return store.save_changes(run_id, dec, base_run_id=base_id, base_decisions=previous)

    with Store(tmp_path / "s.db") as store:
        r1 = store.begin_run(as_of="2026-01-01")
        n1 = decisions(("a@x.de", "suppress"), ("b@x.de", "keep"), ("d@x.de", "reconfirm"))
        assert record(store, r1, n1, "2026-01-01") == 0  # no base: nothing to keep
        store.finish_run(r1, {})
        assert sorted(store.snapshot(r1)["address"]) == ["a@x.de", "d@x.de"]
        assert store.base_run(as_of="2026-01-01") is None  # same night: no earlier run
        assert store.base_run(as_of="2026-01-02")["run_id"] == r1
        r2 = store.begin_run(as_of="2026-01-02")
        n2 = decisions(("c@x.de", "suppress"), ("d@x.de", "reconfirm"))
        # a@x.de released, c@x.de new; d@x.de unchanged is not kept
        assert record(store, r2, n2, "2026-01-02") == 2
        store.finish_run(r2, {})
        # a rerun of night 2 still compares with night 1, rebuilt from the changes
        r3 = store.begin_run(as_of="2026-01-02")
        assert store.base_run(as_of="2026-01-02")["run_id"] == r1
        snap = store.snapshot(r1).sort_values("address")
        assert snap["address"].tolist() == ["a@x.de", "d@x.de"]
        # the same from the table as read earlier in the transaction (no second read)
        given = store.snapshot(r1, current=store.suppressions()).sort_values("address")
        assert given.values.tolist() == snap.values.tolist()
        assert snap["decision"].tolist() == ["suppress", "reconfirm"]
        assert snap["rule"].tolist() == ["hard", ""]
        n3 = decisions(("c@x.de", "suppress"), ("e@x.de", "suppress"))
        assert record(store, r3, n3, "2026-01-02") == 4  # a, c, d, e against night 1
        store.finish_run(r3, {})
        assert len(store.snapshot(r2)) == 0  # superseded by the rerun: no longer known
        assert sorted(store.snapshot(r1)["address"]) == ["a@x.de", "d@x.de"]
        assert sorted(store.snapshot(r3)["address"]) == ["c@x.de", "e@x.de"]
        r4 = store.begin_run(as_of="2026-01-03")
        record(store, r4, decisions(), "2026-01-03")
        assert len(store.snapshot(r1)) == 0  # no longer anyone's base
        assert len(store.snapshot(r3)) == 3 - 1  # r4's base: rebuilt
        assert store.snapshot(None).columns.tolist() == ["address", "decision", "rule"]


def test_migration_5_turns_the_version_4_snapshots_into_changes(tmp_path):
    """A version-4 store (a full snapshot per run): after the upgrade the last run's
    decisions are its suppressions table, and its base run's are rebuilt from the
    changes the migration derived from the two snapshots (in SQL), so a rerun of the
    last night still reports against the same earlier run."""
    from listcare import store as store_mod

    path = tmp_path / "old.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    snaps = sa.Table("snapshots", sa.MetaData(), *store_mod._snapshot_columns())
    with engine.begin() as conn:
        store_mod._migrate(conn, target=4)
        conn.execute(
            sa.insert(store_mod.runs_t),
            [
                {"as_of": datetime(2026, 1, 1), "counts": "{}"},
                {"as_of": datetime(2026, 1, 2), "counts": "{}"},
                {"as_of": datetime(2026, 1, 3), "counts": None},  # crashed: never finished
            ],
        )
        conn.execute(  # run 2's decisions, as the version-4 job left them
            sa.text(
                "INSERT INTO suppressions (address, decision, rule, reason, run_id) VALUES "
                "('a@x.de', 'suppress', 'hard', 'r', 2), ('c@x.de', 'reconfirm', 'sunset', 'r', 2)"
            )
        )
        conn.execute(
            sa.insert(snaps),
            [
                {"run_id": 1, "address": "a@x.de", "decision": "suppress", "rule": "hard"},
                {"run_id": 1, "address": "b@x.de", "decision": "suppress", "rule": "soft"},
                {"run_id": 1, "address": "c@x.de", "decision": "suppress", "rule": "invalid"},
                {"run_id": 2, "address": "a@x.de", "decision": "suppress", "rule": "hard"},
                {"run_id": 2, "address": "c@x.de", "decision": "reconfirm", "rule": "sunset"},
            ],
        )
    engine.dispose()
    with Store(path) as store:
        assert store.schema_version == store_mod.SCHEMA_VERSION
        last = store.snapshot(2).sort_values("address")
        assert last["address"].tolist() == ["a@x.de", "c@x.de"]
        base = store.snapshot(1).sort_values("address")
        assert base.values.tolist() == [
            ["a@x.de", "suppress", "hard"],
            ["b@x.de", "suppress", "soft"],
            ["c@x.de", "suppress", "invalid"],
        ]
        assert len(store.snapshot(3)) == 0
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        changes = sorted(conn.execute("SELECT * FROM decision_changes"))
    assert "snapshots" not in tables
    assert changes == [(2, "b@x.de", "suppress", "soft"), (2, "c@x.de", "suppress", "invalid")]


def test_migration_5_of_a_store_without_runs_or_snapshots(tmp_path):
    path = tmp_path / "old.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        _migrate(conn, target=4)
    engine.dispose()
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION and len(store.snapshot(1)) == 0


def test_last_deliveries_and_counts_by_kind(tmp_path):
    ev = make_events(6).assign(
        recipient=["a@x.de", "a@x.de", "b@x.de", "b@x.de", "c@x.de", "a@x.de"],
        kind=["delivered", "delivered", "delivered", "hard", "deferred", "delivered"],
    )
    ev.loc[5, "timestamp"] = pd.NaT  # an undated delivery cannot be the last one
    with Store(tmp_path / "s.db") as store:
        store.add_events(ev)
        last = store.last_deliveries().sort_values("recipient").reset_index(drop=True)
        assert last["recipient"].tolist() == ["a@x.de", "b@x.de"]
        assert last["timestamp"].tolist() == [ev.loc[1, "timestamp"], ev.loc[2, "timestamp"]]
        assert str(last["timestamp"].dtype) == "datetime64[ns, UTC]"
        early = store.last_deliveries(until=ev.loc[0, "timestamp"])
        assert early["recipient"].tolist() == ["a@x.de"]
        assert store.count_by_kind() == {"deferred": 1, "delivered": 3, "hard": 1}
        assert store.count_by_kind(after=ev.loc[2, "timestamp"]) == {"deferred": 1, "hard": 1}
        assert store.count_by_kind(until=ev.loc[0, "timestamp"]) == {"delivered": 1}
        # an event stored without a kind (through the API) is not counted, nor a crash
        store.add_events(make_events(1, start=50).assign(kind=None))
        assert store.count_by_kind() == {"deferred": 1, "delivered": 3, "hard": 1}
        # several windows in one pass: the same as one count per window
        for until in (None, ev.loc[3, "timestamp"]):
            cuts = [ev.loc[i, "timestamp"] for i in (0, 2, 4)]
            assert store.counts_by_kind(until=until, since=cuts) == [
                store.count_by_kind(until=until),
                *[store.count_by_kind(after=c, until=until) for c in cuts],
            ]
        # the page cache for bulk writes is back after the GROUP BY
        with store._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -262144


# =========================================================================== history index
def test_the_history_index_is_built_by_a_big_load_and_a_rolled_back_load_keeps_it(tmp_path):
    from listcare.store import _REBUILD_MIN_ROWS

    db = tmp_path / "s.db"
    n = _REBUILD_MIN_ROWS + 10
    big = make_events(n).assign(kind=np.where(np.arange(n) % 2, "delivered", "hard"))
    big["recipient"] = [f"u{i % 97}@example.org" for i in range(n)]
    with Store(db) as store:
        assert "ix_events_kind_recipient_ts" in sqlite_indexes(db)  # migration 4
        # a crash after the index was dropped for the load: all of it rolls back
        with pytest.raises(RuntimeError), store.transaction():
            assert store.add_events(big, run_id=1) == n  # dropped, loaded, rebuilt
            assert "ix_events_kind_recipient_ts" in _indexes_in(store)
            raise RuntimeError("killed")
        assert store.count_events() == 0
        assert "ix_events_kind_recipient_ts" in sqlite_indexes(db)
        with store.transaction():
            assert store.add_events(big, run_id=1) == n  # the first night: index rebuilt
        assert "ix_events_kind_recipient_ts" in sqlite_indexes(db)
        assert store.add_events(big.iloc[:100]) == 0  # nothing new: counted exactly
        more = make_events(5, start=n).assign(kind="delivered", recipient="u1@example.org")
        assert store.add_events(more) == 5  # a small load goes through the index
        assert store.count_events() == n + 5
        # the index serves the history queries with the same answers as a table scan
        last = store.last_deliveries().set_index("recipient")["timestamp"]
        ts = pd.concat([big, more])
        want = ts[ts["kind"] == "delivered"].groupby("recipient")["timestamp"].max()
        assert last.sort_index().to_dict() == want.sort_index().to_dict()
        assert len(last) == 97
        hard = store.events(["event_id"], kinds=["hard"])["event_id"].tolist()
        assert hard == big.loc[big["kind"] == "hard", "event_id"].tolist()  # stored order


def _indexes_in(store: Store) -> set[str]:
    with store._connect() as conn:
        return {
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type='index'"
            ).fetchall()
        }


def test_kill_9_during_a_big_load_leaves_the_store_and_its_index_as_they_were(tmp_path):
    """A real process killed while add_events holds the index dropped (the first night)."""
    db = tmp_path / "s.db"
    with Store(db) as store:
        store.add_events(make_events(3))
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(os.path.dirname(os.path.dirname(__file__)))!r})
        from tests.test_store import make_events
        from listcare.store import Store
        ev = make_events(150_000, start=10)
        with Store({str(db)!r}) as store, store.transaction():
            print("loading", flush=True)
            store.add_events(ev)
            print("loaded", flush=True)
            import time
            time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        assert proc.stdout.readline().strip() == "loading"
        # add_events drops the index first, then writes 150,000 rows (over a second at
        # SQLite's ~10 us a row): a kill 0.3 s in lands in the middle of the load
        import time

        time.sleep(0.3)
        proc.kill()
        rest = proc.stdout.read()
    finally:
        proc.wait(timeout=30)
    assert "loaded" not in rest  # killed in the middle of the load, index dropped
    with Store(db) as store:
        assert store.count_events() == 3
        assert "ix_events_kind_recipient_ts" in _indexes_in(store)
        with store._connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_suppressions_can_read_only_some_columns(tmp_path):
    decisions = pd.DataFrame(
        {
            "address": ["a@x.de", "b@y.de"],
            "decision": ["suppress", "keep"],
            "rule": ["hard", ""],
            "reason": ["Hard bounce", ""],
            "since": pd.to_datetime(["2026-05-01", None], utc=True),
            "flags": ["", ""],
            "evidence": ['["e1"]', "[]"],
        }
    )
    with Store(tmp_path / "s.db") as store:
        store.replace_suppressions(decisions, run_id=1)
        some = store.suppressions(["address", "since"])
        assert list(some.columns) == ["address", "since"]
        assert some["address"].tolist() == ["a@x.de"]
        assert some["since"].iloc[0] == pd.Timestamp("2026-05-01", tz="UTC")
        with pytest.raises(InputError, match="no column"):
            store.suppressions(["address", "nope"])


# =========================================================================== last_delivery
def _reference_last(store: Store, until=None) -> dict:
    """The last delivery per recipient computed from every stored event (the query the
    table replaces)."""
    ev = store.events(["recipient", "kind", "timestamp"])
    ev = ev[(ev["kind"] == "delivered") & ev["timestamp"].notna() & ev["recipient"].notna()]
    if until is not None:
        cut = pd.Timestamp(until)
        ev = ev[ev["timestamp"] <= (cut.tz_localize("UTC") if cut.tzinfo is None else cut)]
    return ev.groupby(ev["recipient"].astype(object))["timestamp"].max().to_dict()


def test_last_delivery_follows_every_load_in_any_order(tmp_path):
    """``last_delivery`` is kept by add_events (by run, in SQL; without a run, from the
    frame): loads in any time order, duplicates, undated and non-delivery events, and a
    rolled-back load; last_deliveries(until=...) equals the maximum over the stored
    events at every cut, including one between a recipient's deliveries."""
    rng = np.random.default_rng(5)
    people = [f"p{i}@x.de" for i in range(40)]
    with Store(tmp_path / "s.db") as store:
        start = 0
        for load in range(12):
            n = int(rng.integers(1, 60))
            ev = make_events(n, start=start)
            start += n
            # times jump back and forth: a later load may hold older deliveries
            ev["timestamp"] = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
                rng.integers(0, 90 * 24, size=n), unit="h"
            )
            ev["recipient"] = rng.choice(people, size=n)
            ev["kind"] = rng.choice(["delivered", "delivered", "soft", "hard"], size=n)
            ev.loc[ev.index[:2], "timestamp"] = pd.NaT
            if load % 4 == 3:  # the same evidence again, with new times: ignored
                again = store.events().iloc[:5].copy()
                again["timestamp"] = pd.Timestamp("2027-01-01", tz="UTC")
                ev = pd.concat([ev, again.drop(columns=["run_id"], errors="ignore")])
            if load == 7:
                with pytest.raises(RuntimeError), store.transaction():
                    late = ev.assign(timestamp=pd.Timestamp("2028-01-01", tz="UTC"))
                    store.add_events(late, run_id=99)
                    raise RuntimeError("killed")
            store.add_events(ev, run_id=load if load % 2 else None)
        cuts = [None, "2026-01-01", "2026-02-01", "2026-02-15T13:00Z", "2026-03-20", "2030-01-01"]
        for until in cuts:
            got = store.last_deliveries(until=until)
            assert got["recipient"].tolist() == sorted(got["recipient"].tolist())
            want = _reference_last(store, until)
            assert dict(zip(got["recipient"], got["timestamp"], strict=True)) == want, until
        assert len(store.last_deliveries(until="2025-12-31")) == 0


def test_migration_6_fills_last_delivery_from_the_stored_events(tmp_path):
    """A version-5 store with events: the upgrade fills last_delivery in SQL and adds the
    run_id index; the upgraded store answers as the events do."""
    from listcare import store as store_mod

    path = tmp_path / "old.db"
    ev = make_events(30).assign(kind=["delivered", "hard", "delivered"] * 10)
    ev["recipient"] = [f"u{i % 7}@x.de" for i in range(30)]
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        _migrate(conn, target=5)
        rows = schema.coerce(ev, schema.EVENT_COLUMNS).assign(run_id=1)
        rows["timestamp"] = rows["timestamp"].astype("int64") // 1000
        conn.execute(
            sa.insert(store_mod.events_t),
            rows.astype(object).where(rows.notna(), None).to_dict("records"),
        )
    engine.dispose()
    assert "ix_events_run_id" not in sqlite_indexes(path)
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        got = store.last_deliveries()
        assert dict(zip(got["recipient"], got["timestamp"], strict=True)) == _reference_last(store)
        assert len(got) == 7
        assert store.count_events(after_run=0) == 30 and store.count_events(after_run=1) == 0
    assert "ix_events_run_id" in sqlite_indexes(path)


def test_last_delivery_follows_what_was_stored_not_what_was_offered(tmp_path):
    """An event id already stored keeps its stored content: the same id offered again
    with another time (a yearless log line re-read with another as_of) or another kind
    changes neither the events nor the last delivery, with or without a run."""
    base = make_events(2).assign(recipient="a@x.de", kind=["delivered", "hard"])
    base["timestamp"] = pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True)
    with Store(tmp_path / "s.db") as store:
        store.add_events(base)
        for run_id in (None, 5):
            later = base.assign(
                timestamp=pd.to_datetime(["2024-06-01", "2024-06-02"], utc=True),
                kind=["delivered", "delivered"],
            )
            assert store.add_events(later, run_id=run_id) == 0
            got = store.last_deliveries()
            assert got["timestamp"].tolist() == [pd.Timestamp("2024-01-01", tz="UTC")]
            assert got.equals(pd.DataFrame({"recipient": pd.Series(["a@x.de"], dtype="string"),
                                            "timestamp": got["timestamp"]}))
        # one frame holding the same id twice: the first one is stored, and counts
        twice = make_events(2, start=10).assign(recipient="b@x.de", kind="delivered")
        twice["event_id"] = twice["event_id"].iloc[0]
        twice["timestamp"] = pd.to_datetime(["2024-03-01", "2024-09-01"], utc=True)
        assert store.add_events(twice) == 1
        got = store.last_deliveries().set_index("recipient")["timestamp"]
        assert got["b@x.de"] == _reference_last(store)["b@x.de"]


def test_bulk_load_modes_and_a_caught_error(tmp_path):
    """bulk_load() brings last_delivery up to date once at its end: after an index
    rebuild (index=True), from the run's rows, or without a run from the ids it stored;
    a caller that catches an error inside it and commits keeps the history index."""
    ev = make_events(60).assign(kind=["delivered", "hard", "delivered"] * 20)
    ev["recipient"] = [f"u{i % 9}@x.de" for i in range(60)]
    for index, run_id in ((True, 1), (False, 1), (False, None)):
        db = tmp_path / f"s{index}{run_id}.db"
        with Store(db) as store:
            store.add_events(ev.iloc[:5], run_id=None)
            with store.transaction(), store.bulk_load(run_id=run_id, index=index):
                for i in range(5, 60, 7):
                    store.add_events(ev.iloc[i : i + 7], run_id=run_id)
                assert ("ix_events_kind_recipient_ts" in _indexes_in(store)) == (not index)
            got = store.last_deliveries()
            assert dict(zip(got["recipient"], got["timestamp"], strict=True)) == _reference_last(
                store
            ), (index, run_id)
        assert "ix_events_kind_recipient_ts" in sqlite_indexes(db)
    db = tmp_path / "caught.db"
    with Store(db) as store:
        with store.transaction():
            try:
                with store.bulk_load(run_id=1):
                    store.add_events(ev.iloc[:30], run_id=1)
                    store.add_events(ev.iloc[30:].assign(kind="nonsense"), run_id=1)
            except InputError:
                pass  # caught: what was stored before the error commits
        assert store.count_events() == 30
        got = store.last_deliveries()
        assert dict(zip(got["recipient"], got["timestamp"], strict=True)) == _reference_last(store)
        with store.transaction(), store.bulk_load(run_id=2):  # not "no such index"
            store.add_events(ev.iloc[30:], run_id=2)
    assert "ix_events_kind_recipient_ts" in sqlite_indexes(db)


def test_migration_7_keeps_checkpoints_without_a_line_count(tmp_path):
    """A version-6 checkpoint has no line count: after the upgrade it reads as None (its
    next read counts the lines once more), and a new one keeps its count."""
    from listcare import store as store_mod

    path = tmp_path / "old.db"
    log = tmp_path / "mail.log"
    log.write_text("a\nb\n")
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        _migrate(conn, target=6)
        ident = store_mod.file_identity(log)
        conn.execute(
            sa.text(
                "INSERT INTO checkpoints VALUES (:p, :d, :i, :h, 4, :s, :m)"
            ),
            {"p": str(log), "d": ident.device, "i": ident.inode, "h": ident.first_line_hash,
             "s": ident.size, "m": ident.mtime_ns},
        )
    engine.dispose()
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        old = store.checkpoints()[str(log)]
        assert old.offset == 4 and old.lines is None
        store.save_checkpoint(log, 4, lines=2)
        assert store.checkpoints()[str(log)].lines == 2
