"""Suite-wide test settings.

In CI (``CI=true``) hypothesis runs derandomized: the same examples every run,
so a red CI always names a reproducible case. Locally it explores new examples
each run and remembers failures in its database.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")
