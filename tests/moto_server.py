"""Serves moto on 127.0.0.1 the way the ecs-warden tests and demo need it.

Usage: python moto_server.py PORT [--exit-with-stdin]

- AWS managed policies are loaded, so AttachRolePolicy accepts their ARNs.
- CreateServiceLinkedRole gives ECS's two service-linked roles their real names (moto
  derives AWSServiceRoleForecs and AWSServiceRoleForApplicationAutoScaling_Ecs).
- IAM SimulatePrincipalPolicy, which moto lacks, answers from moto's own action and resource
  matching over the principal's inline and attached policies, with IAM's condition rule
  for a key the request does not supply (no match, listed in MissingContextValues).
- EventBridge TestEventPattern, which moto leaves unimplemented, answers with moto's own
  event-pattern matcher, after AWS's check that the event has the envelope's fields.
  Known difference from AWS's matcher: arrays of objects are not flattened (no pattern of
  ecs-warden's reaches into one).
- With --exit-with-stdin the server exits when its standard input closes, so a test
  process that dies never leaves an emulator behind.
"""

import json
import os
import sys
import threading

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.iam import models as iam_models  # noqa: E402
from moto.events.responses import EventsHandler  # noqa: E402
from moto.iam.responses import IamResponse  # noqa: E402
from moto import server  # noqa: E402

REAL_NAMES = {
    "ecs.amazonaws.com": "AWSServiceRoleForECS",
    "ecs.application-autoscaling.amazonaws.com": "AWSServiceRoleForApplicationAutoScaling_ECSService",
}

_derived = iam_models.IAMBackend.create_service_linked_role


def create_service_linked_role(self, service_name, description, suffix):
    name = REAL_NAMES.get(service_name)
    if name is None:
        return _derived(self, service_name, description, suffix)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": ["sts:AssumeRole"],
                "Effect": "Allow",
                "Principal": {"Service": [service_name]},
            }
        ],
    }
    return self.create_role(
        name + (f"_{suffix}" if suffix else ""),
        json.dumps(trust),
        f"/aws-service-role/{service_name}/",
        permissions_boundary=None,
        description=description,
        tags=[],
        max_session_duration="3600",
        linked_service=service_name,
    )


iam_models.IAMBackend.create_service_linked_role = create_service_linked_role


def _context(response):
    """The request's ContextEntries as {key: [values]} (keys compared case-insensitively,
    as IAM does)."""
    entries = response._get_param("ContextEntries", []) or []
    context = {}
    for entry in entries:
        values = entry.get("ContextKeyValues") or []
        if isinstance(values, dict):
            values = list(values.values())
        context[entry.get("ContextKeyName", "").lower()] = [str(v) for v in values]
    return context


def _condition_holds(condition, context, missing):
    """IAM's rule for the operators ecs-warden's policies use: a key absent from the request
    fails every operator but ...IfExists and Null, and is reported as a missing context
    value; present, StringEquals/StringLike/ArnEquals/ArnLike compare (Like with wildcards)."""
    import fnmatch

    for operator, pairs in condition.items():
        for key, wanted in pairs.items():
            wanted = wanted if isinstance(wanted, list) else [wanted]
            values = context.get(key.lower())
            if operator == "Null":
                if (values is None) != (str(wanted[0]).lower() == "true"):
                    return False
                continue
            if values is None:
                if operator.endswith("IfExists"):
                    continue
                missing.add(key)
                return False
            base = operator.removesuffix("IfExists")
            like = base in ("StringLike", "ArnLike", "ArnEquals")
            hit = any(
                fnmatch.fnmatchcase(v, w) if like else v == w for v in values for w in map(str, wanted)
            )
            if base.startswith("StringNot") or base.startswith("ArnNot"):
                hit = not any(fnmatch.fnmatchcase(v, w) for v in values for w in map(str, wanted))
            if not hit:
                return False
    return True


def simulate_principal_policy(self):
    """IAM's evaluation over the principal's inline and attached policies: an explicit Deny
    wins, then any Allow whose action, resource and condition match; a condition on a key
    the request does not supply never matches, and the key is listed in
    MissingContextValues, as IAM lists it. Boundaries and SCPs are not modelled."""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    arn = self._get_param("PolicySourceArn")
    actions = self._get_param("ActionNames", [])
    resources = self._get_param("ResourceArns", []) or ["*"]
    context = _context(self)
    name = arn.rsplit("/", 1)[-1]
    backend = self.backend
    if ":role/" in arn:
        documents = [backend.get_role_policy(name, p)[1] for p in backend.list_role_policies(name)]
        attached, _ = backend.list_attached_role_policies(name)
    elif ":user/" in arn:
        documents = [
            backend.get_user_policy(name, p)["policy_document"] for p in backend.list_user_policies(name)
        ]
        attached, _ = backend.list_attached_user_policies(name)
    else:
        raise ValueError(f"not a role or user ARN: {arn}")
    for policy in attached:
        documents.append(next(v.document for v in policy.versions if v.is_default))
    statements = []
    for document in documents:
        body = json.loads(document) if isinstance(document, str) else document
        listed = body["Statement"]
        statements += listed if isinstance(listed, list) else [listed]
    members = []
    for action in actions:
        for resource in resources:
            decision, missing = "implicitDeny", set()
            for statement in statements:
                plain = {k: v for k, v in statement.items() if k != "Condition"}
                result = IAMPolicyStatement(plain).is_action_permitted(action, resource)
                if result == PermissionResult.NEUTRAL:
                    continue
                if not _condition_holds(statement.get("Condition", {}), context, missing):
                    continue
                if statement.get("Effect") == "Deny":
                    decision = "explicitDeny"
                    break
                decision = "allowed"
            missing_xml = "".join(f"<member>{k}</member>" for k in sorted(missing))
            members.append(
                f"<member><EvalActionName>{action}</EvalActionName><EvalResourceName>{resource}"
                f"</EvalResourceName><EvalDecision>{decision}</EvalDecision><MatchedStatements/>"
                f"<MissingContextValues>{missing_xml}</MissingContextValues></member>"
            )
    return (
        '<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>"
        + "".join(members)
        + "</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>"
        "simulate</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>"
    )


IamResponse.simulate_principal_policy = simulate_principal_policy


# The envelope fields AWS's TestEventPattern requires of the event it is given.
ENVELOPE_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")


def test_event_pattern(self):
    from moto.core.exceptions import JsonRESTError
    from moto.events.models import EventPattern

    pattern = EventPattern.load(self._get_param("EventPattern"))
    try:
        event = json.loads(self._get_param("Event"))
    except (TypeError, ValueError):
        raise JsonRESTError("ValidationException", "Parameter Event is not valid JSON")
    absent = [f for f in ENVELOPE_FIELDS if f not in event]
    if absent:
        raise JsonRESTError("ValidationException", f"Parameter Event lacks {', '.join(absent)}")
    return json.dumps({"Result": pattern.matches_event(event)}), self.response_headers


EventsHandler.test_event_pattern = test_event_pattern


def exit_when_parent_goes():
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) not in (1, 2) or args[1:] not in ([], ["--exit-with-stdin"]):
        sys.exit("usage: moto_server.py PORT [--exit-with-stdin]")
    if args[1:]:
        threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    server.main(["-H", "127.0.0.1", "-p", args[0]])
