#!/usr/bin/env python3
"""Compares SDK retry policies under injected faults: runs the fault tests (tests/it/faults.rs,
20 % of requests faulted) ROUNDS times per policy, with the tests' clients set to that
policy through WARDEN_TEST_RETRY, and sums what the tests recorded: requests, faults, calls
that still failed after their retries, redeliveries needed, and the time both runs of each
test took. `make fault-tuning` runs it; the retry figures in docs/reliability.md come from it.

Usage: fault_tuning.py [ROUNDS] [POLICY ...]   (policies: standard:N or adaptive:N)"""

import glob
import json
import os
import subprocess
import sys
import tempfile

# One attempt is left out: a sweep makes about 50 calls, so at 20 % it never answers clean.
DEFAULT_POLICIES = ["standard:2", "standard:3", "standard:4", "standard:5", "adaptive:3", "adaptive:4"]


def tally(directory):
    total = {}
    for path in glob.glob(os.path.join(directory, "faults-*.txt")):
        with open(path) as f:
            for line in f:
                key, value = line.split()
                total[key] = total.get(key, 0) + int(value)
    return total


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    policies = sys.argv[2:] or DEFAULT_POLICIES
    # Built once and run directly, so that editing the sources meanwhile changes nothing.
    built = subprocess.run(["cargo", "test", "-p", "warden-tests", "--test", "it", "--no-run",
                            "--message-format=json"], check=True, capture_output=True, text=True)
    binary = next(m["executable"] for m in map(json.loads, built.stdout.splitlines())
                  if m.get("reason") == "compiler-artifact" and m.get("executable")
                  and m["target"]["name"] == "it")
    print(f"{'policy':<12} {'requests':>9} {'faults':>7} {'calls failed':>13} {'per 1000 req':>13} "
          f"{'redelivered':>12} {'seconds':>8}")
    for policy in policies:
        sums = {}
        for round in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                # Each round draws other faults; every policy meets the same ones.
                env = dict(os.environ, WARDEN_TEST_RETRY=policy, WARDEN_RELIABILITY_DIR=tmp,
                           WARDEN_FAULT_SEED=str(1000 + round))
                run = subprocess.run([binary, "faults::", "-q"], env=env, capture_output=True, text=True,
                                     cwd=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
                if run.returncode != 0:
                    sys.exit(f"{policy}: the fault tests failed:\n{run.stdout[-4000:]}")
                for key, value in tally(tmp).items():
                    sums[key] = sums.get(key, 0) + value
        requests = sums.get("requests", 0)
        failed = sums.get("failed", 0)
        print(f"{policy:<12} {requests:>9} {sums.get('faults', 0):>7} {failed:>13} "
              f"{1000 * failed / max(requests, 1):>13.1f} {sums.get('redeliveries', 0):>12} "
              f"{sums.get('millis', 0) / 1000:>8.1f}")


if __name__ == "__main__":
    main()
