#!/usr/bin/env bash
# The product end to end on a local AWS emulator: starts moto on 127.0.0.1, runs the real
# function binaries under a Lambda Runtime API (cargo lambda watch), replays every file in
# events/ (making the scaling calls they record on moto first), then drifts a role and an
# alarm by hand and replays again, and prints what the functions found and did and the
# roles and alarms moto holds at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh
VENV=${WARDEN_VENV:-.venv}
PY="$VENV/bin/python"
ACCOUNT=111122223333 # the account the sample events are written for

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 300); do
    if "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

echo "== building the functions and the command-line program"
cargo build --quiet --bins

MOTO_PORT=$(free_port)
LAMBDA_PORT=$(free_port)
LOGS=$(mktemp -d)
cleanup() {
  # The functions' output stays for scripts/cost.py (docs/operations.md, What it costs).
  mkdir -p target/demo && cp "$LOGS/functions.log" target/demo/functions.log 2>/dev/null || true
  [ -n "${WATCH_PID:-}" ] && kill -s TERM -- "-$WATCH_PID" 2>/dev/null || true
  [ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null || true
  [ -n "${ORG_MOTO_PID:-}" ] && kill "$ORG_MOTO_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

echo "== starting moto on 127.0.0.1:$MOTO_PORT (account $ACCOUNT)"
MOTO_ACCOUNT_ID=$ACCOUNT "$PY" tests/moto_server.py "$MOTO_PORT" </dev/null >"$LOGS/moto.log" 2>&1 &
MOTO_PID=$!
wait_port "$MOTO_PORT"

export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
# Every replay reads AWS afresh, so the drift below is seen at once.
export WARDEN_MODE=enforce WARDEN_VERDICT_TTL_SECONDS=0
# The function ARN cargo lambda watch hands out names no real account; the events are this one's.
export WARDEN_HOME_ACCOUNT=$ACCOUNT
# The regions role-drift-guard looks in for users of a deleted role, and reconcile sweeps.
export WARDEN_REGIONS=eu-west-1,us-east-1
# Every invocation imports its findings into Security Hub, enabled first as AWS requires.
export WARDEN_SECURITY_HUB=true
for region in eu-west-1 us-east-1; do
  "$PY" -c 'import boto3,sys; boto3.client("securityhub", region_name=sys.argv[1]).enable_security_hub(EnableDefaultStandards=False)' "$region"
done

echo "== starting the Lambda Runtime API on 127.0.0.1:$LAMBDA_PORT (function logs: $LOGS/functions.log)"
setsid "$VENV/bin/cargo-lambda" lambda watch --ignore-changes --invoke-port "$LAMBDA_PORT" \
  </dev/null >"$LOGS/functions.log" 2>&1 &
WATCH_PID=$!
wait_port "$LAMBDA_PORT"

function_for() {
  case "$(basename "$1")" in
    ecs-task-* | ecs-service-task-*) echo task-doctor ;;
    ecs-*) echo ecs-role-guard ;;
    autoscaling-*) echo scaling-guard ;;
    slr-* | iam-delete-service-linked-role.json) echo slr-deletion ;;
    iam-*) echo role-drift-guard ;;
    reconcile-*) echo reconcile ;;
    access-*) echo access-doctor ;;
    *) return 1 ;;
  esac
}

invoke() { # FUNCTION DATA-FILE
  local out
  if out=$("$VENV/bin/cargo-lambda" lambda invoke "$1" --invoke-port "$LAMBDA_PORT" --data-file "$2" 2>&1); then
    "$PY" scripts/show_report.py <<<"$out"
  else
    echo "   rejected: $(tr -s " \n" " " <<<"$out")"
  fi
}

# The command-line program on the demo account, as a person runs it from a laptop
# (read-only); exit status 2 says something needs doing.
warden_check() {
  local status=0
  target/debug/ecs-warden check --regions eu-west-1,us-east-1 || status=$?
  echo "   (ecs-warden exit status $status)"
}

echo
echo "== ecs-warden check, before the functions run: the account as the events will find it"
echo "   (a cluster whose service names the legacy ecsServiceRole, which does not exist)"
"$PY" -c '
import boto3
ecs = boto3.client("ecs")
ecs.create_cluster(clusterName="demo-before")
ecs.register_task_definition(family="web", containerDefinitions=[{"name": "web", "image": "nginx", "memory": 128}])
ecs.create_service(cluster="demo-before", serviceName="web", taskDefinition="web", desiredCount=0, role="ecsServiceRole")
'
warden_check
echo "-- the cluster and its service removed again: the replays below start from an empty account"
"$PY" -c '
import boto3
ecs = boto3.client("ecs")
ecs.delete_service(cluster="demo-before", service="web", force=True)
ecs.delete_cluster(cluster="demo-before")
'

echo
echo "== where the template's rules send each sample (EventBridge's TestEventPattern on moto;"
echo "   the ignored-* samples are calls no rule should deliver)"
"$PY" tests/routes.py template.yaml events | "$PY" -c '
import json, sys
routes = json.load(sys.stdin)
rules = {r["name"]: r for r in routes["rules"]}
for name, matched in routes["matches"].items():
    about = routes["events"][name]
    to = sorted({f for m in matched for f in rules[m]["functions"]
                 if not about["read_only"] or rules[m]["state"] != "ENABLED"})
    targets = ", ".join(to) or "no rule"
    print(f"   {name:50} -> {targets}")
'

echo
echo "== replaying events/ (the ECS calls)"
for event in events/*.json; do
  case "$(basename "$event")" in ecs-*) ;; *) continue ;; esac
  fn=$(function_for "$event") || { echo "-- $event: no function handles it yet, skipped"; continue; }
  # ECS's own events, for task-doctor, are replayed below, once their tasks exist.
  [ "$fn" = task-doctor ] && continue
  echo "-- $event -> $fn"
  invoke "$fn" "$event"
done

echo
echo "== Service Auto Scaling: each recorded call is made on moto, then its event replayed"
# The service overrides one alarm default with a tag; docs/scaling-alarms.md lists the keys.
"$PY" scripts/perform_call.py --service payments/web ecs-warden:scale-in-threshold=20
replay_call() { # EVENT-FILE: make the call it records, then replay it
  echo "-- $1 -> scaling-guard"
  "$PY" scripts/perform_call.py "$1"
  invoke scaling-guard "$1"
}
for name in register-scalable-target register-scalable-target-role put-step-policy \
  put-step-policy-scale-in put-step-policy-mixed put-target-tracking-policy; do
  replay_call "events/autoscaling-$name.json"
done
echo "-- events/autoscaling-put-step-policy.json delivered a second time -> scaling-guard"
invoke scaling-guard events/autoscaling-put-step-policy.json

echo
echo "== drift: delete one of the target-tracking policy's alarms by hand"
"$PY" - <<'EOF'
import boto3
policy = boto3.client("application-autoscaling").describe_scaling_policies(
    ServiceNamespace="ecs", ResourceId="service/payments/web", PolicyNames=["cpu-target-60"])
name = next(p for p in policy["ScalingPolicies"] if p["PolicyName"] == "cpu-target-60")["Alarms"][0]["AlarmName"]
boto3.client("cloudwatch").delete_alarms(AlarmNames=[name])
print(f"   deleted {name}")
EOF
echo "-- events/autoscaling-put-target-tracking-policy.json -> scaling-guard"
invoke scaling-guard events/autoscaling-put-target-tracking-policy.json

echo
echo "== an alarm deleted by hand comes back from its own CloudTrail event (DeleteAlarms)"
"$PY" -c 'import boto3; boto3.client("cloudwatch").delete_alarms(AlarmNames=["ecs-warden/payments/web/cpu-scale-out"]); print("   deleted ecs-warden/payments/web/cpu-scale-out")'
echo "-- events/monitoring-delete-alarms.json -> scaling-guard"
invoke scaling-guard events/monitoring-delete-alarms.json
"$PY" -c 'import boto3; a=boto3.client("cloudwatch").describe_alarms(AlarmNames=["ecs-warden/payments/web/cpu-scale-out"])["MetricAlarms"]; print("   moto holds it again:", bool(a), a[0]["AlarmActions"] if a else "")'
replay_call events/autoscaling-delete-scaling-policy.json

echo
echo "-- a foreign event (an EC2 state change) -> ecs-role-guard"
FOREIGN="$LOGS/foreign.json"
echo '{"version":"0","id":"7e1d-demo","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"111122223333","time":"2026-11-20T10:00:00Z","region":"eu-west-1","resources":[],"detail":{"instance-id":"i-0abc","state":"running"}}' >"$FOREIGN"
invoke ecs-role-guard "$FOREIGN"

echo
echo "== IAM drift, made by hand, then the CloudTrail event that records it replayed"
echo "-- ecsServiceRole: trust replaced by a BreakGlass statement and its policy detached"
"$PY" - <<'EOF'
import json, boto3
iam = boto3.client("iam")
iam.detach_role_policy(RoleName="ecsServiceRole",
    PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceRole")
iam.update_assume_role_policy(RoleName="ecsServiceRole", PolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Sid": "BreakGlass", "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]}))
EOF
echo "-- events/iam-update-assume-role-policy.json -> role-drift-guard"
invoke role-drift-guard events/iam-update-assume-role-policy.json
echo "-- events/iam-update-assume-role-policy-by-warden.json (its own write, echoed back) -> role-drift-guard"
invoke role-drift-guard events/iam-update-assume-role-policy-by-warden.json
echo "-- ecsAutoscaleRole: AmazonEC2ContainerServiceAutoscaleRole detached"
"$PY" -c 'import boto3; boto3.client("iam").detach_role_policy(RoleName="ecsAutoscaleRole", PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceAutoscaleRole")'
echo "-- events/iam-detach-role-policy.json -> role-drift-guard"
invoke role-drift-guard events/iam-detach-role-policy.json
for name in delete-role-policy put-role-policy; do
  echo "-- events/iam-$name.json (an inline policy ecs-warden does not require) -> role-drift-guard"
  invoke role-drift-guard "events/iam-$name.json"
done
echo "-- ecsServiceRole deleted; no ECS service names it"
"$PY" - <<'EOF'
import boto3
iam = boto3.client("iam")
for p in iam.list_attached_role_policies(RoleName="ecsServiceRole")["AttachedPolicies"]:
    iam.detach_role_policy(RoleName="ecsServiceRole", PolicyArn=p["PolicyArn"])
iam.delete_role(RoleName="ecsServiceRole")
EOF
echo "-- events/iam-delete-role.json -> role-drift-guard"
invoke role-drift-guard events/iam-delete-role.json

echo
echo "== opted out: what a team's Terraform owns is tagged ecs-warden:ignore=true; ecs-warden"
echo "   checks and reports it in enforce mode, and never writes it"
echo "-- ecsAutoscaleRole tagged, then its AmazonEC2ContainerServiceAutoscaleRole detached"
"$PY" - <<'EOF'
import boto3
iam = boto3.client("iam")
iam.tag_role(RoleName="ecsAutoscaleRole", Tags=[{"Key": "ecs-warden:ignore", "Value": "true"}])
iam.detach_role_policy(RoleName="ecsAutoscaleRole",
    PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceAutoscaleRole")
EOF
echo "-- events/iam-detach-role-policy.json -> role-drift-guard"
invoke role-drift-guard events/iam-detach-role-policy.json
"$PY" -c 'import boto3; print("   ecsAutoscaleRole policies moto holds:", [p["PolicyName"] for p in boto3.client("iam").list_attached_role_policies(RoleName="ecsAutoscaleRole")["AttachedPolicies"]] or "none (left alone)")'
echo "-- service payments/web tagged; its target-tracking policy put, then one of its alarms deleted by hand"
"$PY" - <<'EOF'
import boto3
ecs = boto3.client("ecs")
arn = ecs.describe_services(cluster="payments", services=["web"])["services"][0]["serviceArn"]
ecs.tag_resource(resourceArn=arn, tags=[{"key": "ecs-warden:ignore", "value": "true"}])
EOF
"$PY" scripts/perform_call.py events/autoscaling-put-target-tracking-policy.json
"$PY" - <<'EOF'
import boto3
policies = boto3.client("application-autoscaling").describe_scaling_policies(
    ServiceNamespace="ecs", ResourceId="service/payments/web")["ScalingPolicies"]
name = next(p for p in policies if p["PolicyName"] == "cpu-target-60")["Alarms"][0]["AlarmName"]
boto3.client("cloudwatch").delete_alarms(AlarmNames=[name])
print(f"   deleted {name}")
EOF
echo "-- events/autoscaling-put-target-tracking-policy.json -> scaling-guard"
invoke scaling-guard events/autoscaling-put-target-tracking-policy.json
"$PY" - <<'EOF'
import boto3
policies = boto3.client("application-autoscaling").describe_scaling_policies(
    ServiceNamespace="ecs", ResourceId="service/payments/web")["ScalingPolicies"]
listed = [a["AlarmName"] for p in policies if p["PolicyName"] == "cpu-target-60" for a in p["Alarms"]]
held = {a["AlarmName"] for a in boto3.client("cloudwatch").describe_alarms(AlarmNames=listed)["MetricAlarms"]}
print("   cpu-target-60's alarms in moto:", ", ".join(f"{n.split('-')[2]} {'present' if n in held else 'missing (left alone)'}" for n in listed))
EOF
echo "-- both tags removed (the team hands them back): the same events repair them"
"$PY" - <<'EOF'
import boto3
boto3.client("iam").untag_role(RoleName="ecsAutoscaleRole", TagKeys=["ecs-warden:ignore"])
ecs = boto3.client("ecs")
arn = ecs.describe_services(cluster="payments", services=["web"])["services"][0]["serviceArn"]
ecs.untag_resource(resourceArn=arn, tagKeys=["ecs-warden:ignore"])
EOF
invoke role-drift-guard events/iam-detach-role-policy.json
invoke scaling-guard events/autoscaling-put-target-tracking-policy.json

echo
echo "== reconcile: what events missed, and whether CloudTrail delivers events at all, swept in"
echo "   eu-west-1 and us-east-1"
"$PY" - <<'EOF'
import boto3
cloudwatch = boto3.client("cloudwatch")
policy = boto3.client("application-autoscaling").describe_scaling_policies(
    ServiceNamespace="ecs", ResourceId="service/payments/web", PolicyNames=["cpu-target-60"])
tracking = next(p for p in policy["ScalingPolicies"] if p["PolicyName"] == "cpu-target-60")["Alarms"][-1]["AlarmName"]
cloudwatch.delete_alarms(AlarmNames=["ecs-warden/payments/web/cpu-scale-in", tracking])
print(f"   deleted ecs-warden's cpu-scale-in alarm and {tracking}, with no event to say so")
EOF
echo "-- events/reconcile-manual.json -> reconcile (this account has no CloudTrail trail yet)"
invoke reconcile events/reconcile-manual.json
echo "-- a multi-region trail is created and started: the events' prerequisite"
"$PY" - <<'EOF'
import boto3
boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="demo-trail-logs-111122223333")
cloudtrail = boto3.client("cloudtrail", region_name="us-east-1")
arn = cloudtrail.create_trail(Name="account-trail", S3BucketName="demo-trail-logs-111122223333",
                              IsMultiRegionTrail=True)["TrailARN"]
cloudtrail.start_logging(Name=arn)
print(f"   {arn}, logging")
EOF
echo "-- events/reconcile-manual.json -> reconcile (cloudtrail compliant in both regions: counted, not listed)"
invoke reconcile events/reconcile-manual.json

echo
echo "== access-doctor: refused calls explained with the seeds' permissions"
"$PY" - <<'EOF'
import json, boto3
iam = boto3.client("iam")
iam.create_role(RoleName="PlatformDeployer", Path="/", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]}))
iam.put_role_policy(RoleName="PlatformDeployer", PolicyName="deploy", PolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Action": ["application-autoscaling:*", "autoscaling:*", "ecs:*"], "Resource": "*"}]}))
iam.create_user(UserName="bob")
print("   PlatformDeployer may use application-autoscaling:*, autoscaling:*, ecs:*; bob may do nothing")
EOF
for name in access-denied-put-scaling-policy access-denied-describe-scaling-policies \
  access-denied-create-auto-scaling-group access-denied-create-service-linked-role \
  access-denied-register-task-definition-pass-role access-doctor-manual; do
  echo "-- events/$name.json -> access-doctor"
  invoke access-doctor "events/$name.json"
done

echo
echo "== task-doctor: why tasks did not start (ECS's own events; no trail needed)"
"$PY" scripts/perform_call.py --failing-task
for name in ecs-service-task-configuration-failure ecs-task-failed-secret ecs-task-failed-network \
  ignored-ecs-task-stopped-by-user; do
  echo "-- events/$name.json -> task-doctor"
  invoke task-doctor "events/$name.json"
done

echo
echo "== alarms moto holds now"
"$PY" scripts/show_alarms.py

echo
echo "== audit mode would only report (ecsServiceRole is deleted; the scale-in alarm deleted again)"
"$PY" -c 'import boto3; boto3.client("cloudwatch").delete_alarms(AlarmNames=["ecs-warden/payments/web/cpu-scale-in"])'
kill -s TERM -- "-$WATCH_PID" 2>/dev/null || true
wait "$WATCH_PID" 2>/dev/null || true
WARDEN_MODE=audit setsid "$VENV/bin/cargo-lambda" lambda watch --ignore-changes --invoke-port "$LAMBDA_PORT" \
  </dev/null >>"$LOGS/functions.log" 2>&1 &
WATCH_PID=$!
wait_port "$LAMBDA_PORT"
echo "-- events/ecs-create-service-legacy-role.json -> ecs-role-guard (WARDEN_MODE=audit)"
invoke ecs-role-guard events/ecs-create-service-legacy-role.json
echo "-- events/autoscaling-put-step-policy-scale-in.json -> scaling-guard (WARDEN_MODE=audit)"
invoke scaling-guard events/autoscaling-put-step-policy-scale-in.json

echo
echo "== roles moto holds now"
"$PY" scripts/show_roles.py

echo
echo "== Security Hub: what the functions imported (FAILED and ACTIVE while the account does"
echo "   not meet a control, the same finding PASSED and ARCHIVED, out of the open view, once it does)"
"$PY" scripts/show_findings.py eu-west-1 us-east-1

echo
echo "== ecs-warden check, after the functions ran: what they made is compliant; the scale-in"
echo "   alarm deleted for the audit replays above is missing, and the check changes nothing"
warden_check

echo
echo "== deleting AWSServiceRoleForECS: slr-deletion driven step by step as the state machine"
echo "   drives it (scripts/drive_deletion.py; waits scaled down 50x)"
kill -s TERM -- "-$WATCH_PID" 2>/dev/null || true
wait "$WATCH_PID" 2>/dev/null || true
setsid "$VENV/bin/cargo-lambda" lambda watch --ignore-changes --invoke-port "$LAMBDA_PORT" \
  </dev/null >>"$LOGS/functions.log" 2>&1 &
WATCH_PID=$!
wait_port "$LAMBDA_PORT"
"$PY" scripts/perform_call.py --fleet eu-west-1 checkout api=3 worker=0 2
"$PY" scripts/perform_call.py --fleet us-east-1 batch jobs=1 1
echo "-- events/slr-update-description.json -> slr-deletion (the one edit seed 004 allows)"
invoke slr-deletion events/slr-update-description.json
echo "-- events/slr-deletion-start.json: no drain, so the clusters block it"
"$PY" scripts/drive_deletion.py events/slr-deletion-start.json --port "$LAMBDA_PORT" || true
echo "-- events/slr-deletion-start-drain.json: drain, account $ACCOUNT confirmed"
"$PY" scripts/drive_deletion.py events/slr-deletion-start-drain.json --port "$LAMBDA_PORT"
echo "-- a deletion made elsewhere: the role is created again and deleted by hand; its"
echo "   CloudTrail event (events/iam-delete-service-linked-role.json) starts a poll"
"$PY" - <<'EOF'
import boto3
iam = boto3.client("iam")
iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
task = iam.delete_service_linked_role(RoleName="AWSServiceRoleForECS")["DeletionTaskId"]
print(f"   DeleteServiceLinkedRole by hand: task {task}")
EOF
"$PY" scripts/drive_deletion.py events/iam-delete-service-linked-role.json --port "$LAMBDA_PORT"

echo
echo "== an organization: this account ($ACCOUNT) as the hub of three member accounts"
# A moto of its own: with MOTO_ACCOUNT_ID set (as above) moto acts in that account whatever
# the credentials; without it, an STS AssumeRole into an account acts in that account.
ORG_PORT=$(free_port)
"$PY" tests/moto_server.py "$ORG_PORT" </dev/null >"$LOGS/moto-organization.log" 2>&1 &
ORG_MOTO_PID=$!
wait_port "$ORG_PORT"
export AWS_ENDPOINT_URL="http://127.0.0.1:$ORG_PORT"
MEMBERS=(222233334444 333344445555 444455556666)
STRANGER=555566667777 # has the member role too, but the hub is not given it
# Credentials acting in ACCOUNT (an AssumeRole into it), as environment assignments.
credentials_in() {
  "$PY" - "$1" <<'EOF'
import sys
import boto3
c = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{sys.argv[1]}:role/OrganizationAccountAccessRole",
                                    RoleSessionName="demo")["Credentials"]
print(f"AWS_ACCESS_KEY_ID={c['AccessKeyId']} AWS_SECRET_ACCESS_KEY={c['SecretAccessKey']} "
      f"AWS_SESSION_TOKEN={c['SessionToken']}")
EOF
}
HUB_CREDENTIALS=$(credentials_in "$ACCOUNT")
for account in "${MEMBERS[@]}" "$STRANGER"; do
  # What member.yaml makes: a member role per function, each trusting only its own
  # function's roles in the hub, in sessions that name the function.
  # shellcheck disable=SC2046 # the assignments are meant to split
  # The first member's stack allows drains (AllowDrain=true), the others' do not.
  env $(credentials_in "$account") "$PY" - "$ACCOUNT" "$account" "${MEMBERS[0]}" <<'EOF'
import sys
sys.path.insert(0, "scripts")
import member_roles
allow = sys.argv[2] == sys.argv[3]
made = member_roles.create(sys.argv[1], allow_drain=allow)
print(f"   account {sys.argv[2]}: {len(made)} member roles: one per function ({made[0]}, ...)"
      + (" and the drain's (AllowDrain=true)" if allow else ""))
EOF
done
kill -s TERM -- "-$WATCH_PID" 2>/dev/null || true
wait "$WATCH_PID" 2>/dev/null || true
ACCOUNTS=$(IFS=,; echo "${MEMBERS[*]}")
# shellcheck disable=SC2086 # the assignments are meant to split
# No Security Hub here: the member accounts never enabled it (moto would import anyway).
env $HUB_CREDENTIALS WARDEN_MEMBER_ROLE=/ecs-warden-member WARDEN_ACCOUNTS="$ACCOUNTS" WARDEN_SECURITY_HUB=false \
  setsid "$VENV/bin/cargo-lambda" lambda watch --ignore-changes --invoke-port "$LAMBDA_PORT" \
  </dev/null >>"$LOGS/functions.log" 2>&1 &
WATCH_PID=$!
wait_port "$LAMBDA_PORT"
echo "   the functions now run as the hub: WARDEN_MEMBER_ROLE=/ecs-warden-member WARDEN_ACCOUNTS=$ACCOUNTS"
for account in "${MEMBERS[@]}" "$STRANGER"; do
  sed "s/$ACCOUNT/$account/g" events/ecs-create-cluster.json >"$LOGS/create-cluster-$account.json"
  echo "-- events/ecs-create-cluster.json, forwarded from account $account -> ecs-role-guard"
  invoke ecs-role-guard "$LOGS/create-cluster-$account.json"
done
echo "-- the three members and the stranger, swept side by side in eu-west-1 -> reconcile"
"$PY" -c 'import json,sys; print(json.dumps({"accounts": sys.argv[1:], "regions": ["eu-west-1"]}))' \
  "${MEMBERS[@]}" "$STRANGER" >"$LOGS/reconcile-accounts.json"
invoke reconcile "$LOGS/reconcile-accounts.json"
echo "-- AWSServiceRoleForECS, account by account"
for account in "$ACCOUNT" "${MEMBERS[@]}" "$STRANGER"; do
  # shellcheck disable=SC2046
  env $(credentials_in "$account") "$PY" -c '
import boto3
account = boto3.client("sts").get_caller_identity()["Account"]
roles = [r["RoleName"] for r in boto3.client("iam").list_roles()["Roles"]]
print(f"   {account}:", "present" if "AWSServiceRoleForECS" in roles else "absent")'
done
PLANTED=${MEMBERS[1]}
echo "-- account $PLANTED: someone who may create roles but not attach policies plants"
echo "   ecsServiceRole trusting a user as well as ECS, then names it in a CreateService"
# shellcheck disable=SC2046
env $(credentials_in "$PLANTED") "$PY" - <<'EOF'
import json
import boto3
iam = boto3.client("iam")
account = boto3.client("sts").get_caller_identity()["Account"]
iam.create_user(UserName="mallory")
iam.create_role(RoleName="ecsServiceRole", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:user/mallory"},
         "Action": "sts:AssumeRole"}]}))
EOF
sed "s/$ACCOUNT/$PLANTED/g" events/ecs-create-service-legacy-role.json >"$LOGS/legacy-role-$PLANTED.json"
echo "-- events/ecs-create-service-legacy-role.json, forwarded from account $PLANTED -> ecs-role-guard"
invoke ecs-role-guard "$LOGS/legacy-role-$PLANTED.json"
# shellcheck disable=SC2046
env $(credentials_in "$PLANTED") "$PY" -c '
import boto3
attached = boto3.client("iam").list_attached_role_policies(RoleName="ecsServiceRole")["AttachedPolicies"]
print("   ecsServiceRole policies after:", [p["PolicyName"] for p in attached] or "none (not widened)")'
DRAINED=${MEMBERS[0]}
echo "-- a drain of account $DRAINED, whose stack allows drains: the hub's slr-deletion plans,"
echo "   asks a person (the state machine's Approval state), and a script approves"
# shellcheck disable=SC2046
env $(credentials_in "$DRAINED") "$PY" scripts/perform_call.py --fleet eu-west-1 shop cart=1 0
"$PY" -c 'import json,sys; print(json.dumps({"role_name": "AWSServiceRoleForECS", "regions": ["eu-west-1"],
  "drain": True, "account": sys.argv[1], "confirm_account": sys.argv[1]}))' "$DRAINED" >"$LOGS/drain-$DRAINED.json"
"$PY" scripts/drive_deletion.py "$LOGS/drain-$DRAINED.json" --port "$LAMBDA_PORT" --approve "the demo script"
