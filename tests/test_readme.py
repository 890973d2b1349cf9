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


TOP_LEVEL = (
    "backend",
    "workers",
    "ml",
    "corpus",
    "s2m",
    "scripts",
    "deploy",
    "docs",
    "tests",
    "migrations",
    "benchmarks",
)


def test_every_repository_path_the_docs_name_exists():
    for doc in (ROOT / "README.md", ROOT / "deploy" / "README.md"):
        named = set(re.findall(r"`([A-Za-z_][\w.-]*(?:/[\w.-]+)+/?)`", doc.read_text()))
        named |= set(re.findall(r"^(\w+/(?:\w+/)?)\s", doc.read_text(), re.M))  # the architecture block's folders
        missing = sorted(p for p in named if p.split("/")[0] in TOP_LEVEL and not (ROOT / p).exists())
        assert missing == [], f"{doc.name} names paths that do not exist: {missing}"


def test_the_architecture_section_lists_every_package_folder():
    section = README.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    for package in ("s2m/", "corpus/", "workers/", "backend/api/", "ml/", "backend/core/", "migrations/", "tests/"):
        assert f"\n{package}" in section, package
