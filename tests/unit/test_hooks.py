"""End-of-run hooks: the cohort page after failed jobs, and the job-rate timer."""

from __future__ import annotations

import shlex
import sys
import threading
from pathlib import Path

from mmresist.errors import InputError
from mmresist.hooks import cancel_pending_timers, write_cohort_page_after_failure
from mmresist.report.cohort import failure_record, write_failure

MMRESIST = f"{shlex.quote(sys.executable)} -m mmresist"


def test_cohort_page_lists_a_failed_patient_beside_the_others(tmp_path: Path, capsys):
    out = tmp_path / "reports"
    error = InputError("bad value", file="P1.vcf", line=12, field="INFO")
    write_failure(out / "P1", failure_record(patient_id="P1", error=error))
    (out / "P2").mkdir()
    written = write_cohort_page_after_failure(
        mmresist=MMRESIST, outdir=str(out), patients=["P1", "P2"], pdf=False
    )
    assert written
    tsv = (out / "cohort" / "cohort.tsv").read_text(encoding="utf-8")
    assert "P1" in tsv and "P1.vcf" in tsv and "bad value" in tsv
    assert "P2" in tsv  # neither a report nor a failure record: still listed
    assert "cohort page after failed jobs" in capsys.readouterr().err


def test_a_failing_cohort_command_is_reported_not_raised(tmp_path: Path, capsys):
    out = tmp_path / "reports"
    written = write_cohort_page_after_failure(
        mmresist="false", outdir=str(out), patients=["P1"], pdf=True
    )
    assert not written
    assert "logs/cohort_index.log" in capsys.readouterr().err


def test_pending_timers_are_cancelled():
    fired = threading.Event()
    timer = threading.Timer(30, fired.set)
    timer.start()
    assert cancel_pending_timers() >= 1
    timer.join(timeout=5)
    assert not timer.is_alive() and not fired.is_set()
