#!/usr/bin/env bash
# Install everything the project needs: Debian packages, then a virtual environment in .venv.
# Idempotent and quick when already done: it only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts  # speech engines
  fluidsynth fluid-soundfont-gm timgm6mb-soundfont                                # music rendering
  sox libsndfile1                                                                 # audio tools
  chromium                                                                        # browser tests
  docker-compose                                                                  # validates docker-compose.yml offline
)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# Installed without their declared dependencies: musicnn pins numpy<1.17 and TensorFlow 1.x, which
# cannot install on Python 3.11; we only read the checkpoint files it ships (ml/pretrained/).
NO_DEPS_PACKAGES=(musicnn==0.1.0)
stamp=".venv/.s2m-installed"
want="$({ cat pyproject.toml; printf '%s\n' "${NO_DEPS_PACKAGES[@]}"; } | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages into .venv (torch is large: a few minutes the first time)"
  .venv/bin/pip install -q --upgrade pip setuptools wheel
  .venv/bin/pip install -q -e ".[worker,corpus,test]"
  .venv/bin/pip install -q --no-deps "${NO_DEPS_PACKAGES[@]}"
  echo "$want" > "$stamp"
else
  # Editable install metadata can go missing in a fresh clone that reuses a venv.
  .venv/bin/python -c "import backend, workers, ml" 2>/dev/null || .venv/bin/pip install -q --no-deps -e .
fi
echo "setup: done"
