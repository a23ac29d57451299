"""Makes, on the emulator, the Application Auto Scaling call a sample event records, so that
replaying the event afterwards meets the state the real call would have left.

Usage: python perform_call.py EVENT.json   (or --service CLUSTER/SERVICE [KEY=VALUE ...]
to create the ECS cluster and service the samples scale, with those service tags, or
--fleet REGION CLUSTER SERVICE=DESIRED... INSTANCES to create a cluster with services and
container instances for the deletion demo)
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
    elif len(sys.argv) == 2:
        perform(sys.argv[1])
    else:
        sys.exit(__doc__)
