"""Where things are, for every test: the repository, the shared offline copies, examples."""

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
EXAMPLES = REPO / "viscoder" / "examples" / "scripts"


def has_chromium() -> bool:
    return any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome"))
