"""The SLURM profile adds to the default workflow profile instead of replacing it.

Settings are read through Snakemake's own command-line parser, so the test sees the values
Snakemake would run with after merging the general profile (--profile profiles/slurm) with the
workflow profile it finds by itself (profiles/default).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SLURM_PLUGIN_MISSING = (
    "snakemake-executor-plugin-slurm is not installed; Snakemake's parser only accepts "
    "'executor: slurm' with it: pip install -e '.[test]'"
)


def merged_settings(*argv: str) -> argparse.Namespace:
    from snakemake.cli import parse_args

    _, args = parse_args(list(argv))
    return args


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    # Snakemake looks for profiles/default relative to the working directory and the Snakefile.
    monkeypatch.chdir(REPO)
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        pytest.fail(SLURM_PLUGIN_MISSING, pytrace=False)
    return REPO


def resource_values(resources: dict) -> dict[str, object]:
    # raw: the value as the profile gave it; evaluating needs a rule and a job context.
    return {name: resource.raw for name, resource in resources.items()}


def test_slurm_profile_keeps_the_default_workflow_profile(in_repo: Path) -> None:
    args = merged_settings("--profile", "profiles/slurm", "--configfile", "config/config.yaml")
    # From profiles/slurm
    assert args.executor == "slurm"
    assert args.jobs == 100
    assert args.latency_wait == 60
    defaults = resource_values(args.default_resources)
    assert defaults["mem_mb"] == 4000
    assert defaults["runtime"] == 30
    assert resource_values(args.set_resources["cohort_index"]) == {"mem_mb": 2000, "runtime": 10}
    # From profiles/default, which a --workflow-profile would have replaced
    assert args.scheduler == "greedy"
    assert args.show_failed_logs is True
    assert args.keep_going is True
    assert args.rerun_incomplete is True


def test_default_profile_values_differ_from_snakemake_defaults(in_repo: Path) -> None:
    # Without the workflow profile these settings fall back to Snakemake's own defaults, so the
    # assertions above can only pass when profiles/default really was merged in.
    args = merged_settings("--profile", "profiles/slurm", "--workflow-profile", "none")
    assert args.executor == "slurm"
    assert args.scheduler != "greedy"
    assert args.show_failed_logs is False
    assert args.keep_going is False


def test_profiles_hold_runtime_knobs_only() -> None:
    workflow_config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    for profile in ("default", "slurm"):
        settings = yaml.safe_load((REPO / "profiles" / profile / "config.yaml").read_text())
        assert "config" not in settings and "configfile" not in settings, profile
        assert not set(settings) & set(workflow_config), profile
    assert not (REPO / "workflow/profiles").exists()
