"""``df.listcare``: the library's functions as a pandas accessor, for notebooks.

Registered when ``listcare`` is imported. Every method is a thin adapter over a module
function (it adds nothing but finding the email column and passing the frame), so what a
notebook does with ``df.listcare.validate()`` is exactly what ``listcare.validate(df)``
does. The modules behind it (validation, decay, plotting) are imported only when a
method is called, so ``import listcare`` stays cheap; pandas itself has to be imported
to register the accessor.

    >>> import listcare
    >>> contacts = listcare.read_contacts(listcare.example_path("contacts.csv"))
    >>> contacts.listcare.email_column
    'E-Mail'
"""

from __future__ import annotations

import pandas as pd

__all__ = ["ListcareAccessor"]


@pd.api.extensions.register_dataframe_accessor("listcare")
class ListcareAccessor:
    """listcare's functions for a contact list or an events table (``df.listcare``)."""

    def __init__(self, frame: pd.DataFrame):
        self._frame = frame

    # ------------------------------------------------------------------ contacts
    @property
    def email_column(self) -> str:
        """Name of the column that holds the email addresses.

        The column :func:`listcare.read_contacts` found (kept in ``df.attrs``) if it is
        still there, else :func:`listcare.find_email_column` looks for it by name and
        content; raises :class:`~listcare.exceptions.ColumnError` listing the columns when
        there is none.

            >>> pd.DataFrame({"E-Mail-Adresse": ["a@b.de"]}).listcare.email_column
            'E-Mail-Adresse'
        """
        from .contacts import find_email_column

        found = (self._frame.attrs.get("listcare") or {}).get("email_column")
        if found is not None and found in self._frame.columns:
            return found
        return find_email_column(self._frame)

    def _with_email_column(self, kw: dict) -> dict:
        if kw.get("email_column") is None:
            kw["email_column"] = self.email_column
        return kw

    def validate(self, **kw) -> pd.DataFrame:
        """:func:`listcare.validate` on this contact list's email column.

        Keyword arguments go to :func:`listcare.validate` (``check_dns``, ``nameserver``,
        ``timeout``, ``budget``, ``email_column``, ...). The result has the same index as
        the list, one row per contact, so ``contacts.join(result, rsuffix="_check")``
        puts each verdict next to its contact.

            >>> contacts = pd.DataFrame({"Email": ["Info@Example.org ", "bad@@x"]})
            >>> contacts.listcare.validate(check_dns=False)["reason"].tolist()
            ['role', 'syntax']
        """
        from .address.validate import validate

        return validate(self._frame, **self._with_email_column(kw))

    def cohorts(self, events: pd.DataFrame, **kw) -> pd.DataFrame:
        """:func:`listcare.bounce_rate_by_cohort` of this contact list and *events*.

        The hard-bounce rate by the contacts' age when they were mailed, one row per age
        cohort; keyword arguments (``as_of``, ``model``, ``bins``, ``start``, ...) go to
        :func:`listcare.bounce_rate_by_cohort`.

            >>> events = listcare.read_bounces(listcare.example_path("postfix.log"),
            ...                                as_of="2026-11-01")
            >>> table = contacts.listcare.cohorts(events, as_of="2026-11-01")
            >>> table[["cohort", "mailed", "bounce_rate"]]  # doctest: +SKIP
        """
        from .decay import bounce_rate_by_cohort

        return bounce_rate_by_cohort(self._frame, events, **self._with_email_column(kw))

    def durations(self, events: pd.DataFrame, *, as_of, **kw) -> pd.DataFrame:
        """:func:`listcare.durations_from` of this contact list and *events*.

        One row per contact (months until its first hard bounce, or censored), ready for
        :meth:`listcare.DecayModel.fit`:

            >>> d = contacts.listcare.durations(events, as_of="2026-11-01")
            >>> d = d[d.mailed]
            >>> model = listcare.DecayModel().fit(d.duration, d.event, last_good=d.last_good)
        """
        from .decay import durations_from

        return durations_from(self._frame, events, as_of=as_of, **self._with_email_column(kw))

    # ------------------------------------------------------------------ events
    def summary(self) -> pd.DataFrame:
        """Counts of an events table (:func:`listcare.read_bounces`) by kind and reason.

        One row per (kind, reason) with ``events`` (rows), ``recipients`` (distinct
        addresses, compared lowercased and stripped; only when the table has a
        ``recipient`` column) and ``share`` (of all events). Kinds come in the order of
        :data:`listcare.schema.KINDS`, reasons by count. A missing kind or reason is
        shown as ``"(none)"`` so that no event is left out of the counts.

            >>> s = events.listcare.summary()
            >>> int(s["events"].sum()) == len(events)
            True
            >>> s.loc["hard"].index[0]  # the commonest reason of hard bounces
            'userunknown'
        """
        from .schema import KINDS, require_columns

        ev = self._frame
        require_columns(ev, ["kind", "reason"], what="events table")
        frame = pd.DataFrame(
            {
                "kind": ev["kind"].astype("string").fillna("(none)").to_numpy(),
                "reason": ev["reason"].astype("string").fillna("(none)").to_numpy(),
            }
        )
        columns = ["events", "share"]
        if "recipient" in ev.columns:
            frame["recipient"] = ev["recipient"].astype("string").str.strip().str.lower().to_numpy()
            columns = ["events", "recipients", "share"]
        grouped = frame.groupby(["kind", "reason"], sort=False)
        out = grouped.size().rename("events").to_frame()
        if "recipient" in frame.columns:
            out["recipients"] = grouped["recipient"].nunique()
        total = len(frame)
        out["share"] = out["events"] / total if total else 0.0
        out = out.reset_index()
        order = {k: i for i, k in enumerate(KINDS)}
        out["_kind"] = out["kind"].map(lambda k: order.get(k, len(order)))
        out = out.sort_values(
            ["_kind", "kind", "events", "reason"], ascending=[True, True, False, True]
        )
        out = out.drop(columns="_kind").set_index(["kind", "reason"])[columns]
        out["events"] = out["events"].astype("int64")
        if "recipients" in out.columns:
            out["recipients"] = out["recipients"].astype("int64")
        out.attrs["events"] = total
        return out

    def plot(self, ax=None, **kw):
        """:func:`listcare.plotting.plot_events`: bounces over time by kind; returns ``ax``.

        >>> ax = events.listcare.plot()  # doctest: +SKIP
        >>> ax = events.listcare.plot(freq="W-MON", kinds=["hard", "soft"])  # doctest: +SKIP
        """
        from .plotting import plot_events

        return plot_events(self._frame, ax, **kw)
