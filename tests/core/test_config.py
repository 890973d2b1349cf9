import pytest

from backend.core.config import ConfigError, Settings


def test_settings_parse_types_from_environment(tmp_path):
    env = {"DATA_DIR": str(tmp_path), "MAX_UPLOAD_BYTES": "1234", "LOG_JSON": "true", "MAX_SPEECH_SECONDS": "12.5"}
    settings = Settings.from_env(env)
    assert settings.max_upload_bytes == 1234
    assert settings.log_json is True
    assert settings.max_speech_seconds == 12.5
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 's2m.db'}"
    assert settings.resolved_qdrant_path == tmp_path / "qdrant"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"MAX_UPLOAD_BYTES": "lots"}, "MAX_UPLOAD_BYTES must be an integer"),
        ({"LOG_JSON": "maybe"}, "LOG_JSON must be a boolean"),
        ({"DEVICE": "tpu"}, "DEVICE must be cpu, cuda or auto"),
    ],
)
def test_bad_values_are_refused_with_the_variable_name(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)
