"""Model cards name no machine paths: folders appear relative to the working directory or by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.training.card import shown_path, training_command
from ml.training.trainer import TrainConfig


def test_folders_outside_the_working_directory_are_named_by_their_name(tmp_path: Path) -> None:
    assert shown_path(tmp_path / "corpus_full") == "corpus_full"
    assert shown_path("workers/bundled_model") == "workers/bundled_model"
    assert shown_path(Path.cwd() / "data" / "corpus") == str(Path("data") / "corpus")


def test_the_training_command_of_a_card_names_no_machine_path(tmp_path: Path) -> None:
    config = TrainConfig(init_dir=str(tmp_path / "model_a"))
    command = training_command(tmp_path / "corpus", tmp_path / "model_b", config, {"init_dir": config.init_dir})
    assert str(tmp_path) not in command
    assert "--corpus corpus --out model_b" in command and "--init model_a" in command


@pytest.mark.parametrize("card", sorted(Path(__file__).resolve().parents[3].glob("workers/bundled_model/*.md")))
def test_the_bundled_card_names_no_machine_path(card: Path) -> None:
    text = card.read_text(encoding="utf-8")
    assert "/work/" not in text and "/tmp/" not in text
