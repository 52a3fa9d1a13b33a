"""``szpak media``: media maintenance from the command line (docs/api/media.md).

    szpak media sweep [--older-than HOURS]

``sweep`` deletes every upload no post uses that has been unattached for longer than
``--older-than`` hours (default: the 24 hours after which the ``media.expire`` jobs delete
them one by one), through ``domain.media.sweep_unattached``. Their files are deleted by
durable ``media.delete_files`` jobs once the sweep commits: a running server's job worker
picks them up within a second; without one they wait for the next start.
Registered through ``register(subparsers)`` (szpak.cli's EXTENSIONS).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from typing import Any


async def _sweep(args: argparse.Namespace) -> int:
    from szpak.cli import open_context
    from szpak.domain.media import sweep_unattached

    ctx = await open_context()
    try:
        gone = await sweep_unattached(ctx, older_than=timedelta(hours=args.older_than))
    finally:
        await ctx.bus.close()
        await ctx.db.dispose()
    print(f"deleted {gone} unattached upload{'' if gone == 1 else 's'}")
    return 0


def _hours(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of hours") from None
    if not 0 <= value < 1_000_000:
        raise argparse.ArgumentTypeError("must be between 0 and 1000000 hours")
    return value


def register(sub: Any) -> None:
    media = sub.add_parser("media", help="media maintenance").add_subparsers(dest="media_command", required=True)
    sweep = media.add_parser("sweep", help="delete uploads no post uses (unattached for --older-than hours)")
    sweep.add_argument("--older-than", type=_hours, default=24.0, metavar="HOURS",
                       help="only uploads unattached for longer than this (default: 24)")
    sweep.set_defaults(func=lambda a: asyncio.run(_sweep(a)))


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run as: szpak media sweep")
