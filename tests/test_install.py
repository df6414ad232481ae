"""A regular (non-editable) install runs the demo with no help from the source checkout.

The package is built into a wheel, installed into a fresh virtual environment, and the
workflow is run from a copy of the repository that has no ``workflow/mmresist/``: only the
installed package, with its templates and schemas as package data, can serve the jobs.
Its reports must be byte-identical to those of the development install.

To stay fast and work offline, the fresh environment borrows the already-installed
dependencies through a ``.pth`` file (a path line there adds the directory only: the
editable install's own ``.pth`` in that directory is not processed) and the wheel is built
without build isolation, with the setuptools of the test extras.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow

# What a user's checkout needs to build the package and run the workflow.
CHECKOUT = (
    "Snakefile",
    "pyproject.toml",
    "README.md",
    "config",
    "workflow",
    "resources",
    "profiles",
)
OUTPUTS = ("report.json", "variants.tsv", "report.html")


def run(
    command: list[str], *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (command, result.stdout[-3000:], result.stderr[-3000:])
    return result


def copy_checkout(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".snakemake", "build")
    target.mkdir()
    for name in CHECKOUT:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, target / name)
    return target


def demo_config(path: Path, *, outdir: Path, pdf: bool) -> Path:
    config = yaml.safe_load((REPO / "config/config.yaml").read_text(encoding="utf-8"))
    config["outdir"] = str(outdir)
    config["report"] = {**config.get("report", {}), "pdf": pdf}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def demo_patients(checkout: Path) -> list[str]:
    with open(checkout / "resources/demo/samples.tsv", encoding="utf-8") as stream:
        return sorted({row["patient_id"] for row in csv.DictReader(stream, delimiter="\t")})


def setuptools_can_build() -> bool:
    try:
        major = int(metadata.version("setuptools").split(".")[0])
    except metadata.PackageNotFoundError:
        return False
    return major >= 77  # pyproject.toml's build requirement (SPDX license string)


@pytest.mark.skipif(
    not setuptools_can_build(),
    reason="building offline needs setuptools>=77 beside pytest (pip install -e '.[test]')",
)
def test_wheel_installed_in_a_fresh_venv_runs_the_demo_like_the_dev_install(tmp_path):
    checkout = copy_checkout(tmp_path / "checkout")

    wheels = tmp_path / "wheels"
    run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--wheel-dir", str(wheels), str(checkout)],
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("mmresist-*.whl")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    site_packages = Path(
        run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=tmp_path,
        ).stdout.strip()
    )
    borrowed = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site_packages / "_borrowed_dependencies.pth").write_text("\n".join(borrowed) + "\n")
    run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps"]
        + [str(wheel)],
        cwd=tmp_path,
    )

    source_run = tmp_path / "source_run"
    shutil.copytree(checkout, source_run)
    # Only the installed package may be importable: drop the copy's source, and look from
    # inside the copy (the directory a job starts in).
    shutil.rmtree(checkout / "workflow" / "mmresist")
    installed_env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    where = run(
        [str(python), "-c", "import mmresist; print(mmresist.__file__)"],
        cwd=checkout,
        env=installed_env,
    ).stdout.strip()
    package = Path(where).parent
    assert package.parent == site_packages, where
    for data in (
        "report/templates/report.html.j2",
        "report/templates/cohort.html.j2",
        "report/templates/report.css",
        "report/schemas/report.schema.yaml",
        "io/schemas/samples.schema.yaml",
        "knowledge/schemas/biomarkers.schema.json",
    ):
        assert (package / data).is_file(), data

    # The installed run renders PDFs too (the whole demo); the reference run skips them,
    # which changes none of the compared files.
    installed = tmp_path / "installed"
    config = demo_config(tmp_path / "installed.yaml", outdir=installed, pdf=True)
    run(
        [str(python), "-m", "snakemake", "--cores", "2", "--configfile", str(config)],
        cwd=checkout,
        env=installed_env,
    )

    # The reference: the same sources run from the source tree, as in development (a
    # snapshot, so that edits to the repository during the test cannot tell them apart).
    reference = tmp_path / "reference"
    config = demo_config(tmp_path / "reference.yaml", outdir=reference, pdf=False)
    run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", str(config)],
        cwd=source_run,
        env={**installed_env, "PYTHONPATH": str(source_run / "workflow")},
    )

    schema = yaml.safe_load((package / "report/schemas/report.schema.yaml").read_text())
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    patients = demo_patients(checkout)
    assert patients
    for patient in patients:
        for name in OUTPUTS:
            made = (installed / patient / name).read_bytes()
            assert made == (reference / patient / name).read_bytes(), (patient, name)
        report = json.loads((installed / patient / "report.json").read_text(encoding="utf-8"))
        assert [error.message for error in validator.iter_errors(report)] == [], patient
        assert (installed / patient / "report.pdf").read_bytes().startswith(b"%PDF"), patient
    assert (installed / "cohort" / "index.html").is_file()
