#!/bin/sh
# Runs checkov over terraform/ in an environment of its own.
#
# Why a separate venv: checkov pins boto3 to an old 1.35.x, which would downgrade the
# project's boto3 (and lose ECS's newer API model). Why the flags: offline, checkov would
# otherwise try its vendor's API and fail; --skip-download and BC_SKIP_MAPPING=TRUE keep it local.
# Every skipped check carries its reason in the code (`#checkov:skip=CKV_...:reason`);
# this script fails when any check fails.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${CHECKOV_VENV:-.venv-checkov}"
CHECKOV_VERSION="3.3.30"
STAMP="$VENV/.checkov-$CHECKOV_VERSION"

if [ ! -f "$STAMP" ]; then
    echo "creating $VENV (checkov $CHECKOV_VERSION)" >&2
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    log="$VENV/install.log"
    if ! { "$VENV/bin/pip" install --upgrade pip &&
           "$VENV/bin/pip" install "checkov==$CHECKOV_VERSION"; } >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        echo "checkov: installing checkov $CHECKOV_VERSION into $VENV failed (log: $log)" >&2
        exit 1
    fi
    touch "$STAMP"
fi

export BC_SKIP_MAPPING=TRUE
export CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false
exec "$VENV/bin/checkov" \
    --directory terraform \
    --framework terraform \
    --skip-download \
    --compact \
    --quiet \
    "$@"
