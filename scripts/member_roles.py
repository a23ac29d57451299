#!/usr/bin/env python3
"""Makes, in the account of the current credentials, the member roles member.yaml makes for
a hub: each function's role with its trust and policy, and the drain's role when the
account allows drains. What the StackSet deploys, for the demo and the benchmark on moto.

Usage: python member_roles.py HUB_ACCOUNT [--allow-drain] [--audit]
"""

import json
import pathlib
import sys

import boto3
from cfnlint.decode import cfn_yaml

MEMBER = pathlib.Path(__file__).resolve().parent.parent / "member.yaml"


def rendered(value, values, conditions):
    """member.yaml's intrinsic functions with the stack's parameters filled in; None for a
    value a false condition leaves out."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Fn::Sub":
            text = arg
            for name, example in values.items():
                text = text.replace("${" + name + "}", example)
            return text
        if key == "Ref":
            return None if arg == "AWS::NoValue" else values[arg]
        if key == "Fn::If":
            return rendered(arg[1] if conditions[arg[0]] else arg[2], values, conditions)
    if isinstance(value, dict):
        return {k: r for k, v in value.items() if (r := rendered(v, values, conditions)) is not None}
    if isinstance(value, list):
        return [r for v in value if (r := rendered(v, values, conditions)) is not None]
    return value


def create(hub_account, allow_drain=False, mode="enforce"):
    """The roles, made with the default parameters, Security Hub off and `mode` (a hub that
    drains must enforce); their names."""
    member = cfn_yaml.load(str(MEMBER))
    account = boto3.client("sts").get_caller_identity()["Account"]
    values = {name: str(p.get("Default", "")) for name, p in member["Parameters"].items()}
    values.update({"HubAccountId": hub_account, "AWS::Partition": "aws", "AWS::AccountId": account,
                   "AWS::Region": "us-east-1", "AllowDrain": "true" if allow_drain else "false", "Mode": mode})
    enforces = mode == "enforce"
    conditions = {"CreatesTheRole": True, "CreatesTheDrainRole": allow_drain and enforces,
                  "ImportsToSecurityHub": False, "IsUsEast1": True, "Enforces": enforces}
    iam = boto3.client("iam")
    made = []
    for resource in member["Resources"].values():
        if resource["Type"] != "AWS::IAM::Role" or "Condition" not in resource:
            continue
        if not conditions[resource["Condition"]]:
            continue
        props = rendered(resource["Properties"], values, conditions)
        iam.create_role(RoleName=props["RoleName"], Path=props["Path"],
                        AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]))
        for policy in props["Policies"]:
            iam.put_role_policy(RoleName=props["RoleName"], PolicyName=policy["PolicyName"],
                                PolicyDocument=json.dumps(policy["PolicyDocument"]))
        made.append(props["RoleName"])
    return made


if __name__ == "__main__":
    flags = sys.argv[2:]
    if len(sys.argv) < 2 or set(flags) - {"--allow-drain", "--audit"} or len(set(flags)) != len(flags):
        sys.exit(__doc__)
    made = create(sys.argv[1], allow_drain="--allow-drain" in flags,
                  mode="audit" if "--audit" in flags else "enforce")
    print(", ".join(made))
