"""The README stays true: its two commands come first, CI runs its test command, every setting is documented."""

from __future__ import annotations

import re
from pathlib import Path

from backend.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_two_commands_are_the_first_code_blocks():
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    assert [b.strip() for b in blocks[:2]] == ["bash scripts/demo.sh", "bash scripts/test.sh"]


def test_ci_runs_exactly_the_readme_test_command():
    commands = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd "))
    ]
    assert commands == ["bash scripts/test.sh"]


def test_configuration_table_lists_every_setting():
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", README, re.M))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_emotion_space_picture_is_committed_and_linked():
    assert "](docs/emotion-space.png)" in README
    assert (ROOT / "docs" / "emotion-space.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_docs_name_repository_paths_not_machine_paths():
    docs = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("deploy/*.md"), *ROOT.glob("benchmarks/*.md")]
    docs += list(ROOT.glob("workers/bundled_model/*.md"))
    offenders = [
        str(doc.relative_to(ROOT)) for doc in docs if "/work/" in doc.read_text() or "/tmp/" in doc.read_text()
    ]
    assert offenders == []
