"""Serves moto on 127.0.0.1 the way the ecs-warden tests and demo need it.

Usage: python moto_server.py PORT [--exit-with-stdin]

- AWS managed policies are loaded, so AttachRolePolicy accepts their ARNs.
- CreateServiceLinkedRole gives ECS's two service-linked roles their real names (moto
  derives AWSServiceRoleForecs and AWSServiceRoleForApplicationAutoScaling_Ecs).
- IAM SimulatePrincipalPolicy, which moto lacks, answers from moto's own policy evaluation
  over the principal's inline and attached policies (conditions are not evaluated).
- With --exit-with-stdin the server exits when its standard input closes, so a test
  process that dies never leaves an emulator behind.
"""

import json
import os
import sys
import threading

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.iam import models as iam_models  # noqa: E402
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


def simulate_principal_policy(self):
    from moto.iam.access_control import IAMPolicy, PermissionResult

    arn = self._get_param("PolicySourceArn")
    actions = self._get_param("ActionNames", [])
    resources = self._get_param("ResourceArns", []) or ["*"]
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
    policies = [IAMPolicy(d) for d in documents] + [IAMPolicy(p) for p in attached]
    members = []
    for action in actions:
        for resource in resources:
            decision = "implicitDeny"
            for policy in policies:
                result = policy.is_action_permitted(action, resource)
                if result == PermissionResult.DENIED:
                    decision = "explicitDeny"
                    break
                if result == PermissionResult.PERMITTED:
                    decision = "allowed"
            members.append(
                f"<member><EvalActionName>{action}</EvalActionName><EvalResourceName>{resource}"
                f"</EvalResourceName><EvalDecision>{decision}</EvalDecision><MatchedStatements/>"
                "<MissingContextValues/></member>"
            )
    return (
        '<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>"
        + "".join(members)
        + "</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>"
        "simulate</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>"
    )


IamResponse.simulate_principal_policy = simulate_principal_policy


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
