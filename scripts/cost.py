#!/usr/bin/env python3
"""What ecs-warden costs per month, from counts measured on the functions' own logs and
AWS's prices as dated below. Prints the Markdown tables docs/operations.md quotes.

Usage: python scripts/cost.py LOG [LOG ...]
  LOG  function output as `make demo` keeps it (target/demo/functions.log) or as the state
       machine tests write it (target/statemachine-*.log): tracing lines naming
       `function="..."` and one Embedded Metric Format line per invocation.

Measured from the logs, per function: invocations (EMF lines), AWS calls per invocation
(their `AwsCalls`), duration per invocation (their `Duration`, against moto), and log bytes
per invocation (every line naming the function, EMF included, plus Lambda's own platform
lines, below). The usage model (how many events a month) is this script's assumption,
stated in USAGE; change it to yours and run again.
"""

import json
import re
import sys
from collections import defaultdict

# AWS's list prices for us-east-1, taken on 2026-12-03 from copies of AWS's pricing pages
# (https://aws.amazon.com/step-functions/pricing/ and /cloudwatch/pricing/ for the free
# tiers) and from price summaries that quote https://aws.amazon.com/lambda/pricing/ and
# /cloudwatch/pricing/, not from a live read: check the live pages before relying on a
# figure. Free tiers are left out: the figures are what the usage costs on an account
# whose free tier other workloads already use.
PRICES_READ = "2026-12-03"
LAMBDA_REQUEST = 0.20 / 1_000_000          # per request
LAMBDA_ARM_GB_SECOND = 0.0000133334        # arm64, per GB-second
STANDARD_TRANSITION = 0.025 / 1000         # Step Functions Standard, per state transition
LOGS_INGEST_GB = 0.50                      # CloudWatch Logs standard ingestion, per GB
LOGS_STORE_GB_MONTH = 0.03                 # per GB-month (the stack keeps 30 days)
METRIC_MONTH = 0.30                        # custom metric, first 10,000, prorated by the hour
ALARM_MONTH = 0.10                         # standard-resolution metric alarm
CW_API_REQUEST = 0.01 / 1000               # CloudWatch API requests (DescribeAlarms, ...)
CUSTOM_EVENT = 1.00 / 1_000_000            # EventBridge: an event sent to another account's bus

MEMORY_GB = 128 / 1024                     # template.yaml's Globals MemorySize
HOURS = 730                                # in a month, as AWS prorates metrics
METRICS_PER_DIMENSION_SET = 9              # metrics.rs: 7 statuses, AwsCalls, Duration
STACK_ALARMS = 9                           # template.yaml's AWS::CloudWatch::Alarm resources
# Lambda's START, END and REPORT platform lines in JSON log format, per invocation
# (Lambda Developer Guide, "Log-level filtering", the platform events' JSON shape):
# about 700 bytes together, not written by the functions.
PLATFORM_BYTES = 700
# Against AWS a call takes a round trip moto on 127.0.0.1 does not: 20 ms per call.
ROUND_TRIP_MS = 20

# The usage model: events a month for one typical account running ECS, and how many hours
# of the month each event function runs in at least once (metrics are billed per hour).
USAGE = {
    # CreateService / UpdateService: 20 deployments a working day, plus new clusters.
    "ecs-role-guard": {"events": 450, "hours": 160},
    # PutScalingPolicy, RegisterScalableTarget, DeleteScalingPolicy, DeleteAlarms.
    "scaling-guard": {"events": 60, "hours": 40},
    # IAM changes to the watched roles.
    "role-drift-guard": {"events": 10, "hours": 10},
    # Refused ECS, Application Auto Scaling and alarm calls.
    "access-doctor": {"events": 100, "hours": 60},
}
SWEEPS_PER_MONTH = 30          # the daily schedule
SWEEP_INVOCATIONS = 2          # a plan, then one sweep per account (more when cut)
# A run: Plan, Any account?, Each account, Swept all (4 transitions), and per account's
# child execution Sweep, More?, Swept (3) per sweep invocation.
PARENT_TRANSITIONS = 4
CHILD_TRANSITIONS = 3
ORGANIZATION = 100             # member accounts in the organization case
# A sweep's DescribeAlarms requests per account: a page per region with step policies
# (docs/performance.md), for the two regions swept, and one more per trail check.
DESCRIBE_ALARMS_PER_SWEEP = 6


def measure(paths):
    """Per function: invocations, total AWS calls, total duration ms, total log bytes."""
    seen = defaultdict(lambda: {"invocations": 0, "calls": 0, "ms": 0.0, "bytes": 0})
    named = re.compile(r'function="([a-z-]+)"|"function":"([a-z-]+)"')
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as log:
            for line in log:
                found = named.search(line)
                if not found:
                    continue
                function = found.group(1) or found.group(2)
                seen[function]["bytes"] += len(line.encode())
                if "CloudWatchMetrics" in line:
                    try:
                        emf = json.loads(line[line.index("{"):])
                    except ValueError:
                        continue
                    seen[function]["invocations"] += 1
                    seen[function]["calls"] += emf.get("AwsCalls", 0)
                    seen[function]["ms"] += emf.get("Duration", 0.0)
    return {f: s for f, s in seen.items() if s["invocations"]}


def per_invocation(measured, function):
    m = measured[function]
    n = m["invocations"]
    calls = m["calls"] / n
    return {
        "invocations measured": n,
        "calls": calls,
        "ms": m["ms"] / n + calls * ROUND_TRIP_MS,
        "bytes": m["bytes"] / n + PLATFORM_BYTES,
    }


def lambda_cost(invocations, ms):
    return invocations * (LAMBDA_REQUEST + MEMORY_GB * (ms / 1000) * LAMBDA_ARM_GB_SECOND)


def month(measured, accounts):
    """Cost lines for a hub (or one account when `accounts` is 1) over `accounts` accounts
    whose usage each follows USAGE."""
    lines = []
    metric_hours = 0.0
    log_bytes = 0.0
    for function, usage in USAGE.items():
        if function not in measured:
            continue
        p = per_invocation(measured, function)
        invocations = usage["events"] * accounts
        lines.append((f"{function}: {invocations:,} invocations, {p['calls']:.1f} calls and "
                      f"{p['ms']:.0f} ms each", lambda_cost(invocations, p["ms"])))
        # Over more accounts the same events fall in more of the month's hours.
        metric_hours += min(HOURS, usage["hours"] * accounts)
        log_bytes += invocations * p["bytes"]
    if "reconcile" in measured:
        p = per_invocation(measured, "reconcile")
        invocations = SWEEPS_PER_MONTH * (1 + (SWEEP_INVOCATIONS - 1) * accounts)
        lines.append((f"reconcile: {invocations:,} invocations, {p['calls']:.1f} calls and "
                      f"{p['ms']:.0f} ms each", lambda_cost(invocations, p["ms"])))
        transitions = SWEEPS_PER_MONTH * (PARENT_TRANSITIONS + CHILD_TRANSITIONS * accounts)
        lines.append((f"Step Functions: {transitions:,} state transitions",
                      transitions * STANDARD_TRANSITION))
        metric_hours += SWEEPS_PER_MONTH * 1
        log_bytes += invocations * p["bytes"]
        cw_requests = SWEEPS_PER_MONTH * accounts * DESCRIBE_ALARMS_PER_SWEEP
        lines.append((f"CloudWatch API: about {cw_requests:,} DescribeAlarms requests",
                      cw_requests * CW_API_REQUEST))
    metrics = METRICS_PER_DIMENSION_SET * metric_hours / HOURS
    lines.append((f"custom metrics: {metrics:.1f} metric-months (9 metrics per function and "
                  f"status, prorated over the hours they are written)", metrics * METRIC_MONTH))
    gb = log_bytes / 1e9
    lines.append((f"CloudWatch Logs: {gb * 1000:.1f} MB ingested and kept 30 days",
                  gb * (LOGS_INGEST_GB + LOGS_STORE_GB_MONTH)))
    lines.append((f"the stack's {STACK_ALARMS} alarms", STACK_ALARMS * ALARM_MONTH))
    if accounts > 1:
        forwarded = sum(u["events"] for u in USAGE.values()) * accounts
        lines.append((f"EventBridge: {forwarded:,} events forwarded to the hub's bus",
                      forwarded * CUSTOM_EVENT))
    return lines


def table(title, lines):
    print(f"**{title}**\n")
    print("| what | per month |")
    print("|---|---|")
    for what, usd in lines:
        print(f"| {what} | ${usd:,.2f} |")
    print(f"| **total** | **${sum(u for _, u in lines):,.2f}** |\n")


def main(paths):
    measured = measure(paths)
    if not measured:
        sys.exit("no invocation found in the logs: give function output with its EMF lines")
    print("Measured per invocation (against moto; duration plus "
          f"{ROUND_TRIP_MS} ms per AWS call for a real endpoint's round trip; "
          f"log bytes plus {PLATFORM_BYTES} of Lambda's platform lines):\n")
    print("| function | invocations measured | AWS calls | duration | log bytes |")
    print("|---|---|---|---|---|")
    for function in sorted(measured):
        p = per_invocation(measured, function)
        print(f"| {function} | {p['invocations measured']} | {p['calls']:.1f} | "
              f"{p['ms']:.0f} ms | {p['bytes']:,.0f} |")
    print()
    table("One account", month(measured, 1))
    table(f"A hub over {ORGANIZATION} accounts", month(measured, ORGANIZATION))
    print(f"Prices: AWS's us-east-1 list prices as taken on {PRICES_READ} (see scripts/cost.py "
          "for where from), free tiers left out.")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
