# Sourced by scripts/test.sh and scripts/run.sh: installs and starts what Enlace needs.

bootstrap_python() {
  if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check uv || return 1
  fi
  # The lock file pins every package, so a fresh machine installs exactly what was tested.
  uv sync --frozen --quiet --python "$(command -v python3.11 || command -v python3)"
}

bootstrap_system_packages() {
  local wanted=(chromium poppler-utils libharfbuzz-subset0 gettext)
  local missing=()
  for pkg in "${wanted[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -ne 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
      echo "Installing Debian packages: ${missing[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "Please install these Debian packages: ${missing[*]}" >&2
      return 1
    fi
  fi
}

_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_services() {
  if ! _answers 5432; then
    echo "Starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  fi
  if ! _answers 6379; then
    echo "Starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
  fi
  for _ in $(seq 1 30); do
    _answers 5432 && _answers 6379 && return 0
    sleep 1
  done
  echo "PostgreSQL or Redis did not come up" >&2
  return 1
}
