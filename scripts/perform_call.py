"""Makes, on the emulator, the Application Auto Scaling call a sample event records, so that
replaying the event afterwards meets the state the real call would have left.

Usage: python perform_call.py EVENT.json   (or --service CLUSTER/SERVICE [KEY=VALUE ...]
to create the ECS cluster and service the samples scale, with those service tags, or
--fleet REGION CLUSTER SERVICE=DESIRED... INSTANCES to create a cluster with services and
container instances for the deletion demo, or --failing-task [--with-role] to create what
the task-doctor samples name: task definition web:1, run by service prod/worker, naming
ecsTaskExecutionRole, reading a secret under a customer-managed KMS key and logging to
/ecs/web; the role itself only with --with-role)
"""

import json
import sys

import boto3


def pascal(value):
    # CloudTrail records request parameters in camelCase; the API takes PascalCase.
    if isinstance(value, dict):
        return {k[:1].upper() + k[1:]: pascal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [pascal(v) for v in value]
    return value


def create_service(cluster_service, tags):
    cluster, service = cluster_service.split("/")
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName=cluster)
    ecs.create_service(
        cluster=cluster,
        serviceName=service,
        desiredCount=2,
        tags=[{"key": k, "value": v} for k, v in (t.split("=", 1) for t in tags)],
    )
    print(f"   made ECS service {cluster}/{service}" + (f" tagged {' '.join(tags)}" if tags else ""))


# An Amazon Linux 2 image that moto holds in every region (moto ignores DescribeImages'
# MaxResults: a look-up answers its whole catalogue, seconds of the emulator's time).
IMAGE = "ami-04681a1dbd79675a5"


def create_fleet(region, cluster, rest):
    *services, instances = rest
    ecs = boto3.client("ecs", region_name=region)
    ecs.create_cluster(clusterName=cluster)
    for spec in services:
        name, desired = spec.split("=")
        ecs.create_service(cluster=cluster, serviceName=name, desiredCount=int(desired))
    ec2 = boto3.client("ec2", region_name=region)
    if int(instances):
        started = ec2.run_instances(ImageId=IMAGE, MinCount=int(instances), MaxCount=int(instances))
        for instance in started["Instances"]:
            ecs.register_container_instance(
                cluster=cluster,
                instanceIdentityDocument=json.dumps({"instanceId": instance["InstanceId"]}),
            )
    print(f"   made ECS cluster {cluster} in {region}: services {' '.join(services) or '-'}, "
          f"{instances} container instance(s)")


EXECUTION_ROLE = "ecsTaskExecutionRole"
EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def create_failing_task(with_role):
    kms, secrets, ecs = boto3.client("kms"), boto3.client("secretsmanager"), boto3.client("ecs")
    account = boto3.client("sts").get_caller_identity()["Account"]
    region = ecs.meta.region_name
    if with_role:
        iam = boto3.client("iam")
        iam.create_role(RoleName=EXECUTION_ROLE, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        iam.attach_role_policy(RoleName=EXECUTION_ROLE, PolicyArn=EXECUTION_POLICY)
    key = kms.create_key(Description="web secrets")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/web-secrets", TargetKeyId=key)
    secret = secrets.create_secret(Name="prod/web/db", SecretString="s3cr3t",
                                   KmsKeyId="alias/web-secrets")["ARN"]
    ecs.register_task_definition(
        family="web", executionRoleArn=f"arn:aws:iam::{account}:role/{EXECUTION_ROLE}",
        containerDefinitions=[{
            "name": "web", "image": f"{account}.dkr.ecr.{region}.amazonaws.com/web:1.4.2",
            "memory": 512, "secrets": [{"name": "DB_PASSWORD", "valueFrom": secret + ":password::"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/web", "awslogs-region": region, "awslogs-stream-prefix": "web"}}}])
    ecs.create_cluster(clusterName="prod")
    ecs.create_service(cluster="prod", serviceName="worker", taskDefinition="web:1", desiredCount=1)
    role = "exists" if with_role else "is not created"
    print(f"   made task definition web:1, run by service prod/worker: its execution role {EXECUTION_ROLE} "
          f"{role}; it reads secret prod/web/db, under the customer-managed key alias/web-secrets, "
          "and logs to /ecs/web")


def perform(path):
    detail = json.load(open(path))["detail"]
    name, params = detail["eventName"], pascal(detail["requestParameters"])
    client = boto3.client("application-autoscaling")
    call = {
        "RegisterScalableTarget": client.register_scalable_target,
        "PutScalingPolicy": client.put_scaling_policy,
        "DeleteScalingPolicy": client.delete_scaling_policy,
    }[name]
    call(**params)
    print(f"   made the call it records: {name} {params.get('PolicyName', params['ResourceId'])}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--service"] and len(sys.argv) >= 3:
        create_service(sys.argv[2], sys.argv[3:])
    elif sys.argv[1:2] == ["--fleet"] and len(sys.argv) >= 5:
        create_fleet(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif sys.argv[1:2] == ["--failing-task"]:
        create_failing_task("--with-role" in sys.argv[2:])
    elif len(sys.argv) == 2:
        perform(sys.argv[1])
    else:
        sys.exit(__doc__)
