"""Prints the IAM roles the emulator holds: path, trusted services, attached policies."""

import json
import urllib.parse

import boto3

iam = boto3.client("iam")
for role in iam.list_roles()["Roles"]:
    doc = role["AssumeRolePolicyDocument"]
    if isinstance(doc, str):
        doc = json.loads(urllib.parse.unquote(doc))
    statements = doc.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    trusted = []
    for s in statements:
        principal = s.get("Principal", {})
        for kind in ("Service", "AWS"):
            value = principal.get(kind, [])
            trusted += value if isinstance(value, list) else [value]
    policies = [
        p["PolicyName"]
        for p in iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    ]
    print(f"   {role['Path']}{role['RoleName']}")
    print(f"      trust: {', '.join(trusted) or '-'} (Version {doc.get('Version', '-')})")
    print(f"      policies: {', '.join(policies) or '-'}")
