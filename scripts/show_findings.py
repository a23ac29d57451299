"""Prints the Security Hub findings ecs-warden imported, per region: compliance, record
state (ACTIVE: in the open view; ARCHIVED: closed), severity, title and resources, and how
many are FAILED and PASSED."""

import sys

import boto3

for region in sys.argv[1:]:
    hub = boto3.client("securityhub", region_name=region)
    findings = [f for f in hub.get_findings(MaxResults=100)["Findings"]
                if f.get("GeneratorId", "").startswith("ecs-warden/")]
    counts = {}
    for f in sorted(findings, key=lambda f: f["Id"]):
        status = f["Compliance"]["Status"]
        counts[status] = counts.get(status, 0) + 1
        resources = ", ".join(f"{r['Type']} {r['Id']}" for r in f["Resources"])
        state = f.get("RecordState", "ACTIVE")
        print(f"   {region} {status:6} {state:8} {f['Severity']['Label']:13} {f['Title']}")
        print(f"      {resources}")
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"
    print(f"   {region}: {summary}")
