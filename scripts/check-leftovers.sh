#!/usr/bin/env bash
# Fails when a server started by the tests is still running: every private
# mysqld lives under /tmp/testenv-my*, and its owner must stop it.
set -u
left=$(pgrep -a -f -- '--defaults-file=/tmp/testenv-my' || true)
if [ -n "$left" ]; then
  echo "check-leftovers: servers started by the tests are still running:" >&2
  echo "$left" >&2
  exit 1
fi
echo "check-leftovers: no test servers left running"
