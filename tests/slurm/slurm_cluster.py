"""A throwaway single-node SLURM cluster (munged, slurmctld, slurmd on localhost) for tests.

Debian's slurm-wlm and munge are started in the foreground from a temporary folder, with their
own munge key, socket, ports, state and logs. The one thing placed outside that folder is a
link at the default slurm.conf path, made only where none exists and removed afterwards.
Where SLURM cannot start (packages missing, not root, a daemon dies) the tests skip with the
reason, except under CI=true, where the packages are installed on purpose and a skip would hide
that the SLURM profile was never exercised.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TOOLS = "munged mungekey munge slurmctld slurmd sbatch squeue sinfo scontrol scancel".split()
NODE = "localhost"
NODE_CPUS = 2
PARTITION = "test"
# The slurm profile asks 4000 MB per job by default; the node must offer at least that.
NODE_MEMORY_MB = 8000
STARTUP_SECONDS = 60
# Without an accounting database sacct cannot see finished jobs; the executor plugin then asks
# squeue, which forgets a job MinJobAge seconds after it ends. Ten minutes outlasts any pause
# between two status checks, so a finished job is never mistaken for a lost one.
MIN_JOB_AGE_SECONDS = 600
# The executor plugin's job step strips every SLURM_* variable, SLURM_CONF included, before it
# calls srun inside the job, so srun only finds a configuration at the compiled-in default path.
# The test links it there for the run, and only on a machine where nothing else is there.
DEFAULT_CONF = Path("/etc/slurm/slurm.conf")
CLUSTER_NAME_LINE = "ClusterName=mmresist-test"


def unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: the SLURM test must run)", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, lines: int = 15) -> str:
    if not path.is_file():
        return f"({path.name} not written)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class SlurmCluster:
    """Where the running cluster lives and the environment its clients need."""

    folder: Path
    env: dict[str, str]
    jobcomp_log: Path
    logs: dict[str, Path] = field(default_factory=dict)

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(command), env=self.env, capture_output=True, text=True, timeout=30
        )

    def completed_jobs(self) -> list[dict[str, str]]:
        """One record per finished job from the job completion log (key=value fields)."""
        if not self.jobcomp_log.is_file():
            return []
        records = []
        for line in self.jobcomp_log.read_text().splitlines():
            record = {}
            for part in line.split():
                key, sep, value = part.partition("=")
                if sep:
                    record[key] = value
            if record:
                records.append(record)
        return records

    def diagnostics(self) -> str:
        return "\n".join(f"--- {name}\n{_tail(path)}" for name, path in self.logs.items())


def _write_configs(folder: Path, *, munge_socket: Path) -> tuple[Path, Path]:
    controller = socket.gethostname().split(".")[0]
    jobcomp_log = folder / "jobcomp.log"
    for sub in ("state", "spool"):
        (folder / sub).mkdir()
    conf = folder / "slurm.conf"
    conf.write_text(
        "\n".join(
            [
                CLUSTER_NAME_LINE,
                f"SlurmctldHost={controller}(127.0.0.1)",
                f"SlurmctldPort={_free_port()}",
                f"SlurmdPort={_free_port()}",
                "SlurmUser=root",
                "SlurmdUser=root",
                "AuthType=auth/munge",
                "CredType=cred/munge",
                f"AuthInfo=socket={munge_socket}",
                # No systemd or delegated cgroups in a container: track processes by parent
                # pid, so no cgroup plugin (nor cgroup.conf) is loaded at all.
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "JobAcctGatherType=jobacct_gather/none",
                "AccountingStorageType=accounting_storage/none",
                "JobCompType=jobcomp/filetxt",
                f"JobCompLoc={jobcomp_log}",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "SchedulerType=sched/backfill",
                "MpiDefault=none",
                "ReturnToService=2",
                f"MinJobAge={MIN_JOB_AGE_SECONDS}",
                f"StateSaveLocation={folder / 'state'}",
                f"SlurmdSpoolDir={folder / 'spool'}",
                f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
                f"SlurmdPidFile={folder / 'slurmd.pid'}",
                f"SlurmctldLogFile={folder / 'slurmctld.log'}",
                f"SlurmdLogFile={folder / 'slurmd.log'}",
                f"NodeName={NODE} NodeAddr=127.0.0.1 CPUs={NODE_CPUS} "
                f"RealMemory={NODE_MEMORY_MB} State=UNKNOWN",
                f"PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP",
                "",
            ]
        )
    )
    return conf, jobcomp_log


def _link_default_conf(conf: Path) -> str:
    """Point the default configuration path at `conf`; an empty string, else why not."""
    if DEFAULT_CONF.is_symlink() and (
        not DEFAULT_CONF.exists() or CLUSTER_NAME_LINE in DEFAULT_CONF.read_text()
    ):
        DEFAULT_CONF.unlink()  # left by an earlier test run that was killed
    if DEFAULT_CONF.exists() or DEFAULT_CONF.is_symlink():
        return f"{DEFAULT_CONF} already exists (a configured SLURM machine); it is left alone"
    try:
        DEFAULT_CONF.parent.mkdir(parents=True, exist_ok=True)
        DEFAULT_CONF.symlink_to(conf)
    except OSError as error:
        return f"cannot link {DEFAULT_CONF}: {error}"
    return ""


def _unlink_default_conf(conf: Path) -> None:
    if DEFAULT_CONF.is_symlink() and DEFAULT_CONF.readlink() == conf:
        DEFAULT_CONF.unlink()


def _wait_for_idle_node(cluster: SlurmCluster, daemons: dict[str, subprocess.Popen[bytes]]) -> str:
    """Empty string once the node takes jobs, else why it does not."""
    deadline = time.monotonic() + STARTUP_SECONDS
    state = ""
    while time.monotonic() < deadline:
        for name, process in daemons.items():
            if process.poll() is not None:
                return f"{name} exited with code {process.returncode}"
        result = cluster.run("sinfo", "--noheader", "--nodes", NODE, "--format", "%t")
        state = result.stdout.strip() or result.stderr.strip()
        if result.returncode == 0 and state == "idle":
            return ""
        time.sleep(1)
    return f"node {NODE} not idle after {STARTUP_SECONDS} s (sinfo: {state!r})"


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    # Reverse start order: slurmd, slurmctld, then munged, which the others need to the end.
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextmanager
def running_cluster(folder: Path) -> Iterator[SlurmCluster]:
    """Start the daemons from `folder` (a fresh, short path), yield, then stop them."""
    missing = [tool for tool in TOOLS if shutil.which(tool, path=_sbin_path()) is None]
    if missing:
        unavailable(
            f"SLURM not installed (missing {', '.join(missing)}): "
            "apt-get install slurm-wlm munge to run the SLURM test"
        )
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        unavailable("the single-node SLURM test starts slurmd, which must run as root")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        unavailable(
            "snakemake-executor-plugin-slurm not importable: pip install -e '.[test]' "
            "to run the SLURM test"
        )

    munge_socket = folder / "munge.socket"
    conf, jobcomp_log = _write_configs(folder, munge_socket=munge_socket)
    env = dict(os.environ, SLURM_CONF=str(conf), PATH=_sbin_path())
    cluster = SlurmCluster(
        folder=folder,
        env=env,
        jobcomp_log=jobcomp_log,
        logs={
            "munged": folder / "munged.log",
            "slurmctld": folder / "slurmctld.log",
            "slurmd": folder / "slurmd.log",
        },
    )

    key = folder / "munge.key"
    made_key = cluster.run("mungekey", "--create", f"--keyfile={key}")
    if made_key.returncode != 0:
        unavailable(f"mungekey could not create a key: {made_key.stderr.strip()}")
    key.chmod(0o600)

    problem = _link_default_conf(conf)
    if problem:
        unavailable(f"the SLURM test cannot place its configuration: {problem}")
    daemons: dict[str, subprocess.Popen[bytes]] = {}
    commands = {
        "munged": [
            "munged",
            "--foreground",
            "--force",
            f"--socket={munge_socket}",
            f"--key-file={key}",
            f"--log-file={folder / 'munged.log'}",
            f"--pid-file={folder / 'munged.pid'}",
            f"--seed-file={folder / 'munged.seed'}",
        ],
        "slurmctld": ["slurmctld", "-D", "-i"],
        "slurmd": ["slurmd", "-D", "-N", NODE],
    }
    try:
        for name, command in commands.items():
            with (folder / f"{name}.out").open("wb") as output:
                daemons[name] = subprocess.Popen(
                    command, env=env, cwd=folder, stdout=output, stderr=subprocess.STDOUT
                )
            cluster.logs[f"{name} (stdout)"] = folder / f"{name}.out"
            if name == "munged":
                problem = _wait_for_munge(cluster, daemons["munged"], munge_socket)
                if problem:
                    unavailable(f"munge failed to start: {problem}\n{cluster.diagnostics()}")
        problem = _wait_for_idle_node(cluster, daemons)
        if problem:
            unavailable(f"SLURM failed to start: {problem}\n{cluster.diagnostics()}")
        yield cluster
    finally:
        controller = daemons.get("slurmctld")
        if controller is not None and controller.poll() is None:
            # A test that failed mid-run may leave jobs queued; they must not outlive slurmd.
            running = cluster.run("squeue", "--noheader", "--format", "%i")
            if running.returncode == 0 and running.stdout.strip():
                cluster.run("scancel", *running.stdout.split())
        _stop(list(daemons.values()))
        _unlink_default_conf(conf)


def _wait_for_munge(cluster: SlurmCluster, munged: subprocess.Popen[bytes], sock: Path) -> str:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if munged.poll() is not None:
            return f"munged exited with code {munged.returncode}"
        if sock.exists():
            probe = subprocess.run(
                ["munge", f"--socket={sock}", "--no-input"], capture_output=True, timeout=10
            )
            if probe.returncode == 0:
                return ""
        time.sleep(0.2)
    return "no credential from munged within 15 s"


def _sbin_path() -> str:
    # Daemons live in /usr/sbin, which a non-login PATH may lack.
    parts = os.environ.get("PATH", "").split(os.pathsep)
    for extra in ("/usr/sbin", "/sbin"):
        if extra not in parts:
            parts.append(extra)
    return os.pathsep.join(parts)
