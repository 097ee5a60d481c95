"""The one classifier: facts -> (reason, kind).

Detectors only extract facts (:class:`~listcare.bounces.records.Fact`); this module decides
what happened, from ONE explicit, ordered rule table, :data:`RULES`. The first rule whose
conditions all hold wins. The order is:

1. what the source itself states (``hint``: feedback report, vacation, delivered,
   suppressed, expired) -- never second-guessed;
2. specific evidence, in the order Sisimai probes it (its ``classorder``): a status code
   whose RFC 3463 detail names the reason, or a diagnostic text that does (mailbox full
   before message too big before ... before blocked). A *generic* code such as 5.1.1 or
   5.7.1 yields to a text that says more ("5.1.1 ... blocked using Spamhaus" is a block);
3. the remaining status codes (RFC 3463 subject/detail), then the remaining texts;
4. the status subject alone (X.6 content, X.7 security), the action, the reply code;
5. the sending provider's own verdict (permanent: ``hard``) when no SMTP evidence says
   more;
6. ``onhold`` when there is a diagnostic we cannot read, ``undefined`` when there is none.

Every rule cites its RFC or the provider message its pattern was taken from.

The kind (:data:`listcare.schema.KINDS`) follows from the reason: ``hard`` only when the
address itself is dead (unknown user or domain, moved, a null MX) -- Sisimai's
``hardbounce`` flag; ``block`` when the receiver refused the sender or the message
(blocklists, spam, SPF/DKIM/DMARC, policy, rate limits): never the address's fault;
``deferred`` while a retry is pending; the rest ``soft``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from .records import Fact


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table. Every given condition must hold (unset ones are ignored).

    ``status``/``reply``/``hint``/``action``/``command``/``detector`` are regexes matched
    in full against the fact's field; ``text`` is searched in the lower-cased diagnostic
    and ``unless`` must NOT be found there; ``remote`` is searched in the hosts the fact
    names (remote MTA, reporting MTA, recipient domain).
    """

    name: str
    reason: str
    citation: str
    hint: str | None = None
    action: str | None = None
    status: str | None = None
    reply: str | None = None
    command: str | None = None
    text: re.Pattern[str] | None = None
    unless: re.Pattern[str] | None = None
    feedback_type: str | None = None
    #: searched in "remote MTA, reporting MTA, @recipient-domain": a provider's own rule
    remote: str | None = None
    #: matched against the detector name (e.g. only human-readable bounces)
    detector: str | None = None
    #: the kind, when the rule decides it rather than the reason (a provider's verdict)
    kind: str | None = None


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


# --------------------------------------------------------------------------- texts
# Each list: phrases seen in real bounces, lower-cased. The source of a phrase is named
# where it is one provider's own wording; the rest is common MTA wording (Postfix, Exim,
# Sendmail, qmail, Microsoft, Google) collected by Sisimai's reason modules.
MAILBOXFULL = _rx(
    r"mailbox (?:is )?full", r"mailbox.{0,40}(?:exceed|over).{0,20}(?:quota|limit|size)",
    r"(?:over|exceed\w*)(?: the)? (?:\w+ ){0,3}quota", r"quota (?:\w+ )?exceed", r"disk quota",
    r"mailbox.{0,20}quota", r"maildir.{0,20}quota", r"account is .{0,30}quota",
    r"insufficient (?:disk|system) (?:space|storage)", r"not (?:sufficient|enough) (?:disk )?space",
    r"no space left on device", r"full mailbox", r"mailfolder is full", r"exceeded storage allocation",
    r"mailbox size limit exceeded", r"would exceed (?:the )?(?:maximum )?(?:allowed )?storage",
    r"user has too many messages", r"space has been used up", r"boite du destinataire pleine",
    r"too much mail data",  # NTT docomo
    r"quota violation", r"mailbox would exceed", r"inbox is full", r"mailbox has exceeded",
    r"receiving limits",  # Yahoo "account disabled temporarly for exceeding receiving limits"
    r"out of storage", r"storage (?:space )?(?:quota|full|exceeded)",
)
MESGTOOBIG = _rx(
    r"message (?:size )?(?:is )?too (?:big|large)", r"message (?:size )?exceeds? (?:the )?(?:\w+ ){0,3}(?:size )?limit",
    r"size exceeds", r"message length exceeds", r"exceeds (?:the )?(?:maximum|max) (?:message )?size",
    r"message file too big", r"email is too large", r"size limit", r"mail size", r"message too large",
    r"exceeded maximum size", r"line limit exceeded",
)
EXCEEDLIMIT = _rx(r"exceeded the rate limit for", r"limit exceeded for recipient")
SUSPEND = _rx(
    r" is currently suspended", r"temporar(?:il)?y? locked", r"archived recipient", r"boite du destinataire archivee",
    r"account .{0,40}(?:is )?disabled", r"has been suspended", r"inactive account", r"invalid/inactive user",
    r"deactivated mailbox", r"user is terminated", r"mailbox (?:currently )?suspended", r"mailbox (?:is )?disabled",
    r"mailbox is frozen", r"temporarily inactive", r"suspend the service", r"is inactive",
    r"disabled or discontinued", r"account has been temporarily suspended", r"user or domain is disabled", r"user suspended",
    r"account is locked", r"account (?:has been )?(?:expired|blocked|frozen)", r"mailbox unavailable or access denied",
    r"account is temporarily limited",  # au EZweb "The user(s) account is temporarily limited."
)
HASMOVED = _rx(r"has been replaced by ", r"address (?:has )?moved", r"mailbox has moved", r"no longer (?:valid|in use)\b.{0,40}forward",
               r"user has moved")
NORELAYING = _rx(
    r"relay(?:ing)? (?:access )?(?:denied|not permitted|not allowed|prohibited)", r"not (?:permitted|allowed) to relay",
    r"unable to relay", r"relay not permitted", r"we do not relay", r"no relaying", r"relay denied",
    r"not a gateway", r"relaying mail to .{0,60} is not allowed", r"that domain isn't in my list of allowed rcpthosts",
    r"cannot relay", r"relay access denied", r"insecure mail relay", r"sorry, that domain isn't in my list", r"not configured to relay",
)
AUTHFAILURE = _rx(
    r"//spf\.pobox\.com", r"bad spf records", r"dmarc policy", r"required authentication level",
    r"spf settings", r"sender policy framework", r"spf (?:check|validation)(?: failed|: fail)",
    r"spf \(sender policy framework\) domain authentication fail", r"authentication requirements",
    r"is not allowed to send from <.{0,80}per it'?s spf", r"dkim (?:signature )?(?:fail|verification|check)",
    r"unauthenticated email", r"dmarc (?:fail|reject|check|verification)", r"\bspf fail",
    r"does not pass (?:dmarc|spf|dkim)", r"failed (?:dmarc|spf|dkim)", r"sender is not authorized",
    r"not authorized to send on behalf", r"_401\b",
    r"does not have authentication information",  # Gmail 5.7.1 / 5.7.26
)
USERUNKNOWN = _rx(
    r"user unknown", r"unknown user", r"no such (?:user|mailbox|recipient|address|person|local user)", r"user not found",
    r"user (?:does not|doesn't|not) exist", r"recipient (?:does not|doesn't|not) exist", r"unknown recipient",
    r"recipient unknown", r"invalid recipient", r"invalid mailbox", r"mailbox (?:does not|doesn't) exist", r"mailbox not found",
    r"mailbox (?:is )?unavailable", r"mailbox not present", r"mailbox invalid", r"address (?:does not|doesn't) exist",
    r"email address could not be found", r"address unknown", r"unknown address", r"address invalid", r"invalid address",
    r"not a valid (?:user|mailbox|recipient)", r"is not a known user", r"no mailbox (?:here )?(?:by that name|found|available)",
    r"no account by that name", r"recipient not found", r"recipient not ok", r"recipient is not local",
    r"recipient refuses to accept", r"recipient is not accepted", r"account (?:that you tried to reach )?does not exist",
    r"does not exist at the organization", r"unknown (?:local[- ]?part|e-?mail address|mailbox)", r"bad recipient",
    r"badrcptto", r"not in my validrcptto", r"user missing home directory", r"user not active", r"user not known",
    r"no (?:such )?user here", r"sorry, no mailbox", r"utilisateur inconnu", r"no existe (?:dicha persona|ese usuario)",
    r"nessun utente", r"adresse nicht gefunden", r"non-?existent user", r"address not present in directory",
    r"destination addresses were unknown", r"destination server rejected recipients", r"recipient address rejected: (?:access denied|invalid|unknown|user)",
    r"user (?:\S+ )?(?:was not found|does not exist|unknown)", r"user \(.{0,80}\) unknown", r"unknown or illegal alias",
    r"invalid or unknown virtual user", r"this address no longer accepts mail", r"no longer (?:valid|available)",
    r"there is no one at this address", r"not our customer", r"no such address",
    r"email name is not found", r"not found in (?:directory|ldap)",
    r"mailbox unavailable", r"account unavailable", r"not listed in domino directory",
    r"addressee unknown", r"invalid user", r"invalid final delivery userid",  # IMail
    r"not listed in (?:public )?name (?:&|and) address book",  # Lotus Notes
    r"address couldn't be found",  # Gmail "Your message wasn't delivered to ... because the address couldn't be found"
    r"recipient address rejected\.",  # Postfix/au "550 <...>: Recipient address rejected." at RCPT
    r"(?:does not|doesn't) have an? .{0,30}account",  # Yahoo "This user doesn't have a yahoo.com account"
)
FILTERED = _rx(
    r"account is protected by", r"bounced address", r"has restricted sms e-mail", r"is not accepting any mail",
    r"message rejected due to user rules", r"not found recipient account", r"refuse to receive mail",
    r"only accepting mail from specific", r"refused due to recipient preferences", r"user refuses to receive",
    r"user reject", r"you have been blocked by the recipient", r"message filtered",
)
REQUIREPTR = _rx(
    r"ip name lookup failed", r"ptr record", r"bad dns ptr", r"cannot find your hostname", r"cannot resolve your address",
    r"reverse dns", r"reverse lookup", r"rdns", r"unresolvable relay host name", r"generic dns ptr",
    r"domain .{0,60} mismatches client ip", r"unverifyable sending ips", r"does not have a ptr",
    r"forward dns entry does not point to the sending ip", r"no reverse",
)
NOTCOMPLIANTRFC = _rx(
    r"this message is not rfc 5322 compliant", r"duplicate header", r"multiple (?:from|to|subject|date|message-id) (?:headers|header fields)",
    r"rfc 5322", r"rfc5322", r"rfc 2822", r"rfc2822", r"not compliant with rfc", r"message (?:header )?is not rfc",
    r"there are multiple", r"bare (?:lf|linefeed)", r"missing required header",
    r"multiple addresses in from",  # Gmail "Messages with multiple addresses in From: header are not accepted"
    r"duplicated message-id",  # fml
)
BADREPUTATION = _rx(
    r"ip address has a poor reputation", r"poor (?:ip )?reputation", r"sender reputation", r"low reputation",
    r"reputation (?:of your|is too low|score)", r"bad reputation", r"has been temporarily rate limited due to ip reputation",
)
CONTENTERROR = _rx(r"improper use of 8-bit data", r"message header size", r"header size exceeds", r"headers? (?:are|is) (?:too long|malformed)",
                   r"illegal character", r"8-bit data", r"message contains invalid header", r"invalid header")
REJECTED = _rx(
    r"access denied \(in reply to mail from", r"sender blacklisted", r"administrative prohibition", r"batv",
    r"backscatter protection", r"isn't on the recipient's list of senders", r"bogus mail from",
    r"purported responsible address", r"without a valid sender domain", r"denied \[bouncedeny\]",
    r"delivery not authorized, message refused", r"domain of sender address ", r"senderfilterconfig",
    r"emetteur invalide", r"empty envelope senders", r"envelope blocked", r"no third-party dsns",
    r"from: domain is invalid", r"fully qualified email address required", r"invalid sender", r"registered gateway user",
    r"mail from not owned by user", r"email address is not verified", r"null sender is not allowed",
    r"returned mail not accepted here", r"rule imposed mailbox access for", r"sender address has been blacklisted",
    r"sender (?:email )?address rejected", r"sender is in my black list", r"sender is spammer", r"sender not pre-approved",
    r"sender rejected", r"sender domain is empty", r"sender verify failed", r"sender was rejected", r"spam reporting address",
    r"empty email address", r"this server does not accept mail from", r"unsigned dsn", r"unroutable sender address",
    r"not allowed to post to this", r"address that has been blacklisted", r"your email address has been blacklisted",
    r"sender address (?:is )?(?:invalid|not allowed|blocked)", r"sender (?:domain )?(?:denied|refused|blocked)",
    r"\bsender\b.{0,40}\bdenied", r"you are not allowed to post", r"\bsender (?:unknown|invalid)", r"domain (?:of sender )?not found",
    r"sender domain must exist", r"sender address must exist", r"(?<!recipient )(?<!5\.1\.0 )address rejected",
    r"does not exist e2110",  # Exim callout answer seen at MAIL FROM
    r"sending this from a different address or alias using the",  # Google Workspace 'Send mail as'
    # mailing-list managers refusing a non-member's post (fml, Mailman, Google Groups)
    r"not a member of this (?:mailing )?list", r"not member article from", r"\bare not member",
    r"reject mail from ", r"reject spammers:", r"header may cause mail loop",
)
REJECTED_UNLESS = _rx(r"recipient address rejected", r"5\.1\.0 address rejected", r"sender ip address rejected")
HOSTUNKNOWN = _rx(
    r"domain does not exist", r"domain is not reachable", r"domain must exist", r"host or domain name not found",
    r"host unknown", r"unknown host", r"host unreachable", r"mail domain mentioned in email address is unknown",
    r"name or service not known", r"no such domain", r"unknown domain", r"the account or domain may not exist",
    r"unroutable address", r"unrouteable address", r"no host by that name",
    r"domain (?:is )?(?:not found|invalid|unknown)", r"illegal host/domain", r"domain not found", r"not a valid domain",
    r"553 .{0,60} does not exist", r"couldn't find any host named", r"no valid mx",
    r"dns lookup failure: host \S+ not found",  # DragonFly Mail Agent (net.c)
)
NETWORKERROR_BEFORE_HOST = _rx(r"malformed (?:or unexpected )?name server reply", r"host name lookup failure", r"try again")
SPAMDETECTED = _rx(
    r"\bspam\b", r"unsolicited", r"spamhaus\.org/help/help_spam", r"blacklisted url", r"content filter",
    r"bulk (?:e-?mail|mail|advertising)", r"junk mail", r"message content rejected", r"spamassassin",
    r"mail content denied", r"unacceptable content", r"rejecting (?:banned|mail) content", r"probability of being spam",
    r"spam score", r"uribl", r"recurrent pattern detection", r"antispam", r"anti-spam", r"classified as bulk",
    r"message filtered\. (?:please see|refer to)", r"greylisted.{0,40}please try again", r"spamblock", r"spam-like",
    r"identified as spam", r"looks like spam", r"appears to be spam",
)
# spam verdicts that beat any status code: Orange "Mail rejete. Mail rejected. ofr_506",
# Amazon SES "Message content rejected"
SPAM_STRONG = _rx(r"mail rejete\. mail rejected\..{0,20}506", r"message content rejected", r"rejected as spam",
                  r"scored as spam",
                  r"detected as spam", r"classified as spam")
SPEEDING = _rx(
    r"(?<!connection )rate limit", r"too many (?:messages|emails|mails)(?: have been)? sent", r"sending too (?:fast|much)",
    r"exceeded (?:the )?(?:message|sending|hourly|daily) (?:rate|limit|quota)", r"throttl", r"too fast",
    r"please slow down", r"sending rate", r"received too many messages", r"too many messages in this connection",
    r"receiving mail at a rate",  # Gmail 5.2.1 "The user you are trying to contact is receiving mail at a rate that ..."
    r"too many recipients this hour",  # GoDaddy IB607
)
TOOMANYCONN = _rx(r"too many (?:\w+ ){0,2}(?:connections|sessions)", r"connection (?:rate|count) limit",
                  r"too many smtp sessions", r"max(?:imum)? (?:number of )?connections", r"connection limit",
                  r"too many recipients(?! this hour)",  # RFC 3463 X.5.3 "552 Too many recipients" (Sisimai: toomanyconn)
                  )
BLOCKED = _rx(
    r" said: 550 blocked", r"spamcop\.net/bl", r"bad sender ip", r"banned sending ip", r"blacklisted by", r"blocked using ",
    r"blocked - see http", r"dnsbl", r"client host rejected", r"confirm this mail server", r"connection dropped",
    r"connection refused by", r"connection reset by peer", r"connection was dropped by remote host", r"spamhaus",
    r"currently sending spam see", r"dynamic/zombied/spam ips", r"no valid recipients from ", r"not accepting connections",
    r"bad ip profile", r"go away", r"helo command rejected", r"host network not allowed", r"dynamic ip",
    r"invalid ip for sending", r"is in a black list", r"is not allowed to send mail from", r"no access from mail server",
    r"no matches to nameserver query", r"accepting mail from your ip", r"on our block ?list", r"use the smtp server of your isp",
    r"refused - see http", r"multi-blacklist", r"has not passed validation", r"open proxy", r"sender ip address rejected",
    r"forbidden by your ip", r"service not available, closing transmission channel", r"after initial connection",
    r"looks suspiciously like spammer", r"unexpected volume or user complaints", r"to submit messages to this e-mail system has been rejected",
    r"too many spams from your ip", r"unwanted messages have been sent from the following ip", r"was blocked by ",
    r"you are not allowed to connect", r"you are sending spam", r"listed in the rbl", r"blacklisted", r"blocklist",
    r"block list", r"\brbl\b", r"ip .{0,60} (?:is )?(?:blocked|listed|banned)",
    r"your (?:ip|server|network|host) .{0,40}(?:rejected|refused|denied|not allowed)", r"\bdenied\b.{0,30}\bip\b",
    r"temporarily deferred due to user complaints", r"abusive", r"my name was rejected",  # qmail at HELO
)
#: looser block wording, tried only after the policy, system and network texts
BLOCKED_GENERIC = _rx(r"\bblocked\b", r"listed (?:at|on|in) ", r"refused to talk to me", r"\(bl\)")
VIRUSDETECTED = _rx(r"virus", r"malware", r"infected", r"trojan", r"worm found", r"harmful content")
POLICYVIOLATION = _rx(
    r"illegal attachment", r"not accepting mail with ", r"by non-member to a members-only list", r"closed mailing list",
    r"denied by policy", r"policy reasons", r"security policies", r"header are not accepted", r"header error",
    r"policy violation", r"organizational settings", r"message given low priority", r"rejected due to local policy",
    r"protocol violation", r"not subscribed to this group",
    r"rejected by organization policy", r"content presents a potential", r"do not accept messages containing",
    r"mass mailer", r"solving a captcha", r"local policy", r"\bpolicy\b", r"prohibited attachment", r"attachment.{0,40}not allowed",
)
SYSTEMERROR = _rx(
    r"aliasing/forwarding loop broken", r"can't create user output file", r"could not load drd", r"internal error", r"internal server error",
    r"interrupted system call", r"encountered an error while being processed", r"it would create a mail loop",
    r"configuration error",
    r"local error in processing", r"loop was found", r"loops back to myself", r"queue file write error", r"there is no mdb",
    r"misconfigured", r"service currently unavailable", r"system config error", r"temporary local problem",
    r"timeout waiting for input", r"transaction failed\b",
    r"loop alert: |loop back warning|unix from loop|fml system error|has detected a loop condition",  # fml r"unable to connect .{0,40}daemon", r"system error",
    r"server error", r"unable to contact ldap server",  # qmail-ldap
)
NETWORKERROR = _rx(
    r"could not connect and send the mail", r"dns records for the destination computer could not be found",
    r"hop count exceeded", r"host is unreachable", r"host name lookup failure", r"host not found, try again",
    r"mail forwarding loop for ", r"malformed (?:or unexpected )?name server reply", r"forwarding loop count exceeded",
    r"message looping", r"routing loop", r"no route to host", r"too many hops", r"unable to resolve route",
    r"unrouteable mail domain", r"dns (?:lookup|query) (?:failure|failed|error)", r"temporary dns", r"network (?:is )?unreachable",
    r"lost connection", r"connection (?:closed|lost)", r"loop detected", r"domain name lookup",
    r"dns error",  # Gmail "DNS Error: ... DNS type 'mx' lookup of ... responded with code NXDOMAIN" (status 4.0.0)
    r"establish an smtp connection",  # qmail "Sorry, I wasn't able to establish an SMTP connection"
)
SYSTEMFULL = _rx(r"mail system full", r"system (?:disk )?(?:is )?full", r"insufficient system storage",
                 r"out of disk", r"queue (?:is )?full")
NOTACCEPT = _rx(r"does not accept mail", r"nullmx", r"null mx", r"mail receiving disabled", r"name server: \.: host not found",
                r"no mx record found for domain=", r"no route for current request", r"smtp protocol returned a permanent error",
                r"not accepting mail", r"accepts no mail",
                r"couldn't find a mail exchanger",  # qmail "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)"
                r"indicated no smtp service",  # Exim "an MX or SRV record indicated no SMTP service"
                )
EXPIRED = _rx(
    r"connection timed out", r"could not find a gateway", r"delivery attempts will continue", r"delivery (?:time )?expired",
    r"failed to deliver to domain ", r"giving up on", r"gave up", r"failing for a long time", r"has been delayed",
    r"not been collected after", r"expired after sitting in queue", r"message expired", r"message timed out",
    r"retry time not reached", r"retry timeout exceeded", r"server did not respond", r"in the queue too long", r"in queue too long",
    r"after multiple retries", r"within the allowed queue period", r"could not be delivered for (?:more than )?.{0,10}(?:days|hours)",
    r"too long in queue", r"queue lifetime", r"timed? ?out", r"time-?out", r"unable to deliver message after",
    r"could not deliver .{0,30} for .{0,10} (?:days|hours)", r"maximum time", r"unreachable", r"host not reachable",
    r"did not accept our requests to connect",  # Gmail
    r"delivery failed \d+ attempts",  # IMail
    r"your message was not delivered within ",  # au EZweb "... within 0 days and 1 hours."
    r"could not deliver for the last",  # DragonFly Mail Agent "Could not deliver for the last N seconds. Giving up."
)
FAILEDSTARTTLS = _rx(r"starttls", r"\btls\b.{0,40}(?:required|failed|failure|error|negotiat)", r"requiretls", r"encryption required")
SECURITYERROR = _rx(r"authentication (?:required|failed|failure)", r"auth(?:entication)? credentials invalid",
                    r"security (?:violation|error|check)", r"mechanism is too weak", r"must (?:authenticate|use authentication)",
                    r"unauthorized", r"not authenticated", r"unauthenticated senders",
                    r"turn on smtp authentication",  # MessageLabs
                    r"security alert",  # fml
                    )
SUPPRESSED = _rx(r"suppression list", r"suppressed", r"on the (?:account-level )?suppression")
MAILERERROR = _rx(
    r"x-unix;", r"command output:", r"procmail", r"bin/sh", r"mailer error", r"command (?:died|failed|output)", r"exit (?:status|code) \d",
    r"pipe to \|", r"local delivery failed", r"\|/", r"exited with", r"permission denied", r"service unavailable \(#4\.3\.0\)",
)
SYNTAXERROR = _rx(r"syntax error", r"command unrecognized", r"unrecognized command", r"bad (?:command|sequence)",
                  r"command not (?:recognized|implemented)", r"invalid command", r"out of sequence",
                  r"malformed address")
VACATION = _rx(r"out of (?:the )?office", r"vacation", r"away from (?:my|the) office", r"auto(?:matic)?[- ]?reply")

BEFORE_DATA = r"CONN|HELO|EHLO|STARTTLS|AUTH|MAIL|RCPT"
NOT_EXPLICIT = r"|[45]\.0\.0|[45]\.5\.0|[45]\.0\.\d{3}"

# --------------------------------------------------------------------------- providers
#: Microsoft (Exchange Server, Exchange Online / Office 365, Outlook.com) documents its own
#: enhanced codes and texts ("Email non-delivery reports and SMTP errors in Exchange
#: Online", "Outlook.com postmaster troubleshooting"). (reason, status regex or "", text)
#: -- specific enough to apply whoever relays them, so they come first.
MICROSOFT: tuple[tuple[str, str, str], ...] = (
    ("authfailure", r"4\.7\.26", r"must pass either spf or dkim"),
    ("authfailure", r"5\.7\.23", r"sender policy framework violation"),
    ("authfailure", r"5\.7\.509", r"does not pass dmarc verification"),
    ("authfailure", r"5\.7\.515", r"doesn't meet the required authentication level"),
    ("badreputation", r"4\.7\.650", r"rate limited due to ip reputation"),
    ("badreputation", "", r"\b(?:rp-00[123]|sc-001|ou-002)\b"),
    ("policyviolation", "", r"\bsc-002\b"),
    ("blocked", "", r"\b(?:sc-00[34]|dy-001|ou-001)\b"),
    ("blocked", r"4\.7\.(?:[5-8]\d\d)", r"access denied, please try again later"),
    ("blocked", r"5\.7\.25", r"must have a reverse dns record"),
    ("blocked", r"5\.7\.506", r"access denied, bad helo"),
    ("blocked", r"5\.7\.507", r"access denied, rejected by recipient"),
    ("blocked", r"5\.7\.510", r"does not accept email over ipv6"),
    ("blocked", r"5\.7\.511", r"access denied, banned sender"),
    ("blocked", r"5\.7\.513", r"using customer block list"),
    ("blocked", r"5\.7\.6[0-4]\d", r"banned sending ip"),
    ("blocked", r"5\.7\.1", r"part of their network is on our block list \(s3150\)"),
    ("contenterror", r"5\.3\.0", r"too many related errors"),
    ("contenterror", r"5\.6\.11", r"invalid characters"),
    ("contenterror", r"5\.5\.6", r"invalid message content"),

    ("mesgtoobig", r"5\.3\.4", r"message size exceeds fixed maximum message size|message too big for system"),
    ("expired", r"4\.4\.7|5\.4\.300|5\.4\.316", r"message delayed|message expired"),
    ("failedstarttls", "", r"failed mta-sts validation|starttls is required to send mail|starttls-not-supported|"
                           r"certificate-expired:|tlsa-invalid:|dnssec-invalid:|certificate-host-mismatch:"),

    ("networkerror", r"[45]\.4\.312", r"dns query failed"),
    ("networkerror", r"5\.4\.(?:6|14)", r"routing loop detected|hop count exceeded"),
    ("norelaying", r"5\.4\.1|5\.7\.64", r"relay access denied"),
    ("norelaying", r"5\.7\.1", r"unable to relay"),
    ("notaccept", "", r"hosted tenant which has no mail-enabled subscriptions|missing or bad storedriver mdb properties"),
    ("policyviolation", r"5\.7\.9\d\d", r"delivery not authorized, message refused"),
    ("policyviolation", r"5\.0\.350", r"x-dg-ref header is too long|policy violation detected \(as345\)"),
    ("rejected", r"5\.1\.7", r"unknown sender address|invalid address"),
    ("rejected", r"5\.1\.0", r"sender denied"),
    ("rejected", r"5\.1\.8", r"bad outbound sender"),
    ("rejected", r"5\.7\.1", r"delivery not authorized"),
    ("rejected", r"5\.7\.(?:12|124|13[3-6])", r"sender was not authenticated|sender not in allowed-senders list|sender not authenticated for group"),
    ("rejected", r"5\.7\.50[1-3]", r"spam abuse detected|banned sender"),
    ("rejected", r"5\.7\.512", r"rfc 5322 section 3\.6\.2"),
    ("rejected", r"5\.7\.750", r"unregistered domains"),
    ("securityerror", r"5\.7\.3", r"cannot achieve exchange server authentication|not authorized"),
    ("securityerror", r"5\.7\.57", r"client was not authenticated to send anonymous mail"),
    ("securityerror", r"5\.7\.1", r"client was not authenticated"),
    ("spamdetected", r"5\.2\.1", r"content filter agent quarantined"),
    ("speeding", "", r"recipient thread limit exceeded|daily limit for message recipients|submission quota exceeded|"
                     r"per hour message receive limit|exceeded their limit for|exceeded permitted limits within|"
                     r"tenant has exceeded threshold|traffic not accepted from this ip"),
    ("toomanyconn", r"4\.7\.652", r"exceeded the maximum number of connections"),
    ("suspend", r"5\.7\.504", r"recipient address rejected: access denied"),
    ("suspend", r"5\.7\.505", r"banned recipient"),
    ("suspend", r"5\.2\.1", r"mailbox cannot be accessed"),
    ("syntaxerror", "", r"send hello first"),
    ("syntaxerror", r"5\.3\.3", r"unrecognized command"),
    ("systemerror", r"4\.3\.2", r"service not available|service not active"),
    ("systemerror", r"5\.3\.5", r"system incorrectly configured"),
    ("systemerror", "", r"journaling archive is disabled|misconfigured forwarding address|message failed to be replicated|"
                        r"\(suspiciousremoteservererror\)|server busy\. please try again later from|pfa agent busy"),
    ("systemfull", r"4\.3\.1", r"insufficient system resources"),
    ("userunknown", "", r"resolver\.adr\.(?:exrecipnotfound|recipientnotfound|recipnotfound)|"
                        r"storedrv\.submit; invalid recipient address|recipient address reserved by rfc 2606|"
                        r"single label domains not accepted|invalid x\.400 address|"
                        r"remote server returned unknown recipient or mailbox unavailable"),
    ("userunknown", r"5\.1\.10", r"recipient not found"),
    ("userunknown", r"5\.4\.1", r"recipient address rejected: access denied"),
    ("userunknown", r"5\.5\.0", r"requested action not taken: mailbox unavailable"),
)

#: Exchange Server's own diagnostic codes: 2007 and later name the failing component
#: ("#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##"), 2003 quotes an MSEXCH code
#: ("MSEXCH:IMS:... (000C05A6) Unknown Recipient"). Exchange Online (outlook.com hosts)
#: reads SMTPSEND.DNS.NonExistentDomain as a network error and RecipSizeLimit as a
#: message size problem (Microsoft's NDR table), on-premises servers as the names say.
EXCHANGE: tuple[tuple[str, str, str], ...] = (
    ("networkerror", r"outlook\.com|exchangelabs\.com|onmicrosoft\.com", r"smtpsend\.dns\.nonexistentdomain"),
    ("mesgtoobig", r"outlook\.com|exchangelabs\.com|onmicrosoft\.com", r"recipsizelimit"),
    ("hostunknown", "", r"smtpsend\.dns\.nonexistentdomain"),
    ("networkerror", "", r"smtpsend\.dns\.mxloopback"),
    ("systemerror", "", r"resolver\.adr\.(?:badprimary|invalidinsmtp|ambiguous)"),
    ("toomanyconn", "", r"resolver\.adr\.reciplimit"),
    ("securityerror", "", r"resolver\.rst\.authrequired"),
    ("rejected", "", r"resolver\.rst\.notauthorized"),
    ("exceedlimit", "", r"resolver\.rst\.recipsizelimit"),
    ("expired", "", r"queue\.expired"),
    ("userunknown", "", r"\(000c05a6\)|recipient name is not recognized"),
    ("filtered", "", r"\(000c0595\)"),
    ("systemerror", "", r"\(00010256\)|\(000d06b5\)"),
    ("networkerror", "", r"\(00120270\)"),
    ("contenterror", "", r"\(00050311\)|\(000502cc\)"),
    ("securityerror", "", r"\(000b0981\)"),
)

#: Google (Gmail, Workspace) documents its replies ("SMTP error messages",
#: support.google.com/a/answer/3726730); phrases specific enough to need no host check.
GOOGLE: tuple[tuple[str, str, str], ...] = (
    ("authfailure", "", r"the spf record of the sending domain|senders to authenticate with (?:either spf or dkim|spf|dkim)|"
                        r"has an spf record with a hard fail|is not accepted due to domain's dmarc policy|"
                        r"fails to pass authentication checks|aligned with either the authenticated spf or dkim|"
                        r"to add a dmarc record to"),
    ("badreputation", "", r"very low reputation of the sending (?:ip address|domain)"),
    ("blocked", "", r"ip not in whitelist for rcpt domain|an unusual rate of (?:unsolicited )?mail|helo/ehlo argument is invalid|"
                    r"empty helo/ehlo argument not allowed"),
    ("exceedlimit", "", r"exceeds google's limit of limit attachments|header size limits?|bytes per individual header size|"
                        r"exceeds google's header name limit"),
    ("expired", "", r"connection expired, try reconnecting|timeout - closing connection"),
    ("failedstarttls", "", r"must issue a starttls command first|starttls may not be repeated|tls required for rcpt domain|"
                           r"senders to use tls/ssl for smtp"),
    ("mailboxfull", "", r"inbox is out of storage space|email account that you tried to reach is over quota|email quota exceeded"),
    ("mesgtoobig", "", r"exceeded google's message size limits|exceeds google's message size limit"),
    ("networkerror", "", r"message exceeded 50 hops"),
    ("norelaying", "", r"mail relay denied|invalid credentials for relay|not authorized to send email directly to our servers"),
    ("notcompliantrfc", "", r"missing a valid address in the from: header|multiple addresses in from: header|"
                            r"is not rfc 5322 compliant|missing a valid message-id: header|"
                            r"unicode character in a disallowed header|encoded-word syntax is not permitted|"
                            r"is not a valid rfc 5321 address|mail message is malformed"),
    ("policyviolation", "", r"illegal attachment on your message|content presents a potential security issue|"
                            r"has a policy that prohibited the mail|sending messages with the same message-id"),
    ("rejected", "", r"mail sending denied|unauthenticated email is not accepted"),
    ("requireptr", "", r"does not meet ipv6 sending guidelines regarding ptr|does not have a ptr record|"
                       r"have a ptr record, or the ptr record|does not match the ip address of the hostname"),
    ("securityerror", "", r"too many login attempts|no identity changes permitted|application-specific password required|"
                          r"please log in (?:with|through) your web browser|username and password not accepted"),
    ("spamdetected", "", r"due to the nature of the content or the links within|likely unsolicited mail"),
    ("speeding", "", r"is receiving mail too quickly|peak smtp relay limit exceeded|"
                     r"rate that prevents additional messages from being delivered|daily (?:user )?sending (?:quota|limit) exceeded|"
                     r"daily smtp relay (?:sending )?limit exceeded|this mail has been rate limited"),
    ("suspend", "", r"account that you tried to reach is (?:disabled|inactive)"),
    ("systemerror", "", r"temporary system problem|multiple destination domains per transaction is unsupported|"
                        r"mail server (?:has )?temporarily rejected (?:this )?message|domain policy size per transaction exceeded"),
    ("toomanyconn", "", r"your message has too many recipients|too many recipients for this sender"),
    ("userunknown", "", r"because the address couldn't be found\. check for typos"),
)

#: Providers whose replies are generic words that only mean something coming from them:
#: (reason, host pattern, status regex or "", command regex or "", text). Sources:
#: NTT DOCOMO (mfsmax.docomo.ne.jp answers "550 Unknown user" at RCPT for a missing
#: mailbox and after DATA for its users' sender filters), Broadcom/Symantec MessageLabs
#: Email Security.cloud knowledge base, Spectrum "Understanding email error codes" (AUP#),
#: Cox postmaster, Tencent QQ mail help, AOL, Cloudflare Email Routing, Mimecast SMTP
#: error codes.
def _aup(lo: int, hi: int) -> str:
    return r"aup#\w{0,4}-?(?:" + "|".join(str(n) for n in range(lo, hi + 1)) + r")\b"


BY_HOST: tuple[tuple[str, str, str, str, str], ...] = (
    ("filtered", r"docomo\.ne\.jp", r"5\.2\.0", "", r"550 unknown user"),
    ("rejected", r"docomo\.ne\.jp", r"5\.0\.0", r"DATA", r"550 unknown user"),
    ("userunknown", r"docomo\.ne\.jp", "", "", r"550 unknown user"),
    ("authfailure", r"messagelabs\.com", "", "", r"domain authentication fail"),
    ("badreputation", r"messagelabs\.com", "", "", r"connection rejected by policy"),
    ("blocked", r"messagelabs\.com", "", "", r"your ip is in the pbl|your ip address (?:\(\S+\) )?has been"),
    ("contenterror", r"messagelabs\.com", "", "", r"stray linefeeds in message"),
    ("failedstarttls", r"messagelabs\.com", "", "", r"tls/sslv3 connection required"),
    ("norelaying", r"messagelabs\.com", "", "", r" as a relay, "),
    ("notcompliantrfc", r"messagelabs\.com", "", "", r"550 requested action aborted \[4\]|is not rfc 5322"),
    ("rejected", r"messagelabs\.com", "", "", r"sender envelope domain not allowed|your (?:domain|email address) has been (?:blocked|blacklisted)|"
                                               r"badmailfrom list"),
    ("securityerror", r"messagelabs\.com", "", "", r"turn on smtp authentication"),
    ("spamdetected", r"messagelabs\.com", "", "", r"message filtered|filtered by outbound scanning"),
    ("toomanyconn", r"messagelabs\.com", "", "", r"too many recipients received this hour|too many messages"),
    ("userunknown", r"messagelabs\.com", "", "", r"no such user|invalid recipient|mailbox is not allowed"),
    ("blocked", r"charter\.net|spectrum", "", "", _aup(1000, 1000) + "|" + _aup(1200, 1250)),
    ("rejected", r"charter\.net|spectrum", "", "", _aup(1010, 1080) + "|" + _aup(1500, 1500) + "|" + _aup(1520, 1520)),
    ("systemerror", r"charter\.net|spectrum", "", "", _aup(1090, 1090)),
    ("requireptr", r"charter\.net|spectrum", "", "", _aup(1100, 1150)),
    ("policyviolation", r"charter\.net|spectrum", "", "", _aup(1160, 1190) + "|" + _aup(1560, 1560)),
    ("networkerror", r"charter\.net|spectrum", "", "", _aup(1260, 1260)),
    ("toomanyconn", r"charter\.net|spectrum", "", "", _aup(1300, 1340)),
    ("speeding", r"charter\.net|spectrum", "", "", _aup(1350, 1490) + "|" + _aup(1540, 1580)),
    ("mesgtoobig", r"charter\.net|spectrum", "", "", _aup(1530, 1530)),
    # Cox postmaster ("AUP#CXBL" ... codes and texts)
    ("blocked", r"cox\.net", "", "", r"aup#(?:cxbl|cdrbl|ipbl\d+)\b|too many bad commands from|too many invalid recipients"),
    ("requireptr", r"cox\.net", "", "", r"aup#cxdns\b|dns check failure - try again later|rejected - no rdns"),
    ("authfailure", r"cox\.net", "", "", r"aup#cxsndr\b"),
    ("rejected", r"cox\.net", "", "", r"aup#cxsmtp\b|sender rejected"),
    ("toomanyconn", r"cox\.net", "", "", r"aup#(?:cxcnct|cxmxrt)\b|too many sessions from|requested action aborted: try again later|"
                                         r"message threshold exceeded"),
    ("securityerror", r"cox\.net", "", "", r"aup#(?:cxthrt|cxmj)\b"),
    ("spamdetected", r"cox\.net", "", "", r"aup#urlbl\d+\b"),
    ("policyviolation", r"cox\.net", "", "", r"esmtp no data before greeting|attachment extension is forbidden"),
    ("systemerror", r"cox\.net", "", "", r"esmtp server temporarily not available"),
    ("userunknown", r"cox\.net", "", "", r"recipient rejected"),
    # Tencent QQ mail (service.mail.qq.com/detail/122)
    ("authfailure", r"qq\.com", "", "", r"spf check failed|dmarc check failed"),
    ("blocked", r"qq\.com", "", "", r"suspected bounce attacks|suspected spam ip|connection denied"),
    ("mesgtoobig", r"qq\.com", "", "", r"message too large"),
    ("spamdetected", r"qq\.com", "", "", r"spam is embedded in the email|mail content denied"),
    ("rejected", r"qq\.com", "", "", r"suspected spam|mail is rejected by recipients"),
    ("speeding", r"qq\.com", "", "", r"mailbox unavailable or access denined|frequency of receiving messages is limited"),
    ("suspend", r"qq\.com", "", "", r"is a deactivated mailbox"),
    ("syntaxerror", r"qq\.com", "", "", r"bad address syntax"),
    ("toomanyconn", r"qq\.com", "", "", r"(?:ip|domain|sender|connection) frequency limited"),
    ("userunknown", r"qq\.com", "", "", r"mailbox not found"),
    # BIGLOBE (and the cable providers it hosts) words a recipient-side refusal this way
    ("filtered", r"biglobe\.ne\.jp|inacatv\.ne\.jp|tmtv\.ne\.jp|ttv\.ne\.jp", "", "", r"mail delivery failed\.\.\. user unknown"),
    # au (KDDI) EZweb: "Each of the following recipients was rejected by a remote mail server"
    ("onhold", r"ezweb\.ne\.jp|au\.com", "", "", r"^each of the following recipients was rejected by a remote mail server\.?$"),
    # AOL, Cloudflare Email Routing (developers.cloudflare.com/email-routing/postmaster)
    ("hostunknown", r"aol\.com", "", "", r"host or domain name not found"),
    ("notaccept", r"aol\.com", "", "", r"type=mx: malformed or unexpected name server reply"),
    ("blocked", r"cloudflare\.net", "", "", r"found on one or more dnsbls"),
    ("systemerror", r"cloudflare\.net", "", "", r"upstream error"),
    # Mimecast SMTP error codes (community.mimecast.com)
    ("authfailure", r"mimecast", "", "", r"(?:spf|dkim|dmarc) sender invalid - envelope rejected"),
    ("badreputation", r"mimecast", "", "", r"internal resources are temporarily unavailable|local ct ip reputation"),
    ("blocked", r"mimecast", "", "", r"sender address blocked|recipient temporarily unavailable|ip temporarily blacklisted"),
    ("expired", r"mimecast", "", "", r"journal messages past the expiration"),
    ("failedstarttls", r"mimecast", "", "", r"this route requires (?:encryption|tls version|high-strength ciphers)|"
                                            r"configuration is invalid for this certificate"),
    ("mesgtoobig", r"mimecast", "", "", r"maximum email size exceeded"),
    ("networkerror", r"mimecast", "", "", r"the incorrect hostname used for inbounds|mail loop detected"),
    ("norelaying", r"mimecast", "", "", r"open relay (?:is )?not allowed"),
    ("notaccept", r"mimecast", "", "", r"account inbounds disabled"),
    ("onhold", r"mimecast", "", "", r"account outbounds disabled|hostname is not authorized|journal message past expiration"),
    ("policyviolation", r"mimecast", "", "", r"anti-spoofing policy|content examination policy|host network,? not allowed"),
    ("rejected", r"mimecast", "", "", r"administrative prohibition envelope blocked|envelope blocked - user (?:domain )?entry|"
                                      r"manually blocked senders|blocked senders - block policy|block policy for envelope from"),
    ("securityerror", r"mimecast", "", "", r"incorrect authentication data|submitter failed to"),
    ("systemerror", r"mimecast", "", "", r"unable to process (?:connection|command|an email)|message ended early"),
    ("toomanyconn", r"mimecast", "", "", r"account service is temporarily unavailable|too many recipients|exceeding outbound thread limit"),
    ("userunknown", r"mimecast", "", "", r"invalid address|user unknown|invalid recipient"),
)

# --------------------------------------------------------------------------- the table
RULES: tuple[Rule, ...] = (
    # 1. what the source states -------------------------------------------------------
    Rule("feedback opt-out", "feedback", "RFC 5965 3.1 Feedback-Type: opt-out; RFC 2369 unsubscribe",
         hint=r"feedback|unsubscribe", feedback_type=r"opt-?out|unsubscribe"),
    Rule("feedback", "feedback", "RFC 5965 message/feedback-report", hint=r"feedback"),
    Rule("unsubscribe", "feedback", "RFC 2369 mailto: unsubscribe, RFC 8058", hint=r"unsubscribe"),
    Rule("group post denied", "rejected", "Google Groups: 'the group ... may not exist, or you may not have permission to post'",
         hint=r"group-post-denied"),
    Rule("vacation", "vacation", "RFC 3834 Auto-Submitted: auto-replied", hint=r"vacation|auto.?reply"),
    Rule("suppressed", "suppressed", "provider suppression list (SES, SendGrid, Mailgun)", hint=r"suppress\w*"),
    # Amazon SES bounceType/bounceSubType ("Amazon SNS notification contents for Amazon SES")
    Rule("ses suppressed", "suppressed", "SES Permanent/Suppressed, Permanent/OnAccountSuppressionList",
         hint=r".*/(?:suppressed|onaccountsuppressionlist)"),
    Rule("ses mailbox full", "mailboxfull", "SES Transient/MailboxFull", hint=r".*/mailboxfull"),
    Rule("ses too large", "mesgtoobig", "SES Transient/MessageTooLarge", hint=r".*/messagetoolarge"),
    Rule("ses content", "contenterror", "SES Transient/ContentRejected", hint=r".*/contentrejected"),
    Rule("ses attachment", "securityerror", "SES Transient/AttachmentRejected (Sisimai: securityerror)",
         hint=r".*/attachmentrejected"),
    Rule("delivered action", "delivered", "RFC 3464 2.3.3 Action: delivered/relayed/expanded", action=r"delivered|relayed|expanded"),
    Rule("delivered status", "delivered", "RFC 3463 class 2 = success", status=r"2\.\d+\.\d+"),
    Rule("expired hint", "expired", "log/provider says the queue lifetime ran out (Postfix status=expired)", hint=r"expired"),
    # 2. a provider's documented code + text ------------------------------------------
    *(
        Rule(f"microsoft {reason} {i}", reason, "Microsoft Exchange/Office 365 NDR documentation",
             status=(st or None), text=re.compile(tx))
        for i, (reason, st, tx) in enumerate(MICROSOFT)
    ),
    *(
        Rule(f"exchange {reason} {i}", reason, "Exchange Server NDR diagnostic codes (RESOLVER./QUEUE./SMTPSEND., MSEXCH)",
             remote=(host or None), text=re.compile(tx))
        for i, (reason, host, tx) in enumerate(EXCHANGE)
    ),
    *(
        Rule(f"google {reason} {i}", reason, "Google 'SMTP error messages' (support.google.com/a/answer/3726730)",
             text=re.compile(tx))
        for i, (reason, tx) in enumerate((r, t) for r, _, t in GOOGLE)
    ),
    *(
        Rule(f"host {reason} {i}", reason, "the provider's documented reply (see BY_HOST)",
             remote=host, status=(st or None), command=(cmd or None), text=re.compile(tx))
        for i, (reason, host, st, cmd, tx) in enumerate(BY_HOST)
    ),
    # 3. specific evidence, Sisimai's probe order ---------------------------------------
    Rule("spam verdict", "spamdetected", "Orange 'Mail rejete. Mail rejected. ofr_506', SES 'Message content rejected'",
         text=SPAM_STRONG),
    Rule("mailbox full code", "mailboxfull", "RFC 3463 X.2.2 mailbox full", status=r"[45]\.2\.2"),
    Rule("system full code", "systemfull", "RFC 3463 X.3.1 mail system full, X.4.5 congestion", status=r"[45]\.3\.1|4\.4\.5"),
    Rule("mailbox full text", "mailboxfull", "'Mailbox full', 'over quota' (Postfix, Exim, qmail, Gmail, Yahoo)", text=MAILBOXFULL),
    Rule("local delivery agent", "userunknown", "Sendmail mail.local(8)/local(8): 'mail.local: unknown user: NAME'",
         text=_rx(r"mail\.local: unknown user", r"local: unknown user")),
    Rule("local mailer output", "mailererror", "RFC 3464 Diagnostic-Code: X-Unix; Postfix 'Command output:' of a pipe",
         text=_rx(r"^x-unix;", r"command output:")),
    # Orange / Wanadoo (France Telecom) answer with their own codes and bilingual texts
    Rule("orange account blocked", "suspend", "Orange 'Le compte du destinataire est bloque ... LPN007_426'",
         text=_rx(r"compte du destinataire est bloque", r"recipient account is blocked")),
    Rule("orange invalid recipient", "userunknown", "Orange 'Adresse destinataire invalide. Invalid recipient. LPN007_416'",
         text=_rx(r"adresse destinataire invalide", r"lpn007_41[68]")),
    Rule("orange ip blocked", "blocked", "Orange 'Adresse IP source bloquee ... OFR006_102', 'Service refuse ... please try later'",
         text=_rx(r"adresse ip source bloquee", r"service refuse\. veuillez essayer plus tard\. service refused, please try later\. (?:ofr_999|lpn001_108)")),
    Rule("orange system error", "systemerror", "Orange 'Service refuse ... OFR005_505'", text=_rx(r"ofr005_505")),
    Rule("orange policy", "policyviolation", "Orange 'Client host rejected: #216 ... LPN000_630'", text=_rx(r"lpn000_630")),
    Rule("message too big code", "mesgtoobig", "RFC 3463 X.3.4 message too big for system", status=r"[45]\.3\.4|[45]\.7\.16"),
    Rule("length limit code", "exceedlimit", "RFC 3463 X.2.3 message length exceeds administrative limit", status=r"[45]\.2\.3"),
    Rule("message too big text", "mesgtoobig", "'Message size exceeds fixed limit' (Postfix), 'message too large'", text=MESGTOOBIG),
    Rule("exceed limit text", "exceedlimit", "recipient-side limit messages", text=EXCEEDLIMIT),
    Rule("suspended reply", "suspend", "RFC 3463/Sisimai: 525 user account disabled", reply=r"525"),
    Rule("account disabled code", "suspend", "RFC 3463 X.7.13 user account disabled", status=r"5\.7\.13"),
    Rule("suspended text", "suspend", "'account has been disabled' (Gmail), 'mailbox is frozen' (Mail.ru)", text=SUSPEND),
    Rule("moved code", "hasmoved", "RFC 3463 X.1.6 mailbox moved; RFC 6710 X.7.17/X.7.18", status=r"[45]\.1\.6|5\.7\.1[78]"),
    Rule("moved text", "hasmoved", "'address has been replaced by' (Microsoft)", text=HASMOVED),
    Rule("relaying text", "norelaying", "'Relay access denied' (Postfix), 'relaying denied' (Sendmail)", text=NORELAYING),
    Rule("auth code", "authfailure", "RFC 7372 X.7.20-X.7.26 DKIM/SPF/DMARC failures", status=r"5\.7\.2[0-4]|5\.7\.2[69]|4\.7\.2[46]"),
    Rule("auth text", "authfailure", "'SPF check: fail', 'DMARC policy' (Gmail 5.7.26, Yahoo)", text=AUTHFAILURE),
    Rule("user unknown code", "userunknown", "RFC 3463 X.1.1 bad destination mailbox address",
         status=r"5\.1\.[013]", unless=_rx(BLOCKED.pattern, REJECTED.pattern, NOTACCEPT.pattern, FILTERED.pattern, SPEEDING.pattern)),
    Rule("user unknown at RCPT", "userunknown", "'User unknown' in reply to RCPT TO (RFC 5321 550)", command=r"RCPT", text=USERUNKNOWN),
    Rule("filtered code", "filtered", "RFC 3463 X.2.0/X.2.1/X.2.4/X.1.4 mailbox status", status=r"5\.2\.[014]|5\.1\.4|4\.2\.4",
         text=_rx(USERUNKNOWN.pattern, FILTERED.pattern)),
    Rule("no such account", "userunknown", "Yahoo 'This user doesn't have a yahoo.com account' (554 after DATA)",
         text=_rx(r"(?:does not|doesn't) have an? [\w.-]{1,40} account")),
    Rule("user unknown, own words", "userunknown",
         "the recipient's own MTA states it (no remote reply quoted): IMail 'Unknown user:', Notes, Yahoo",
         reply=r"", status=rf"(?:{NOT_EXPLICIT})", text=USERUNKNOWN, detector=r"(?!rfc3464$).*"),
    Rule("filtered after DATA", "filtered", "a recipient-side filter answering after DATA (Sisimai Filtered)",
         command=rf"(?!(?:{BEFORE_DATA})$).*", text=_rx(FILTERED.pattern, USERUNKNOWN.pattern)),
    Rule("filtered text", "filtered", "'Refused due to recipient preferences' (Facebook), 'user reject'", text=FILTERED),
    Rule("ptr code", "requireptr", "RFC 7372 X.7.25 reverse DNS validation failed", status=r"[45]\.7\.25"),
    Rule("ptr text", "requireptr", "'Client host rejected: cannot find your hostname' (Postfix), Google 'PTR record'", text=REQUIREPTR),
    Rule("rfc text", "notcompliantrfc", "Gmail 'not RFC 5322 compliant', 'duplicate header'", text=NOTCOMPLIANTRFC),
    Rule("reputation text", "badreputation", "Gmail 'IP address has a poor reputation'", text=BADREPUTATION),
    Rule("content code", "contenterror", "RFC 3463 X.6.x message content or media", status=r"[45]\.6\.\d+"),
    Rule("content text", "contenterror", "'improper use of 8-bit data' (Sendmail), header size", text=CONTENTERROR),
    Rule("sender code", "rejected", "RFC 3463 X.1.7/X.1.8 bad sender address", status=r"[45]\.1\.[78]"),
    Rule("denied at MAIL", "rejected", "'Access denied' in reply to MAIL FROM: the sender is refused", command=r"MAIL",
         text=_rx(r"access denied")),
    Rule("sender at MAIL", "rejected", "rejected in reply to MAIL FROM (RFC 5321 4.1.1.2)", command=r"MAIL", text=REJECTED, unless=REJECTED_UNLESS),
    Rule("sender after DATA", "rejected", "sender refused after DATA", command=r"DATA", status=r"(?!5\.1\.1$).*", text=REJECTED, unless=REJECTED_UNLESS),
    Rule("sender text", "rejected", "'Sender address rejected' (Postfix), 'sender verify failed' (Exim)",
         status=rf"(?:{NOT_EXPLICIT}|5\.7\.\d+|4\.7\.\d+|[45]\.3\.0|[45]\.5\.\d)", text=REJECTED, unless=REJECTED_UNLESS),
    Rule("host unknown code", "hostunknown", "RFC 3463 X.1.2 bad destination system",
         status=r"5\.1\.2", unless=NETWORKERROR_BEFORE_HOST),
    Rule("no mail service text", "notaccept", "RFC 7505 null MX; qmail 'couldn't find a mail exchanger'", text=NOTACCEPT),
    Rule("unable to route code", "hostunknown", "RFC 3463 X.4.4 unable to route", status=r"5\.4\.4", unless=NETWORKERROR_BEFORE_HOST),
    Rule("host unknown text", "hostunknown", "'Host or domain name not found' (Postfix), 'no host by that name' (qmail)", text=HOSTUNKNOWN),
    Rule("null mx code", "notaccept", "RFC 7505 X.1.10 recipient address has null MX", status=r"5\.1\.10"),
    Rule("mail flood code", "spamdetected", "RFC 3463 X.7.28 mail flood", status=r"5\.7\.28"),
    Rule("spam text", "spamdetected", "'Message rejected as spam' (Gmail, Mail.ru, Yahoo), SpamAssassin",
         command=rf"(?!(?:{BEFORE_DATA})$).*", text=SPAMDETECTED),
    Rule("rate text", "speeding", "Gmail 'rate limit', Yahoo 'sending too fast'", text=SPEEDING),
    Rule("too many conn code", "toomanyconn", "RFC 3463 X.5.3 too many recipients (Sisimai: toomanyconn)", status=r"5\.5\.3"),
    Rule("too many conn text", "toomanyconn", "'too many connections' (Postfix anvil, Exim)", text=TOOMANYCONN),
    Rule("blocked code", "blocked", "RFC 3463 4.7.1 / 4.2.1 / 4.7.2 delivery not authorized (temporary)", status=r"4\.7\.[12]|4\.2\.1"),
    Rule("blocked text", "blocked", "DNSBL listings (Spamhaus, SpamCop, Barracuda), 'Client host rejected'", text=BLOCKED),
    # 4. the remaining codes, then the remaining texts -----------------------------------
    Rule("other mailbox code", "filtered", "RFC 3463 X.2.0/X.2.1/X.2.4/X.1.4 mailbox status", status=r"5\.2\.[014]|5\.1\.4|4\.2\.4"),
    Rule("not accepting code", "notaccept", "RFC 3463 X.3.2 system not accepting network messages, RFC 7505 X.7.27",
         status=r"[45]\.3\.2|5\.7\.27"),
    Rule("null mx reply", "notaccept", "RFC 7505 section 3: 556 domain does not accept mail; RFC 1846 521", reply=r"521|556"),
    Rule("starttls code", "failedstarttls", "RFC 8689 X.7.30 REQUIRETLS support required", status=r"5\.7\.30"),
    Rule("text mailbox full", "mailboxfull", "(repeated for codes that did not decide)", text=MAILBOXFULL),
    Rule("text auth", "authfailure", "SPF/DKIM/DMARC wording", text=AUTHFAILURE),
    Rule("text reputation", "badreputation", "poor reputation wording", text=BADREPUTATION),
    Rule("text speeding", "speeding", "rate-limit wording", text=SPEEDING),
    Rule("text spam", "spamdetected", "spam filter wording", text=SPAMDETECTED, command=rf"(?!(?:{BEFORE_DATA})$).*"),
    Rule("text virus", "virusdetected", "'virus found' (ClamAV, amavis, MessageLabs)", text=VIRUSDETECTED),
    Rule("text policy", "policyviolation", "'denied by policy', 'local policy violation' (Mimecast, Google Groups)", text=POLICYVIOLATION),
    Rule("text relaying", "norelaying", "relay wording", text=NORELAYING),
    Rule("text system error", "systemerror", "'mail loop', 'local configuration error' (Sendmail, Exchange)", text=SYSTEMERROR),
    Rule("text network error", "networkerror", "'no route to host', 'hop count exceeded' (Sendmail, Exim)", text=NETWORKERROR),
    Rule("text suspend", "suspend", "suspended wording", text=SUSPEND),
    Rule("text content", "contenterror", "content wording", text=CONTENTERROR),
    Rule("text system full", "systemfull", "'mail system full'", text=SYSTEMFULL),
    Rule("text not accept", "notaccept", "'does not accept mail (nullMX)' (RFC 7505)", text=NOTACCEPT),
    Rule("text expired", "expired", "'retry timeout exceeded' (Exim), 'delivery time expired' (Sendmail)", text=EXPIRED),
    Rule("text starttls", "failedstarttls", "TLS required/failed wording", text=FAILEDSTARTTLS),
    Rule("text security", "securityerror", "authentication required wording", text=SECURITYERROR),
    Rule("text suppressed", "suppressed", "suppression-list wording", text=SUPPRESSED),
    Rule("text mailer", "mailererror", "'X-Unix; ... exit status' (Sendmail local mailer), procmail", text=MAILERERROR),
    Rule("user unknown code (generic)", "userunknown", "RFC 3463 X.1.1 (text did not say more)", status=r"5\.1\.[013]"),
    Rule("host unknown code (generic)", "hostunknown", "RFC 3463 X.1.2", status=r"5\.1\.2|5\.4\.4"),
    Rule("moved code 4", "hasmoved", "RFC 3463 4.1.6", status=r"4\.1\.6"),
    Rule("system error codes", "systemerror", "RFC 3463 X.1.9, X.3.0/3/5, X.4.3, X.5.3-5",
         status=r"[45]\.1\.9|5\.3\.0|[45]\.3\.[35]|[45]\.4\.3|4\.5\.[35]|5\.5\.[45]"),
    Rule("network codes", "networkerror", "RFC 3463 X.4.2 bad connection, X.4.4 unable to route, X.4.6 loop, X.4.8, 5.4.0",
         status=r"4\.4\.[2468]|5\.4\.[0-9]"),
    Rule("expired codes", "expired", "RFC 3463 X.4.1 no answer from host, X.4.7 delivery time expired", status=r"[45]\.4\.[17]"),
    Rule("syntax codes", "syntaxerror", "RFC 3463 X.5.2 syntax error, RFC 4954 X.5.6", status=r"5\.5\.[26]"),
    Rule("text user unknown", "userunknown", "'user unknown' wording without a command (qmail, IMail, Notes)",
         text=USERUNKNOWN, command=r"|RCPT"),
    Rule("text host unknown", "hostunknown", "domain-not-found wording", text=HOSTUNKNOWN),
    Rule("text rejected", "rejected", "sender-rejected wording", text=REJECTED, unless=REJECTED_UNLESS),
    Rule("text blocked", "blocked", "block wording", text=BLOCKED),
    Rule("text blocked (loose)", "blocked", "'blocked', 'listed at', 'refused to talk to me' (Postfix)", text=BLOCKED_GENERIC),
    # 5. the status subject alone, the action, the command, the reply code ---------------
    Rule("content subject", "contenterror", "RFC 3463 X.6.x subject: message content or media", status=r"[45]\.6\.\d+"),
    Rule("security subject", "securityerror", "RFC 3463 X.7.x subject: security or policy status", status=r"[45]\.7\.\d+"),
    Rule("local mailer", "mailererror", "RFC 3464 Diagnostic-Code: X-Unix (local mailer program)", text=_rx(r"^x-unix")),
    Rule("syntax text", "syntaxerror", "RFC 5321 500/501/502/503 syntax and sequence errors", text=SYNTAXERROR),
    Rule("syntax reply", "syntaxerror", "RFC 5321 4.2.2: 500-504 command syntax/sequence errors", reply=r"50[0-4]"),
    Rule("delayed", "expired", "RFC 3464 Action: delayed -- still in the queue (Sisimai: expired)", action=r"delayed|expired"),
    Rule("refused at HELO", "blocked", "refused in reply to HELO/EHLO or at connection: the client is refused", command=r"HELO|EHLO|CONN"),
    Rule("vacation text", "vacation", "out-of-office wording", text=VACATION),
    # 6. nothing we can read, but the sender's provider classed the bounce permanent
    # (the detectors give hint "permanent": SES bounceType Permanent, Postmark HardBounce /
    # BadEmailAddress, Mailgun severity permanent, SendGrid bounce type "bounce",
    # Mailchimp "Bounce Type" hard). Any SMTP evidence above decides first; without it,
    # the provider saw the reply we do not have, and already stopped mailing the address.
    Rule("provider says permanent", "onhold",
         "the sending provider's own permanent-bounce verdict (SES, Postmark, Mailgun, SendGrid, "
         "Mailchimp event documentation)", hint=r"permanent(?:/.*)?", kind="hard"),
    # 7. nothing we can read -----------------------------------------------------------
    Rule("unreadable diagnostic", "onhold", "a reply we cannot interpret (Sisimai: onhold)", text=re.compile(r"\S")),
    Rule("no evidence", "undefined", "nothing to judge by"),
)

_HARD = frozenset(("userunknown", "hostunknown", "hasmoved"))
_BLOCK = frozenset(
    (
        "blocked", "spamdetected", "policyviolation", "authfailure", "badreputation", "requireptr", "rejected",
        "securityerror", "virusdetected", "speeding", "toomanyconn", "norelaying", "notcompliantrfc",
        "contenterror", "failedstarttls", "syntaxerror",
    )
)
_NO_BOUNCE = {"delivered": "delivered", "vacation": "auto_reply"}


def is_hard(reason: str, status: str = "") -> bool:
    """Is the address itself dead? Sisimai's ``hardbounce`` semantics: unknown user or
    domain, mailbox moved, and ``notaccept`` unless the code says it is temporary."""
    if reason in _HARD:
        return True
    if reason == "notaccept":
        return not status.startswith("4")
    return False


@cache
def _compiled(rx: str) -> re.Pattern[str]:
    # the table holds more distinct patterns than the re module's own cache (512)
    return re.compile(rx, re.I)


def _match(rx: str | None, value: str) -> bool:
    return rx is None or _compiled(rx).fullmatch(value) is not None


def _rule_for(
    action: str, status: str, reply: str, diag: str, hint: str, feedback_type: str, command: str, remote: str, detector: str
) -> Rule:
    for r in RULES:
        if r.remote is not None and not _compiled(r.remote).search(remote):
            continue
        if r.detector is not None and not _match(r.detector, detector):
            continue
        if r.hint is not None and not (hint and _match(r.hint, hint)):
            continue
        if r.feedback_type is not None and not _match(r.feedback_type, feedback_type):
            continue
        if r.action is not None and not _match(r.action, action):
            continue
        if r.status is not None and not _match(r.status, status):
            continue
        if r.reply is not None and not _match(r.reply, reply):
            continue
        if r.command is not None and not _match(r.command, command):
            continue
        if r.text is not None and not r.text.search(diag):
            continue
        if r.unless is not None and r.unless.search(diag):
            continue
        return r
    return RULES[-1]


def _kind(reason: str, action: str, status: str, reply: str, feedback_type: str) -> str:
    if reason == "feedback":
        return "unsubscribe" if re.fullmatch(r"opt-?out|unsubscribe", feedback_type or "", re.I) else "complaint"
    if reason in _NO_BOUNCE:
        return _NO_BOUNCE[reason]
    if action == "delayed":
        return "deferred"
    if is_hard(reason, status or reply[:1]):
        return "hard"
    if reason in _BLOCK:
        return "block"
    if not action and (status.startswith("4") or (not status and reply.startswith("4"))) and reason != "expired":
        return "deferred"
    return "soft"


@lru_cache(maxsize=65536)
def explain_parts(
    action: str,
    status: str,
    reply_code: str,
    diagnostic: str,
    hint: str = "",
    feedback_type: str = "",
    command: str = "",
    remote: str = "",
    detector: str = "",
) -> tuple[str, str, str]:
    """(reason, kind, name of the deciding rule)."""
    action = (action or "").strip().lower()
    status = (status or "").strip()
    reply = (reply_code or "").strip()
    diag = " ".join((diagnostic or "").lower().split())
    command = (command or "").strip().upper()
    rule = _rule_for(
        action, status, reply, diag, (hint or "").strip().lower(), (feedback_type or "").strip().lower(), command,
        (remote or "").lower(), (detector or "").lower(),
    )
    kind = rule.kind or _kind(rule.reason, action, status, reply, feedback_type)
    return rule.reason, kind, rule.name


def classify_parts(
    action: str,
    status: str,
    reply_code: str,
    diagnostic: str,
    hint: str = "",
    feedback_type: str = "",
    command: str = "",
    remote: str = "",
    detector: str = "",
) -> tuple[str, str]:
    """(reason, kind) from the individual facts; cached, since mail logs repeat a few
    (status, reply, diagnostic) combinations millions of times.

    *command* is the SMTP command answered (RCPT, MAIL, DATA...), *remote* the hosts
    involved (remote MTA, reporting MTA, "@recipient-domain") for the few providers whose
    replies need them, *detector* the name of the format the fact came from.
    """
    reason, kind, _ = explain_parts(action, status, reply_code, diagnostic, hint, feedback_type, command, remote, detector)
    return reason, kind


def _fact_args(fact: Fact) -> tuple[str, ...]:
    domain = fact.recipient.rpartition("@")[2] if "@" in fact.recipient else ""
    remote = " ".join(x for x in (fact.remote_mta, getattr(fact, "reporting_mta", ""), f"@{domain}" if domain else "") if x)
    return (
        fact.action, fact.status, fact.reply_code, fact.diagnostic, fact.hint, fact.feedback_type,
        getattr(fact, "command", ""), remote, getattr(fact, "detector", ""),
    )


def classify(fact: Fact) -> tuple[str, str]:
    """(reason, kind) of one fact; ``reason`` is in :data:`listcare.schema.REASONS`,
    ``kind`` in :data:`listcare.schema.KINDS`."""
    reason, kind, _ = explain_parts(*_fact_args(fact))
    return reason, kind


def explain(fact: Fact) -> str:
    """Name and citation of the rule that decided *fact* (for audits and debugging)."""
    _, _, name = explain_parts(*_fact_args(fact))
    rule = next(r for r in RULES if r.name == name)
    return f"{rule.name}: {rule.citation}"
