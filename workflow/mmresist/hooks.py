"""What the workflow does when a run ends: the cohort page after failed patient jobs, and
ending a finished run without waiting on Snakemake's job-rate timer."""

from __future__ import annotations

import shlex
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path


def write_cohort_page_after_failure(
    *, mmresist: str, outdir: str, patients: Sequence[str], pdf: bool
) -> bool:
    """Write the cohort page from each patient folder's report.json or failure.json.

    A failed patient job leaves the cohort rule without its inputs, so the rule never runs;
    Snakemake's ``onerror`` calls this instead. Its own failure is logged and reported, never
    raised over the job's. Returns whether the page was written."""
    command = [f"{mmresist} cohort --outdir {shlex.quote(f'{outdir}/cohort')}"]
    if not pdf:
        command.append("--no-pdf")
    command.extend(shlex.quote(f"{outdir}/{patient}") for patient in patients)
    logs = Path(outdir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / "cohort_index.log", "w", encoding="utf-8") as log:
        # `mmresist` is a command line (an interpreter and module, maybe with PYTHONPATH),
        # as the rules run it.
        written = (
            subprocess.run(" ".join(command), shell=True, stdout=log, stderr=log).returncode == 0
        )
    where = f"{outdir}/cohort/index.html" if written else str(logs / "cohort_index.log")
    print(f"mmresist: cohort page after failed jobs: {where}", file=sys.stderr)
    return written


def cancel_pending_timers() -> int:
    """Cancel pending ``threading.Timer`` threads once every job has finished.

    Snakemake re-checks its job-rate limit (--max-jobs-per-timespan, 100/1s) with a
    one-second ``threading.Timer`` that the interpreter waits for before it exits; after
    the last job there is nothing left to re-check, so a run ends up to a second sooner.
    Returns how many were cancelled."""
    timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer)]
    for timer in timers:
        timer.cancel()
    return len(timers)
