# shellcheck shell=bash
# Shared helpers for stacktop's dev/test scripts. Source it; don't run it.
#
#   STACKTOP_ROOT      repository root (derived from this file's location)
#   STACKTOP_RUN_BASE  where harnesses keep runtime state (default $STACKTOP_ROOT/.run)

STACKTOP_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
STACKTOP_RUN_BASE="${STACKTOP_RUN_BASE:-$STACKTOP_ROOT/.run}"
export STACKTOP_ROOT STACKTOP_RUN_BASE

# log/warn/die print with the calling script's name so interleaved output from
# scripts/test, dev-rabbitmq and .ci/run stays readable.
_st_name="$(basename -- "$0")"
log()  { printf '[%s] %s\n' "$_st_name" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "$_st_name" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$_st_name" "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# now_s prints seconds since the epoch (integer); elapsed_since START prints
# "12s" style durations.
now_s() { date +%s; }
elapsed_since() { printf '%ss' "$(( $(now_s) - $1 ))"; }

# missing_debs PKG... prints the packages (one per line) that dpkg does not
# have in state "install ok installed".
missing_debs() {
  local p st
  for p in "$@"; do
    st="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
    [ "$st" = "install ok installed" ] || printf '%s\n' "$p"
  done
}

# ensure_debs PKG... installs missing Debian packages. As root it runs
# apt-get (with 'apt-get update' once per process if the lists are missing or
# the install fails for lack of them) and keeps package maintainer scripts from
# starting services (policy-rc.d exit 101 + RUNLEVEL=1): the harnesses start
# their own instances. Not root: prints what is missing and returns 1.
_st_apt_updated=0
ensure_debs() {
  local missing
  missing="$(missing_debs "$@")"
  [ -n "$missing" ] || return 0
  # shellcheck disable=SC2086 # word splitting of the package list is wanted
  set -- $missing
  if ! is_root; then
    warn "missing Debian packages: $* (not root: install them with 'sudo apt-get install $*')"
    return 1
  fi
  local t0 policy_created=0 rc=0
  t0="$(now_s)"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary: created by stacktop scripts/lib/common.sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    policy_created=1
  fi
  if [ "$_st_apt_updated" = 0 ] && ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
    log "apt-get update (no package lists yet)"
    apt-get -o DPkg::Lock::Timeout=300 update -qq || rc=$?
    _st_apt_updated=1
  fi
  log "installing Debian packages: $*"
  _st_apt_install "$@" || rc=$?
  if [ "$rc" -ne 0 ] && [ "$_st_apt_updated" = 0 ]; then
    log "install failed; running apt-get update once and retrying"
    rc=0
    apt-get -o DPkg::Lock::Timeout=300 update -qq || rc=$?
    _st_apt_updated=1
    [ "$rc" -ne 0 ] || _st_apt_install "$@" || rc=$?
  fi
  if [ "$policy_created" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ "$rc" -ne 0 ]; then
    warn "apt-get install $* failed (exit $rc)"
    return "$rc"
  fi
  log "installed $* in $(elapsed_since "$t0")"
}

# apt-get's chatter goes to a log; its tail is shown when it fails.
_st_apt_install() {
  local apt_log rc=0
  mkdir -p "$STACKTOP_RUN_BASE"
  apt_log="$STACKTOP_RUN_BASE/apt-install.log"
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
    apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$@" >"$apt_log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 25 "$apt_log" >&2
  fi
  return "$rc"
}

# wait_for DESC TIMEOUT_S CMD... retries CMD every 0.5s until it succeeds or
# TIMEOUT_S passes (then returns 1).
wait_for() {
  local desc="$1" timeout="$2" deadline
  shift 2
  deadline=$(( $(now_s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(now_s)" -ge "$deadline" ]; then
      warn "timed out after ${timeout}s waiting for $desc"
      return 1
    fi
    sleep 0.5
  done
}

# pid_alive PID: true if PID is a live (non-zombie) process.
pid_alive() {
  local pid="$1" st
  [ -n "$pid" ] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  st="$(ps -o stat= -p "$pid" 2>/dev/null || true)"
  case "$st" in Z*|"") return 1 ;; esac
  return 0
}

# port_in_use PORT: something listens on 127.0.0.1/any:PORT (TCP).
port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    ss -Htln "sport = :$1" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}
