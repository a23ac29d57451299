"""The SLR check written the way most users would: a Python 3 Lambda handler with boto3,
its client made at import, behind a minimal runtime loop like the managed Python
runtime's. `make bench` runs it under the same Runtime API and moto as the Rust
functions, for the ratios in the README.
"""

import json
import os
import urllib.request

import boto3

iam = boto3.client("iam")


def handler(event, context):
    """Make sure AWSServiceRoleForECS exists."""
    try:
        iam.get_role(RoleName="AWSServiceRoleForECS")
        return {"status": "compliant"}
    except iam.exceptions.NoSuchEntityException:
        iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
        return {"status": "created"}


def main():
    base = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation"
    while True:
        with urllib.request.urlopen(f"{base}/next") as r:
            request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(r.read())
        try:
            body, kind = json.dumps(handler(event, None)).encode(), "response"
        except Exception as e:  # what the managed runtime reports as the function's error
            body, kind = json.dumps({"errorType": type(e).__name__, "errorMessage": str(e)}).encode(), "error"
        urllib.request.urlopen(urllib.request.Request(f"{base}/{request_id}/{kind}", data=body, method="POST")).read()


if __name__ == "__main__":
    main()
