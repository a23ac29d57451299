"""make bench: each function's cold start, first-event and warm latency, peak RSS, AWS calls
per event and binary size, beside the SLR check written as a Python boto3 handler.

Every function runs as its release binary under a Lambda Runtime API on 127.0.0.1
(scripts/runtime_api.py) against a moto server this script starts, the Python handler
under the same API and moto. Prints a Markdown table for the README.
"""

import base64
import contextlib
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from datetime import date

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(SCRIPTS)
sys.path.insert(0, SCRIPTS)

from runtime_api import RuntimeApi  # noqa: E402
from tls_terminator import TlsTerminator  # noqa: E402

ACCOUNT = "111122223333"  # the account the sample events are written for
REGION = "eu-west-1"
FUNCTIONS = ["ecs-role-guard", "scaling-guard", "slr-deletion", "role-drift-guard", "reconcile", "access-doctor",
             "task-doctor"]
WARM = int(os.environ.get("BENCH_WARM_EVENTS", "200"))
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))
VENV_BIN = os.path.join(ROOT, os.environ.get("WARDEN_VENV", ".venv"), "bin")
TLS_RUNS = int(os.environ.get("BENCH_TLS_RUNS", "7"))
# Lambda gives a function one full vCPU at 1769 MB and a proportional share below it.
FULL_CPU_MB = 1769


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(cmd, **kwargs):
    subprocess.run(cmd, check=True, cwd=ROOT, **kwargs)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def event(name):
    with open(os.path.join(ROOT, "events", name)) as f:
        return json.load(f)


class Moto:
    """moto on a free port, recording every request it serves into a file."""

    def __init__(self, one_account=True):
        """With `one_account`, every request acts in ACCOUNT (MOTO_ACCOUNT_ID); without, an
        STS AssumeRole into an account acts in that account, as a hub needs."""
        self.recording = tempfile.NamedTemporaryFile(prefix="moto-recording-", delete=False).name
        port = free_port()
        env = dict(os.environ, MOTO_ENABLE_RECORDING="True", MOTO_RECORDER_FILEPATH=self.recording)
        if one_account:
            env["MOTO_ACCOUNT_ID"] = ACCOUNT
        self.process = subprocess.Popen(
            [os.path.join(VENV_BIN, "python"), "tests/moto_server.py", str(port)],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto did not start")

    def reset(self):
        req = urllib.request.Request(self.endpoint + "/moto-api/recorder/reset-recording", method="POST")
        urllib.request.urlopen(req).read()

    def calls(self):
        """The AWS operations recorded since the last reset."""
        names = []
        with open(self.recording) as f:
            for line in f:
                entry = json.loads(line)
                headers = {k.lower(): v for k, v in entry["headers"].items()}
                target = headers.get("x-amz-target")
                if target:
                    names.append(target.split(".")[-1])
                    continue
                body = entry.get("body") or ""
                if entry.get("body_encoded"):
                    body = base64.b64decode(body).decode(errors="replace")
                action = next((p.split("=", 1)[1] for p in body.split("&") if p.startswith("Action=")), "?")
                names.append(action)
        return names

    def close(self):
        self.process.terminate()
        os.unlink(self.recording)


def aws_env(moto):
    return {
        "AWS_ENDPOINT_URL": moto.endpoint, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
    }


class Function:
    """One function process under its own Runtime API."""

    def __init__(self, name, cmd, env):
        self.api = RuntimeApi(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
        full = dict(os.environ, **env, **{
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
        })
        started = time.perf_counter()
        self.process = subprocess.Popen(cmd, cwd=ROOT, env=full, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.cold = self.api.wait_ready(self.process) - started

    def invoke(self, payload):
        seconds, kind, body = self.api.invoke(payload)
        if kind != "response":
            raise RuntimeError(f"error answer: {body}")
        return seconds, body

    def peak_rss_mb(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def close(self):
        self.process.kill()
        self.process.wait()
        self.api.close()


def cpu_ns(pid):
    """CPU time a process has used so far, all its threads, in nanoseconds."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(FileNotFoundError):
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
    return total


class CpuShare:
    """A cgroup that holds processes to the CPU share Lambda gives `memory_mb`: a CFS quota
    of memory_mb / 1769 of one CPU in every 20 ms period. A process enters it after init,
    as Lambda lets init run at full speed."""

    PERIOD_US = 20_000

    def __init__(self, path, procs):
        self.path, self.procs = path, procs

    @classmethod
    def create(cls, memory_mb):
        """The cgroup, or None (with the reason logged) where this machine does not allow it."""
        quota = int(cls.PERIOD_US * memory_mb / FULL_CPU_MB)
        name = f"ecs-warden-bench-{os.getpid()}"
        try:
            if os.path.isdir("/sys/fs/cgroup/cpu"):  # cgroup v1
                path = os.path.join("/sys/fs/cgroup/cpu", name)
                os.mkdir(path)
                with open(os.path.join(path, "cpu.cfs_period_us"), "w") as f:
                    f.write(str(cls.PERIOD_US))
                with open(os.path.join(path, "cpu.cfs_quota_us"), "w") as f:
                    f.write(str(quota))
            else:  # cgroup v2
                path = os.path.join("/sys/fs/cgroup", name)
                os.mkdir(path)
                with open(os.path.join(path, "cpu.max"), "w") as f:
                    f.write(f"{quota} {cls.PERIOD_US}")
        except OSError as e:
            log(f"   no {memory_mb} MB CPU share on this machine ({e}); run as root to measure it")
            return None
        return cls(path, os.path.join(path, "cgroup.procs"))

    def enter(self, pid):
        with open(self.procs, "w") as f:
            f.write(str(pid))

    def close(self):
        with contextlib.suppress(OSError):
            os.rmdir(self.path)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure(name, cmd, env, first, warm):
    """Cold start (median of COLD_RUNS processes), first-event latency, warm p50/p99, RSS."""
    colds = []
    for _ in range(COLD_RUNS - 1):
        f = Function(name, cmd, env)
        colds.append(f.cold)
        f.close()
    f = Function(name, cmd, env)
    colds.append(f.cold)
    try:
        first_seconds, _ = f.invoke(first)
        warm_seconds = [f.invoke(warm)[0] for _ in range(WARM)]
        rss = f.peak_rss_mb()
    finally:
        f.close()
    return {
        "cold_ms": statistics.median(colds) * 1000,
        "first_ms": first_seconds * 1000,
        "p50_ms": percentile(warm_seconds, 50) * 1000,
        "p99_ms": percentile(warm_seconds, 99) * 1000,
        "rss_mb": rss,
    }


def calls_of(moto, function, payload):
    moto.reset()
    function.invoke(payload)
    return moto.calls()


def setup_scaling(moto):
    """The ECS service, scalable target and step policy the scaling samples record."""
    os.environ.update(aws_env(moto))
    import perform_call
    with contextlib.redirect_stdout(sys.stderr):
        perform_call.create_service("payments/web", [])
        perform_call.perform(os.path.join(ROOT, "events", "autoscaling-register-scalable-target.json"))
        perform_call.perform(os.path.join(ROOT, "events", "autoscaling-put-step-policy.json"))


def setup_failing_task(moto):
    """The task definition, execution role, secret and key the task-doctor sample names."""
    os.environ.update(aws_env(moto))
    import perform_call
    with contextlib.redirect_stdout(sys.stderr):
        perform_call.create_failing_task(with_role=True)


SWEEP_REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-2"]


def sweep_regions(moto, binary, env):
    """One reconcile over three regions of 4 clusters x 5 services: wall time beside the
    time each region took, to show the regions run side by side."""
    os.environ.update(aws_env(moto))
    import perform_call
    with contextlib.redirect_stdout(sys.stderr):
        for region in SWEEP_REGIONS:
            for c in range(4):
                perform_call.create_fleet(region, f"sweep-{c}", [f"svc{i}=1" for i in range(5)] + ["0"])
    f = Function("reconcile", binary, env)
    try:
        f.invoke({"regions": SWEEP_REGIONS})  # the first sweep creates what is missing
        seconds, body = f.invoke({"regions": SWEEP_REGIONS})
    finally:
        f.close()
    per_region = {r["region"]: r["millis"] for r in body["regions"]}
    return seconds * 1000, per_region


ROUND_TRIP_MS = 20


class RoundTrip:
    """A plain-HTTP proxy on 127.0.0.1 that holds each request ROUND_TRIP_MS before passing
    it to moto, as a real endpoint's network round trip would. moto answers from one Python
    process, so side-by-side sweeps queue for its interpreter; against real AWS, what runs
    side by side is mostly waiting, which this adds back."""

    def __init__(self, target_port):
        import asyncio
        import threading
        self._target, self._loop = target_port, asyncio.new_event_loop()
        ready = threading.Event()

        async def start():
            self._server = await asyncio.start_server(self._pipe, "127.0.0.1", 0)
            self.endpoint = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
            ready.set()

        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(start(), self._loop)
        ready.wait(10)

    async def _pipe(self, client_reader, client_writer):
        import asyncio
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self._target)

        async def copy(reader, writer, delay):
            try:
                while data := await reader.read(65536):
                    if delay:
                        await asyncio.sleep(delay)
                    writer.write(data)
                    await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        await asyncio.gather(copy(client_reader, upstream_writer, ROUND_TRIP_MS / 1000),
                             copy(upstream_reader, client_writer, 0))

    def close(self):
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)


HUB_ACCOUNTS = 12
HUB_REGIONS = ["eu-west-1", "us-east-1"]
HUB_EVENTS = 60


def member_credentials(account):
    """Credentials acting in `account` on moto (an AssumeRole into it)."""
    import boto3
    c = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                                        RoleSessionName="bench")["Credentials"]
    return dict(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                aws_session_token=c["SessionToken"])


def hub(moto, binary):
    """A hub over HUB_ACCOUNTS member accounts: cold start against single-account mode, the
    AssumeRole calls a warm container makes for HUB_EVENTS events over three members, and
    one reconcile over every member's HUB_REGIONS against each account's sweep alone."""
    os.environ.update(aws_env(moto))
    import boto3
    import member_roles
    import perform_call
    boto3.setup_default_session()
    hub_credentials = member_credentials(ACCOUNT)
    env = dict(aws_env(moto), WARDEN_MODE="enforce", WARDEN_REGIONS=REGION,
               AWS_ACCESS_KEY_ID=hub_credentials["aws_access_key_id"],
               AWS_SECRET_ACCESS_KEY=hub_credentials["aws_secret_access_key"],
               AWS_SESSION_TOKEN=hub_credentials["aws_session_token"])
    members = [f"{900000000000 + i:012d}" for i in range(1, HUB_ACCOUNTS + 1)]
    with contextlib.redirect_stdout(sys.stderr):
        for account in members:
            boto3.setup_default_session(region_name=REGION, **member_credentials(account))
            member_roles.create(ACCOUNT)
            for region in HUB_REGIONS:
                perform_call.create_fleet(region, "fleet", ["web=1", "worker=1", "jobs=0", "0"])
            # The trail every account needs, so the sweep reads its status as in a real one.
            boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=f"trail-logs-{account}")
            trails = boto3.client("cloudtrail", region_name="us-east-1")
            trail = trails.create_trail(Name="account-trail", S3BucketName=f"trail-logs-{account}",
                                        IsMultiRegionTrail=True)["TrailARN"]
            trails.start_logging(Name=trail)
        boto3.setup_default_session()
    hub_env = dict(env, WARDEN_MEMBER_ROLE="/ecs-warden-member", WARDEN_ACCOUNTS=",".join(members),
                   WARDEN_VERDICT_TTL_SECONDS="0", WARDEN_REGIONS=",".join(HUB_REGIONS))
    single_env = dict(env, WARDEN_VERDICT_TTL_SECONDS="0")
    colds = {"single": [], "hub": []}
    for _ in range(COLD_RUNS * 2):  # alternated, so both see the same machine
        for mode, mode_env in (("single", single_env), ("hub", hub_env)):
            f = Function("ecs-role-guard", binary("ecs-role-guard"), mode_env)
            colds[mode].append(f.cold * 1000)
            f.close()

    def member_event(account):
        return json.loads(json.dumps(event("ecs-create-cluster.json")).replace(ACCOUNT, account))

    guard = Function("ecs-role-guard", binary("ecs-role-guard"), hub_env)
    try:
        moto.reset()
        for i in range(HUB_EVENTS):
            guard.invoke(member_event(members[i % 3]))
        assumed = moto.calls().count("AssumeRole")
    finally:
        guard.close()

    everything = {"accounts": members, "regions": HUB_REGIONS}
    sweeps = {}
    delayed = RoundTrip(moto.port)
    try:
        for transport, endpoint in (("moto", moto.endpoint), (f"moto + {ROUND_TRIP_MS} ms", delayed.endpoint)):
            sweep = Function("reconcile", binary("reconcile"), dict(hub_env, AWS_ENDPOINT_URL=endpoint))
            try:
                sweep.invoke(everything)  # the first sweep creates what is missing
                alone = [sweep.invoke({"account": a, "regions": HUB_REGIONS})[0] * 1000 for a in members]
                wall, body = sweep.invoke(everything)
            finally:
                sweep.close()
            swept = {(r["account"], r["region"]) for r in body["regions"]}
            if len(swept) != HUB_ACCOUNTS * len(HUB_REGIONS) or body["summary"].get("failed"):
                raise RuntimeError(f"the hub's sweep did not cover every account and region: {body}")
            sweeps[transport] = {"wall_ms": wall * 1000, "slowest_ms": max(alone), "sum_ms": sum(alone)}
    finally:
        delayed.close()
    return {
        "cold": {k: statistics.median(v) for k, v in colds.items()},
        "assumed": assumed,
        "sweeps": sweeps,
    }


def deletion_polling():
    """Status calls and the wait after completion for deletion tasks of 10 s to 30 min:
    ecs-warden's schedule (its constants read from shared/src/handlers/slr_deletion/state.rs, the schedule
    mocked_deletion.rs drives through the real code), Terraform's and a fixed 3 s poll."""
    with open(os.path.join(ROOT, "shared", "src", "handlers", "slr_deletion", "state.rs")) as f:
        source = f.read()
    first = int(re.search(r"FIRST_POLL_SECONDS: u64 = (\d+);", source).group(1))
    cap = int(re.search(r"MAX_POLL_SECONDS: u64 = (\d+);", source).group(1))

    def warden(task):
        t, polls, current = first, 1, min(first * 2, cap)
        while t < task:
            wait = min(max(current, first), cap)
            current = min(wait * 2, cap)
            t, polls = t + wait, polls + 1
        return polls, t - task

    def terraform(task):  # 10 s delay, then 200 ms doubling to a 10 s cap
        t, polls, wait = 10.0, 1, 0.2
        while t < task:
            t, polls, wait = t + wait, polls + 1, min(wait * 2, 10.0)
        return polls, t - task

    def fixed(task):
        t, polls = 3, 1
        while t < task:
            t, polls = t + 3, polls + 1
        return polls, t - task

    return [(task, warden(task), terraform(task), fixed(task)) for task in (10, 60, 300, 1800)]


def sizes():
    rows = []
    for name in FUNCTIONS:
        path = os.path.join(ROOT, "target", "lambda", name, "bootstrap")
        with tempfile.TemporaryFile() as tmp:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
                z.write(path, "bootstrap")
            zipped = tmp.tell()
        rows.append((name, os.path.getsize(path) / 1e6, zipped / 1e6))
    return rows


def main():
    started = time.monotonic()
    log("== building: release binaries for this machine, and arm64 as SAM ships them")
    run(["cargo", "build", "--release", "--quiet", *sum((["-p", f] for f in FUNCTIONS), [])])
    log(f"   this machine's binaries: {time.monotonic() - started:.0f} s")
    built = time.monotonic()
    run(["cargo", "lambda", "build", "--release", "--arm64", "--workspace", "--bins", "--quiet"],
        env=dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"]))
    log(f"   arm64 binaries: {time.monotonic() - built:.0f} s")

    measuring = time.monotonic()
    moto = Moto()
    try:
        results = bench(moto)
    finally:
        moto.close()
    log(f"== measured in {time.monotonic() - measuring:.0f} s")
    report(results)


def bench(moto):
    env = dict(aws_env(moto), WARDEN_MODE="enforce", WARDEN_REGIONS=REGION)
    binary = lambda name: [os.path.join(ROOT, "target", "release", name)]  # noqa: E731
    out = {"latency": {}, "calls": [], "sizes": sizes()}

    log("== API calls per event (moto's request recorder)")
    guard = Function("ecs-role-guard", binary("ecs-role-guard"), dict(env, WARDEN_VERDICT_TTL_SECONDS="0"))
    try:
        cluster = event("ecs-create-cluster.json")
        legacy = event("ecs-create-service-legacy-role.json")
        out["calls"].append(("ecs-role-guard", "SLR check (CreateCluster)", calls_of(moto, guard, cluster),
                             calls_of(moto, guard, cluster)))
        out["calls"].append(("ecs-role-guard", "role with policy (CreateService naming ecsServiceRole)",
                             calls_of(moto, guard, legacy), calls_of(moto, guard, legacy)))
    finally:
        guard.close()
    remembered = Function("ecs-role-guard", binary("ecs-role-guard"), env)
    try:
        moto.reset()
        for _ in range(100):
            remembered.invoke(cluster)
        out["hundred"] = moto.calls()
    finally:
        remembered.close()
    setup_scaling(moto)
    scaling = Function("scaling-guard", binary("scaling-guard"), env)
    try:
        step = event("autoscaling-put-step-policy.json")
        out["calls"].append(("scaling-guard", "step-scaling alarms (PutScalingPolicy)",
                             calls_of(moto, scaling, step), calls_of(moto, scaling, step)))
    finally:
        scaling.close()

    setup_failing_task(moto)
    doctor = Function("task-doctor", binary("task-doctor"), env)
    try:
        failed = event("ecs-task-failed-secret.json")
        # The execution role lacks the secret and its key: one diagnosis, the same both times.
        out["calls"].append(("task-doctor", "a secret behind a customer key (Task State Change)",
                             calls_of(moto, doctor, failed), calls_of(moto, doctor, failed)))
    finally:
        doctor.close()

    log(f"== latency and memory: {COLD_RUNS} cold starts, 1 first event, {WARM} warm events each")
    rust_env = dict(env, WARDEN_VERDICT_TTL_SECONDS="0")
    cases = {
        "ecs-role-guard": (cluster, cluster),
        "scaling-guard": (step, step),
        "slr-deletion": (event("slr-deletion-start.json"),) * 2,
        "role-drift-guard": (event("iam-detach-role-policy.json"),) * 2,
        "reconcile": ({"regions": [REGION]},) * 2,
        "access-doctor": (event("access-doctor-manual.json"),) * 2,
        "task-doctor": (event("ecs-task-failed-secret.json"),) * 2,
    }
    for name, (first, warm) in cases.items():
        log(f"   {name}")
        out["latency"][name] = measure(name, binary(name), rust_env, first, warm)
    log("   python boto3 SLR check")
    python = [os.path.join(VENV_BIN, "python"), os.path.join(SCRIPTS, "bench_python_slr.py")]
    out["python"] = measure("python-slr-check", python, env, cluster, cluster)

    log("== the first HTTPS call: plain HTTP and TLS, at full CPU and at 128 MB's share")
    out["tls"] = first_https_call(moto, binary("ecs-role-guard"), rust_env, cluster)

    log("== reconcile over three regions")
    out["sweep"] = sweep_regions(moto, binary("reconcile"), env)
    log(f"== a hub over {HUB_ACCOUNTS} member accounts")
    accounts = Moto(one_account=False)
    try:
        out["hub"] = hub(accounts, binary)
    finally:
        accounts.close()
    out["polling"] = deletion_polling()
    return out


def first_https_call(moto, cmd, env, payload):
    """ecs-role-guard's first event against its warm ones, over plain HTTP and over TLS (a
    local terminator in front of moto), at full CPU and held to 128 MB's CPU share after
    init: latency and the process's own CPU time per event, medians of TLS_RUNS processes."""
    terminator = TlsTerminator(moto.port)
    share = CpuShare.create(128)
    transports = {
        "HTTP": env,
        "HTTPS": dict(env, AWS_ENDPOINT_URL=terminator.endpoint, SSL_CERT_FILE=terminator.cert),
    }
    rows = []
    try:
        for transport, transport_env in transports.items():
            for cpu in ("full CPU", "128 MB share"):
                if cpu != "full CPU" and share is None:
                    continue
                samples = {"cold": [], "first": [], "warm": [], "first_cpu": [], "warm_cpu": []}
                for _ in range(TLS_RUNS):
                    f = Function("ecs-role-guard", cmd, transport_env)
                    try:
                        if cpu != "full CPU":
                            share.enter(f.process.pid)
                        before = cpu_ns(f.process.pid)
                        first, body = f.invoke(payload)
                        if body["summary"].get("failed"):
                            raise RuntimeError(f"over {transport}: {body}")
                        between = cpu_ns(f.process.pid)
                        warm = [f.invoke(payload)[0] for _ in range(10)]
                        after = cpu_ns(f.process.pid)
                    finally:
                        f.close()
                    samples["cold"].append(f.cold * 1000)
                    samples["first"].append(first * 1000)
                    samples["warm"].append(statistics.median(warm) * 1000)
                    samples["first_cpu"].append((between - before) / 1e6)
                    samples["warm_cpu"].append((after - between) / 10 / 1e6)
                rows.append((transport, cpu, {k: statistics.median(v) for k, v in samples.items()}))
    finally:
        terminator.close()
        if share is not None:
            share.close()
    return rows


def report(r):
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"
    print(f"Measured {date.today()} on {machine} with `make bench` "
          f"({COLD_RUNS} cold starts, median; {WARM} warm events).\n")
    print("| function | cold start | first event | warm p50 | warm p99 | peak RSS | arm64 binary | zipped |")
    print("|---|---|---|---|---|---|---|---|")
    size = {n: (s, z) for n, s, z in r["sizes"]}
    for name, m in r["latency"].items():
        s, z = size[name]
        print(f"| {name} | {m['cold_ms']:.1f} ms | {m['first_ms']:.1f} ms | {m['p50_ms']:.2f} ms | "
              f"{m['p99_ms']:.2f} ms | {m['rss_mb']:.1f} MB | {s:.1f} MB | {z:.1f} MB |")
    p = r["python"]
    print(f"| Python 3 + boto3 SLR check | {p['cold_ms']:.1f} ms | {p['first_ms']:.1f} ms | "
          f"{p['p50_ms']:.2f} ms | {p['p99_ms']:.2f} ms | {p['rss_mb']:.1f} MB | | |")
    rust = r["latency"]["ecs-role-guard"]
    print("\nSLR check, Python ÷ Rust (ecs-role-guard): "
          + ", ".join(f"{label} {p[k] / rust[k]:.1f}×" for k, label in
                      [("cold_ms", "cold start"), ("first_ms", "first event"), ("p50_ms", "warm p50"),
                       ("rss_mb", "peak RSS")]))
    print("\n| function | event | calls, not compliant | calls, compliant |")
    print("|---|---|---|---|")
    for name, label, before, after in r["calls"]:
        print(f"| {name} | {label} | {len(before)}: {', '.join(before)} | {len(after)}: {', '.join(after)} |")
    print(f"\n100 CreateCluster events to one warm ecs-role-guard (default verdict memory): "
          f"{len(r['hundred'])} call(s): {', '.join(r['hundred'])}")
    print("\nThe first call's connection, ecs-role-guard (medians of "
          f"{TLS_RUNS} processes; CPU is the process's own time per event):\n")
    print("| transport | CPU | cold start | first event | warm event | first-event CPU | warm-event CPU |")
    print("|---|---|---|---|---|---|---|")
    for transport, cpu, m in r["tls"]:
        print(f"| {transport} | {cpu} | {m['cold']:.1f} ms | {m['first']:.1f} ms | {m['warm']:.1f} ms | "
              f"{m['first_cpu']:.2f} ms | {m['warm_cpu']:.2f} ms |")
    wall, regions = r["sweep"]
    print(f"\nreconcile, compliant sweep of 3 regions x 4 clusters x 5 services: {wall:.0f} ms in all; "
          + ", ".join(f"{k} {v} ms" for k, v in regions.items())
          + f" (slowest {max(regions.values())} ms, sum {sum(regions.values())} ms)")
    h = r["hub"]
    single, hub_cold = h["cold"]["single"], h["cold"]["hub"]
    print(f"\nA hub over {HUB_ACCOUNTS} member accounts (ecs-role-guard and reconcile):\n")
    print("| measure | figure |")
    print("|---|---|")
    print(f"| cold start, hub mode against single account (median of {COLD_RUNS * 2} each, alternated) | "
          f"{hub_cold:.1f} ms against {single:.1f} ms ({(hub_cold / single - 1) * 100:+.1f} %) |")
    print(f"| AssumeRole calls for {HUB_EVENTS} events over 3 member accounts, one warm container | "
          f"{h['assumed']} |")
    for transport, m in h["sweeps"].items():
        print(f"| reconcile, compliant sweep of {HUB_ACCOUNTS} accounts x {len(HUB_REGIONS)} regions in one "
              f"invocation, {transport} | {m['wall_ms']:.0f} ms; slowest account alone "
              f"{m['slowest_ms']:.0f} ms, sum of the accounts alone {m['sum_ms']:.0f} ms |")
    print("\n| deletion task | ecs-warden (5 s doubling to 60 s) | Terraform (10 s, then 0.2 s doubling to 10 s) | fixed 3 s |")
    print("|---|---|---|---|")
    for task, *schedules in r["polling"]:
        cells = [f"{polls} calls, +{late:.1f} s" for polls, late in schedules]
        print(f"| {task} s | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
