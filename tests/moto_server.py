"""Serves moto on 127.0.0.1 the way the ecs-warden tests and demo need it.

Usage: python moto_server.py PORT [--exit-with-stdin]

- AWS managed policies are loaded, so AttachRolePolicy accepts their ARNs.
- CreateServiceLinkedRole gives ECS's two service-linked roles their real names (moto
  derives AWSServiceRoleForecs and AWSServiceRoleForApplicationAutoScaling_Ecs).
- With --exit-with-stdin the server exits when its standard input closes, so a test
  process that dies never leaves an emulator behind.
"""

import json
import os
import sys
import threading

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.iam import models as iam_models  # noqa: E402
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
