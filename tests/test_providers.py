"""Provider exports: Amazon SES, SendGrid, Mailgun, Postmark (JSON), Mailchimp (CSV)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from listcare import schema
from listcare.bounces.read import canonical, read_bounces
from listcare.bounces.records import event_id

from .conftest import FIXTURES

P = FIXTURES / "providers"


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def summary(df: pd.DataFrame) -> list[tuple]:
    return [(r.recipient, r.kind, r.reason, r.position) for r in df.itertuples()]


def test_ses_sns_notification_single_object():
    df = read_bounces(P / "ses-notification-bounce.json")
    assert df.attrs["formats"] == {str(P / "ses-notification-bounce.json"): "ses"}
    assert list(df.columns) == list(schema.EVENT_COLUMNS)
    assert summary(df) == [
        ("jane@example.com", "hard", "userunknown", 1),
        ("Richard@example.com", "hard", "userunknown", 1),  # domain lower-cased
    ]
    jane = df.iloc[0]
    assert (jane["status"], jane["reply_code"]) == ("5.1.1", "550")
    assert jane["diagnostic"] == "550 5.1.1 <jane@example.com>... User unknown"  # "smtp; " removed
    assert jane["sender"] == "news@sender.example"
    assert jane["message_id"] == "<custom-1@sender.example>"
    assert jane["timestamp"] == ts("2026-11-26 14:59:38.237")
    record = json.loads((P / "ses-notification-bounce.json").read_text())
    # one record, two recipients: the same evidence, told apart by the index
    assert df["event_id"].tolist() == [
        event_id("ses", canonical(record), "jane@example.com", 0),
        event_id("ses", canonical(record), "Richard@example.com", 1),
    ]


def test_ses_sns_envelope_is_unwrapped():
    plain = read_bounces(P / "ses-notification-bounce.json")
    wrapped = read_bounces(P / "ses-sns-envelope.json")
    assert summary(wrapped) == summary(plain)
    assert wrapped["timestamp"].tolist() == plain["timestamp"].tolist()


@pytest.mark.parametrize("name", ["ses-events-batch.json", "ses-events.jsonl"])
def test_ses_event_publishing_batched(name):
    df = read_bounces(P / name)
    assert df.attrs["formats"] == {str(P / name): "ses"}
    assert [(r.recipient, r.position) for r in df.itertuples()] == [
        ("suppressed@example.com", 1), ("full@example.net", 2), ("angry@example.org", 3),
        ("happy@example.com", 4), ("slow@example.net", 5),
    ]  # the Open event (record 6) is not an outcome
    kinds = dict(zip(df["recipient"], zip(df["kind"], df["reason"], strict=True), strict=True))
    assert kinds["suppressed@example.com"][1] == "suppressed"
    assert kinds["full@example.net"][1] == "mailboxfull"
    assert kinds["angry@example.org"] == ("complaint", "feedback")
    assert kinds["happy@example.com"] == ("delivered", "delivered")
    assert kinds["slow@example.net"][0] == "deferred"


def test_ses_array_and_lines_give_the_same_event_ids():
    a = read_bounces(P / "ses-events-batch.json")
    b = read_bounces(P / "ses-events.jsonl")
    assert a["event_id"].tolist() == b["event_id"].tolist()  # canonical JSON, not the layout


def test_sendgrid_event_webhook():
    df = read_bounces(P / "sendgrid-events.json")
    got = {r.recipient: (r.kind, r.reason) for r in df.itertuples()}
    assert got["alice@example.com"] == ("delivered", "delivered")
    assert got["bob@example.com"] == ("hard", "userunknown")
    assert got["carol@example.com"][0] == "block"  # type=blocked, Spamhaus
    assert got["dave@example.com"][0] == "deferred"
    assert got["erin@example.com"][1] == "suppressed"  # dropped: Bounced Address
    assert got["frank@example.com"] == ("complaint", "feedback")
    assert got["grace@example.com"][0] == "unsubscribe"
    assert "heidi@example.com" not in got  # an open is not an outcome
    assert df["position"].tolist() == [2, 3, 4, 5, 6, 7, 8]  # processed (1) is not either
    assert row_ts(df, "alice@example.com") == ts("2026-11-26 00:00:01")


def row_ts(df, rcpt):
    return df.loc[df["recipient"] == rcpt, "timestamp"].iloc[0]


def test_mailgun_events_page():
    df = read_bounces(P / "mailgun-events.json")
    got = {r.recipient: (r.kind, r.reason, r.reply_code) for r in df.itertuples()}
    assert got["alice@example.com"][0] == "delivered"
    assert got["bob@example.com"] == ("hard", "userunknown", "550")
    assert got["carol@example.com"][0] == "deferred"  # severity temporary
    assert got["dave@example.com"][1] == "suppressed"
    assert got["erin@example.com"][:2] == ("complaint", "feedback")
    assert row_ts(df, "alice@example.com") == ts("2026-11-26 00:00:00.123")
    assert df.loc[df["recipient"] == "bob@example.com", "remote_mta"].iloc[0] == "gmail-smtp-in.l.google.com"


def test_postmark_bounces():
    df = read_bounces(P / "postmark-bounces.json")
    assert summary(df) == [
        ("anna@example.com", "hard", "userunknown", 1),
        ("ben@example.com", "soft", "mailboxfull", 2),
        ("cleo@example.com", "complaint", "feedback", 3),
        ("dan@example.com", "auto_reply", "vacation", 4),
    ]
    assert row_ts(df, "anna@example.com") == ts("2026-11-26 14:12:04.355745")


def test_mailchimp_cleaned_and_bounce_reports():
    df = read_bounces(P / "mailchimp-cleaned.csv")
    assert df.attrs["formats"] == {str(P / "mailchimp-cleaned.csv"): "mailchimp"}
    assert summary(df) == [
        ("old.user@example.com", "soft", "suppressed", 2),
        ("Gone@example.net", "soft", "suppressed", 3),
    ]
    assert df["timestamp"].tolist() == [ts("2026-11-20 08:00:00"), ts("2026-11-21 08:30:00")]
    assert "November Newsletter" in df["diagnostic"].iloc[0]
    rep = read_bounces(P / "mailchimp-bounces.csv")
    assert rep["recipient"].tolist() == ["hard@example.com", "soft@example.com"]
    assert rep["status"].tolist() == ["5.0.0", "4.0.0"]


def test_all_provider_files_together_keep_input_order():
    files = sorted(P.iterdir())
    df = read_bounces(files)
    assert set(df.attrs["formats"].values()) == {"ses", "sendgrid", "mailgun", "postmark", "mailchimp"}
    assert df.attrs["errors"]["count"] == 0
    # the same five SES events are in the batch and the JSON-lines file: they share ids,
    # and are kept once (from the first file that has them)
    assert df.attrs["duplicates"] == 5 and not df["event_id"].duplicated().any()
    jsonl = str(P / "ses-events.jsonl")
    assert jsonl not in set(df["source"])  # all five were already in the batch file
    assert df["source"].drop_duplicates().tolist() == [str(f) for f in files if str(f) != jsonl]


def test_bad_provider_records_are_counted_not_fatal(tmp_path):
    p = tmp_path / "sg.json"
    p.write_text('{"email":"a@example.com","event":"delivered","sg_event_id":"1","timestamp":1}\n'
                 '{"email": broken json\n'
                 '[1, 2]\n'
                 '{"email":"b@example.com","event":"bounce","sg_event_id":"2","reason":"550 5.1.1 no such user","status":"5.1.1"}\n')
    df = read_bounces(p)
    assert df["recipient"].tolist() == ["a@example.com", "b@example.com"]
    assert df["position"].tolist() == [1, 4]
    errs = df.attrs["errors"]
    assert errs["count"] == 3  # the broken line and the two non-object records
    assert [s[1] for s in errs["samples"]] == [2, 3, 3]


def test_a_bounce_without_a_recipient_is_counted_not_kept():
    """An outcome that names no address says nothing about any contact: skipped and
    reported. A complaint stays even when the recipient is redacted (RFC 6590)."""
    data = json.dumps(
        [
            {"RecordType": "Bounce", "Type": "HardBounce", "TypeCode": 1, "MessageID": "m1"},
            {"RecordType": "Bounce", "Type": "HardBounce", "TypeCode": 1, "MessageID": "m2",
             "Email": "gone@example.com", "BouncedAt": "2026-11-20T10:00:00Z",
             "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist."},
            {"RecordType": "SpamComplaint", "MessageID": "m3", "BouncedAt": "2026-11-21T10:00:00Z"},
        ]
    ).encode()
    df = read_bounces(data, format="postmark", as_of="2026-11-27")
    assert df["kind"].tolist() == ["hard", "complaint"]
    assert df["recipient"].tolist()[0] == "gone@example.com" and pd.isna(df["recipient"].iloc[1])
    errs = df.attrs["errors"]
    assert errs["count"] == 1 and "names no recipient" in errs["samples"][0][2]


def test_a_providers_permanent_verdict_is_hard_when_no_smtp_text_says_more(tmp_path):
    """Exports without an SMTP reply (Mailchimp never has one) still say "hard": the
    policy must suppress those at once. A reply that says more (mailbox full) wins."""
    rep = read_bounces(P / "mailchimp-bounces.csv")
    assert rep.set_index("recipient")["kind"].to_dict() == {
        "hard@example.com": "hard",
        "soft@example.com": "soft",
    }
    ses = {
        "notificationType": "Bounce",
        "mail": {"timestamp": "2026-11-20T08:00:00Z", "messageId": "m1"},
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "timestamp": "2026-11-20T08:00:01Z",
            "bouncedRecipients": [{"emailAddress": "gone@example.org"}],
        },
    }
    full = json.loads(json.dumps(ses))
    full["bounce"]["bouncedRecipients"] = [
        {"emailAddress": "full@example.org", "diagnosticCode": "smtp; 552 5.2.2 Mailbox full"}
    ]
    transient = json.loads(json.dumps(ses))
    transient["bounce"]["bounceType"] = "Transient"
    transient["bounce"]["bouncedRecipients"] = [{"emailAddress": "later@example.org"}]
    postmark = [
        {"RecordType": "Bounce", "Type": "HardBounce", "Email": "pm@example.org",
         "BouncedAt": "2026-11-20T08:00:00Z", "TypeCode": 1, "MessageID": "x"},
        {"RecordType": "Bounce", "Type": "Unsubscribe", "Email": "unsub@example.org",
         "BouncedAt": "2026-11-20T08:00:00Z", "TypeCode": 16, "MessageID": "y"},
    ]
    mailgun = {"items": [{"event": "failed", "severity": "permanent", "recipient": "mg@example.org",
                          "timestamp": 1763625600.0, "delivery-status": {}}]}
    sendgrid = [
        {"event": "bounce", "email": "sg@example.org", "timestamp": 1763625600, "type": "bounce",
         "sg_event_id": "e1", "sg_message_id": "m1"},
        {"event": "bounce", "email": "sgb@example.org", "timestamp": 1763625600, "type": "blocked",
         "sg_event_id": "e2", "sg_message_id": "m2"},
    ]
    files = []
    for name, data in (("ses.json", [ses, full, transient]), ("pm.json", postmark),
                       ("mg.json", mailgun), ("sg.json", sendgrid)):
        (tmp_path / name).write_text(json.dumps(data))
        files.append(tmp_path / name)
    kinds = read_bounces(files).set_index("recipient")["kind"].to_dict()
    assert kinds == {
        "gone@example.org": "hard",
        "full@example.org": "soft",  # the reply says mailbox full: not the provider's label
        "later@example.org": "soft",
        "pm@example.org": "hard",
        "unsub@example.org": "unsubscribe",  # an unsubscribe, not a complaint
        "mg@example.org": "hard",
        "sg@example.org": "hard",
        "sgb@example.org": "soft",
    }


def test_a_contact_list_forced_to_mailchimp_is_not_a_list_of_cleaned_addresses(tmp_path):
    p = tmp_path / "subscribed.csv"
    p.write_text("Email Address,First Name,MEMBER_RATING\na@example.org,A,2\nb@example.org,B,3\n")
    df = read_bounces(p, format="mailchimp")
    assert len(df) == 0 and df.attrs["errors"]["count"] == 2


@pytest.mark.parametrize("wrap", [False, True])
def test_a_json_export_cut_off_part_way_keeps_its_complete_records(tmp_path, wrap):
    records = [
        {"event": "bounce", "email": f"u{i}@example.org", "timestamp": 1763625600 + i,
         "type": "bounce", "reason": "550 5.1.1 user unknown", "sg_event_id": f"e{i}",
         "sg_message_id": f"m{i}"}
        for i in range(6)
    ]
    doc = {"items": records} if wrap else records
    text = json.dumps(doc, indent=2)
    cut = text.index('"u4@example.org"')  # inside the fifth record
    p = tmp_path / "sendgrid.json"
    p.write_text(text[:cut])
    df = read_bounces(p, format="sendgrid")
    assert df["recipient"].tolist() == [f"u{i}@example.org" for i in range(4)]
    errs = df.attrs["errors"]
    assert errs["count"] == 1 and "after 4 complete records" in errs["samples"][0][2]


def test_json_lines_of_arrays_with_a_damaged_first_line_keep_the_other_lines(tmp_path):
    """Webhook bodies (arrays) logged one per line: a damaged line is one error, the
    others are read (not taken for one array cut off after its first records)."""
    rows = [
        [{"event": "bounce", "email": f"u{i}@example.org", "timestamp": 1763625600 + i,
          "type": "bounce", "sg_event_id": f"e{i}", "sg_message_id": f"m{i}"}]
        for i in range(4)
    ]
    lines = [json.dumps(r) for r in rows]
    lines[0] = lines[0][:40]  # the first line cut off
    p = tmp_path / "hooks.jsonl"
    p.write_text("\n".join(lines) + "\n")
    df = read_bounces(p, format="sendgrid")
    assert df["recipient"].tolist() == ["u1@example.org", "u2@example.org", "u3@example.org"]
    assert df.attrs["errors"]["count"] == 1


def test_mailgun_giving_up_after_retries_is_not_a_dead_address(tmp_path):
    page = {"items": [{"event": "failed", "severity": "permanent", "reason": "old",
                       "recipient": "late@example.org", "timestamp": 1763625600.0,
                       "delivery-status": {"description": "Too old"}}]}
    (tmp_path / "mg.json").write_text(json.dumps(page))
    df = read_bounces(tmp_path / "mg.json")
    assert df["kind"].tolist() != ["hard"] and df["reason"].tolist() == ["expired"]


def test_ses_as_aws_lambda_receives_it_from_sns_is_unwrapped(tmp_path):
    envelope = json.loads((P / "ses-sns-envelope.json").read_text())
    lam = {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": envelope}]}
    (tmp_path / "lambda.json").write_text(json.dumps(lam))
    df = read_bounces(tmp_path / "lambda.json")
    assert summary(df) == summary(read_bounces(P / "ses-sns-envelope.json"))
    # a Message cut off is one unreadable record, not nothing
    envelope["Message"] = envelope["Message"][:50]
    (tmp_path / "cut.json").write_text(json.dumps(envelope))
    df = read_bounces(tmp_path / "cut.json")
    assert len(df) == 0 and df.attrs["errors"]["count"] == 1
    assert "not whole JSON" in df.attrs["errors"]["samples"][0][2]


def test_records_missing_their_kind_and_wrapped_exports_are_counted_not_dropped(tmp_path):
    sg = json.loads((P / "sendgrid-events.json").read_text())
    nameless = {k: v for k, v in sg[0].items() if k != "event"}
    (tmp_path / "sg.json").write_text(json.dumps([nameless, *sg[1:]]))
    df = read_bounces(tmp_path / "sg.json")
    assert df.attrs["errors"]["count"] == 1 and "'event' field" in df.attrs["errors"]["samples"][0][2]
    pm = json.loads((P / "postmark-bounces.json").read_text())
    records = pm if isinstance(pm, list) else pm["Bounces"]
    bounce = next(r for r in records if r.get("Type"))
    (tmp_path / "pm.json").write_text(json.dumps([{k: v for k, v in bounce.items() if k != "Type"}]))
    df = read_bounces(tmp_path / "pm.json", format="postmark")
    assert len(df) == 0 and "without its 'Type'" in df.attrs["errors"]["samples"][0][2]
    mg = json.loads((P / "mailgun-events.json").read_text())
    (tmp_path / "mg.json").write_text(json.dumps({"data": mg}))  # one object more
    df = read_bounces(tmp_path / "mg.json", format="mailgun")
    assert len(df) == 0 and df.attrs["errors"]["count"] == 1
    assert "wrapped in another object" in df.attrs["errors"]["samples"][0][2]


def test_a_pretty_printed_array_cut_off_keeps_its_complete_records(tmp_path):
    """A lone '"newsletter"' line of an indented array parses on its own: it must not
    make the file look like JSON lines (every line then a bad record)."""
    sg = json.loads((P / "sendgrid-events.json").read_text())
    sg = [{**r, "category": ["newsletter", "2026-11"]} for r in sg]
    text = json.dumps(sg, indent=1)
    cut = text[: text.index('"event"', len(text) * 2 // 3)]  # inside a later record
    (tmp_path / "cut.json").write_text(cut)
    df = read_bounces(tmp_path / "cut.json", format="sendgrid")
    whole = read_bounces(P / "sendgrid-events.json")
    assert 0 < len(df) < len(whole) + 1
    assert df["recipient"].tolist() == whole["recipient"].tolist()[: len(df)]
    assert df.attrs["errors"]["count"] == 1  # the damage, once


def test_a_mailchimp_export_saved_by_excel_with_semicolons_reads_as_the_original(tmp_path):
    import csv
    import io

    rows = list(csv.reader(io.StringIO((P / "mailchimp-bounces.csv").read_text(encoding="utf-8-sig"))))
    out = io.StringIO()
    csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    (tmp_path / "mc.csv").write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode())
    got = read_bounces(tmp_path / "mc.csv", format="mailchimp")
    want = read_bounces(P / "mailchimp-bounces.csv", format="mailchimp")
    assert len(want) > 0 and summary(got) == summary(want)
    assert got.attrs["errors"]["count"] == want.attrs["errors"]["count"]


def test_json_objects_run_together_are_each_read(tmp_path):
    """Kinesis Firehose writes records back to back with no separator."""
    records = [json.loads(ln) for ln in (P / "ses-events.jsonl").read_text().splitlines() if ln.strip()]
    (tmp_path / "firehose").write_text("".join(json.dumps(r) for r in records))
    got = read_bounces(tmp_path / "firehose", format="ses")
    want = read_bounces(P / "ses-events.jsonl")
    assert len(want) > 1 and got["event_id"].tolist() == want["event_id"].tolist()
    assert got.attrs["errors"]["count"] == 0


def test_a_file_of_opens_only_and_an_sns_text_notice_are_no_errors(tmp_path):
    """A webhook batch of opens and clicks, and SNS's "topic validated" text notice, are
    events of other kinds: nothing to record, nothing wrong (a folder read every night
    must not report them night after night)."""
    opens = [{"email": f"u{i}@x.example", "timestamp": 1764000000 + i, "event": "open"} for i in range(3)]
    (tmp_path / "opens.json").write_text(json.dumps(opens))
    df = read_bounces(tmp_path / "opens.json", format="sendgrid")
    assert len(df) == 0 and df.attrs["errors"]["count"] == 0
    envelope = json.loads((P / "ses-sns-envelope.json").read_text())
    notice = {**envelope, "Message": "Successfully validated SNS topic for Amazon SES event publishing."}
    (tmp_path / "ses.jsonl").write_text(json.dumps(envelope) + "\n" + json.dumps(notice) + "\n")
    df = read_bounces(tmp_path / "ses.jsonl", format="ses")
    assert len(df) == len(read_bounces(P / "ses-sns-envelope.json")) > 0
    assert df.attrs["errors"]["count"] == 0


def test_in_file_repeats_do_not_depend_on_the_other_inputs(tmp_path):
    """A record repeated within one file stays as often as it appears, whether the file
    is read alone or with others; only evidence that is in two inputs is kept once."""
    envelope = json.loads((P / "ses-sns-envelope.json").read_text())
    (tmp_path / "twice.json").write_text(json.dumps([envelope, envelope]))
    alone = read_bounces(tmp_path / "twice.json")
    with_other = read_bounces([tmp_path / "twice.json", P / "sendgrid-events.json"])
    mine = with_other[with_other["source"] == str(tmp_path / "twice.json")]
    assert len(alone) == len(mine) == 2 * len(read_bounces(P / "ses-sns-envelope.json"))
    copy = read_bounces([tmp_path / "twice.json", tmp_path / "twice.json"])  # itself again
    assert len(copy) == len(alone) and copy.attrs["duplicates"] == len(alone)
