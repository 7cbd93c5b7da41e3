import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# tests share helpers (tests/harness) and the image builders (spec-fixtures/spec_fixtures)
sys.path[:0] = [REPO, os.path.join(REPO, "spec-fixtures")]
