"""Rich display in notebooks (issue 7): the HTML is parsed back with html.parser and checked
against the objects it shows; values that come from data are escaped."""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser

import numpy as np
import pytest

import listcare
from listcare import funnel
from listcare.display import Report


class _Tables(HTMLParser):
    """Tables (caption, headers, rows), headings and paragraphs of a rendered fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self.texts: list[str] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._text: list[str] | None = None
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "table":
            self.tables.append({"caption": None, "headers": [], "rows": []})
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th", "caption", "p", "h4"):
            self._text = []

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None:
            self._row.append("".join(self._text or []))
        elif tag == "caption":
            self.tables[-1]["caption"] = "".join(self._text or [])
        elif tag in ("p", "h4"):
            self.texts.append("".join(self._text or []))
        elif tag == "tr":
            t = self.tables[-1]
            if not t["headers"]:
                t["headers"] = self._row
            else:
                t["rows"].append(self._row)
            self._row = None
        if tag in ("td", "th", "caption", "p", "h4"):
            self._text = None


def parse(fragment: str) -> _Tables:
    p = _Tables()
    p.feed(fragment)
    p.close()
    assert set(p.tags) <= {"div", "h4", "p", "table", "caption", "thead", "tbody", "tr", "th", "td"}
    return p


def table(parsed: _Tables, caption: str) -> dict:
    found = [t for t in parsed.tables if t["caption"] == caption]
    assert len(found) == 1, [t["caption"] for t in parsed.tables]
    return found[0]


def share(cell: str) -> float:
    assert cell.endswith("%"), cell
    return float(cell[:-1]) / 100


def close(cell: str, value: float) -> bool:
    """A cell shown to 3 significant figures (or a percentage) matches *value*."""
    if cell.endswith("%"):
        decimals = len(cell[:-1].partition(".")[2])
        return abs(share(cell) - value) <= 0.51 * 10 ** -(decimals + 2)
    return float(cell.replace(",", "")) == pytest.approx(value, rel=5e-3)


# ---------------------------------------------------------------------- decay
def test_decay_model_shows_its_rate_figures_and_keeps_its_repr():
    m = listcare.DecayModel.from_annual_rate(0.3)
    before = repr(m)
    t = table(parse(m._repr_html_()), "rates")
    assert t["headers"] == ["figure", "value"]
    shown = dict(t["rows"])
    assert close(shown["monthly rate"], m.monthly_rate)
    assert close(shown["annual rate, compounded"], m.annual_rate)
    assert close(shown["annual rate, simple (12 x monthly)"], m.annual_rate_simple)
    assert close(shown["half-life (months)"], m.half_life_months)
    assert "fit summary" not in m._repr_html_()  # not fitted: no summary to show
    assert repr(m) == before and before.startswith("DecayModel(monthly_rate=")


def _durations(seed: int, n: int, mean: float):
    rng = np.random.default_rng(seed)
    t = rng.exponential(mean, n)
    e = t < 24
    return np.minimum(t, 24.0), e


def test_fitted_decay_model_shows_its_summary_table():
    t, e = _durations(1, 300, 30.0)
    m = listcare.DecayModel().fit(t, e)
    parsed = parse(m._repr_html_())
    s = m.summary
    fit = table(parsed, "fit summary")
    assert fit["headers"] == ["figure", *s.columns]
    assert [r[0] for r in fit["rows"]] == list(s.index)
    for row, (_, expected) in zip(fit["rows"], s.iterrows(), strict=True):
        for cell, value in zip(row[1:], expected, strict=True):
            if isinstance(value, str):
                assert cell == value
            elif np.isnan(value):
                assert cell == "n/a"
            else:
                assert close(cell, value), (row, value)
    assert f"{m.events_:,} hard bounces" in " ".join(parsed.texts)


def test_group_fit_shows_groups_tests_and_verdict_escaped():
    t1, e1 = _durations(2, 200, 12.0)
    t2, e2 = _durations(3, 200, 60.0)
    groups = ["purchased"] * 200 + ["<script>alert(1)</script>"] * 200
    fit = listcare.DecayModel.fit_by(np.r_[t1, t2], np.r_[e1, e2], groups)
    html = fit._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    parsed = parse(html)
    g = table(parsed, "fastest-decaying first")
    assert g["headers"][:4] == ["group", "contacts", "hard bounces", "monthly rate"]
    assert [r[0] for r in g["rows"]] == list(fit.table.index)  # unescaped by the parser
    for row, (_, r) in zip(g["rows"], fit.table.iterrows(), strict=True):
        assert int(row[1]) == r["n"] and int(row[2]) == r["events"]
        assert close(row[3], r["monthly_rate"])
    tests = table(parsed, "do the groups decay at the same rate?")
    assert [r[0] for r in tests["rows"]] == list(fit.summary.index)
    assert fit.differ and fit.lr_p_value < 0.001
    assert [r[3] for r in tests["rows"]] == ["< 0.001", "< 0.001"]
    assert any(x.startswith("Rates differ") and "purchased rots fastest" in x for x in parsed.texts)


def test_group_fit_without_a_difference_says_so():
    t, e = _durations(4, 150, 30.0)
    fit = listcare.DecayModel.fit_by(np.r_[t, t], np.r_[e, e], ["a"] * 150 + ["b"] * 150)
    assert not fit.differ
    parsed = parse(fit._repr_html_())
    verdict = [x for x in parsed.texts if "differ" in x]
    assert len(verdict) == 1 and verdict[0].startswith("No evidence the groups differ")
    p_cells = [r[3] for r in table(parsed, "do the groups decay at the same rate?")["rows"]]
    assert close(p_cells[0], fit.lr_p_value) and close(p_cells[1], fit.logrank_p_value)


# ---------------------------------------------------------------------- funnel
def test_uplift_shows_table_and_revenue_difference():
    result = funnel.uplift_table(900, 0.33, 4_000)
    parsed = parse(result._repr_html_())
    (t,) = parsed.tables
    assert t["headers"] == [result.table.index.name, *result.table.columns]
    assert [r[0] for r in t["rows"]] == list(result.table.index)
    for row, (_, values) in zip(t["rows"], result.table.iterrows(), strict=True):
        for cell, value in zip(row[1:], values, strict=True):
            assert close(cell, value)
    line = [x for x in parsed.texts if x.startswith("Revenue difference")]
    assert line == [f"Revenue difference: {result.revenue_difference:,.0f}"]
    assert isinstance(result, tuple) and result[1] == result.revenue_difference


# ---------------------------------------------------------------------- clean report
@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("clean")
    ex = listcare.example_path
    return listcare.clean(
        ex("contacts.csv"),
        [ex("postfix.log"), ex("bounces"), ex("ses.json")],
        store=d / "listcare.db",
        out_dir=d / "out",
        as_of="2026-11-01",
        check_dns=False,
    )


def test_report_is_still_the_plain_dict(report):
    r = Report(report)
    assert r == report and isinstance(r, dict)
    assert json.loads(json.dumps(r, default=str)) == json.loads(json.dumps(report, default=str))


def test_report_html_shows_counts_rules_changes_rates_decay_and_alert(report):
    parsed = parse(Report(report)._repr_html_())
    o = report["outcomes"]
    shown = {k: int(v.replace(",", "")) for k, v in table(parsed, "outcomes")["rows"]}
    assert shown == {"clean": o["clean"], "suppressed": o["suppressed"],
                     "reconfirm": o["reconfirm"], "input rows": o["rows"]}  # fmt: skip
    why = table(parsed, "why")
    assert why["headers"] == ["outcome", "rule", "rows"]
    expected = {(oc, rule, n) for oc, rules in report["rules"].items() for rule, n in rules.items()}
    assert {(a, b, int(c.replace(",", ""))) for a, b, c in why["rows"]} == expected
    ch = table(parsed, "changes (first run), addresses on this list")
    changes = {k: int(v.replace(",", "")) for k, v in ch["rows"]}
    assert changes["newly suppressed, all"] == sum(report["changes"]["newly_suppressed"].values())
    assert changes["newly to reconfirm"] == report["changes"]["newly_reconfirm"]
    html = Report(report)._repr_html_()
    held = report["suppression_list"]
    assert f"holds {held['suppress']:,} suppressed addresses" in html
    noted = Report({**report, "notes": ["The list has no acquired_at column."]})._repr_html_()
    assert "Note: The list has no acquired_at column." in noted
    ev = table(parsed, "events in the last 30 days")
    rates = report["events"]["bounce_rates_30_days"]
    for kind, n, rate in ev["rows"]:
        assert int(n.replace(",", "")) == report["events"]["last_30_days"][kind]
        assert (rate == "") == (kind not in rates)
        if kind in rates:
            assert close(rate, rates[kind])
    sr = report["sender_reputation"]
    assert sr["blocks_30_days"] > 0  # the example data has blocks: the alert must show
    assert "Sender reputation alert" in parsed.texts
    prov = table(parsed, "blocks by provider")
    assert [r[0] for r in prov["rows"]] == [p["provider"] for p in sr["providers"]]
    assert [int(r[1]) for r in prov["rows"]] == [p["blocks"] for p in sr["providers"]]
    decay = [x for x in parsed.texts if x.startswith("Decay:")]
    assert len(decay) == 1
    assert f"about {100 * report['decay']['expected_hard_bounce_rate']:.1f}%" in decay[0]
    written = table(parsed, "written")
    assert dict(written["rows"]) == report["run"]["outputs"]


def test_report_without_blocks_has_no_alert(report):
    quiet = copy.deepcopy(report)
    quiet["sender_reputation"] = {"blocks_30_days": 0, "providers": []}
    r = Report(quiet)
    assert "Sender reputation alert" not in r._repr_html_()
    assert "Sender reputation alert" not in r._repr_markdown_()


def test_report_escapes_data_in_html_and_markdown(report):
    bad = copy.deepcopy(report)
    evil = "<img src=x onerror=alert(1)>|mx"
    bad["sender_reputation"]["providers"][0]["provider"] = evil
    bad["rules"]["suppressed"]["<b>rule</b>"] = 1
    r = Report(bad)
    html = r._repr_html_()
    assert "<img" not in html and "<b>" not in html
    parsed = parse(html)
    assert table(parsed, "blocks by provider")["rows"][0][0] == evil
    assert ["suppressed", "<b>rule</b>", "1"] in table(parsed, "why")["rows"]
    md = r._repr_markdown_()
    assert "<img" not in md and "<b>" not in md
    row = next(line for line in md.splitlines() if "onerror" in line)
    assert "&lt;img src=x onerror=alert(1)&gt;\\|mx" in row
    assert row.count(" | ") == 5  # the escaped pipe does not add a column (6 columns)


def test_report_markdown_has_the_same_tables(report):
    md = Report(report)._repr_markdown_()
    o = report["outcomes"]
    assert f"| input rows | {o['rows']:,} |" in md
    for outcome, rules in report["rules"].items():
        for rule, n in rules.items():
            assert f"| {outcome} | {rule} | {n:,} |" in md
    for p in report["sender_reputation"]["providers"]:
        assert f"| {p['provider']} | {p['blocks']:,} | {p['addresses']:,} |" in md


def test_ipython_picks_the_rich_forms(report):
    """What Jupyter does with a cell's last value: IPython's display formatter."""
    from IPython.core.formatters import DisplayFormatter  # via ipykernel, a test dependency

    fmt = DisplayFormatter()
    m = listcare.DecayModel()
    data, _ = fmt.format(m)
    assert data["text/html"] == m._repr_html_() and data["text/plain"] == repr(m)
    data, _ = fmt.format(Report(report))
    assert data["text/markdown"] == Report(report)._repr_markdown_()
    assert "<table>" in data["text/html"]
    data, _ = fmt.format(funnel.uplift_table(900, 0.33, 4_000))
    assert "Revenue difference" in data["text/html"]
