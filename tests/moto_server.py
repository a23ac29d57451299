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
- Organizations ListAccounts from an account that belongs to no organization is refused
  with AWSOrganizationsNotInUseException, as AWS refuses it; moto answers an empty list.
- Account Management ListRegions, which moto lacks, answers AWS's regions of the partition
  (botocore's list) as a new account has them: those launched before March 2019
  ENABLED_BY_DEFAULT, the opt-in ones (OPT_IN_REGIONS) DISABLED.
- STS AssumeRole of a role that does not exist is refused with AccessDenied, as IAM
  refuses it (STS's error document, HTTP 403); moto assumes any role. The two roles scripts enter a fresh account through
  (`warden-test`, and `OrganizationAccountAccessRole`, which every account an organization
  creates has) are assumed whether moto holds them or not.
- Step Functions runs state machines (moto's `stepfunctions.execute_state_machine`, an
  ASL interpreter ported from LocalStack). Its grammar takes `ToleratedFailurePercentage`
  as a decimal only; AWS takes an integer, so the launcher writes an integer one as a
  decimal before moto parses the definition. moto records a Distributed Map's
  ToleratedFailureCount and ToleratedFailurePercentage but lets every child execution
  fail; the launcher fails the Map with States.ExceedToleratedFailureThreshold once its
  children have run and more failed than it tolerates (AWS stops the Map Run as soon as
  the threshold is passed). `--wait-scale F` makes every Wait state wait
  F times its seconds (tests: short waits). SendTaskFailure keeps its `cause`, which
  moto's handler drops: AWS hands the waiting state both the error and the cause.
- Lambda: a function whose environment names `WARDEN_TEST_BINARY` runs that executable
  under a Lambda Runtime API (scripts/runtime_api.py) as `provided.al2023` would: with the
  function's environment, the credentials of its execution role (assumed here), its
  Timeout as the invocation deadline (an invocation past it is killed and answers
  `Sandbox.Timedout`; `WARDEN_TEST_DEADLINE_MS` hands the function a sooner deadline than
  the Timeout that kills it, so that a test of what a function does at its deadline does
  not depend on how fast a loaded machine runs the emulator), one warm process per function kept between invocations, and its
  output appended to `WARDEN_TEST_LOG` and each invocation's event and answer to
  `WARDEN_TEST_ANSWERS` when they are set. moto would run a Lambda only in
  Docker. An invocation by ARN acts on the function in the ARN's account and region, as
  Lambda does; moto looks the name up in the caller's account.
- ECS: a stopped task carries `stopCode` and `stoppedAt` (StopTask's `UserInitiated`),
  which moto leaves out; and RunTask of a task definition whose Secrets Manager secret
  does not exist gives a task stopped with `TaskFailedToStart`, as Fargate stops it,
  where moto would run it.
- With --exit-with-stdin the server exits when its standard input closes, so a test
  process that dies never leaves an emulator behind (nor a function process).
"""

import json
import os
import re
import subprocess
import sys
import threading

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.iam import models as iam_models  # noqa: E402
from moto.events.responses import EventsHandler  # noqa: E402
from moto.iam.responses import IamResponse  # noqa: E402
from moto.sts.responses import TokenResponse  # noqa: E402
from moto.organizations.models import OrganizationsBackend  # noqa: E402
from moto.account import urls as account_urls  # noqa: E402
from moto.account.responses import AccountResponse  # noqa: E402
from moto.awslambda.models import LambdaBackend, LambdaFunction, lambda_backends  # noqa: E402
from moto.core.config import default_user_config  # noqa: E402
from moto.stepfunctions.parser.models import StepFunctionsParserBackend  # noqa: E402
from moto.stepfunctions.responses import StepFunctionResponse  # noqa: E402
from moto.core.responses import EmptyResult  # noqa: E402
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (  # noqa: E402
    WaitFunction,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (  # noqa: E402
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (  # noqa: E402
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (  # noqa: E402
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (  # noqa: E402
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails  # noqa: E402
from moto.stepfunctions.parser.api import (  # noqa: E402
    ExecutionFailedEventDetails,
    HistoryEventType,
)
from moto.core import serialize  # noqa: E402
from moto import server  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))

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


# Speed, not behaviour: moto builds an account's IAM backend for every partition the first
# time any request's access key is looked up (it scans each account's backends, creating
# those that do not exist yet), and each backend parses moto's 4.7 MB of AWS managed
# policies again. That was half of the emulator's CPU in the tests, which give each test
# accounts of its own. A backend that does not exist holds no access key, so the lookup
# scans only those that do; the policies are parsed once, each backend still getting
# policy objects of its own (their attachment counts are per account).
def get_account_id_from(access_key):
    for account_id, account in list(iam_models.iam_backends.items()):
        for backend in list(dict.values(account)):
            if access_key in backend.access_keys:
                return account_id
    return iam_models.DEFAULT_ACCOUNT_ID


iam_models.get_account_id_from = get_account_id_from
_MANAGED_POLICIES = []


def _init_aws_policies(self):
    if not iam_models.load_iam_aws_managed_policies():
        return []
    if not _MANAGED_POLICIES:
        parsed = json.loads(iam_models.aws_managed_policies_data)
        _MANAGED_POLICIES.extend(
            (name, {**data, "Document": json.dumps(data.get("Document"))}) for name, data in parsed.items()
        )
    return [
        iam_models.AWSManagedPolicy(
            name,
            account_id=self.account_id,
            region=self.region_name,
            default_version_id=data.get("DefaultVersionId"),
            path=data.get("Path"),
            document=data["Document"],
            create_date=iam_models.datetime.fromisoformat(data["CreateDate"]),
            update_date=iam_models.datetime.fromisoformat(data["UpdateDate"]),
        )
        for name, data in _MANAGED_POLICIES
    ]


iam_models.IAMBackend._init_aws_policies = _init_aws_policies


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


_list_accounts = OrganizationsBackend.list_accounts


def list_accounts(self, *args, **kwargs):
    from moto.organizations.exceptions import AWSOrganizationsNotInUseException
    from moto.organizations.models import organizations_backends

    if self.org is None and self.account_id not in organizations_backends.master_accounts:
        raise AWSOrganizationsNotInUseException
    return _list_accounts(self, *args, **kwargs)


OrganizationsBackend.list_accounts = list_accounts

# Regions an account must opt into (AWS General Reference, "Enable or disable AWS Regions"):
# a new account has them DISABLED.
OPT_IN_REGIONS = {
    "af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2",
    "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
}


def list_regions(self):
    from botocore.session import Session
    from moto.core.responses import ActionResult

    regions = Session().get_available_regions("ec2", partition_name=self.partition)
    wanted = self._get_param("RegionOptStatusContains") or []
    found = [
        {"RegionName": r, "RegionOptStatus": "DISABLED" if r in OPT_IN_REGIONS else "ENABLED_BY_DEFAULT"}
        for r in sorted(regions)
    ]
    return ActionResult({"Regions": [f for f in found if not wanted or f["RegionOptStatus"] in wanted]})


AccountResponse.list_regions = list_regions
account_urls.url_paths["{0}/listRegions$"] = AccountResponse.dispatch

# Roles scripts and tests enter an account through, which need not exist.
ENTRY_ROLES = {"warden-test", "OrganizationAccountAccessRole"}


def _assume_role_if_it_exists(original):
    def assume_role(self):
        from moto.iam.models import iam_backends
        from moto.sts.exceptions import STSClientError
        from moto.sts.models import sts_backends

        arn = self._get_param("RoleArn") or ""
        found = re.match(r"^arn:([a-z-]+):iam::(\d{12}):role/(?:.*/)?([^/]+)$", arn)
        if found and found.group(3) not in ENTRY_ROLES:
            partition, account, name = found.groups()
            if not any(r.name == name for r in iam_backends[account][partition].roles.values()):
                caller = sts_backends[self.current_account][partition].get_assumed_role_from_access_key(
                    self.get_access_key()
                )
                who = caller.arn if caller else f"arn:{partition}:iam::{self.current_account}:user/moto"
                # STS's own answer (<ErrorResponse><Error><Code>AccessDenied ..., HTTP 403):
                # moto's generic AccessDeniedError nests the error in <Errors>, from which
                # the SDK reads no code.
                denied = STSClientError(
                    "AccessDenied",
                    f"User: {who} is not authorized to perform: sts:AssumeRole on resource: {arn}",
                )
                denied.http_status = 403
                raise denied
        return original(self)

    return assume_role


TokenResponse.assume_role = _assume_role_if_it_exists(TokenResponse.assume_role)


_error_model = serialize.get_error_model


def _error_model_with_status(exception, service_model):
    """An error the launcher raises with `http_status` (one the service model does not
    declare) answers with that HTTP status, as the service does."""
    shape = _error_model(exception, service_model)
    status = getattr(exception, "http_status", None)
    if status:
        shape._shape_model.setdefault("error", {})["httpStatusCode"] = status
    return shape


serialize.get_error_model = _error_model_with_status


def _with_decimal_tolerance(definition):
    """An integer ToleratedFailurePercentage written as the decimal moto's grammar parses."""
    try:
        tree = json.loads(definition)
    except (TypeError, ValueError):
        return definition

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "ToleratedFailurePercentage" and isinstance(value, int):
                    node[key] = float(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return json.dumps(tree)


_create_state_machine = StepFunctionsParserBackend.create_state_machine


def create_state_machine(self, name, definition, *args, **kwargs):
    return _create_state_machine(self, name, _with_decimal_tolerance(definition), *args, **kwargs)


StepFunctionsParserBackend.create_state_machine = create_state_machine


_map_run = DistributedIterationComponent._map_run


def _map_run_within_tolerance(self, env, eval_input):
    """A Distributed Map whose failed child executions exceed its tolerated failures
    fails with States.ExceedToleratedFailureThreshold, as Step Functions fails it; moto
    records the thresholds but lets every child fail. The threshold the definition sets
    is the one applied (an absent one is moto's 0, which never binds here because both
    must be passed; ecs-warden's definitions set one)."""
    _map_run(self, env, eval_input)
    record = eval_input.map_run_record
    failed = record.item_counter.failed.get()
    total = record.item_counter.total.get()
    count, percentage = record.tolerated_failure_count, record.tolerated_failure_percentage
    if failed and failed > count and (failed * 100.0 / max(total, 1)) > percentage:
        error = StatesErrorNameType.StatesExceedToleratedFailureThreshold
        cause = (f"The specified tolerated failure threshold was exceeded: {failed} of "
                 f"{total} child executions failed, {count} tolerated")
        raise FailureEventException(
            failure_event=FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=error),
                event_type=HistoryEventType.ExecutionFailed,
                event_details=EventDetails(
                    executionFailedEventDetails=ExecutionFailedEventDetails(
                        error=error.to_name(), cause=cause)),
            ))


DistributedIterationComponent._map_run = _map_run_within_tolerance
default_user_config["stepfunctions"]["execute_state_machine"] = True


def send_task_failure(self):
    """SendTaskFailure with its cause: moto's handler drops it, and AWS hands both the error
    and the cause to the waiting state (a Catch's ResultPath gets {"Error", "Cause"})."""
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause"))
    return EmptyResult()


StepFunctionResponse.send_task_failure = send_task_failure

WAIT_SCALE = [1.0]
_wait_interval = WaitFunction._wait_interval


def scaled_wait(self, env, wait_seconds):
    if WAIT_SCALE[0] == 1.0 or wait_seconds <= 0:
        return _wait_interval(self, env, wait_seconds)
    env.program_state_event.wait(wait_seconds * WAIT_SCALE[0])


WaitFunction._wait_interval = scaled_wait


class NativeFunction:
    """One function's process under a Runtime API, started on its first invocation."""

    def __init__(self, fn, port):
        import boto3
        from runtime_api import RuntimeApi

        env = dict(fn.environment_vars)
        binary = env.pop("WARDEN_TEST_BINARY")
        log = env.pop("WARDEN_TEST_LOG", None)
        self.answers = env.pop("WARDEN_TEST_ANSWERS", None)
        # The execution role's credentials, as Lambda gives them to the function.
        sts = boto3.client("sts", region_name=fn.region, endpoint_url=f"http://127.0.0.1:{port}",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        c = sts.assume_role(RoleArn=fn.role, RoleSessionName=fn.function_name[:64])["Credentials"]
        self.timeout = int(fn.timeout)
        deadline_ms = env.pop("WARDEN_TEST_DEADLINE_MS", None)
        self.api = RuntimeApi(fn.function_arn, timeout_ms=self.timeout * 1000,
                              deadline_ms=int(deadline_ms) if deadline_ms else None)
        env.update({
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "moto",
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": c["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": c["SecretAccessKey"],
            "AWS_SESSION_TOKEN": c["SessionToken"],
            "PATH": os.environ.get("PATH", ""),
        })
        out = open(log, "ab") if log else subprocess.DEVNULL
        self.process = subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.api.wait_ready(self.process)
        self.lock = threading.Lock()

    def invoke(self, event):
        """(answer, whether it is an error), as Lambda's Invoke gives them; each invocation
        is appended to `WARDEN_TEST_ANSWERS` when that is set, as {"event", "answer",
        "error"}, for a test to read every answer the function gave."""
        with self.lock:
            try:
                _, kind, body = self.api.invoke(event, limit=self.timeout)
                answer, errored = body, kind == "error"
            except RuntimeError:
                # Lambda stops an invocation at its timeout, and the process with it.
                self.stop()
                answer, errored = {"errorType": "Sandbox.Timedout",
                                   "errorMessage": f"Task timed out after {self.timeout:.2f} seconds"}, True
            if self.answers:
                with open(self.answers, "a") as out:
                    out.write(json.dumps({"event": event, "answer": answer, "error": errored}) + "\n")
            return answer, errored

    def alive(self):
        return self.process.poll() is None

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.api.close()


NATIVE = {}
NATIVE_LOCK = threading.Lock()


def _native_invoke(original):
    def invoke(self, body, request_headers, response_headers):
        if "WARDEN_TEST_BINARY" not in self.environment_vars:
            return original(self, body, request_headers, response_headers)
        event = json.loads(body) if body else {}
        with NATIVE_LOCK:
            native = NATIVE.get(self.function_arn)
            if native is None or not native.alive():
                native = NATIVE[self.function_arn] = NativeFunction(self, PORT[0])
        answer, errored = native.invoke(event)
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(answer).encode("utf-8")

    return invoke


LambdaFunction.invoke = _native_invoke(LambdaFunction.invoke)
_backend_invoke = LambdaBackend.invoke


def invoke_by_arn(self, function_name, qualifier, body, headers, response_headers):
    found = re.match(r"^arn:[a-z-]+:lambda:([a-z0-9-]+):(\d{12}):function:", function_name)
    if found and (found.group(2), found.group(1)) != (self.account_id, self.region_name):
        self = lambda_backends[found.group(2)][found.group(1)]
    return _backend_invoke(self, function_name, qualifier, body, headers, response_headers)


LambdaBackend.invoke = invoke_by_arn
PORT = [None]


def stop_functions():
    for native in list(NATIVE.values()):
        try:
            native.stop()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass


# ECS: a stopped task says why and when (stopCode, stoppedAt), which moto leaves out; StopTask
# gives UserInitiated, as AWS does. And a task ECS cannot start: moto runs every task, where
# Fargate stops one whose secret (a Secrets Manager ARN in a container's `secrets`) does not
# exist before it starts, with stopCode TaskFailedToStart and a ResourceInitializationError
# (ECS Developer Guide, "Amazon ECS stopped tasks errors"). The tests' task that fails to
# start is made that way, by RunTask, as on AWS.
from moto.ecs.models import EC2ContainerServiceBackend  # noqa: E402
from moto.secretsmanager.models import secretsmanager_backends  # noqa: E402
from moto.core.utils import utcnow  # noqa: E402

_run_task = EC2ContainerServiceBackend.run_task
_stop_task = EC2ContainerServiceBackend.stop_task


def _missing_secret(backend, task):
    definition = backend.describe_task_definition(task.task_definition_arn)
    secrets = secretsmanager_backends[backend.account_id][backend.region_name].secrets
    for container in definition.container_definitions:
        for secret in container.get("secrets") or []:
            source = secret.get("valueFrom", "")
            if ":secretsmanager:" in source:
                name = source.split(":secret:", 1)[-1]
                arn = ":".join(source.split(":")[:7])
                if arn not in secrets and name not in secrets:
                    return source
    return None


def run_task(self, *args, **kwargs):
    tasks = _run_task(self, *args, **kwargs)
    for task in tasks:
        missing = _missing_secret(self, task)
        if missing:
            task.last_status = "STOPPED"
            task.desired_status = "STOPPED"
            task.stop_code = "TaskFailedToStart"
            task.stopped_at = utcnow()
            task.stopped_reason = (
                "ResourceInitializationError: unable to pull secrets or registry auth: "
                "execution resource retrieval failed: unable to retrieve secret from asm: "
                f"failed to fetch secret {missing} from secrets manager: "
                "ResourceNotFoundException: Secrets Manager can't find the specified secret."
            )[:255]
    return tasks


def stop_task(self, cluster_str, task_str, reason):
    task = _stop_task(self, cluster_str, task_str, reason)
    task.stop_code = "UserInitiated"
    task.stopped_at = utcnow()
    return task


EC2ContainerServiceBackend.run_task = run_task
EC2ContainerServiceBackend.stop_task = stop_task


def exit_when_parent_goes():
    sys.stdin.read()
    stop_functions()
    os._exit(0)


USAGE = "usage: moto_server.py PORT [--exit-with-stdin] [--wait-scale F]"

if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        sys.exit(USAGE)
    port, rest = args[0], args[1:]
    exit_with_stdin = False
    while rest:
        if rest[0] == "--exit-with-stdin":
            exit_with_stdin, rest = True, rest[1:]
        elif rest[0] == "--wait-scale" and len(rest) > 1:
            WAIT_SCALE[0], rest = float(rest[1]), rest[2:]
        else:
            sys.exit(USAGE)
    PORT[0] = port
    # The interpreter calls Lambda on this port.
    os.environ["MOTO_PORT"] = port
    if exit_with_stdin:
        threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    try:
        server.main(["-H", "127.0.0.1", "-p", port])
    finally:
        stop_functions()
