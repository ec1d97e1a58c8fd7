"""adapters/ and policies/ install as switchboard.adapters and switchboard.policies:
from the repo root, from an editable install, and from a wheel in a fresh venv."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_repo_root_imports_the_mapped_packages() -> None:
    import switchboard.adapters
    import switchboard.policies

    assert Path(switchboard.adapters.__file__).parent == REPO / "adapters"
    assert Path(switchboard.policies.__file__).parent == REPO / "policies"


def test_editable_install_maps_them_outside_the_repo(tmp_path: Path) -> None:
    code = (
        "import switchboard.adapters, switchboard.policies, switchboard.adapters.litellm_api;"
        "print(switchboard.adapters.__file__); print(switchboard.policies.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split()
    assert Path(out[0]).parent == REPO / "adapters"
    assert Path(out[1]).parent == REPO / "policies"


@pytest.mark.slow
def test_wheel_in_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("coding_switchboard-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "switchboard/adapters/litellm_api.py" in names
    assert "switchboard/policies/labels.py" in names
    assert any(n.startswith("switchboard/store/migrations/0001") for n in names)
    assert not any(n.startswith(("adapters/", "policies/", "tests/")) for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    target = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--target",
            target,
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    # Dependencies come from this environment's site-packages, added after the venv's own
    # (PYTHONPATH entries are not site dirs, so this environment's editable finder stays off).
    deps = sysconfig.get_paths()["purelib"]
    code = (
        "import sys; sys.path.append(sys.argv[1]);"
        "import switchboard, switchboard.adapters, switchboard.policies;"
        "from switchboard.plugins import adapter_kinds;"
        "print(switchboard.__file__); print(switchboard.adapters.__file__); print(adapter_kinds())"
    )
    out = subprocess.run(
        [str(py), "-c", code, deps], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0].startswith(target)
    assert out[1].startswith(str(Path(target) / "switchboard" / "adapters"))
    assert "litellm" in out[2]
