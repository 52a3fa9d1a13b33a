#!/usr/bin/env bash
# Until the first release the schema is one migration, regenerated from the models.
# (After a release: never edit a released migration; add a new one with
#  `alembic revision --autogenerate` through szpak.storage.migrate.alembic_config.)
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f src/szpak/storage/migrations/versions/0001_*.py
.venv/bin/python - "$tmp" <<'PY'
import sys
from alembic import command
from szpak.storage.migrate import alembic_config
cfg = alembic_config(f"sqlite+aiosqlite:///{sys.argv[1]}/gen.sqlite3")
command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
PY
rm -rf "$tmp"
