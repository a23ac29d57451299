"""Prints the CloudWatch alarms the emulator holds: name, metric, condition and actions."""

import boto3

cloudwatch = boto3.client("cloudwatch")
for alarm in cloudwatch.describe_alarms()["MetricAlarms"]:
    tags = cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
    owner = next((t["Value"] for t in tags if t["Key"] == "ecs-warden:created-by"), "-")
    actions = [a.rsplit(":policyName/", 1)[-1] for a in alarm.get("AlarmActions", [])]
    print(f"   {alarm['AlarmName']}")
    print(
        f"      {alarm.get('Namespace')} {alarm.get('MetricName')} {alarm.get('Statistic')} "
        f"{alarm.get('ComparisonOperator')} {alarm.get('Threshold')} "
        f"({alarm.get('EvaluationPeriods')} x {alarm.get('Period')}s); "
        f"invokes policy {', '.join(actions) or '-'}; created by {owner}"
    )
