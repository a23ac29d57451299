#!/usr/bin/env bash
# The integration tests (tests/it) as two processes side by side, each with its own moto
# server: moto answers on one core, and with one server it is the suite's bottleneck on a
# 2-core machine. The first process runs the modules given as arguments (`module::`), the
# second every other one, so a module added later is never left out. Each process's output
# is kept apart and shown whole once both have ended; the exit status is the first failure.
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: $0 module:: [module:: ...]" >&2; exit 2; }
skips=()
for module in "$@"; do skips+=(--skip "$module"); done
mkdir -p target
cargo test --workspace --test it -- "$@" > target/it-first.log 2>&1 &
first=$!
cargo test --workspace --test it -- "${skips[@]}" > target/it-second.log 2>&1 &
second=$!
wait "$first"; first_status=$?
wait "$second"; second_status=$?
for log in target/it-first.log target/it-second.log; do
  echo "== ${log}"
  cat "$log"
done
if [ "$first_status" -ne 0 ] || [ "$second_status" -ne 0 ]; then
  echo "integration tests failed: first process $first_status, second $second_status" >&2
  exit 1
fi
