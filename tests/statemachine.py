"""Runs one of template.yaml's state machines on moto's Step Functions interpreter, with its
Lambda tasks reaching the real function binaries (tests/moto_server.py runs them under a
Lambda Runtime API).

Usage: python statemachine.py RESOURCE INPUT SETTINGS
  RESOURCE  the state machine's logical id in template.yaml (ReconcileStateMachine, ...)
  INPUT     the execution's input, JSON
  SETTINGS  JSON: {"binaries": DIR, "env": {NAME: VALUE}, "timeouts": {BINARY: SECONDS},
            "deadlines": {BINARY: MILLISECONDS}, "parameters": {NAME: VALUE}, "log": PATH,
            "approval": {"approved_by": NAME} | {"refused": CAUSE}}

What SAM would deploy, made in the account of the AWS_* credentials: an execution role per
function, each function the state machine's DefinitionSubstitutions name (GetAtt X.Arn) with
its template Timeout unless SETTINGS overrides it and the `env` settings as its environment
(`deadlines`: the deadline each invocation is handed, sooner than the Timeout that kills it),
and the state machine from its DefinitionUri file with the substitutions filled in (Ref of a
parameter: SETTINGS' value, else the template's Default). Starts one execution and waits
for its end; a state that waits for a task token (a person's approval) is answered as
`approval` says, as a person would with send-task-success or send-task-failure (no
`approval`: nobody answers, and the wait times out). Prints {"status", "error", "cause", "output", "states": [the top-level states
entered, in order], "tasks": [each top-level Lambda task's answer, in order],
"invocations": [every invocation of the functions, a Distributed Map's children's
included, as {"event", "answer", "error"}, in the order they ended]} (moto keeps no history
of a Distributed Map's child executions, so the functions' side is where they show).
"""

import io
import json
import os
import pathlib
import sys
import tempfile
import time
import uuid
import zipfile

import boto3
from cfnlint.decode import cfn_yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
STATES_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}


def zip_of_nothing():
    """A deployment package: moto keeps it, the launcher runs the binary instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("bootstrap", "")
    return buffer.getvalue()


def role(iam, name, trust):
    try:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName=name)["Role"]["Arn"]


def function(lam, iam, resources, logical, settings, suffix):
    """The function of template resource `logical`, created in moto; its ARN."""
    resource = resources[logical]
    binary = resource["Metadata"]["BuildProperties"]["Binary"]
    props = resource["Properties"]
    timeout = settings.get("timeouts", {}).get(binary, props.get("Timeout", 3))
    env = {k: str(v) for k, v in settings.get("env", {}).items()}
    if binary in settings.get("deadlines", {}):
        env["WARDEN_TEST_DEADLINE_MS"] = str(settings["deadlines"][binary])
    env["WARDEN_TEST_BINARY"] = str(pathlib.Path(settings["binaries"]) / binary)
    env["WARDEN_TEST_ANSWERS"] = settings["answers"]
    if settings.get("log"):
        env["WARDEN_TEST_LOG"] = settings["log"]
    arn = role(iam, f"{logical}Role-{suffix}", LAMBDA_TRUST)
    return lam.create_function(
        FunctionName=f"{binary}-{suffix}",
        Runtime="provided.al2023",
        Architectures=["arm64"],
        Handler="bootstrap",
        Role=arn,
        Code={"ZipFile": zip_of_nothing()},
        Timeout=int(timeout),
        Environment={"Variables": env},
    )["FunctionArn"]


def waiting_tokens(answers):
    """The task tokens the functions have been handed so far (a request for approval)."""
    with open(answers) as f:
        events = [json.loads(line).get("event") for line in f if line.strip()]
    return {e["task_token"] for e in events if isinstance(e, dict) and "task_token" in e}


def answer(sfn, token, approval):
    """What the person says: send-task-success with who approved, send-task-failure with why
    not, or nothing."""
    if not approval:
        return
    if "approved_by" in approval:
        sfn.send_task_success(taskToken=token, output=json.dumps({"approved_by": approval["approved_by"]}))
    else:
        sfn.send_task_failure(taskToken=token, error="Refused", cause=approval["refused"])


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    logical, execution_input, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    resources = template["Resources"]
    machine = resources[logical]["Properties"]
    region = os.environ.get("AWS_REGION") or boto3.session.Session().region_name
    iam = boto3.client("iam", region_name=region)
    lam = boto3.client("lambda", region_name=region)
    sfn = boto3.client("stepfunctions", region_name=region)
    suffix = uuid.uuid4().hex[:8]
    answers = tempfile.NamedTemporaryFile(prefix="warden-answers-", suffix=".jsonl", delete=False)
    answers.close()
    settings["answers"] = answers.name

    substitutions = {}
    for name, value in machine.get("DefinitionSubstitutions", {}).items():
        if "Fn::GetAtt" in value:
            target, attribute = value["Fn::GetAtt"]
            assert attribute == "Arn", value
            substitutions[name] = function(lam, iam, resources, target, settings, suffix)
        elif "Ref" in value:
            parameter = value["Ref"]
            given = settings.get("parameters", {}).get(parameter)
            substitutions[name] = str(given if given is not None else template["Parameters"][parameter]["Default"])
        else:
            raise ValueError(f"a substitution this script does not know: {value}")
    definition = (ROOT / machine["DefinitionUri"]).read_text()
    for name, value in substitutions.items():
        definition = definition.replace("${" + name + "}", value)

    machine_role = role(iam, f"{logical}Role-{suffix}", STATES_TRUST)
    arn = sfn.create_state_machine(name=f"{logical}-{suffix}", definition=definition,
                                   roleArn=machine_role)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=execution_input)["executionArn"]
    limit = time.monotonic() + float(settings.get("limit_seconds", 300))
    answered = set()
    while True:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            break
        for token in waiting_tokens(answers.name) - answered:
            answered.add(token)
            answer(sfn, token, settings.get("approval"))
        if time.monotonic() > limit:
            sys.exit(f"the execution is still running after {settings.get('limit_seconds', 300)} s")
        time.sleep(0.2)

    states, tasks = [], []
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution)
    for page in pages:
        for event in page["events"]:
            if event["type"].endswith("StateEntered"):
                states.append(event["stateEnteredEventDetails"]["name"])
            elif event["type"] == "TaskSucceeded":
                output = json.loads(event["taskSucceededEventDetails"]["output"])
                # A task token's answer is what the person sent; a Lambda task's, its Payload.
                tasks.append(output.get("Payload", output) if isinstance(output, dict) else output)
    with open(answers.name) as f:
        invocations = [json.loads(line) for line in f if line.strip()]
    os.unlink(answers.name)
    print(json.dumps({
        "status": described["status"],
        "error": described.get("error"),
        "cause": described.get("cause"),
        "output": json.loads(described["output"]) if described.get("output") else None,
        "states": states,
        "tasks": tasks,
        "invocations": invocations,
    }))


if __name__ == "__main__":
    main()
