#!/usr/bin/env bash
# Restore drill (docs/backup.md): a backup is only a backup once it has been
# restored. This dumps the database, restores the dump into a scratch
# database, and checks the copy: every table has the rows the source had, and
# the audit log's hash chain verifies there (manage.py verify_audit). The
# scratch database is dropped afterwards, whatever happens.
#
#   scripts/restore_drill.sh                    dump $DATABASE_URL and check the copy
#   scripts/restore_drill.sh --keep FILE        ... and keep the verified dump as FILE
#                                               (FILE.unverified when the check fails)
#   scripts/restore_drill.sh --seed             CI: make a small source database
#                                               with seed_demo first (dropped after)
#
# Needs pg_dump, pg_restore and psql of the server's major version or newer,
# and a role that may create databases. Exit code 0 when the copy checks out.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-.venv/bin/python}"
KEEP=""
SEED=0
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) KEEP="$2"; shift 2 ;;
    --seed) SEED=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "restore_drill: unknown argument $1" >&2; exit 2 ;;
  esac
done

for tool in pg_dump pg_restore psql; do
  command -v "$tool" >/dev/null || {
    echo "restore_drill: $tool is missing (apt-get install postgresql-client)" >&2; exit 2; }
done

SOURCE_URL="${DATABASE_URL:-}"
if [ "$SEED" = 1 ]; then
  SOURCE_URL="${SOURCE_URL:-${CI_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/casework_ci}}"
fi
case "$SOURCE_URL" in
  postgres://*|postgresql://*) ;;
  *) echo "restore_drill: set DATABASE_URL to the PostgreSQL database to check" >&2; exit 2 ;;
esac

# postgres://user@host:port/name?options -> the same server, another database.
with_database() {
  local url="$1" name="$2" base query
  base="${url%%\?*}"
  query="${url#"$base"}"
  echo "${base%/*}/${name}${query}"
}

STAMP="$(date +%Y%m%d%H%M%S)_$$"
ADMIN_URL="$(with_database "$SOURCE_URL" postgres)"
SCRATCH="casework_drill_restore_${STAMP}"
SCRATCH_URL="$(with_database "$SOURCE_URL" "$SCRATCH")"
WORK="$(mktemp -d)"
DUMP="$WORK/casework.dump"
SOURCE_DB=""
KEPT=0

cleanup() {
  # A dump that did not check out is still kept, under a name nobody trusts blindly:
  # better than no backup at all when the scratch restore itself failed.
  if [ -n "$KEEP" ] && [ "$KEPT" = 0 ] && [ -s "$DUMP" ]; then
    cp "$DUMP" "$KEEP.unverified" &&
      echo "restore_drill: the copy did not check out; the dump is kept as $KEEP.unverified" >&2
  fi
  psql "$ADMIN_URL" -q -v ON_ERROR_STOP=0 -c "DROP DATABASE IF EXISTS \"$SCRATCH\" WITH (FORCE)" >/dev/null 2>&1 || true
  if [ -n "$SOURCE_DB" ]; then
    psql "$ADMIN_URL" -q -c "DROP DATABASE IF EXISTS \"$SOURCE_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

django() {  # manage.py against a given database, whatever DEBUG says
  DATABASE_URL="$1" DATABASE_POOL=0 DEBUG="${DEBUG:-1}" "$PYTHON" manage.py "${@:2}"
}

started=$(date +%s.%N)

if [ "$SEED" = 1 ]; then
  SOURCE_DB="casework_drill_source_${STAMP}"
  SOURCE_URL="$(with_database "$SOURCE_URL" "$SOURCE_DB")"
  psql "$ADMIN_URL" -q -c "CREATE DATABASE \"$SOURCE_DB\""
  django "$SOURCE_URL" migrate --noinput -v 0
  django "$SOURCE_URL" seed_demo --cases 60 --password "drill-only-password-$$" >/dev/null
  echo "source: a fresh database with seed_demo's data ($SOURCE_DB)"
fi

# Rows per table, in one query.
COUNT_SQL="SELECT table_name, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text
FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
counts() { psql "$1" -At -F ' ' -c "$COUNT_SQL"; }

counts "$SOURCE_URL" > "$WORK/before"
pg_dump --format=custom --file="$DUMP" "$SOURCE_URL"
# Writes that happened while dumping show up as a difference between before
# and after; the copy must hold at least "before" and at most "after".
counts "$SOURCE_URL" > "$WORK/after"
echo "dump: $(du -h "$DUMP" | cut -f1), $(wc -l < "$WORK/before") tables"

psql "$ADMIN_URL" -q -c "CREATE DATABASE \"$SCRATCH\""
pg_restore --exit-on-error --no-owner --no-acl --dbname="$SCRATCH_URL" "$DUMP"
counts "$SCRATCH_URL" > "$WORK/restored"

failed=0
while read -r table before; do
  after=$(awk -v t="$table" '$1 == t {print $2}' "$WORK/after")
  restored=$(awk -v t="$table" '$1 == t {print $2}' "$WORK/restored")
  if [ -z "$restored" ] || [ "$restored" -lt "$before" ] || [ "$restored" -gt "${after:-$before}" ]; then
    echo "MISMATCH $table: source had $before (then ${after:-?}), the copy has ${restored:-no table}"
    failed=1
  fi
done < "$WORK/before"
rows=$(awk '{s += $2} END {print s}' "$WORK/restored")
if [ "$failed" = 0 ]; then
  echo "row counts: every table matches ($rows rows)"
  for table in casework_case casework_detainee casework_hearing casework_bailrequest audit_auditentry; do
    printf '  %-22s %s\n' "$table" "$(awk -v t="$table" '$1 == t {print $2}' "$WORK/restored")"
  done
fi

if ! django "$SCRATCH_URL" verify_audit; then
  echo "verify_audit FAILED on the restored copy" >&2
  failed=1
fi

if [ -n "$KEEP" ] && [ "$failed" = 0 ]; then
  cp "$DUMP" "$KEEP"
  KEPT=1
  echo "kept the verified dump as $KEEP"
fi

elapsed=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')
if [ "$failed" = 0 ]; then
  echo "RESTORE DRILL PASSED in ${elapsed}s"
else
  echo "RESTORE DRILL FAILED in ${elapsed}s" >&2
  exit 1
fi
