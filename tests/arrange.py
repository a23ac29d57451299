"""Arranges emulator state the Rust tests need but have no light client for.

Usage:
  python arrange.py run-instances REGION COUNT
    starts COUNT EC2 instances (ECS container instances must name a real one) and prints
    their ids as JSON.
  python arrange.py topic-with-queue REGION NAME
    creates an SNS topic and an SQS queue subscribed to it, and prints
    {"topic": ARN, "queue": URL}.
  python arrange.py receive REGION QUEUE_URL
    takes every message from the queue and prints the SNS notifications as a JSON list
    of {"subject", "message", "attributes"}.
  python arrange.py trail REGION NAME SCOPE LOGGING
    creates an S3 bucket and a CloudTrail trail homed in REGION writing to it, SCOPE
    `multi-region` or `single-region`; LOGGING `start` starts its logging, `stop` leaves
    it stopped (CreateTrail does not start it). Prints {"arn": ARN}.
  python arrange.py start-logging REGION ARN
    starts a trail's logging. Prints {}.
Endpoint and credentials come from the standard AWS_* variables.
"""

import json
import sys

import boto3


# An Amazon Linux 2 image that moto holds in every region. Looking one up instead costs
# seconds of the emulator's CPU: moto ignores DescribeImages' MaxResults and answers its
# whole catalogue.
IMAGE = "ami-04681a1dbd79675a5"


def run_instances(region, count):
    ec2 = boto3.client("ec2", region_name=region)
    out = ec2.run_instances(ImageId=IMAGE, MinCount=count, MaxCount=count)
    print(json.dumps([i["InstanceId"] for i in out["Instances"]]))


def default_subnet(region):
    """A subnet of the region's default VPC and its default security group, for a task in
    awsvpc mode."""
    ec2 = boto3.client("ec2", region_name=region)
    subnet = ec2.describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]
    group = ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [subnet["VpcId"]]},
        {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]
    print(json.dumps({"subnet": subnet["SubnetId"], "security_group": group["GroupId"]}))


def topic_with_queue(region, name):
    sns = boto3.client("sns", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    print(json.dumps({"topic": topic, "queue": queue}))


def receive(region, queue):
    sqs = boto3.client("sqs", region_name=region)
    notifications = []
    while True:
        out = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = out.get("Messages", [])
        if not messages:
            break
        for m in messages:
            envelope = json.loads(m["Body"])
            notifications.append(
                {
                    "subject": envelope.get("Subject"),
                    "message": json.loads(envelope["Message"]),
                    "attributes": {
                        k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()
                    },
                }
            )
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    print(json.dumps(notifications))


def trail(region, name, scope, logging):
    s3 = boto3.client("s3", region_name=region)
    # Bucket names are global: the account keeps tests in parallel apart.
    account = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    bucket = f"{name}-logs-{account}"
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
        )
    cloudtrail = boto3.client("cloudtrail", region_name=region)
    arn = cloudtrail.create_trail(
        Name=name, S3BucketName=bucket, IsMultiRegionTrail=scope == "multi-region"
    )["TrailARN"]
    if logging == "start":
        cloudtrail.start_logging(Name=arn)
    print(json.dumps({"arn": arn}))


def start_logging(region, arn):
    boto3.client("cloudtrail", region_name=region).start_logging(Name=arn)
    print("{}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["run-instances"] and len(sys.argv) == 4:
        run_instances(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["default-subnet"] and len(sys.argv) == 3:
        default_subnet(sys.argv[2])
    elif sys.argv[1:2] == ["topic-with-queue"] and len(sys.argv) == 4:
        topic_with_queue(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["receive"] and len(sys.argv) == 4:
        receive(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["trail"] and len(sys.argv) == 6:
        trail(*sys.argv[2:6])
    elif sys.argv[1:2] == ["start-logging"] and len(sys.argv) == 4:
        start_logging(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
