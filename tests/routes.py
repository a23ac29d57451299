"""Which rule of template.yaml each file in events/ matches, by EventBridge's own test.

Usage: python routes.py TEMPLATE EVENTS_DIR
Prints {"rules": [{"name", "functions", "state", "condition"}], "matches": {file: [rule]},
"events": {file: {"region", "read_only"}}}. Every pattern is asked of TestEventPattern on
the endpoint in AWS_ENDPOINT_URL (the harness's moto, whose launcher implements it), so
the matching is EventBridge's, not a copy of it written here. Only files that are
EventBridge events (they have a detail-type) are asked about.
"""

import json
import pathlib
import sys

import boto3
from cfnlint.decode import cfn_yaml

ACCOUNT = "111122223333"


def resolve(value):
    """Intrinsic functions inside a pattern become example values: a GetAtt of a role is
    a role ARN, a Sub has its pseudo parameters filled in."""
    if isinstance(value, dict):
        if set(value) == {"Fn::GetAtt"}:
            logical = value["Fn::GetAtt"][0]
            return f"arn:aws:iam::{ACCOUNT}:role/ecs-warden-{logical}"
        if set(value) == {"Fn::Sub"}:
            text = value["Fn::Sub"]
            for name, example in (("AWS::Partition", "aws"), ("AWS::AccountId", ACCOUNT),
                                  ("MemberRolePath", "/"), ("MemberRoleName", "ecs-warden-member"),
                                  ("HubRolePath", "/ecs-warden/")):
                text = text.replace("${" + name + "}", example)
            return text
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value


def binaries(resources, target):
    """The functions a rule target runs: a function, or the functions a state machine runs."""
    if "Fn::Sub" in target and ":event-bus/" in target["Fn::Sub"]:
        return ["hub"]  # member.yaml's forwarding rules: the hub's bus
    if "Fn::GetAtt" in target:
        logical = target["Fn::GetAtt"][0]
    elif "Ref" in target:
        logical = target["Ref"]
    else:
        raise ValueError(f"a target this script does not know: {target}")
    resource = resources[logical]
    if resource["Type"] == "AWS::Serverless::Function":
        return [resource["Metadata"]["BuildProperties"]["Binary"]]
    if resource["Type"] == "AWS::Serverless::StateMachine":
        found = []
        for arn in resource["Properties"].get("DefinitionSubstitutions", {}).values():
            found += binaries(resources, arn)
        return found
    raise ValueError(f"a target of type {resource['Type']}")


def rules(template):
    resources = template["Resources"]
    found = []
    for logical, resource in resources.items():
        properties = resource.get("Properties", {})
        condition = resource.get("Condition")
        if resource["Type"] == "AWS::Serverless::Function":
            for event_name, event in properties.get("Events", {}).items():
                if event["Type"] != "EventBridgeRule":
                    continue
                found.append({
                    "name": f"{logical}.{event_name}",
                    "functions": [resource["Metadata"]["BuildProperties"]["Binary"]],
                    "state": event["Properties"].get("State", "ENABLED"),
                    "condition": condition,
                    "pattern": resolve(event["Properties"]["Pattern"]),
                })
        elif resource["Type"] == "AWS::Events::Rule" and "EventPattern" in properties:
            targets = []
            for target in properties["Targets"]:
                targets += binaries(resources, target["Arn"])
            found.append({
                "name": logical,
                "functions": targets,
                "state": properties.get("State", "ENABLED"),
                "condition": condition,
                "pattern": resolve(properties["EventPattern"]),
            })
    return found


def main(template_path, events_dir):
    template = cfn_yaml.load(template_path)
    events = boto3.client("events", region_name="us-east-1")
    found = rules(template)
    matches, described = {}, {}
    for path in sorted(pathlib.Path(events_dir).glob("*.json")):
        event = json.loads(path.read_text())
        if not isinstance(event, dict) or "detail-type" not in event:
            continue
        detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
        described[path.name] = {"region": event.get("region"),
                                "read_only": detail.get("readOnly") is True}
        matches[path.name] = [
            rule["name"] for rule in found
            if events.test_event_pattern(EventPattern=json.dumps(rule["pattern"]),
                                         Event=json.dumps(event))["Result"]
        ]
    for rule in found:
        del rule["pattern"]
    print(json.dumps({"rules": found, "matches": matches, "events": described}))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: routes.py TEMPLATE EVENTS_DIR")
    main(sys.argv[1], sys.argv[2])
