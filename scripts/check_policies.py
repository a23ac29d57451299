"""Least-privilege checks on every inline policy in template.yaml and member.yaml, run by
`make test`.

- parliament on each function's and role's policy; a finding fails the check unless it is
  listed in SKIPS with the reason it is accepted;
- no IAM write action on Resource "*";
- the service-linked-role actions carry seed 004's resource pattern; CreateServiceLinkedRole
  carries the iam:AWSServiceName condition, and the other three must not: IAM supplies that
  key for CreateServiceLinkedRole only (Service Authorization Reference), so a statement
  conditioned on it grants nothing for them in a real account;
- the drain's destructive ECS actions belong to slr-deletion alone (in a member account, to
  the drain's own role);
- with --calls DIR (the AWS calls the tests saw each function make, one FUNCTION.txt per
  function, written by the test harness under WARDEN_CALLS_DIR): every call is granted,
  and every granted action was called by some test, unless NOT_EXERCISED says why not;
- every role the stacks make for an AWS service names the account and resources it acts
  for (aws:SourceAccount, aws:SourceArn);
- every function has an alarm on its Errors and every state machine one on its
  ExecutionsFailed, so no failure of the stack's own goes unseen;
- audit is enforced by IAM: rendered with Mode=audit (every other condition at its widest:
  a hub listing its organization, a topic, Security Hub, drains allowed), no function role
  in template.yaml and no member role in member.yaml holds any action but reads and
  reporting (READ_VERBS, REPORTING); rendered with Mode=enforce, the writes are there;
- the member roles are named the same way on both sides: for a pathed role, the ARNs each
  hub function may assume and WARDEN_MEMBER_ROLE are the roles member.yaml makes for it;
- member.yaml's member roles, the largest blast radius ecs-warden has, one per function
  and the drain's: each trust stays within IAM's 2,048-character quota for a hub in 1 to 17
  regions, names the hub account and no role ARN as principal, is confined to its own
  function's hub role path (no other function's roles match it) and requires the session
  to name the function; each role grants only actions its function holds in template.yaml,
  so no function can use another's writes; and with --calls every call a function made in
  the tests, other than those the hub makes with its own credentials (HUB_CALLS), is
  granted by that function's member roles.
"""

import fnmatch

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
          "AWS::StackName": "ecs-warden", "HubRolePath": "/ecs-warden/",
          "NotificationTopicArn": "arn:aws:sns:us-east-1:111122223333:ops-alerts"}
SLR_ACTIONS = {"iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole",
               "iam:GetServiceLinkedRoleDeletionStatus", "iam:UpdateRoleDescription"}
# The one service-linked-role action for which IAM supplies iam:AWSServiceName.
CONDITIONED_SLR_ACTIONS = {"iam:CreateServiceLinkedRole"}
DESTRUCTIVE = {"ecs:UpdateService", "ecs:DeleteService", "ecs:DeregisterContainerInstance", "ecs:DeleteCluster"}
# Who may hold them: the hub's slr-deletion (its own account), and in a member account the
# drain's role, which only slr-deletion may assume.
DESTRUCTIVE_HOLDERS = ("SlrDeletion", "MemberRoleSlrDrain")
# A member role's duty, when it is not a function's name: the function that assumes it.
DUTIES = {"slr-drain": "slr-deletion"}
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
    "tests/it/notifications.rs calls it through ecs-role-guard and slr-deletion, and "
    "tests/it/built_binary.rs reads what the scaling-guard and access-doctor binaries publish"
)
TAGGED_ALARMS = (
    "never called as such: CloudWatch authorizes a PutMetricAlarm that carries Tags "
    "against cloudwatch:TagResource as well"
)
LISTED_BY_REACH = (
    "a hub with MemberAccounts=organization lists it in invocation::reach::Accounts, the same "
    "code for every function; tests/it/organization.rs calls it through ecs-role-guard against "
    "moto's Organizations, and shared/tests/library/mocked_reach.rs its paging and refusal"
)
IMPORTED_SHARED = (
    "imported by invocation::security_hub::SecurityHub::import from Handler::handle_within, "
    "the same code in every function; tests/it/security_hub.rs calls it through ecs-role-guard, "
    "scaling-guard and reconcile, and shared/tests/library/mocked_security_hub.rs its refusals"
)
TAGGED_ROLES = (
    "never called as such: IAM authorizes a CreateRole that carries Tags (ecs-warden's "
    "creation tag) against iam:TagRole as well"
)
SOURCE_IDENTITY = (
    "never called as such: STS authorizes an AssumeRole that sets SourceIdentity against "
    "sts:SetSourceIdentity as well (the member role's trust requires it); "
    "shared/tests/library/mocked_reach.rs checks that the AssumeRole sets it"
)
# (function, action) granted but never called by a test -> why it is granted anyway.
NOT_EXERCISED = {
    **{(f, "sts:SetSourceIdentity"): SOURCE_IDENTITY
       for f in ("access-doctor", "ecs-role-guard", "reconcile", "role-drift-guard",
                 "scaling-guard", "slr-deletion", "task-doctor")},
    **{(f, "iam:TagRole"): TAGGED_ROLES
       for f in ("ecs-role-guard", "scaling-guard", "role-drift-guard", "reconcile", "task-doctor")},
    ("role-drift-guard", "securityhub:BatchImportFindings"): IMPORTED_SHARED,
    ("role-drift-guard", "securityhub:GetFindings"): IMPORTED_SHARED,
    **{(f, "organizations:ListAccounts"): LISTED_BY_REACH
       for f in ("access-doctor", "reconcile", "role-drift-guard", "scaling-guard", "slr-deletion",
                 "task-doctor")},
    ("access-doctor", "sns:Publish"): PUBLISH_SHARED,
    ("task-doctor", "sns:Publish"): PUBLISH_SHARED,
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


def resolve(value, values=PSEUDO):
    """Intrinsic functions replaced by example `values` (parameters and pseudo parameters),
    so parliament and the trust checks see real ARNs; a conditional value is its true branch."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            for name, example in values.items():
                if isinstance(example, str):
                    text = text.replace("${" + name + "}", example)
            return text
        if key == "Ref":
            return values.get(arg, f"arn:aws:states:us-east-1:111122223333:stateMachine:{arg}")
        if key == "Fn::If":
            # A statement granted under a condition is checked as granted.
            return resolve(arg[1], values)
        if key == "Fn::GetAtt":
            target = arg[0] if isinstance(arg, list) else arg.split(".")[0]
            return f"arn:aws:iam::111122223333:role/{target}"
    if isinstance(value, dict):
        return {k: resolve(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, values) for v in value]
    return value


def policies(template, values=PSEUDO):
    """(resource, policy document) for every inline policy, resolved with `values`."""
    resources = template["Resources"]
    for name, res in resources.items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Serverless::Function":
            for doc in props.get("Policies", []):
                # A conditional policy is checked as granted: its true branch.
                if isinstance(doc, dict) and list(doc) == ["Fn::If"]:
                    doc = doc["Fn::If"][1]
                if isinstance(doc, dict) and "Statement" in doc:
                    yield name, resolve(doc, values)
        elif res["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield name, resolve(policy["PolicyDocument"], values)
        elif res["Type"] == "AWS::IAM::ManagedPolicy":
            yield name, resolve(props["PolicyDocument"], values)


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


def member_roles(member):
    """duty (a function's name, or slr-drain) -> (logical id, role properties)."""
    roles = {}
    for name, res in member["Resources"].items():
        if res["Type"] == "AWS::IAM::Role" and name.startswith("MemberRole"):
            named = resolve(res["Properties"]["RoleName"])
            duty = named.removeprefix(PSEUDO["MemberRoleName"] + "-")
            roles[duty if duty != named else ""] = (name, res["Properties"])
    return roles


def role_actions(props, values=PSEUDO):
    """Every action a role's inline policies grant."""
    return {a for policy in props.get("Policies", [])
            for st in as_list(resolve(policy["PolicyDocument"], values)["Statement"])
            for a in as_list(st["Action"])}


def compare_member_calls(template, member, calls_dir):
    """Problems where a function's calls in the tests are not granted by its member roles
    (its own, and for slr-deletion the drain's)."""
    problems = []
    roles = member_roles(member)
    binaries = {res["Metadata"]["BuildProperties"]["Binary"]
                for res in template["Resources"].values()
                if res["Type"] == "AWS::Serverless::Function"}
    print("member roles:")
    for function in sorted(binaries):
        observed = observed_calls(calls_dir, function)
        grants = set().union(*(role_actions(props) for duty, (_, props) in roles.items()
                               if DUTIES.get(duty, duty) == function))
        missing = sorted(a for a in observed if a not in grants and a not in HUB_CALLS)
        print(f"  {function}: {len(observed - set(HUB_CALLS))} calls through its member roles, "
              f"{len(missing)} not granted")
        problems += [f"member roles: {function} calls {a}, which its member roles do not grant"
                     for a in missing]
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
                           "SlrDeletionRole", "ReconcileRole", "AccessDoctorRole", "TaskDoctorRole"]


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


def is_role_arn(value):
    return isinstance(value, str) and ":role/" in value


def member_trust_problems(member):
    """Each member role's trust: within IAM's trust policy quota whatever the number of hub
    regions, the hub account as principal (a role ARN is stored as the role's unique id, so a
    hub role replaced would silently stop being trusted, and CloudFormation refuses a role
    that does not exist), confined to its own function's hub roles by their IAM path, and
    requiring sessions that name the function."""
    problems = []
    roles = member_roles(member)
    if not roles:
        return ["member.yaml makes no member role (MemberRole<Function>)"]

    def hub(regions):
        return {**PSEUDO, **{name: hub_parameter(name, p, regions)
                             for name, p in member["Parameters"].items()}}

    for duty, (name, props) in sorted(roles.items()):
        function = DUTIES.get(duty, duty)
        document = props["AssumeRolePolicyDocument"]
        for regions in range(1, HUB_REGIONS + 1):
            trust = resolve(document, hub(regions))
            size = len(json.dumps(trust, separators=(",", ":")))
            if size > TRUST_LIMIT:
                problems.append(f"{name} trust is {size} characters for a hub in {regions} regions, "
                                f"over IAM's {TRUST_LIMIT}")
                break
        trust = resolve(document, hub(1))
        for statement in as_list(trust["Statement"]):
            principal = statement.get("Principal", {})
            if principal == "*" or set(principal) != {"AWS"}:
                problems.append(f"{name} trusts {principal}: only the hub account may be its principal")
                continue
            named = as_list(principal["AWS"])
            if any(is_role_arn(p) for p in named):
                problems.append(f"{name} names role ARNs as principals: {[p for p in named if is_role_arn(p)]}")
            if named != [f"arn:aws:iam::{PSEUDO['HubAccountId']}:root"]:
                problems.append(f"{name} trusts {named}, not the hub account")
            condition = statement.get("Condition", {})
            like = condition.get("ArnLike", {}).get("aws:PrincipalArn")
            own = f"arn:aws:iam::{PSEUDO['HubAccountId']}:role{PSEUDO['HubRolePath']}{function}/*"
            if like != own:
                problems.append(f"{name} trust is not confined to {function}'s hub role path "
                                f"(ArnLike aws:PrincipalArn {own}): {like}")
            elif others := [f for f in FUNCTIONS if f != function and fnmatch.fnmatchcase(
                    f"arn:aws:iam::{PSEUDO['HubAccountId']}:role{PSEUDO['HubRolePath']}{f}/r", like)]:
                problems.append(f"{name} trust also lets {others} assume it")
            identity = f"ecs-warden-{function}"
            equals = condition.get("StringEquals", {})
            if equals.get("sts:SourceIdentity") != identity or equals.get("sts:RoleSessionName") != identity:
                problems.append(f"{name} trust does not require sessions named {identity} "
                                f"(sts:SourceIdentity and sts:RoleSessionName): {equals}")
            if "sts:SetSourceIdentity" not in as_list(statement.get("Action")):
                problems.append(f"{name} trust does not allow sts:SetSourceIdentity")
    return problems


# The functions, as member.yaml names their roles (filled in by main from template.yaml).
FUNCTIONS = []


# IAM's quota on a role's inline policies together, in characters without white space
# (IAM User Guide, "IAM and AWS STS quotas": role policy size, 10,240).
INLINE_LIMIT = 10240


def member_grant_problems(template, member):
    """Each member role grants only what its function may do in its own account (no
    function can use another's writes through a member role), within IAM's inline policy
    quota."""
    problems = []
    granted = granted_actions(template)
    for duty, (name, props) in sorted(member_roles(member).items()):
        size = sum(len(json.dumps(resolve(p["PolicyDocument"]), separators=(",", ":")))
                   for p in props.get("Policies", []))
        if size > INLINE_LIMIT:
            problems.append(f"{name}'s inline policies are {size} characters, over IAM's {INLINE_LIMIT}")
        function = DUTIES.get(duty, duty)
        extra = sorted(role_actions(props) - set(granted.get(function, {})))
        if extra:
            problems.append(f"{name} (assumed by {function} alone) grants {extra}, "
                            f"which {function} does not hold in template.yaml")
    return problems


def member_role_problems(template, member):
    """Each hub function must assume exactly the roles member.yaml makes for it, named by the
    same parameters on both sides: with a pathed member role (`MemberRolePath=/platform/`),
    the role ARNs a function's policies may assume and the name it is told
    (`WARDEN_MEMBER_ROLE`, followed by -<function>) must be the member stack's roles; and
    its role's path must be the one its member roles trust."""
    values = {**PSEUDO, "MemberRoleName": "ecs-warden-member", "MemberRolePath": "/platform/"}
    problems = []
    for name in ("MemberRoleName", "MemberRolePath"):
        if name not in template["Parameters"] or name not in member["Parameters"]:
            problems.append(f"{name} is not a parameter of both template.yaml and member.yaml")
    if problems:
        return problems
    made = {duty: resolve(props["Path"], values) + resolve(props["RoleName"], values)
            for duty, (_, props) in member_roles(member).items()}
    told = resolve(template["Globals"]["Function"]["Environment"]["Variables"]["WARDEN_MEMBER_ROLE"], values)
    for logical, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        function = res["Metadata"]["BuildProperties"]["Binary"]
        own = {f"arn:aws:iam::*:role{made[d]}" for d in made if DUTIES.get(d, d) == function}
        if f"{told}-{function}" != made.get(function):
            problems.append(f"{function} is told WARDEN_MEMBER_ROLE {told}, so assumes {told}-{function}, "
                            f"not the role member.yaml makes for it ({made.get(function)})")
        may = {r for doc in [resolve(d, values) for d in res["Properties"].get("Policies", [])
                             if isinstance(d, dict)]
               if "Statement" in doc
               for statement in as_list(doc["Statement"]) if statement.get("Sid") == "AssumeTheMemberRole"
               for r in as_list(statement["Resource"])}
        if may != own:
            problems.append(f"{function} may assume {sorted(may)}, not exactly its member roles {sorted(own)}")
        path = resolve(res["Properties"].get("RolePath", ""), values)
        if path != f"{PSEUDO['HubRolePath']}{function}/":
            problems.append(f"{function}'s role path is {path!r}, not the one its member roles trust "
                            f"({PSEUDO['HubRolePath']}{function}/)")
    return problems


def confused_deputy_problems(*templates):
    """Every role the stacks make for an AWS service to assume names the account (and the
    resources) it may act for: aws:SourceAccount and aws:SourceArn (AWS's confused-deputy
    guidance)."""
    problems = []
    for template in templates:
        for name, res in template["Resources"].items():
            if res["Type"] != "AWS::IAM::Role":
                continue
            for statement in as_list(res["Properties"]["AssumeRolePolicyDocument"]["Statement"]):
                if "Service" not in statement.get("Principal", {}):
                    continue
                keys = {k for test in statement.get("Condition", {}).values() for k in test}
                missing = {"aws:SourceAccount", "aws:SourceArn"} - keys
                if missing:
                    problems.append(f"{name} trusts {statement['Principal']['Service']} without {sorted(missing)}")
    return problems


# Action verbs that only read, and the reporting a function does in audit too (its
# notifications, Security Hub findings, the failed-event queue, the member role's session).
READ_VERBS = ("Get", "List", "Describe", "Simulate")
REPORTING = {"sns:Publish", "securityhub:BatchImportFindings", "sqs:SendMessage",
             "sts:AssumeRole", "sts:SetSourceIdentity"}
# Every condition but the mode's at its widest, so that no grant escapes the audit check.
WIDEST = {**PSEUDO, "SecurityHub": "true", "AllowDrain": "true", "RoleRegion": "us-east-1"}


def is_write(action):
    return action not in REPORTING and not action.split(":", 1)[1].startswith(READ_VERBS)


def conditions_of(template, values):
    """Each of the template's conditions evaluated with parameter `values`."""
    def evaluate(node):
        (key, arg), = node.items()
        if key == "Fn::Equals":
            a, b = (values.get(x["Ref"], x["Ref"]) if isinstance(x, dict) else x for x in arg)
            return str(a) == str(b)
        if key == "Fn::Not":
            return not evaluate(arg[0])
        if key == "Fn::And":
            return all(evaluate(x) for x in arg)
        if key == "Fn::Or":
            return any(evaluate(x) for x in arg)
        if key == "Condition":
            return evaluate(template["Conditions"][arg])
        raise ValueError(f"condition function {key} not understood")
    return {name: evaluate(node) for name, node in template.get("Conditions", {}).items()}


def chosen(value, conditions):
    """`value` with each Fn::If replaced by the branch `conditions` take (None: left out)."""
    if isinstance(value, dict) and list(value) == ["Fn::If"]:
        name, yes, no = value["Fn::If"]
        return chosen(yes if conditions[name] else no, conditions)
    if isinstance(value, dict):
        if value == {"Ref": "AWS::NoValue"}:
            return None
        return {k: c for k, v in value.items() if (c := chosen(v, conditions)) is not None}
    if isinstance(value, list):
        return [c for v in value if (c := chosen(v, conditions)) is not None]
    return value


def role_grants(template, mode):
    """(role, actions) for every function role and member role as the stack deploys them
    with `Mode=mode` and every other condition at its widest."""
    conditions = conditions_of(template, {**WIDEST, "Mode": mode})
    for name, res in template["Resources"].items():
        if "Condition" in res and not conditions[res["Condition"]]:
            continue
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Serverless::Function":
            documents = [d for d in chosen(props.get("Policies", []), conditions) if isinstance(d, dict)]
        elif res["Type"] == "AWS::IAM::Role" and name.startswith("MemberRole"):
            documents = [p["PolicyDocument"] for p in chosen(props.get("Policies", []), conditions)]
        else:
            continue
        yield name, {a for doc in documents for st in as_list(doc.get("Statement", []))
                     for a in as_list(st["Action"])}


def audit_problems(*templates):
    """In audit, every function role and member role holds reads and reporting only; in
    enforce, the writes are granted (the check would otherwise pass on a template that
    grants nothing)."""
    problems = []
    for template in templates:
        for name, actions in role_grants(template, "audit"):
            if writes := sorted(a for a in actions if is_write(a)):
                problems.append(f"{name} holds {writes} with Mode=audit: audit must hold no write")
        if not any(is_write(a) for _, actions in role_grants(template, "enforce") for a in actions):
            problems.append("no role holds a write with Mode=enforce: the audit check sees no Mode condition")
    return problems


def alarm_problems(template):
    """Each function's Errors and each state machine's ExecutionsFailed have an alarm."""
    watched = set()
    for res in template["Resources"].values():
        if res["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = res["Properties"]
        for dimension in props.get("Dimensions", []):
            value = dimension["Value"]
            target = value.get("Ref") if isinstance(value, dict) else None
            watched.add((props["MetricName"], target))
    problems = []
    for name, res in template["Resources"].items():
        metric = {"AWS::Serverless::Function": "Errors",
                  "AWS::Serverless::StateMachine": "ExecutionsFailed"}.get(res["Type"])
        if metric and (metric, name) not in watched:
            problems.append(f"{name} has no alarm on its {metric}")
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
    FUNCTIONS.extend(res["Metadata"]["BuildProperties"]["Binary"]
                     for res in template["Resources"].values()
                     if res["Type"] == "AWS::Serverless::Function")
    problems += member_trust_problems(member)
    problems += member_role_problems(template, member)
    problems += member_grant_problems(template, member)
    problems += confused_deputy_problems(template, member)
    problems += audit_problems(template, member)
    problems += alarm_problems(template)
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
            if actions & DESTRUCTIVE and name not in DESTRUCTIVE_HOLDERS:
                problems.append(f"{name} {statement.get('Sid')}: destructive ECS actions {sorted(actions & DESTRUCTIVE)} outside slr-deletion")
    for line in skipped:
        print(f"accepted: {line}")
    for line in problems:
        print(f"PROBLEM: {line}")
    print(f"{checked} inline policies checked, {len(problems)} problem(s), {len(skipped)} accepted finding(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
