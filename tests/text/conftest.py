"""Make ``src/`` importable when the package is not installed."""

import sys
from pathlib import Path

try:
    import szpak  # noqa: F401
except ImportError:  # pragma: no cover - depends on how the venv was set up
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
