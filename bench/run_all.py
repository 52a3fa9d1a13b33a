"""Run every benchmark in bench/ one after another (`make bench`), printing their numbers.

Each script is also runnable alone; see its docstring for options.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    ["api.py", "--pg", "postgresql+asyncpg://szpak:szpak@127.0.0.1:5432/szpak"],
    ["stream_latency.py"],
    ["stream_latency.py", "--redis"],
    ["matcher.py"],
    ["sentiment.py"],
    ["listening.py"],
    ["web_home.py"],
]


def main() -> int:
    failed = 0
    for script in SCRIPTS:
        print(f"\n== bench/{' '.join(script)}", flush=True)
        rc = subprocess.call([sys.executable, str(HERE / script[0]), *script[1:]], cwd=HERE.parent)
        if rc:
            print(f"(exit status {rc})", flush=True)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
