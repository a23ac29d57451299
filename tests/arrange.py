"""Arranges emulator state the Rust tests need but have no light client for.

Usage: python arrange.py run-instances REGION COUNT
  starts COUNT EC2 instances (ECS container instances must name a real one) and prints
  their ids as JSON. Endpoint and credentials come from the standard AWS_* variables.
"""

import json
import sys

import boto3


def run_instances(region, count):
    ec2 = boto3.client("ec2", region_name=region)
    image = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
    out = ec2.run_instances(ImageId=image, MinCount=count, MaxCount=count)
    print(json.dumps([i["InstanceId"] for i in out["Instances"]]))


if __name__ == "__main__":
    if sys.argv[1:2] == ["run-instances"] and len(sys.argv) == 4:
        run_instances(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
