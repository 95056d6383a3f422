"""The project as installed by the README's set-up command: console scripts on the environment's
PATH that work from any folder, and a README whose set-up commands are the ones CI runs."""

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from studio import paths
from studio.face.image_io import current_umask
from tests.conftest import fixture_path

SCRIPTS = {"face-studio": "studio.interfaces.cli:console", "face-studio-app": "studio.interfaces.app_command:main"}


def test_the_project_is_installed_with_its_commands():
    found = {e.name: e.value for e in metadata.distribution("face-studio").entry_points if e.group == "console_scripts"}
    assert found == SCRIPTS
    assert all(callable(e.load()) for e in metadata.distribution("face-studio").entry_points)


def test_face_studio_edits_from_any_folder(tmp_path):
    script = Path(sys.executable).parent / "face-studio"   # the environment's own bin folder
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "STUDIO_DEBUG")}
    result = subprocess.run([str(script), "edit", str(fixture_path("002")), "-o", "smile.png",
                             "--preset", "happiness=1"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "wrote smile.png", result.stderr
    assert ((tmp_path / "smile.png").stat().st_mode & 0o777) == 0o666 & ~current_umask()
    app = subprocess.run([str(Path(sys.executable).parent / "face-studio-app"), "--help"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert app.returncode == 0 and "--device {auto,cpu,cuda,mps}" in app.stdout and "--share" in app.stdout


def _readme_setup() -> list[str]:
    readme = (paths.REPO_ROOT / "README.md").read_text()
    block = re.search(r"## Set up.*?```\n(.*?)```", readme, re.S)
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_ci_runs_exactly_the_readmes_two_commands():
    commands = _readme_setup()
    ci = [line for line in (paths.REPO_ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert len(commands) == 2 and ci == commands
    assert "python3 -m venv .venv" in commands[0] and ".venv/bin/pip install -q -e" in commands[0]
    assert commands[1].startswith(".venv/bin/python -m pytest") and "--durations=15" in commands[1]


def test_the_readme_is_short_and_its_links_lead_somewhere():
    readme = (paths.REPO_ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 110, "the README should read in two minutes; the manual lives in docs/"
    links = re.findall(r"\]\(((?:docs|weights|tests)/[^)#]+)", readme)
    assert links and all((paths.REPO_ROOT / link).exists() for link in links), links
