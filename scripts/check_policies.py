"""Least-privilege checks on every inline policy in template.yaml and member.yaml, run by
`make test`.

- parliament on each function's and role's policy; a finding fails the check unless it is
  listed in SKIPS with the reason it is accepted;
- no IAM write action on Resource "*";
- the service-linked-role actions carry seed 004's resource pattern; CreateServiceLinkedRole
  carries the iam:AWSServiceName condition, and the other three must not: IAM supplies that
  key for CreateServiceLinkedRole only (Service Authorization Reference), so a statement
  conditioned on it grants nothing for them in a real account;
- the drain's destructive ECS actions belong to slr-deletion alone;
- with --calls DIR (the AWS calls the tests saw each function make, one FUNCTION.txt per
  function, written by the test harness under WARDEN_CALLS_DIR): every call is granted,
  and every granted action was called by some test, unless NOT_EXERCISED says why not;
- the member role is named the same way on both sides: for a pathed role, the ARN the hub
  may assume and WARDEN_MEMBER_ROLE are the role member.yaml makes;
- member.yaml's member role, the largest blast radius ecs-warden has: its trust stays within
  IAM's 2,048-character quota for a hub in 1 to 17 regions, names the hub account and no role
  ARN as principal, and is confined to the hub's function role path; and with --calls
  every call a function made in the tests, other than those the hub makes with its own
  credentials (HUB_CALLS), is granted by that function's member policy.
"""

import json
import os
import sys

from cfnlint.decode import cfn_yaml
from parliament import analyze_policy_string

TEMPLATE = "template.yaml"
MEMBER = "member.yaml"
PSEUDO = {"HubAccountId": "444455556666", "HubEventBusName": "ecs-warden-hub",
          "MemberRolePath": "/", "MemberRoleName": "ecs-warden-member", "MemberAccounts": "organization",
          "OrganizationId": "o-a1b2c3d4e5","AWS::Partition": "aws", "AWS::AccountId": "111122223333", "AWS::Region": "us-east-1",
          "AWS::StackName": "ecs-warden",
          "NotificationTopicArn": "arn:aws:sns:us-east-1:111122223333:ops-alerts"}
SLR_ACTIONS = {"iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole",
               "iam:GetServiceLinkedRoleDeletionStatus", "iam:UpdateRoleDescription"}
# The one service-linked-role action for which IAM supplies iam:AWSServiceName.
CONDITIONED_SLR_ACTIONS = {"iam:CreateServiceLinkedRole"}
DESTRUCTIVE = {"ecs:UpdateService", "ecs:DeleteService", "ecs:DeregisterContainerInstance", "ecs:DeleteCluster"}
IAM_READS = ("iam:Get", "iam:List", "iam:Simulate")

# (resource, issue, action named in the finding) -> why the finding is accepted. None is:
# every parliament finding is a problem.
SKIPS = {}


# Calls a hub makes with its own credentials, never through the member role -> why.
HUB_CALLS = {
    "sts:AssumeRole": "how the hub gets the member role's credentials",
    "organizations:ListAccounts": "the hub lists its organization from its own account",
    "sns:Publish": "the hub publishes to its own topic",
    "sts:GetCallerIdentity": "needs no grant",
}

# Calls that need no grant -> why.
NEEDS_NO_GRANT = {
    "sts:GetCallerIdentity": "STS answers it for every caller; no policy can deny it",
}
PUBLISH_SHARED = (
    "published by notify::Notifier::finish, the same code in every function; "
    "tests/notifications.rs calls it through ecs-role-guard and slr-deletion, and "
    "tests/built_binary.rs reads what the scaling-guard and access-doctor binaries publish"
)
TAGGED_ALARMS = (
    "never called as such: CloudWatch authorizes a PutMetricAlarm that carries Tags "
    "against cloudwatch:TagResource as well"
)
LISTED_BY_REACH = (
    "a hub with MemberAccounts=organization lists it in invocation::reach::Accounts, the same "
    "code for every function; tests/organization.rs calls it through ecs-role-guard against "
    "moto's Organizations, and shared/tests/mocked_reach.rs its paging and refusal"
)
IMPORTED_SHARED = (
    "imported by invocation::security_hub::SecurityHub::import from Handler::handle_within, "
    "the same code in every function; tests/security_hub.rs calls it through ecs-role-guard, "
    "scaling-guard and reconcile, and shared/tests/mocked_security_hub.rs its refusals"
)
# (function, action) granted but never called by a test -> why it is granted anyway.
NOT_EXERCISED = {
    ("role-drift-guard", "securityhub:BatchImportFindings"): IMPORTED_SHARED,
    ("role-drift-guard", "securityhub:GetFindings"): IMPORTED_SHARED,
    **{(f, "organizations:ListAccounts"): LISTED_BY_REACH
       for f in ("access-doctor", "reconcile", "role-drift-guard", "scaling-guard", "slr-deletion")},
    ("access-doctor", "sns:Publish"): PUBLISH_SHARED,
    ("reconcile", "sns:Publish"): PUBLISH_SHARED,
    ("role-drift-guard", "sns:Publish"): PUBLISH_SHARED,
    ("scaling-guard", "sns:Publish"): PUBLISH_SHARED,
    ("reconcile", "cloudwatch:TagResource"): TAGGED_ALARMS,
    ("scaling-guard", "cloudwatch:TagResource"): TAGGED_ALARMS,
    ("reconcile", "cloudwatch:ListTagsForResource"):
        "read before replacing an alarm under ecs-warden's name (alarms::ensure_step_alarm, "
        "which scaling-guard's tests call); no reconcile test has such an alarm",
    ("reconcile", "iam:UpdateAssumeRolePolicy"):
        "repairs a drifted trust through roles::ensure, which the other guards' tests call; "
        "the reconcile tests' roles are missing, not drifted",
    ("reconcile", "cloudwatch:DeleteAlarms"):
        "never called by the function: Application Auto Scaling replaces a target-tracking "
        "policy's alarms with the caller's permissions when reconcile puts the policy again "
        "(its user guide lists DeleteAlarms for that caller); moto does not check it",
    ("slr-deletion", "iam:GetRole"):
        "asked only when the status call no longer knows the task (purged after a fast "
        "deletion); moto keeps its tasks, so the aws-smithy-mocks test "
        "a_purged_task_with_the_role_gone_is_deleted covers it",
}


def resolve(value, logical_ids):
    """Intrinsic functions replaced by example values, so parliament sees real ARNs."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            for name, example in PSEUDO.items():
                text = text.replace("${" + name + "}", example)
            return text
        if key == "Ref":
            return PSEUDO.get(arg, f"arn:aws:states:us-east-1:111122223333:stateMachine:{arg}")
        if key == "Fn::If":
            # A statement granted under a condition is checked as granted.
            return resolve(arg[1], logical_ids)
        if key == "Fn::GetAtt":
            target = arg[0] if isinstance(arg, list) else arg.split(".")[0]
            return f"arn:aws:iam::111122223333:role/{target}"
    if isinstance(value, dict):
        return {k: resolve(v, logical_ids) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, logical_ids) for v in value]
    return value


def policies(template):
    """(resource, policy document) for every inline policy."""
    resources = template["Resources"]
    for name, res in resources.items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Serverless::Function":
            for doc in props.get("Policies", []):
                # A conditional policy is checked as granted: its true branch.
                if isinstance(doc, dict) and list(doc) == ["Fn::If"]:
                    doc = doc["Fn::If"][1]
                if isinstance(doc, dict) and "Statement" in doc:
                    yield name, resolve(doc, resources)
        elif res["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield name, resolve(policy["PolicyDocument"], resources)
        elif res["Type"] == "AWS::IAM::ManagedPolicy":
            yield name, resolve(props["PolicyDocument"], resources)


def granted_actions(template):
    """function binary name -> {action: [Sid of each statement granting it]}."""
    binaries = {name: res["Metadata"]["BuildProperties"]["Binary"]
                for name, res in template["Resources"].items()
                if res["Type"] == "AWS::Serverless::Function"}
    granted = {binary: {} for binary in binaries.values()}
    for resource, doc in policies(template):
        if resource not in binaries:
            continue
        actions = granted[binaries[resource]]
        for statement in as_list(doc["Statement"]):
            for action in as_list(statement["Action"]):
                actions.setdefault(action, []).append(statement.get("Sid", "?"))
    return granted


def observed_calls(calls_dir, function):
    """The calls the tests saw `function` make (FUNCTION.txt in calls_dir), if any."""
    path = os.path.join(calls_dir, f"{function}.txt")
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        return {line.strip() for line in f if line.strip()}


def compare_calls(template, calls_dir):
    """Problems where the calls the tests saw and the policies disagree; prints the table."""
    problems = []
    granted = granted_actions(template)
    for function in sorted(granted):
        observed = observed_calls(calls_dir, function)
        print(f"{function}:")
        for action in sorted(set(granted[function]) | observed):
            sids = ",".join(granted[function].get(action, []))
            if action in observed and action in granted[function]:
                print(f"  {action:55} called, granted by {sids}")
            elif action in observed and action in NEEDS_NO_GRANT:
                print(f"  {action:55} called, needs no grant: {NEEDS_NO_GRANT[action]}")
            elif action in observed:
                print(f"  {action:55} called, NOT GRANTED")
                problems.append(f"{function} calls {action}, which its policy does not grant")
            elif (function, action) in NOT_EXERCISED:
                print(f"  {action:55} granted by {sids}, not called by a test: "
                      f"{NOT_EXERCISED[(function, action)]}")
            else:
                print(f"  {action:55} granted by {sids}, NEVER CALLED")
                problems.append(f"{function} is granted {action} ({sids}) but no test saw it called")
    return problems


def compare_member_calls(template, member, calls_dir):
    """Problems where a function's calls in the tests are not granted by its member policy."""
    problems = []
    by_policy = {}
    for name, doc in policies(member):
        if name.startswith("MemberPolicy"):
            by_policy[name[len("MemberPolicy"):]] = {
                a for st in as_list(doc["Statement"]) for a in as_list(st["Action"])}
    binaries = {res["Metadata"]["BuildProperties"]["Binary"]: name
                for name, res in template["Resources"].items()
                if res["Type"] == "AWS::Serverless::Function"}
    print("member role:")
    for function in sorted(binaries):
        observed = observed_calls(calls_dir, function)
        member_grants = by_policy.get(binaries[function], set())
        missing = sorted(a for a in observed if a not in member_grants and a not in HUB_CALLS)
        print(f"  {function}: {len(observed - set(HUB_CALLS))} calls through the member role, "
              f"{len(missing)} not granted")
        problems += [f"member role: {function} calls {a}, which MemberPolicy{binaries[function]} "
                     "does not grant" for a in missing]
    return problems


# IAM's default quota on a role's trust policy, in characters without white space
# (Service Quotas L-C07B4B0D, "Role trust policy length"), the same in every member account.
TRUST_LIMIT = 2048
# A hub deploys in at most this many regions in the checks below: every commercial region
# a StackSet can target by default.
HUB_REGIONS = 17
# A hub's function roles as CloudFormation names them: stack name, logical id, 12 random
# characters, cut at IAM's 64.
HUB_FUNCTIONS_US_EAST_1 = ["RoleDriftGuardRole", "EcsRoleGuardRole", "ScalingGuardRole",
                           "SlrDeletionRole", "ReconcileRole", "AccessDoctorRole"]


def hub_parameter(name, parameter, regions):
    """An example value for a member.yaml parameter, for a hub in `regions` regions: a list
    of role ARNs holds every hub region's function roles."""
    if parameter.get("Type") == "CommaDelimitedList":
        roles = [f"ecs-warden-{logical}-ABCDEFGHIJKL"[:64]
                 for region in range(regions)
                 for logical in HUB_FUNCTIONS_US_EAST_1[0 if region == 0 else 1:]]
        return [f"arn:aws:iam::{PSEUDO['HubAccountId']}:role/{role}" for role in roles]
    if name in PSEUDO:
        return PSEUDO[name]
    return parameter.get("Default", "")


def rendered(value, parameters):
    """A member.yaml value with its Ref and Sub resolved as CloudFormation would."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return parameters.get(arg, PSEUDO.get(arg, arg))
        if key == "Fn::Sub":
            text = arg
            for name, example in {**PSEUDO, **parameters}.items():
                if isinstance(example, str):
                    text = text.replace("${" + name + "}", example)
            assert "${" not in text, f"unresolved: {text}"
            return text
    if isinstance(value, dict):
        return {k: rendered(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [rendered(v, parameters) for v in value]
    return value


def is_role_arn(value):
    return isinstance(value, str) and ":role/" in value


def member_trust_problems(member):
    """The member role's trust: within IAM's trust policy quota whatever the number of hub
    regions, the hub account as principal (a role ARN is stored as the role's unique id, so a
    hub role replaced would silently stop being trusted, and CloudFormation refuses a role
    that does not exist), confined to the hub's function roles by their IAM path."""
    role = member["Resources"]["MemberRole"]["Properties"]
    document = role["AssumeRolePolicyDocument"]
    problems = []
    for regions in range(1, HUB_REGIONS + 1):
        parameters = {name: hub_parameter(name, p, regions) for name, p in member["Parameters"].items()}
        trust = rendered(document, parameters)
        size = len(json.dumps(trust, separators=(",", ":")))
        if size > TRUST_LIMIT:
            problems.append(f"member role trust is {size} characters for a hub in {regions} regions, "
                            f"over IAM's {TRUST_LIMIT}")
            break
    trust = rendered(document, {name: hub_parameter(name, p, 1) for name, p in member["Parameters"].items()})
    for statement in as_list(trust["Statement"]):
        principal = statement.get("Principal", {})
        if principal == "*" or set(principal) != {"AWS"}:
            problems.append(f"member role trusts {principal}: only the hub account may be its principal")
            continue
        named = as_list(principal["AWS"])
        if any(is_role_arn(p) for p in named):
            problems.append(f"member role names role ARNs as principals: {[p for p in named if is_role_arn(p)]}")
        if named != [f"arn:aws:iam::{PSEUDO['HubAccountId']}:root"]:
            problems.append(f"member role trusts {named}, not the hub account")
        like = statement.get("Condition", {}).get("ArnLike", {}).get("aws:PrincipalArn")
        prefix = f"arn:aws:iam::{PSEUDO['HubAccountId']}:role/"
        if not (isinstance(like, str) and like.startswith(prefix) and like.endswith("/*")
                and len(like) > len(prefix) + len("/*")):
            problems.append("member role trust is not confined to the hub's function role path "
                            f"(ArnLike aws:PrincipalArn arn:...:role/PATH/*): {like}")
    return problems


def member_role_problems(template, member):
    """The hub must assume exactly the role member.yaml makes, named by the same parameters
    on both sides: with a pathed member role (`MemberRolePath=/platform/`), the role ARN
    the hub's policies may assume and the one the hub's functions are told
    (`WARDEN_MEMBER_ROLE`) must both be the member stack's role ARN."""
    values = {"MemberRoleName": "ecs-warden-member", "MemberRolePath": "/platform/",
              "AWS::Partition": "aws", "AWS::AccountId": "222233334444"}
    problems = []
    for name in ("MemberRoleName", "MemberRolePath"):
        if name not in template["Parameters"] or name not in member["Parameters"]:
            problems.append(f"{name} is not a parameter of both template.yaml and member.yaml")
    if problems:
        return problems
    made = rendered(member["Resources"]["MemberRole"]["Properties"]["Path"], values) + \
        rendered(member["Resources"]["MemberRole"]["Properties"]["RoleName"], values)
    assumed = []
    for function, doc in [(n, d) for n, r in template["Resources"].items()
                          if r["Type"] == "AWS::Serverless::Function"
                          for d in r["Properties"].get("Policies", [])]:
        if isinstance(doc, dict) and list(doc) == ["Fn::If"]:
            doc = doc["Fn::If"][1]
        for statement in as_list(doc.get("Statement", [])) if isinstance(doc, dict) else []:
            if statement.get("Sid") == "AssumeTheMemberRole":
                assumed.append((function, rendered(statement["Resource"], values)))
    if not assumed:
        problems.append("no function may assume the member role (Sid AssumeTheMemberRole)")
    for function, arn in assumed:
        if not arn.endswith(f":role{made}"):
            problems.append(f"{function} may assume {arn}, not the role member.yaml makes ({made})")
    told = template["Globals"]["Function"]["Environment"]["Variables"]["WARDEN_MEMBER_ROLE"]
    told = told["Fn::If"][1] if isinstance(told, dict) and "Fn::If" in told else told
    if rendered(told, values) != made:
        problems.append(f"WARDEN_MEMBER_ROLE is {rendered(told, values)}, not the role member.yaml makes ({made})")
    return problems


def as_list(value):
    return value if isinstance(value, list) else [value]


def main():
    template = cfn_yaml.load(TEMPLATE)
    member = cfn_yaml.load(MEMBER)
    problems, skipped, checked = [], [], 0
    if sys.argv[1:2] == ["--calls"] and len(sys.argv) == 3:
        problems += compare_calls(template, sys.argv[2])
        problems += compare_member_calls(template, member, sys.argv[2])
    elif sys.argv[1:]:
        sys.exit("usage: check_policies.py [--calls DIR]")
    problems += member_trust_problems(member)
    problems += member_role_problems(template, member)
    for name, doc in [*policies(template), *policies(member)]:
        checked += 1
        seen = set()
        for finding in analyze_policy_string(json.dumps(doc)).findings:
            detail = str(finding.detail)
            if (finding.issue, detail) in seen:
                continue
            seen.add((finding.issue, detail))
            reason = next((why for (res, issue, action), why in SKIPS.items()
                           if res == name and issue == finding.issue and action in detail), None)
            if reason:
                skipped.append(f"{name} {finding.issue} ({detail}): {reason}")
            else:
                problems.append(f"{name}: parliament {finding.issue}: {detail}")
        for statement in as_list(doc["Statement"]):
            actions = set(as_list(statement["Action"]))
            resources = as_list(statement["Resource"])
            writes = {a for a in actions if a.startswith("iam:") and not a.startswith(IAM_READS)}
            if writes and "*" in resources:
                problems.append(f"{name} {statement.get('Sid')}: IAM write {sorted(writes)} on Resource *")
            if actions & SLR_ACTIONS:
                condition = statement.get("Condition", {}).get("StringLike", {})
                if not all("role/aws-service-role/" in r for r in resources):
                    problems.append(f"{name} {statement.get('Sid')}: service-linked-role actions outside seed 004's role/aws-service-role/ pattern")
                if actions & CONDITIONED_SLR_ACTIONS and "iam:AWSServiceName" not in condition:
                    problems.append(f"{name} {statement.get('Sid')}: CreateServiceLinkedRole without the iam:AWSServiceName condition")
                if actions - CONDITIONED_SLR_ACTIONS & SLR_ACTIONS and "iam:AWSServiceName" in json.dumps(statement.get("Condition", {})):
                    problems.append(f"{name} {statement.get('Sid')}: {sorted(actions & SLR_ACTIONS - CONDITIONED_SLR_ACTIONS)} conditioned on iam:AWSServiceName, which IAM supplies for CreateServiceLinkedRole only: the statement would grant nothing")
            if actions & DESTRUCTIVE and name not in ("SlrDeletion", "MemberPolicySlrDeletion"):
                problems.append(f"{name} {statement.get('Sid')}: destructive ECS actions {sorted(actions & DESTRUCTIVE)} outside slr-deletion")
    for line in skipped:
        print(f"accepted: {line}")
    for line in problems:
        print(f"PROBLEM: {line}")
    print(f"{checked} inline policies checked, {len(problems)} problem(s), {len(skipped)} accepted finding(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
