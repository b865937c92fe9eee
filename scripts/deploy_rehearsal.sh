#!/usr/bin/env bash
# Deploy rehearsal: docs/deploy.md and docs/backup.md followed step by step on a
# scratch PostgreSQL, from the roles to a verified restore (scripts/deploy_rehearsal.py
# says how). CI runs it; `make deploy-rehearsal` runs it by hand.
#
#   PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres   a superuser's connection
#   REHEARSAL_OWNER_ROLE, REHEARSAL_APP_ROLE, REHEARSAL_DB     default: the documented
#                                   casework_owner, casework_app, casework (must not exist)
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" scripts/deploy_rehearsal.py "$@"
