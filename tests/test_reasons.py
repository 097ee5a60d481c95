"""The classifier: one ordered rule table decides (reason, kind) from a fact's parts."""

from __future__ import annotations

import re

import pytest

from listcare.bounces import reasons
from listcare.bounces.reasons import RULES, classify, classify_parts, explain, is_hard
from listcare.bounces.records import Fact
from listcare.schema import KINDS, NOT_BOUNCE_KINDS, REASONS

# (action, status, reply, diagnostic, hint, feedback_type, command) -> (reason, kind)
CASES = [
    # what the source states
    (("", "", "", "", "feedback", "abuse", ""), ("feedback", "complaint")),
    (("", "", "", "", "feedback", "opt-out", ""), ("feedback", "unsubscribe")),
    (("", "", "", "", "unsubscribe", "opt-out", ""), ("feedback", "unsubscribe")),
    (("", "", "", "I am out of the office", "vacation", "", ""), ("vacation", "auto_reply")),
    (("delivered", "2.0.0", "250", "250 2.0.0 Ok: queued", "", "", ""), ("delivered", "delivered")),
    (("failed", "5.0.0", "", "", "expired", "", ""), ("expired", "soft")),
    # RFC 3463 codes
    (("failed", "5.1.1", "550", "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown", "", "", "RCPT"),
     ("userunknown", "hard")),
    (("failed", "5.1.2", "550", "Host or domain name not found", "", "", ""), ("hostunknown", "hard")),
    (("failed", "5.2.2", "552", "552 5.2.2 Mailbox full", "", "", ""), ("mailboxfull", "soft")),
    (("failed", "5.1.6", "550", "550 5.1.6 mailbox has moved", "", "", ""), ("hasmoved", "hard")),
    (("failed", "5.1.10", "550", "550 5.1.10 null MX", "", "", ""), ("notaccept", "hard")),
    (("failed", "5.3.4", "552", "552 5.3.4 Message too big for system", "", "", ""), ("mesgtoobig", "soft")),
    (("failed", "5.7.26", "550", "550 5.7.26 unauthenticated", "", "", ""), ("authfailure", "block")),
    (("failed", "5.7.1", "550", "550 5.7.1 delivery not authorized", "", "", ""), ("rejected", "block")),
    (("failed", "5.7.0", "554", "554 5.7.0 no reason given", "", "", ""), ("securityerror", "block")),
    # a generic code yields to a text that says more (Sisimai's probe order)
    (("failed", "5.1.1", "550", "550 5.1.1 Service unavailable; client blocked using zen.spamhaus.org", "", "", ""),
     ("blocked", "block")),
    (("failed", "5.1.1", "550", "550 5.1.1 <a@b.example> mailbox full", "", "", ""), ("mailboxfull", "soft")),
    # texts
    (("failed", "5.0.0", "550", "550 Relay access denied", "", "", ""), ("norelaying", "block")),
    (("failed", "5.0.0", "554", "554 Message rejected as spam", "", "", "DATA"), ("spamdetected", "block")),
    (("failed", "5.0.0", "550", "550 SPF check: fail", "", "", ""), ("authfailure", "block")),
    (("failed", "5.0.0", "550", "Client host rejected: cannot find your hostname", "", "", ""), ("requireptr", "block")),
    (("failed", "5.0.0", "550", "550 Sender address rejected: Domain not found", "", "", "MAIL"), ("rejected", "block")),
    (("failed", "4.0.0", "421", "421 Too many concurrent SMTP connections", "", "", ""), ("toomanyconn", "block")),
    (("failed", "", "", "retry timeout exceeded", "", "", ""), ("expired", "soft")),
    (("failed", "", "", "Hop count exceeded - possible mail loop", "", "", ""), ("networkerror", "soft")),
    (("failed", "", "", "This account has been disabled or discontinued", "", "", ""), ("suspend", "soft")),
    (("failed", "5.0.0", "554", "554 virus found in message", "", "", "DATA"), ("virusdetected", "block")),
    (("failed", "5.0.0", "550", "550 Message rejected due to local policy", "", "", ""), ("policyviolation", "block")),
    # "user unknown" after DATA is a content filter, not a dead address (Sisimai Filtered)
    (("failed", "5.0.0", "550", "550 User unknown", "", "", "DATA"), ("filtered", "soft")),
    (("failed", "5.0.0", "550", "550 User unknown", "", "", "RCPT"), ("userunknown", "hard")),
    # action and reply code
    (("delayed", "4.0.0", "", "", "", "", ""), ("expired", "deferred")),
    (("failed", "", "502", "502 command not implemented", "", "", ""), ("syntaxerror", "block")),
    (("failed", "", "", "something nobody wrote a rule for", "", "", ""), ("onhold", "soft")),
    (("failed", "", "", "", "", "", ""), ("undefined", "soft")),
    # provider rules
    (("failed", "5.5.0", "550", "550 Requested action not taken: mailbox unavailable", "", "", ""), ("userunknown", "hard")),
    (("failed", "5.7.606", "550", "550 5.7.606 Access denied, banned sending IP [192.0.2.1]", "", "", ""), ("blocked", "block")),
    (("failed", "4.7.0", "421", "421 4.7.0 very low reputation of the sending IP address", "", "", ""),
     ("badreputation", "block")),
]


@pytest.mark.parametrize(("parts", "expected"), CASES, ids=[f"{e[0]}-{i}" for i, (_, e) in enumerate(CASES)])
def test_classify_parts(parts, expected):
    assert classify_parts(*parts) == expected


def test_policy_and_auth_failures_are_block_even_with_5xx():
    for diag in ("550 5.7.1 blocked", "554 5.7.1 spam detected", "550 5.7.23 SPF validation failed"):
        status = re.search(r"5\.7\.\d+", diag).group(0)
        _, kind = classify_parts("failed", status, diag[:3], diag, command="DATA")
        assert kind == "block", diag


def test_host_rules_need_the_host():
    # NTT DOCOMO's "550 Unknown user" after DATA is its users' sender filter...
    assert classify_parts("failed", "5.0.0", "550", "550 Unknown user x@docomo.ne.jp", command="DATA",
                          remote="mfsmax.docomo.ne.jp") == ("rejected", "block")
    # ...elsewhere the same words after DATA are a content filter
    assert classify_parts("failed", "5.0.0", "550", "550 Unknown user x@example.org", command="DATA") == ("filtered", "soft")


def test_table_is_consistent():
    names = [r.name for r in RULES]
    assert len(names) == len(set(names)), "rule names must be unique (explain() looks them up)"
    for r in RULES:
        assert r.reason in REASONS, r
        assert r.citation.strip(), f"rule {r.name!r} has no citation"
    # the last rule matches anything: classification always ends somewhere
    last = RULES[-1]
    assert (last.text, last.status, last.reply, last.hint, last.action, last.command) == (None,) * 6


def test_every_kind_is_in_the_vocabulary():
    seen = set()
    for parts, _ in CASES:
        seen.add(classify_parts(*parts)[1])
    assert seen <= set(KINDS)
    assert {"hard", "soft", "block", "complaint", "unsubscribe", "delivered", "deferred", "auto_reply"} == seen


def test_is_hard_follows_sisimai_hardbounce():
    assert is_hard("userunknown") and is_hard("hostunknown") and is_hard("hasmoved")
    assert is_hard("notaccept", "5.1.10") and not is_hard("notaccept", "4.3.2")
    for soft in ("mailboxfull", "blocked", "expired", "filtered", "suspend", "feedback", "vacation"):
        assert not is_hard(soft)


def test_classify_fact_uses_its_fields_and_explains():
    f = Fact("a@mx.example", action="failed", status="5.1.1", reply_code="550",
             diagnostic="550 5.1.1 User unknown", command="RCPT", detector="rfc3464")
    assert classify(f) == ("userunknown", "hard")
    assert explain(f).startswith("user unknown code: RFC 3463")
    delayed = Fact("b@mx.example", action="delayed", status="4.4.1")
    reason, kind = classify(delayed)
    assert kind == "deferred" and reason == "expired"
    assert kind not in NOT_BOUNCE_KINDS


def test_classify_parts_is_cached():
    reasons.explain_parts.cache_clear()
    for _ in range(3):
        classify_parts("failed", "5.1.1", "550", "550 5.1.1 user unknown")
    info = reasons.explain_parts.cache_info()
    assert info.hits == 2 and info.misses == 1
