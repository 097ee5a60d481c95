"""One module per source format. Detectors only extract facts; they never decide the
reason or the kind (that is :func:`listcare.bounces.reasons.classify`'s job)."""
