"""Rich display in Jupyter: small HTML (and Markdown) tables for listcare's results.

IPython shows an object through ``_repr_html_`` / ``_repr_markdown_`` when it has them
(https://ipython.readthedocs.io/en/stable/config/integrating.html). Every value shown here
can come from input data (group names, provider host names, rules), so every cell, caption
and paragraph goes through :func:`html.escape`; nothing is marked up from data.

:class:`Report` is the dict :func:`listcare.clean` returns, with those two methods added:
it is still a plain ``dict`` for ``json.dump``, ``report["outcomes"]`` and comparisons.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

import numpy as np

Cell = object


# ---------------------------------------------------------------------- formatting
def pct(x, digits: int = 1) -> str:
    """A share as a percentage (0.021 -> '2.1%'); 'n/a' for None or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * float(x):.{digits}f}%"


def num(x, digits: int = 3) -> str:
    """A number to *digits* significant figures; integers with thousands separators."""
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    x = float(x)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "never" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def _p_phrase(p) -> str:
    text = p_value(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def p_value(p) -> str:
    """A p-value as people read it: 'p < 0.001' below that, else three figures."""
    if p is None or math.isnan(float(p)):
        return "n/a"
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3g}"


# ---------------------------------------------------------------------- rendering
def html_table(
    headers: Sequence[str], rows: Iterable[Sequence[Cell]], *, caption: str | None = None
) -> str:
    """An HTML table; every header, cell and the caption is escaped."""
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{html.escape(str(caption))}</caption>")
    out.append(
        "<thead><tr>"
        + "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
        + "</tr></thead>"
    )
    out.append("<tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def html_text(text: str, tag: str = "p") -> str:
    return f"<{tag}>{html.escape(str(text))}</{tag}>"


def _md_cell(value) -> str:
    # a pipe ends a Markdown table cell; HTML in Markdown is rendered by Jupyter, so escape it
    return html.escape(str(value)).replace("|", "\\|").replace("\n", " ")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """A GitHub-flavoured Markdown table with escaped cells."""
    lines = [
        "| " + " | ".join(_md_cell(h) for h in headers) + " |",
        "|" + "---|" * len(headers),
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


class _Doc:
    """A short document of headings, paragraphs and tables, rendered as HTML or Markdown."""

    def __init__(self) -> None:
        self.parts: list[tuple] = []

    def heading(self, text: str) -> None:
        self.parts.append(("h", text))

    def text(self, text: str) -> None:
        self.parts.append(("p", text))

    def table(self, headers, rows, caption: str | None = None) -> None:
        self.parts.append(("t", list(headers), [list(r) for r in rows], caption))

    def html(self) -> str:
        out = ['<div class="listcare">']
        for part in self.parts:
            if part[0] == "h":
                out.append(html_text(part[1], "h4"))
            elif part[0] == "p":
                out.append(html_text(part[1]))
            else:
                out.append(html_table(part[1], part[2], caption=part[3]))
        out.append("</div>")
        return "\n".join(out)

    def markdown(self) -> str:
        out = []
        for part in self.parts:
            if part[0] == "h":
                out.append("#### " + html.escape(str(part[1])))
            elif part[0] == "p":
                out.append(html.escape(str(part[1])))
            else:
                if part[3]:
                    out.append("*" + html.escape(str(part[3])) + "*")
                out.append(md_table(part[1], part[2]))
        return "\n\n".join(out) + "\n"


# ---------------------------------------------------------------------- clean report
#: the clean report counts rows (outcomes, rules, flags) and addresses (changes, blocks)
ROWS_NOTE = (
    "Outcomes, rules and flags count input rows; changes and blocks count addresses. "
    "Duplicate rows of one address share its decision."
)


def suppression_list_sentence(counts: dict, fmt=str) -> str:
    """The clean report's sentence on the store-wide suppression list (*fmt* formats the
    counts: plain in report.md, grouped in the notebook view)."""
    return (
        "The suppression list (every address the store has seen, on this list or not) "
        f"holds {fmt(counts.get('suppress', 0))} suppressed addresses and "
        f"{fmt(counts.get('reconfirm', 0))} to reconfirm."
    )


def since_phrase(report: dict) -> str:
    """What the clean report's "new since ..." refers to: the base run, or the start."""
    since = (report.get("changes") or {}).get("since_run_as_of")
    return f"the run as of {since}" if since else "the start"


def decay_sentences(d: dict) -> list[str]:
    """The clean report's decay section as sentences (report.md and the notebook view)."""
    if d.get("source") == "fitted":
        ci = d.get("monthly_rate_ci") or [None, None]
        out = [
            f"rate fitted from your bounce history: {pct(d['monthly_rate'], 2)} a month "
            f"(95% CI {pct(ci[0], 2)} to {pct(ci[1], 2)}; "
            f"{num(d.get('hard_bounces_in_history'))} hard-bounced of "
            f"{num(d.get('contacts_in_fit'))} mailed addresses"
            + (
                f", a fixed sample of all {num(d['mailed_addresses'])}"
                if d.get("mailed_addresses", 0) > d.get("contacts_in_fit", 0)
                else ""
            )
            + ")."
        ]
    elif d.get("fit_error"):
        out = [
            f"rate: the {pct(d['monthly_rate'], 1)} a month industry benchmark: the fit of "
            f"your bounce history failed ({d['fit_error']})."
        ]
    else:
        out = [
            f"rate: the {pct(d['monthly_rate'], 1)} a month industry benchmark: not enough "
            f"history yet ({num(d.get('hard_bounces_in_history', 0))} of this list's addresses "
            f"hard-bounced in the store's history; a fit needs "
            f"{num(d.get('min_hard_bounces_to_fit', 30))})."
        ]
    for key, what in (
        ("input_list", "the whole input list"),
        ("clean_list", "the clean list of this run, which is what will be mailed"),
    ):
        part = d.get(key)
        if not part:
            continue
        if part.get("expected_hard_bounce_rate") is None:
            out.append(
                f"Mailed today, {what} ({num(part['rows'])} rows, "
                f"{num(part.get('rows_with_age', 0))} with a date, a delivery or a hard "
                "bounce): too few rows can be aged to estimate its bounce rate."
            )
            continue
        age = part.get("mean_months_since_last_good")
        bad = part.get("known_hard_bounced", 0)
        out.append(
            f"Mailed today, {what} ({num(part['rows'])} rows, "
            f"{num(part['rows_with_age'])} with a date"
            + (f", {num(bad)} already hard-bounced" if bad else "")
            + (
                f", {'the rest' if bad else 'rows'} last known good {age:.1f} months ago on average"
                if age is not None
                else ""
            )
            + f") would hard-bounce about {pct(part['expected_hard_bounce_rate'])}."
        )
    out.append("Age is the time since the last successful delivery, else since acquisition.")
    return out


# ---------------------------------------------------------------------- decay
def decay_model_doc(model) -> _Doc:
    doc = _Doc()
    doc.heading("DecayModel" + (" (fitted)" if model.is_fitted else ""))
    doc.table(
        ["figure", "value"],
        [
            ["monthly rate", pct(model.monthly_rate, 2)],
            ["annual rate, compounded", pct(model.annual_rate)],
            ["annual rate, simple (12 x monthly)", pct(model.annual_rate_simple)],
            ["half-life (months)", num(model.half_life_months)],
        ],
        caption="rates",
    )
    if model.is_fitted:
        summary = model.summary
        doc.text(
            f"Fitted on {model.n_:,} contacts with {model.events_:,} hard bounces "
            f"in {model.exposure_:,.0f} contact-months."
        )
        doc.table(
            [summary.index.name or "figure", *summary.columns],
            [
                [name, *(_summary_cell(name, v) for v in row)]
                for name, row in zip(summary.index, summary.itertuples(index=False), strict=True)
            ],
            caption="fit summary",
        )
    return doc


def _summary_cell(figure: str, value) -> str:
    if isinstance(value, str):
        return value
    return pct(value, 2) if "rate" in str(figure) else num(value)


def group_fit_doc(fit) -> _Doc:
    doc = _Doc()
    doc.heading("Decay rate by group")
    level = f"{1 - fit.alpha:.0%}"
    t = fit.table
    doc.table(
        [
            t.index.name or "group",
            "contacts",
            "hard bounces",
            "monthly rate",
            f"{level} interval",
            "annual rate",
            "half-life (months)",
        ],
        [
            [
                g,
                num(r.n),
                num(r.events),
                pct(r.monthly_rate, 2),
                f"{pct(r.ci_low, 2)} to {pct(r.ci_high, 2)}",
                pct(r.annual_rate),
                num(r.half_life_months),
            ]
            for g, r in zip(t.index, t.itertuples(index=False), strict=True)
        ],
        caption="fastest-decaying first",
    )
    s = fit.summary
    doc.table(
        [s.index.name or "test", "statistic", "df", "p-value"],
        [
            [name, num(r.statistic), num(r.df), p_value(r.p_value)]
            for name, r in zip(s.index, s.itertuples(index=False), strict=True)
        ],
        caption="do the groups decay at the same rate?",
    )
    doc.text(group_verdict(fit))
    return doc


def group_verdict(fit) -> str:
    """One line for a marketer, from the likelihood-ratio test at level alpha."""
    t = fit.table
    if fit.differ:
        slowest = t.index[-1]
        top = t.index[t["monthly_rate"] == t["monthly_rate"].iloc[0]]  # (fit.fastest, or a tie)
        fastest = " and ".join(map(str, top))
        verb = "rots" if len(top) == 1 else "rot"
        return (
            f"Rates differ (likelihood-ratio test, {_p_phrase(fit.lr_p_value)}): {fastest} {verb} fastest, "
            f"{pct(t['monthly_rate'].iloc[0], 2)} a month against {pct(t['monthly_rate'].iloc[-1], 2)} "
            f"for {slowest}."
        )
    return (
        f"No evidence the groups differ (likelihood-ratio test, {_p_phrase(fit.lr_p_value)}): "
        "treat them as decaying at one rate."
    )


# ---------------------------------------------------------------------- funnel
def uplift_doc(result) -> _Doc:
    doc = _Doc()
    doc.heading("Close-rate uplift")
    t = result.table
    doc.table(
        [t.index.name or "", *t.columns],
        [
            [name, *(pct(v) if name == "close rate" else f"{v:,.1f}" for v in row)]
            for name, row in zip(t.index, t.itertuples(index=False), strict=True)
        ],
    )
    doc.text(f"Revenue difference: {result.revenue_difference:,.0f}")
    return doc


# ---------------------------------------------------------------------- clean report
class Report(dict):
    """The clean job's report: a plain dict that Jupyter shows as tables."""

    def _doc(self) -> _Doc:
        doc = _Doc()
        run = self.get("run") or {}
        as_of = str(self.get("as_of", ""))[:10]
        doc.heading(
            f"listcare clean run, as of {as_of}" + (" (dry run)" if run.get("dry_run") else "")
        )
        o = self.get("outcomes", {})
        doc.table(
            ["outcome", "rows"],
            [[k, num(o[k])] for k in ("clean", "suppressed", "reconfirm") if k in o]
            + ([["input rows", num(o["rows"])]] if "rows" in o else []),
            caption="outcomes",
        )
        doc.text(ROWS_NOTE)
        for note in self.get("notes") or []:
            doc.text(f"Note: {note}")
        rules = [
            [outcome, rule, num(n)]
            for outcome, by_rule in self.get("rules", {}).items()
            for rule, n in sorted(by_rule.items())
        ]
        if rules:
            doc.table(["outcome", "rule", "rows"], rules, caption="why")
        flags = self.get("flags") or {}
        if flags:
            doc.text(
                "Flags (rows; kept unless the policy says otherwise): "
                + ", ".join(f"{k} {v}" for k, v in sorted(flags.items()))
            )
        ch = self.get("changes")
        if ch:
            since = ch.get("since_run_as_of")
            newly = ch.get("newly_suppressed") or {}
            doc.table(
                ["change", "addresses"],
                [
                    *([f"newly suppressed: {k}", num(v)] for k, v in sorted(newly.items())),
                    ["newly suppressed, all", num(sum(newly.values()))],
                    ["newly to reconfirm", num(ch.get("newly_reconfirm", 0))],
                    ["no longer suppressed or to reconfirm", num(ch.get("released", 0))],
                ],
                caption=(
                    f"changes since the run as of {since}, addresses on this list"
                    if since
                    else "changes (first run), addresses on this list"
                ),
            )
        held = self.get("suppression_list")
        if held is not None:
            doc.text(suppression_list_sentence(held, num))
        ev = self.get("events")
        if ev:
            counts = ev.get("last_30_days", {})
            rates = ev.get("bounce_rates_30_days", {})
            doc.table(
                ["kind", "events", "share of delivery attempts"],
                [[k, num(v), pct(rates[k]) if k in rates else ""] for k, v in counts.items()],
                caption="events in the last 30 days",
            )
            doc.text(
                f"{num(ev.get('total'))} events in the store, "
                f"{num(ev.get('new_since_last_run'))} new since {since_phrase(self)}."
            )
        sr = self.get("sender_reputation") or {}
        if sr.get("blocks_30_days"):
            doc.heading("Sender reputation alert")
            doc.text(
                f"{num(sr['blocks_30_days'])} messages were refused because of the sender "
                "(blocklists, spam filters, policy). These addresses are not suppressed; check "
                "your sending reputation with these providers."
            )
            doc.table(
                ["provider", "blocks", "addresses", "most common reason", "first", "last"],
                [
                    [
                        p.get("provider"),
                        num(p.get("blocks")),
                        num(p.get("addresses")),
                        p.get("reason"),
                        p.get("first") or "",
                        p.get("last") or "",
                    ]
                    for p in sr.get("providers", [])
                ],
                caption="blocks by provider",
            )
        d = self.get("decay")
        if d:
            doc.text("Decay: " + " ".join(decay_sentences(d)))
        outputs = run.get("outputs") or {}
        if outputs:
            doc.table(["output", "path"], [[k, v] for k, v in outputs.items()], caption="written")
        return doc

    def _repr_html_(self) -> str:
        return self._doc().html()

    def _repr_markdown_(self) -> str:
        return self._doc().markdown()


__all__ = [
    "Report",
    "decay_sentences",
    "html_table",
    "md_table",
    "pct",
    "num",
    "p_value",
    "group_verdict",
]
