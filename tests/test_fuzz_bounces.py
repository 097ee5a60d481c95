"""Fuzzing every reader: whatever the bytes, read_bounces returns the events table or
raises a ListcareError -- never another exception -- and never loses its schema."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listcare import schema
from listcare.bounces.read import FORMATS, read_bounces
from listcare.exceptions import ListcareError

from .conftest import FIXTURES

AS_OF = "2026-11-27"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LOG_LINES = [
    ln
    for name in ("postfix-classic.log", "postfix-rfc3339.log", "postfix-expired.log", "exim-mainlog", "sendmail-maillog")
    for ln in (FIXTURES / "logs" / name).read_bytes().split(b"\n")
    if ln
]
PROVIDER_KEYS = [
    "notificationType", "eventType", "bounce", "bouncedRecipients", "emailAddress", "diagnosticCode", "status",
    "action", "mail", "timestamp", "complaint", "complainedRecipients", "delivery", "recipients", "deliveryDelay",
    "Type", "Message", "email", "event", "sg_event_id", "reason", "response", "event-data", "recipient",
    "delivery-status", "code", "severity", "items", "Bounces", "Email", "TypeCode", "BouncedAt", "Details",
    "RecordType", "MessageID",
]
EVENT_WORDS = ["Bounce", "Complaint", "Delivery", "DeliveryDelay", "bounce", "delivered", "deferred", "failed",
               "dropped", "HardBounce", "SpamComplaint", "Notification", "permanent", "temporary"]


def check(df) -> None:
    assert list(df.columns) == list(schema.EVENT_COLUMNS)
    assert {c: str(t) for c, t in df.dtypes.items()} == schema.EVENT_COLUMNS
    assert df["event_id"].notna().all()
    # only a complaint may lack its recipient (a feedback report may redact it, RFC 6590)
    assert df.loc[df["kind"] != "complaint", "recipient"].notna().all()
    assert set(df["kind"]) <= set(schema.KINDS)
    assert set(df["reason"]) <= set(schema.REASONS)
    errs = df.attrs["errors"]
    assert errs["count"] >= len(errs["samples"])


def read(data: bytes, fmt: str = "auto", errors: str = "report"):
    try:
        df = read_bounces(data, format=fmt, as_of=AS_OF, errors=errors)
    except ListcareError:
        if errors == "raise" or fmt == "mail":
            return None
        raise
    check(df)
    return df


@SETTINGS
@given(st.binary(max_size=3000), st.sampled_from(FORMATS))
def test_random_bytes(data, fmt):
    read(data, fmt)


mutation = st.one_of(
    st.tuples(st.just("cut"), st.integers(0, 400)),
    st.tuples(st.just("insert"), st.integers(0, 400), st.binary(max_size=40)),
    st.tuples(st.just("insert_text"), st.integers(0, 400),
              st.sampled_from([b": to=<", b", status=", b"status=expired", b" ** ", b" => ", b"\n", b"\r", b"\x00",
                               b"\xff\xfe", b"(", b")", b"<", b">", b"dsn=5.1.1", b", orig_to=<x@y>", b" stat="])),
    st.tuples(st.just("delete"), st.integers(0, 400), st.integers(0, 60)),
)


def mutate(line: bytes, ops) -> bytes:
    for op in ops:
        if op[0] == "cut":
            line = line[: op[1]]
        elif op[0] in ("insert", "insert_text"):
            line = line[: op[1]] + op[2] + line[op[1]:]
        else:
            line = line[: op[1]] + line[op[1] + op[2]:]
    return line


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(LOG_LINES), st.lists(mutation, max_size=3)), min_size=1, max_size=25),
       st.sampled_from(["auto", "postfix", "exim", "sendmail"]), st.booleans())
def test_mutated_log_lines(lines, fmt, final_newline):
    data = b"\n".join(mutate(ln, ops) for ln, ops in lines) + (b"\n" if final_newline else b"")
    read(data, fmt)
    read(data, fmt, errors="raise")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    | st.sampled_from(EVENT_WORDS + ["a@example.com", "smtp; 550 5.1.1 no", "2026-11-26T10:00:00Z", "5.1.1"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(PROVIDER_KEYS) | st.text(max_size=5), inner, max_size=6),
    max_leaves=25,
)


@SETTINGS
@given(json_values, st.sampled_from(["auto", "ses", "sendgrid", "mailgun", "postmark"]), st.booleans())
def test_random_provider_json(value, fmt, as_lines):
    if as_lines and isinstance(value, list):
        data = "\n".join(json.dumps(v) for v in value).encode()
    else:
        data = json.dumps(value).encode()
    read(data, fmt)
    read(data, fmt, errors="raise")


@SETTINGS
@given(st.lists(st.lists(st.text(max_size=12) | st.sampled_from(["hard", "soft", "a@example.com", "2026-11-20 08:00:00"]),
                         max_size=5), max_size=8))
def test_random_mailchimp_csv(rows):
    header = '"Email Address","Bounce Type","CLEAN_TIME"\n'
    body = "\n".join(",".join(json.dumps(c) for c in r) for r in rows)
    read((header + body).encode("utf-8", "surrogatepass"), "mailchimp")
