#!/usr/bin/env bash
# Makes a (Debian 12) machine ready to run, test and benchmark lifeboat.
#
#   bash scripts/setup.sh [--test] [--bench]
#
# Run from the npm pre-scripts (pretest, predemo, prebench), so it is quiet
# and fast when nothing is missing. Steps:
#   1. node >= 20
#   2. system tools: PostgreSQL server (initdb) + clients (psql, pg_dump,
#      pgbench), zstd, gpg; with --test also sshd and tmux; with --bench also
#      tmux, and pgbackrest (a comparison anchor; optional: skipped if it cannot be
#      installed, and the benchmark leaves its column out). Missing ones are
#      installed with apt-get when running as root, else reported (exit 1).
#      As root, the `postgres` OS user must exist (test clusters run as it).
#   3. npm dependencies (npm ci / npm install when node_modules is stale)
#   4. build (npm run build) when dist/ is older than src/, plugins/ or
#      scripts/build.mjs; skipped while scripts/build.mjs does not exist.
#
# Environment (for testing this script):
#   LIFEBOAT_SETUP_DRY_RUN=1            print what would run, change nothing
#   LIFEBOAT_SETUP_ASSUME_MISSING="a b" treat these tools as missing
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

want_test=0
want_bench=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --bench) want_bench=1 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lifeboat setup: unknown argument: $arg (usage: bash scripts/setup.sh [--test] [--bench])" >&2; exit 2 ;;
  esac
done

dry_run=${LIFEBOAT_SETUP_DRY_RUN:-}
assume_missing=" ${LIFEBOAT_SETUP_ASSUME_MISSING:-} "

say() { echo "setup: $*"; }
die() { echo "lifeboat setup: $*" >&2; exit 1; }
# Runs a command, or only prints it in dry-run mode.
act() {
  if [[ -n "$dry_run" ]]; then
    echo "setup: [dry run] $*"
  else
    "$@"
  fi
}
# Like act, but keeps the command's chatter in a log shown only on failure.
act_quiet() {
  if [[ -n "$dry_run" ]]; then
    echo "setup: [dry run] $*"
    return
  fi
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/lifeboat-setup.XXXXXX")
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    die "command failed: $*"
  fi
  rm -f "$log"
}

# --- 1. node -----------------------------------------------------------------
if ! command -v node >/dev/null 2>&1; then
  die "node >= 20 is required but node is not installed (https://nodejs.org, or: sudo apt-get install nodejs)"
fi
node_version=$(node --version 2>/dev/null || true)   # e.g. v20.11.1
node_major=${node_version#v}; node_major=${node_major%%.*}
if ! [[ "$node_major" =~ ^[0-9]+$ ]] || (( node_major < 20 )); then
  die "node >= 20 is required, found ${node_version:-an unknown version} at $(command -v node)"
fi

# --- 2. system tools ---------------------------------------------------------
# A PostgreSQL tool is present when a versioned binary exists under
# /usr/lib/postgresql/*/bin, or when it is on PATH and is not Debian's
# pg_wrapper (which exists as soon as postgresql-client-common is installed,
# even without the tool itself).
have_pg_tool() {
  local tool=$1 f real
  for f in /usr/lib/postgresql/*/bin/"$tool"; do
    [[ -x "$f" ]] && return 0
  done
  f=$(command -v "$tool" 2>/dev/null) || return 1
  real=$(readlink -f "$f" 2>/dev/null || echo "$f")
  [[ "$real" != */pg_wrapper ]]
}

have_tool() {
  local tool=$1
  [[ "$assume_missing" == *" $tool "* ]] && return 1
  case "$tool" in
    initdb|psql|pg_dump|pgbench) have_pg_tool "$tool" ;;
    sshd) [[ -x /usr/sbin/sshd ]] || command -v sshd >/dev/null 2>&1 ;;
    *) command -v "$tool" >/dev/null 2>&1 ;;
  esac
}

# tool|Debian package|what it is
tools=(
  "initdb|postgresql|PostgreSQL server"
  "psql|postgresql-client|PostgreSQL client"
  "pg_dump|postgresql-client|PostgreSQL client"
  "pgbench|postgresql|PostgreSQL benchmark tool, shipped with the server on Debian"
  "zstd|zstd|zstd compressor"
  "gpg|gnupg|GnuPG"
)
if (( want_test )); then
  tools+=(
    "sshd|openssh-server|OpenSSH server"
    "tmux|tmux|terminal multiplexer"
  )
fi
if (( want_bench && ! want_test )); then
  tools+=("tmux|tmux|terminal multiplexer (bench/tui.ts)")
fi

missing=()   # entries as in $tools
packages=()  # unique package names to install
for entry in "${tools[@]}"; do
  IFS='|' read -r tool pkg _ <<<"$entry"
  if ! have_tool "$tool"; then
    missing+=("$entry")
    [[ " ${packages[*]-} " == *" $pkg "* ]] || packages+=("$pkg")
  fi
done

is_root=0
[[ "$(id -u)" == 0 ]] && is_root=1

if (( ${#missing[@]} )); then
  if (( is_root )) && command -v apt-get >/dev/null 2>&1; then
    say "installing ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    act_quiet apt-get update -qq
    act_quiet apt-get install -y -qq --no-install-recommends "${packages[@]}"
    if [[ -z "$dry_run" ]]; then
      assume_missing=" "
      for entry in "${missing[@]}"; do
        IFS='|' read -r tool pkg what <<<"$entry"
        have_tool "$tool" || die "missing $tool ($what) even after installing $pkg"
      done
    fi
  else
    for entry in "${missing[@]}"; do
      IFS='|' read -r tool pkg what <<<"$entry"
      echo "lifeboat setup: missing $tool ($what): install it with: sudo apt-get install $pkg" >&2
    done
    exit 1
  fi
fi

# Optional benchmark anchor: pgBackRest. Never fatal.
if (( want_bench )) && ! have_tool pgbackrest; then
  if (( is_root )) && command -v apt-get >/dev/null 2>&1 && [[ -z "$dry_run" ]]; then
    say "installing pgbackrest (benchmark comparison)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbackrest >/dev/null 2>&1 ||
      say "could not install pgbackrest; the benchmark runs without it"
  else
    say "pgbackrest is not installed; the benchmark runs without it (sudo apt-get install pgbackrest)"
  fi
fi

# Test clusters run as the `postgres` OS user when we are root (the server
# refuses to run as root). The postgresql package creates that user.
if (( is_root )) && ! id -u postgres >/dev/null 2>&1; then
  say "creating OS user postgres"
  act useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
    --shell /bin/bash postgres
fi

# --- 3. npm dependencies -----------------------------------------------------
stamp=node_modules/.package-lock.json
if [[ ! -d node_modules || ! -e "$stamp" || package.json -nt "$stamp" ||
      ( -e package-lock.json && package-lock.json -nt "$stamp" ) ]]; then
  # npm ci needs a lockfile in sync with package.json; if package.json was
  # edited after the lockfile, let npm install reconcile them.
  if [[ -e package-lock.json && ! package.json -nt package-lock.json ]]; then
    say "installing npm dependencies (npm ci)"
    act_quiet npm ci --no-audit --no-fund --loglevel=error
  else
    say "installing npm dependencies (npm install)"
    act_quiet npm install --no-audit --no-fund --loglevel=error
  fi
  # npm may rewrite package-lock.json after node_modules/.package-lock.json;
  # mark node_modules as current so the next run takes the fast path.
  [[ -n "$dry_run" ]] || { mkdir -p node_modules && touch "$stamp"; }
fi

# --- 4. build ----------------------------------------------------------------
if [[ -f scripts/build.mjs ]]; then
  build_stamp=dist/.lifeboat-build-stamp
  need_build=0
  if [[ ! -e "$build_stamp" ]]; then
    need_build=1
  else
    sources=(scripts/build.mjs package.json)
    for d in src plugins; do [[ -d "$d" ]] && sources+=("$d"); done
    if [[ -n "$(find "${sources[@]}" -newer "$build_stamp" -print -quit 2>/dev/null)" ]]; then
      need_build=1
    fi
  fi
  if (( need_build )); then
    say "building (npm run build)"
    build_started=$(date +%s.%N)
    act npm run build --silent
    # Stamp with the start time, so edits made during the build trigger a rebuild.
    [[ -n "$dry_run" ]] || { mkdir -p dist && touch -d "@$build_started" "$build_stamp"; }
  fi
fi
