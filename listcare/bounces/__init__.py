"""Bounce evidence: detectors (one per source format) extract facts into
:class:`~listcare.bounces.records.Fact` records; :mod:`.reasons` classifies them;
:func:`listcare.bounces.read.read_bounces` builds the events table."""
