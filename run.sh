#!/usr/bin/env bash
# One command for each job a newcomer has:
#   ./run.sh film    set everything up, then render the example film into out/
#   ./run.sh test    set everything up, then run the test suite
#   ./run.sh setup   only set up (system packages, .venv, studio itself)
set -euo pipefail
cd "$(dirname "$0")"

SYSTEM_PACKAGES=(ffmpeg espeak-ng fluidsynth timgm6mb-soundfont fonts-dejavu-core chromium)
VENV=.venv

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

system_packages() {
  local missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    say "please install: ${missing[*]} (studio falls back to the ffmpeg inside imageio-ffmpeg)"
    return 0
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo -n"
  say "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  }
}

pip_install() {
  # pip's own status decides; only its noise about missing local mirrors is dropped
  "$VENV/bin/python" -m pip install -q "$@" 2> >(grep -v '^WARNING: Location' >&2)
}

python_env() {
  local py=python3
  command -v python3.11 >/dev/null && py=python3.11
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$py" -m venv "$VENV"
  fi
  local stamp="$VENV/.studio-installed" want
  want=$(cat pyproject.toml run.sh | sha256sum | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python packages (torch first: the CPU build)"
    pip_install --upgrade pip
    pip_install "torch==2.13.0"
    pip_install -e ".[dev]"
    "$VENV/bin/python" -c "import studio, torch"
    echo "$want" >"$stamp"
  fi
}

setup() { system_packages; python_env; }

case "${1:-}" in
  setup) setup ;;
  film)
    setup
    say "rendering the example film into out/the-last-lamp/"
    "$VENV/bin/studio" check screenplays/the-last-lamp.yaml
    "$VENV/bin/studio" render screenplays/the-last-lamp.yaml -o out/the-last-lamp
    "$VENV/bin/studio" graph screenplays/the-last-lamp.yaml -o out/the-last-lamp/scene-graph.png
    ;;
  test)
    setup
    shift
    # the tests spread over the machine's cores (at most 4 workers: each renders films and
    # starts ffmpeg), a test file to a worker: a file's fixtures are made once
    workers=$(nproc 2>/dev/null || echo 1)
    [ "$workers" -gt 4 ] && workers=4
    "$VENV/bin/python" -m pytest -q -n "$workers" --dist loadfile "$@"
    ;;
  *)
    echo "usage: ./run.sh film | test | setup" >&2
    exit 2
    ;;
esac
