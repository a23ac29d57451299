"""Runs a whole AWSServiceRoleForECS deletion locally, as the state machine does in AWS:
invokes slr-deletion under `cargo lambda watch`, feeds each output back as the next input,
and waits each step's wait_seconds, scaled down.

Usage: python drive_deletion.py INPUT.json [--port 9000] [--scale 0.02] [--max-steps 100]
                                [--approve NAME | --refuse CAUSE]
INPUT is a start input, a saved state, or a CloudTrail DeleteServiceLinkedRole event. A
hub's drain of a member account stops for a person's approval (phase approve): as the state
machine's Approval state does, the function is handed a task token and publishes the
request; then --approve answers as send-task-success would, --refuse as send-task-failure,
and neither as the wait's timeout.
Exits 0 when the outcome is deleted, 1 when blocked or failed, 2 on an error.
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request


def invoke(port, payload):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/2015-03-31/functions/slr-deletion/invocations",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as e:
        return {"errorType": "InvokeFailed", "errorMessage": e.read().decode(errors="replace")}


def show(step, out, scale):
    print(f"   step {step}: phase={out.get('phase')} done={out.get('done')} "
          f"wait={out.get('wait_seconds')}s (waiting {out.get('wait_seconds', 0) * scale:.2f}s here)"
          + (f" task={out['task_status']}" if out.get("task_status") else ""))
    for f in out.get("findings", []):
        print(f"      {f['status']:<12} {f['check']:<20} {f['resource']}")
        print(f"      {'':<12} {f['detail']}")
    for w in out.get("waiting", []):
        print(f"      waiting: {w}")


def ask(args, state, step):
    """The state machine's Approval state: the function publishes the request for the task
    token, then the person's answer (or the timeout) goes into the state."""
    token = f"local-task-token-{step}"
    request = invoke(args.port, {"approval_request": state, "task_token": token})
    for f in request.get("findings", []):
        print(f"      asked:       {f['detail']}")
    if args.approve:
        print(f"      answered:    send-task-success --task-token {token} "
              f"--task-output '{{\"approved_by\": \"{args.approve}\"}}'")
        return {**state, "approval": {"approved_by": args.approve}}
    if args.refuse:
        print(f"      answered:    send-task-failure --task-token {token} --error Refused")
        return {**state, "refusal": {"Error": "Refused", "Cause": args.refuse}}
    print("      answered:    nobody; the wait times out")
    return {**state, "refusal": {"Error": "States.Timeout", "Cause": "no answer in time"}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--scale", type=float, default=0.02, help="local seconds per wait_seconds")
    parser.add_argument("--max-steps", type=int, default=100)
    answer = parser.add_mutually_exclusive_group()
    answer.add_argument("--approve", metavar="NAME", help="approve a drain as NAME")
    answer.add_argument("--refuse", metavar="CAUSE", help="refuse a drain, saying why")
    args = parser.parse_args()
    # As the state machine starts it: wrapped, so an approval the input claims is dropped.
    payload = {"start": json.load(open(args.input))}
    for step in range(1, args.max_steps + 1):
        out = invoke(args.port, payload)
        if "errorType" in out:
            print(f"   step {step}: rejected: {out['errorType']}: {out.get('errorMessage')}")
            return 2
        show(step, out, args.scale)
        if out.get("done"):
            print(f"   outcome: {out.get('outcome')}" + (f" ({out['reason']})" if out.get("reason") else ""))
            if out.get("deleted"):
                print(f"   deleted ({len(out['deleted'])}):")
                for arn in out["deleted"]:
                    print(f"      {arn}")
            for region in out.get("inventory", []) if out.get("outcome") == "blocked" else []:
                for cluster in region["clusters"]:
                    services = ", ".join(
                        f"{s['arn'].rsplit('/', 1)[-1]} ({s['desired_count']} desired, {s['running_count']} running)"
                        for s in cluster["services"]) or "no service"
                    print(f"   {region['region']}: {cluster['arn'].rsplit('/', 1)[-1]}: {services}; "
                          f"{len(cluster['container_instances'])} container instance(s)")
            return 0 if out.get("outcome") == "deleted" else 1
        if out.get("phase") == "approve":
            payload = ask(args, out, step)
            continue
        time.sleep(out.get("wait_seconds", 0) * args.scale)
        payload = out
    print(f"   no end after {args.max_steps} steps")
    return 1


if __name__ == "__main__":
    sys.exit(main())
