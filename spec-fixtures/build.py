"""`build.py --out DIR`: build the busybox test fixtures offline (see spec_fixtures/build.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spec_fixtures.build import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
