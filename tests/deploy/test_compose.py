"""docker-compose.yml and deploy/: the file validates, and the services are wired as documented."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from backend.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
APP_SERVICES = ("migrate", "api", "worker-query", "worker-gpu", "worker-cpu")
# Variables the containers read that are not Settings fields: gunicorn/celery sizing, threads.
PROCESS_VARIABLES = {"API_PROCESSES", "API_THREADS", "WORKER_QUEUES", "WORKER_CONCURRENCY", "OMP_NUM_THREADS"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_command() -> list[str] | None:
    """Return the docker compose command available here: the v2 plugin, or Debian's docker-compose."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_validates_with_every_profile(tmp_path):
    command = compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed (scripts/setup.sh installs it)")
    result = subprocess.run(
        [
            *command,
            "--project-directory",
            str(ROOT),
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(ENV_EXAMPLE),
            "--profile",
            "gpu",
            "--profile",
            "cpu",
            "config",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(APP_SERVICES) <= set(resolved["services"])
    # The env file's password reached the database URL through interpolation.
    assert "change-me@postgres" in resolved["services"]["api"]["environment"]["DATABASE_URL"]


def test_docker_compose_config_rejects_a_broken_file(tmp_path):
    command = compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE_FILE.read_text().replace(
            '    healthcheck:\n      test: ["CMD", "redis-cli", "ping"]',
            '    healthcheck:\n      tset: ["CMD", "redis-cli", "ping"]',
        )
    )
    result = subprocess.run([*command, "-f", str(broken), "config", "-q"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0
    assert "tset" in result.stderr


def test_every_long_running_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        if name == "migrate":
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_app_services_start_after_migration_and_healthy_backends(compose):
    services = compose["services"]
    assert services["migrate"]["command"] == ["s2m", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in APP_SERVICES[1:]:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["qdrant"]["condition"] == "service_healthy", name


def test_gpu_worker_reserves_a_gpu_and_cpu_worker_is_a_profile(compose):
    gpu, cpu = compose["services"]["worker-gpu"], compose["services"]["worker-cpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert gpu["profiles"] == ["gpu"] and cpu["profiles"] == ["cpu"]
    assert gpu["environment"]["DEVICE"] == "cuda" and cpu["environment"]["DEVICE"] == "cpu"
    assert gpu["build"]["dockerfile"] == "deploy/Dockerfile.worker"
    assert "/whl/cpu" in cpu["build"]["args"]["TORCH_INDEX_URL"]


def test_backends_use_server_images_and_named_volumes(compose):
    services = compose["services"]
    assert services["qdrant"]["image"].startswith("qdrant/qdrant:")
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    mounted = {volume.split(":")[0] for s in services.values() for volume in s.get("volumes", [])}
    assert mounted == set(compose["volumes"]) == {"pgdata", "redisdata", "qdrantdata", "media"}


def test_container_environment_only_names_real_settings(compose):
    known = {name.upper() for name in Settings.model_fields} | PROCESS_VARIABLES
    for name in APP_SERVICES:
        unknown = set(compose["services"][name]["environment"]) - known
        assert not unknown, f"{name} sets variables nothing reads: {unknown}"


def test_env_example_covers_every_variable_the_compose_file_reads(compose):
    read = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE_FILE.read_text()))
    defined = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"^[A-Z_]+=", line)}
    assert read - defined == set()
    assert "COMPOSE_PROFILES" in defined


def test_api_image_installs_no_torch_and_worker_image_does():
    api = (ROOT / "deploy" / "Dockerfile.api").read_text()
    worker = (ROOT / "deploy" / "Dockerfile.worker").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert re.findall(r"pip install (.*?)(?: \\|$)", api, re.M) == ['-e ".[server]"']
    api_requirements = project["dependencies"] + project["optional-dependencies"]["server"]
    assert not [r for r in api_requirements if r.startswith(("torch", "torchaudio", "transformers"))]
    assert 'pip install -e ".[worker]"' in worker
    assert any(r.startswith("torch==") for r in project["optional-dependencies"]["worker"])
