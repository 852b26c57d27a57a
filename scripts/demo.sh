#!/usr/bin/env bash
# The embedded default, end to end: a sandbox PostgreSQL cluster with sample data
# in .sandbox/, an agent config with a local-directory repository, then a logical
# backup, a restore-level verification, the list and the status.
#
#   npm run demo            run it (again: reuses the sandbox cluster)
#   npm run demo -- --stop  stop the sandbox cluster
#   npm run demo -- --clean stop it and delete .sandbox/
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
sandbox="$root/.sandbox"
lifeboat() { node "$root/bin/lifeboat.js" --config "$sandbox/config.json" "$@"; }
if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
  say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  say() { printf '\n== %s\n' "$*"; }
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -n "$bindir" && -x "$bindir/initdb" ]] || { echo "demo: PostgreSQL server binaries not found (run: bash scripts/setup.sh)" >&2; exit 1; }

# The server refuses to run as root: as root it runs as the postgres OS user,
# which must be able to reach its data directory.
as_pg=()
if [[ $(id -u) -eq 0 ]]; then as_pg=(runuser -u postgres --); fi
pgdata="$sandbox/pg/data"
if [[ ${#as_pg[@]} -gt 0 ]] && ! runuser -u postgres -- test -x "$root" 2>/dev/null; then
  # e.g. a checkout under /root: keep the cluster where postgres can reach it
  pgdata="/var/tmp/lifeboat-sandbox-$(echo "$root" | md5sum | cut -c1-8)/data"
fi
pgsock=$(dirname "$pgdata")

stop_cluster() {
  if [[ -f "$pgdata/postmaster.pid" ]]; then
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null && echo "demo: sandbox cluster stopped"
  fi
}
case "${1:-}" in
  --stop) stop_cluster; exit 0 ;;
  --clean) stop_cluster; rm -rf "$sandbox" "$pgsock"; echo "demo: removed $sandbox"; exit 0 ;;
  "") ;;
  *) echo "usage: npm run demo [-- --stop | --clean]" >&2; exit 2 ;;
esac

mkdir -p "$sandbox"
port_file="$sandbox/port"
if [[ ! -f "$pgdata/PG_VERSION" ]]; then
  say "creating a sandbox PostgreSQL cluster in $pgdata"
  mkdir -p "$pgsock"
  [[ ${#as_pg[@]} -gt 0 ]] && chown postgres: "$pgsock"
  "${as_pg[@]}" "$bindir/initdb" -D "$pgdata" -U postgres -A trust --no-sync -E UTF8 --locale=C >/dev/null
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  echo "$port" > "$port_file"
  fresh=1
else
  port=$(cat "$port_file")
  fresh=0
fi
if ! "${as_pg[@]}" "$bindir/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$pgdata" -l "$pgsock/server.log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pgsock" start >/dev/null
  echo "demo: sandbox cluster running on 127.0.0.1:$port"
fi
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
if (( fresh )) || ! psql -XAtqc "SELECT 1 FROM pg_database WHERE datname='demo'" postgres | grep -q 1; then
  say "loading sample data (pgbench scale 5 and a few awkward tables) into database demo"
  createdb demo
  pgbench -i -s 5 -q demo 2>&1 | tail -1
  psql -Xq -v ON_ERROR_STOP=1 demo <<'SQL'
CREATE SCHEMA "Mixed Schema";
CREATE TABLE "Mixed Schema"."Quoted Table" (id int PRIMARY KEY, note text);
INSERT INTO "Mixed Schema"."Quoted Table" VALUES (1, 'hello'), (2, E'multi\nline ✓');
CREATE TABLE blobs (id serial PRIMARY KEY, data bytea, doc jsonb);
INSERT INTO blobs (data, doc) SELECT decode(md5(i::text), 'hex'), jsonb_build_object('i', i) FROM generate_series(1, 1000) i;
CREATE TABLE empty_table (x int);
CREATE TABLE events (id bigint, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO events SELECT i, date '2025-06-01' + (i % 400) FROM generate_series(1, 5000) i;
CREATE VIEW big_accounts AS SELECT * FROM pgbench_accounts WHERE abalance > 0;
DO $$ BEGIN PERFORM lo_from_bytea(0, convert_to(repeat('large object ', 10000), 'UTF8')); END $$;
SQL
fi

say "lifeboat init: a config with a local-directory repository"
lifeboat init --cluster sandbox --repo "$sandbox/repo" -h 127.0.0.1 -p "$port" -U postgres -d demo \
  --state-dir "$sandbox/state" --force
say "lifeboat config check"
lifeboat config check
say "lifeboat backup --cluster sandbox --tag manual --label demo"
lifeboat backup --cluster sandbox --tag manual --label demo
say "lifeboat verify latest --level restore"
lifeboat verify latest --level restore
say "lifeboat list"
lifeboat list
say "lifeboat status"
lifeboat status

cat <<EOF2

What happened:
  - a PostgreSQL cluster runs on 127.0.0.1:$port (data: $pgdata)
  - database "demo" was dumped with pg_dump (custom format), streamed through
    zstd and sha256 into $sandbox/repo, manifest written last
  - the backup was restored into a scratch database, row counts compared with
    the manifest, and the scratch database dropped again

Try next (same config):
  export LIFEBOAT_CONFIG=$sandbox/config.json
  node bin/lifeboat.js show latest
  node bin/lifeboat.js restore latest --to-database demo_copy --yes
  node bin/lifeboat.js tui          (the interactive view; q quits)
  node bin/lifeboat.js --help

Stop the sandbox: npm run demo -- --stop    Remove it: npm run demo -- --clean
EOF2
