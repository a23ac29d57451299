"""Prints a function's JSON report (read from stdin) as lines an operator can scan."""

import json
import sys


def print_policy(title, policy):
    print(f"   {title}:")
    for line in json.dumps(policy, indent=2).splitlines():
        print(f"      {line}")


raw = sys.stdin.read()
try:
    report = json.loads(raw)
except json.JSONDecodeError:
    print("   (not a report) " + raw.strip())
    sys.exit(0)
for f in report.get("findings", []):
    print(f"   {f['status']:<12} {f['check']:<15} {f['resource']}")
    print(f"   {'':<12} {f['detail']}")
calls = report.get("aws_calls", [])
print(f"   mode={report.get('mode')} aws_calls={len(calls)} {' '.join(calls)}")
counts = report.get("counts")
if counts:
    print("   counts: " + "; ".join(
        f"{check} " + ", ".join(f"{status}={n}" for status, n in by_status.items())
        for check, by_status in counts.items()))
if report.get("principal"):
    print(f"   principal: {report['principal']}; intents: {', '.join(report.get('intents', []))}")
for m in report.get("missing", []):
    print(f"   missing: {m['action']} on {m['resource']} ({m['decision']}, seed {m['seed']}: {m['why']})")
if report.get("minimal_policy"):
    print_policy("minimal policy", report["minimal_policy"])
diagnosis = report.get("diagnosis")
if diagnosis:
    print(f"   cause: {diagnosis['cause']}: {diagnosis['because']}")
    print(f"   task definition: {diagnosis['task_definition']}; execution role: {diagnosis['execution_role']}")
    for m in diagnosis.get("missing", []):
        print(f"   missing: {m['action']} on {m['resource']}")
    for e in diagnosis.get("endpoints", []):
        print(f"   must reach: {e}")
    if diagnosis.get("policy"):
        print_policy("policy to add to the execution role", diagnosis["policy"])
