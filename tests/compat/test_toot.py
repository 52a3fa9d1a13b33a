"""toot's own integration suite against a real Szpak (docs/compatibility.md).

The toot CLI (PyPI ``toot==0.52.1``) ships ``tests/integration`` in its sdist: 114 tests
that drive a live Mastodon server through toot's commands. This test downloads that
sdist once (into ``.cache/``), starts ``szpak serve`` on a free port with a fresh
database, runs toot's tests against it in a subprocess, and reads the JUnit report:
every toot test must pass except the known failures listed in docs/compatibility.md,
and every listed known failure must still fail (so the list stays true).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from .server import REPO, artifacts_dir, cache_dir, running_server

TOOT_VERSION = "0.52.1"
COMPAT_DOC = REPO / "docs" / "compatibility.md"
#: The table of known failures starts after this heading.
KNOWN_HEADING = "### Known failures of toot's suite"
ROW = re.compile(r"^\|\s*`(tests/integration/[^`]+)`\s*\|")
RUN_TIMEOUT = 600

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("compat")]


def known_failures() -> dict[str, str]:
    """Test id -> its status (the second cell), from the table under :data:`KNOWN_HEADING`."""
    text = COMPAT_DOC.read_text(encoding="utf-8")
    assert KNOWN_HEADING in text, f"{COMPAT_DOC} lost its heading {KNOWN_HEADING!r}"
    section = text.split(KNOWN_HEADING, 1)[1].split("\n#", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if match := ROW.match(line):
            assert match.group(1) not in rows, f"{match.group(1)} is listed twice"
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[match.group(1)] = cells[1] if len(cells) > 1 else ""
    return rows


def expected_to_fail(status: str) -> bool:
    """``needs ffmpeg``: fails only where ``ffmpeg``/``ffprobe`` are missing (and must
    pass where they are); any other status (``in progress``...): fails everywhere."""
    if status.startswith("needs ffmpeg"):
        return shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None
    return True


def toot_sdist() -> Path:
    """The extracted sdist of toot (downloaded with pip once, then reused)."""
    downloads = cache_dir("toot")
    extracted = downloads / f"toot-{TOOT_VERSION}"
    if (extracted / "tests" / "integration" / "conftest.py").exists():
        return extracted
    archive = downloads / f"toot-{TOOT_VERSION}.tar.gz"
    if not archive.exists():
        try:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                 f"toot=={TOOT_VERSION}", "-d", str(downloads), "--disable-pip-version-check", "-q"],
                check=True, capture_output=True, timeout=300,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            output = getattr(exc, "stderr", b"") or b""
            pytest.skip(f"could not download the toot {TOOT_VERSION} sdist with pip: {output.decode(errors='replace')[-500:]}")
        if not archive.exists():
            pytest.skip(f"pip did not leave {archive.name} in {downloads}")
    # Extract next to the target and rename, so that two runs at once never see half a tree.
    scratch = Path(tempfile.mkdtemp(prefix=".extract-", dir=downloads))
    try:
        with tarfile.open(archive) as tar:
            try:
                tar.extractall(scratch, filter="data")
            except TypeError:  # Python before 3.11.4: no extraction filters
                tar.extractall(scratch)  # noqa: S202 - a pinned sdist from PyPI
        try:
            os.rename(scratch / f"toot-{TOOT_VERSION}", extracted)
        except OSError:
            if not extracted.exists():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert (extracted / "tests" / "integration").is_dir(), f"no tests/integration in {archive.name}"
    return extracted


def results(junit: Path) -> dict[str, str]:
    """Test id (``tests/integration/test_x.py::name``) -> passed / failed / error / skipped."""
    out: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").replace(".", "/")
        test_id = f"{module}.py::{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = "failed" if child.tag == "failure" else child.tag
                break
        out[test_id] = outcome
    return out


def test_toot_integration_suite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], record_property: Any
) -> None:
    try:
        installed = importlib.metadata.version("toot")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"toot=={TOOT_VERSION} is not installed (it is in the test extras: pip install -e '.[test]')")
    if installed != TOOT_VERSION:
        pytest.skip(f"toot {installed} is installed; this suite is pinned to {TOOT_VERSION}")
    known = known_failures()
    source = toot_sdist()
    junit = tmp_path / "toot-junit.xml"
    data_dir = tmp_path / "server"
    data_dir.mkdir()
    with running_server(data_dir) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SZPAK_", "PYTEST_"))}
        env.update(
            TOOT_TEST_BASE_URL=server.base_url,
            SZPAK_TOOT_REDIRECT_PORT=str(server.port),
            PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).parent), env.get("PYTHONPATH")])),
            PYTHONDONTWRITEBYTECODE="1",
        )

        def run_toot(targets: list[str], report: Path) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "toot_redirect", "-o", "addopts=",
                 "-W", "ignore::DeprecationWarning", *targets, "-q", f"--junitxml={report}"],
                cwd=source, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT,
            )

        proc = run_toot(["tests/integration"], junit)
        assert junit.exists(), f"toot's run left no JUnit report (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
        outcome = results(junit)
        # toot's tests make random user names; a few of its checks (e.g. that a name has
        # lower-case letters) fail by chance about once in a hundred runs. An unexpected
        # failure is therefore run once more; a pass then is reported as a retry.
        retry = [t for t, o in outcome.items() if o != "passed" and not (t in known and expected_to_fail(known[t]))]
        retried: dict[str, str] = {}
        if retry:
            again = tmp_path / "toot-junit-retry.xml"
            run_toot(retry, again)
            retried = results(again) if again.exists() else {}
        server_log = server.log()
    artefacts = artifacts_dir()
    shutil.copy(junit, artefacts / "toot-junit.xml")
    (artefacts / "toot-output.txt").write_text(proc.stdout + "\n" + proc.stderr + "\n--- server log ---\n" + server_log)

    flaky = sorted(t for t, o in retried.items() if o == "passed")
    passed = sorted(t for t, o in outcome.items() if o == "passed")
    not_passed = sorted(t for t, o in outcome.items() if o != "passed" and t not in flaky)
    expected = {t for t, status in known.items() if expected_to_fail(status)}
    unexpected = [t for t in not_passed if t not in expected]
    now_passing = [t for t in passed if t in expected]
    stale = sorted(set(known) - set(outcome))
    summary = (
        f"toot {TOOT_VERSION} integration suite: {len(passed) + len(flaky)} passed"
        + (f" ({len(flaky)} on a retry: {', '.join(flaky)})" if flaky else "")
        + f", {len(not_passed)} failed ({len(not_passed) - len(unexpected)} known), {len(outcome)} in all"
    )
    (artefacts / "toot-summary.txt").write_text(summary + "\n" + "\n".join(f"{o:8} {t}" for t, o in sorted(outcome.items())) + "\n")
    with capsys.disabled():
        print(f"\n{summary}")
    record_property("figures", summary)

    problems = []
    if unexpected:
        problems.append("toot tests that failed and are not known failures in docs/compatibility.md:\n  "
                        + "\n  ".join(f"{t} ({outcome[t]})" for t in unexpected))
    if now_passing:
        problems.append("known failures in docs/compatibility.md that pass now (drop them from the table):\n  "
                        + "\n  ".join(now_passing))
    if stale:
        problems.append("known failures in docs/compatibility.md that toot's suite does not have:\n  " + "\n  ".join(stale))
    if len(outcome) < 100:
        problems.append(f"only {len(outcome)} toot tests ran (expected 114)")
    assert not problems, summary + "\n" + "\n".join(problems) + f"\n\nlast output:\n{proc.stdout[-4000:]}"
