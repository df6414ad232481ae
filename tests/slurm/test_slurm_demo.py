"""The demo cohort through the SLURM profile on a real single-node SLURM gives the local reports.

Runs `snakemake --profile profiles/slurm` against the cluster from conftest.py, then checks
that every job went through SLURM (job completion log) and that each patient's report.json and
variants.tsv are byte-identical to a local `--cores 2` run of the same configuration.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from slurm_cluster import SlurmCluster

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.slurm, pytest.mark.workflow]
COMPARED_OUTPUTS = ("report.json", "variants.tsv")
# Settings for this test cluster only, not for the profile: it has no accounting database
# (so no sacct and no accounts), and its jobs take seconds, so waiting the plugin's default
# 40 s before the first status check would make up most of the run.
TEST_CLUSTER_OPTIONS = (
    "--slurm-status-command",
    "squeue",
    "--slurm-no-account",
    "--slurm-init-seconds-before-status-checks",
    "5",
)


def demo_patients() -> list[str]:
    with open(REPO / "resources/demo/samples.tsv", encoding="utf-8") as stream:
        return sorted({row["patient_id"] for row in csv.DictReader(stream, delimiter="\t")})


def snakemake(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "snakemake"), *args],
        cwd=REPO,
        env=dict(env, PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}"),
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_demo_cohort_on_slurm_matches_a_local_run(
    slurm_cluster: SlurmCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patients = demo_patients()
    local_out = tmp_path / "local" / "reports"
    slurm_out = tmp_path / "slurm" / "reports"
    config = ("--configfile", "config/config.yaml")

    started = time.monotonic()
    local = snakemake(dict(os.environ), "--cores", "2", *config, "--config", f"outdir={local_out}")
    local_seconds = time.monotonic() - started
    assert local.returncode == 0, local.stderr[-4000:]

    started = time.monotonic()
    on_slurm = snakemake(
        slurm_cluster.env,
        "--profile",
        "profiles/slurm",
        *config,
        "--config",
        f"outdir={slurm_out}",
        "--slurm-logdir",
        str(tmp_path / "slurm-logs"),
        *TEST_CLUSTER_OPTIONS,
    )
    wall_seconds = time.monotonic() - started
    assert on_slurm.returncode == 0, f"{on_slurm.stderr[-6000:]}\n{slurm_cluster.diagnostics()}"

    # Every job but the local target rule ran as a SLURM job: one report and one PDF per
    # patient, and the cohort index (the shipped compiled knowledge is fresh).
    jobs = slurm_cluster.completed_jobs()
    expected_jobs = 2 * len(patients) + 1
    assert len(jobs) == expected_jobs, jobs
    assert {job["JobState"] for job in jobs} == {"COMPLETED"}, jobs
    assert {job["ExitCode"] for job in jobs} == {"0:0"}, jobs
    assert {job["NodeList"] for job in jobs} == {"localhost"}
    queue = slurm_cluster.run("squeue", "--noheader", "--states", "PENDING,RUNNING")
    assert queue.returncode == 0 and queue.stdout.strip() == "", queue.stdout + queue.stderr

    for patient in patients:
        for name in COMPARED_OUTPUTS:
            local_bytes = (local_out / patient / name).read_bytes()
            slurm_bytes = (slurm_out / patient / name).read_bytes()
            assert slurm_bytes == local_bytes, f"{patient}/{name} differs from the local run"
        assert (slurm_out / patient / "report.pdf").is_file()
    assert (slurm_out / "cohort" / "index.html").is_file()

    with capsys.disabled():
        print(
            f"\nSLURM demo run: {len(jobs)} SLURM jobs completed for {len(patients)} patients "
            f"in {wall_seconds:.0f} s wall time (local --cores 2: {local_seconds:.0f} s); "
            f"{len(patients) * len(COMPARED_OUTPUTS)} outputs byte-identical to the local run"
        )
