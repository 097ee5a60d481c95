"""Build hook for the one compiled part: the Postfix log scanner (C, optional).

Everything else is configured in setup.cfg and pyproject.toml. ``optional=True``: where
no C compiler is available the install still succeeds and ``read_bounces`` uses its
pure-Python Postfix reader, which gives the same results, slower
(``listcare/bounces/detectors/postfix.py``).
"""

import sys

from setuptools import Extension, setup

_WARNINGS = [] if sys.platform == "win32" else ["-Wall", "-Wextra"]

setup(
    ext_modules=[
        Extension(
            "listcare.bounces._postfix_scan",
            ["listcare/bounces/_postfix_scan.c"],
            extra_compile_args=_WARNINGS,
            optional=True,
        )
    ]
)
