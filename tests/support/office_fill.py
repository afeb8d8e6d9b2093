"""Fill forms in a real office suite (LibreOffice over UNO) by their visible labels — test helper.

The work is done by tests/support/lo_fill.py under Debian's /usr/bin/python3 (the only Python with `uno`);
see its docstring for the job/fill-op format. One soffice process serves all jobs of a call.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "lo_fill.py"
SYSTEM_PYTHON = "/usr/bin/python3"
FONTS_CONF = Path(__file__).resolve().parents[2] / "config" / "fonts.conf"


def fill_in_office(jobs: list[dict], profile: Path, timeout: float = 300) -> None:
    """Run all fill jobs in one headless LibreOffice; AssertionError (with the script's stderr) on failure.

    jobs: [{"src": path, "fills": [op, ...], "paste_into_new": bool,
            "outputs": [{"path": path, "filter": "MS Word 2007 XML"}, ...]}, ...]
    Paths may be str or Path. profile: the LibreOffice user profile directory to use.
    """
    spec = {
        "profile": str(profile),
        # the script's own watchdog kills soffice a little before we give up on the script
        "timeout": max(timeout - 15, timeout * 0.8),
        "jobs": [
            {**job, "src": str(job["src"]),
             "outputs": [{**out, "path": str(out["path"])} for out in job.get("outputs", [])]}
            for job in jobs
        ],
    }
    with tempfile.TemporaryDirectory(prefix="lo-fill-") as tmp:
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        env = dict(os.environ, FONTCONFIG_FILE=str(FONTS_CONF))
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONHOME", None)
        env.pop("VIRTUAL_ENV", None)
        proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(SCRIPT), str(spec_path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)  # the script kills its soffice on SIGTERM
            try:
                out, err = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
            raise AssertionError(f"lo_fill.py timed out after {timeout} s\n{err}") from None
    if proc.returncode != 0:
        raise AssertionError(f"lo_fill.py failed (exit {proc.returncode}):\n{err}{out}")
