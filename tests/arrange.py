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
Endpoint and credentials come from the standard AWS_* variables.
"""

import json
import sys

import boto3


def run_instances(region, count):
    ec2 = boto3.client("ec2", region_name=region)
    image = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
    out = ec2.run_instances(ImageId=image, MinCount=count, MaxCount=count)
    print(json.dumps([i["InstanceId"] for i in out["Instances"]]))


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


if __name__ == "__main__":
    if sys.argv[1:2] == ["run-instances"] and len(sys.argv) == 4:
        run_instances(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["topic-with-queue"] and len(sys.argv) == 4:
        topic_with_queue(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["receive"] and len(sys.argv) == 4:
        receive(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
