"""Assembles a release in dist/<version>/ from what `make release` built, and checks one.

Usage:
  python release.py assemble [--programs]   # dist/<version>/ from target/
  python release.py check DIR               # what a release must be (make release-check)
  python release.py version                 # the project's version (Cargo.toml)
  python release.py --check-version         # template.yaml says the same version

A release deploys with no Rust and no build: `sam deploy --template-file
dist/<version>/template.yaml --resolve-s3 ...` uploads the zips it names. It holds:
- functions/<name>.zip: each function's arm64 `bootstrap` (cargo lambda's zip);
- template.yaml: template.yaml with each function's CodeUri pointing at its zip (and no
  build metadata), the state machine definitions and the Serverless Application
  Repository files (README.md, LICENSE) beside it;
- member.yaml, the spoke of a hub deployment;
- with --programs, the command-line program for Linux x86_64 and aarch64;
- SHA256SUMS of every file, in `sha256sum -c` form.
"""

import hashlib
import json
import pathlib
import shutil
import subprocess
import sys
import tomllib

import yaml
from cfnlint.decode import cfn_yaml

from member_template import plain  # cfn_yaml's nodes as plain values, for yaml.safe_dump

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The command-line program per architecture: where make release's cargo lambda builds put
# it (its --lambda-dir), and its name in the release.
PROGRAMS = {
    "x86_64": "ecs-warden-x86_64-linux",
    "aarch64": "ecs-warden-aarch64-linux",
}
# ELF e_machine values (the System V ABI): what each binary must be built for.
EM_X86_64, EM_AARCH64 = 62, 183


def version():
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    return cargo["workspace"]["package"]["version"]


def functions(template):
    """Each function's logical id and binary name."""
    return {
        logical: resource["Metadata"]["BuildProperties"]["Binary"]
        for logical, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def sar_version(template):
    return template["Metadata"]["AWS::ServerlessRepo::Application"]["SemanticVersion"]


def check_version():
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    if sar_version(template) != version():
        sys.exit(f"template.yaml's SemanticVersion {sar_version(template)} is not the "
                 f"project's version {version()} (Cargo.toml): make them the same")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def assemble(with_programs):
    check_version()
    out = ROOT / "dist" / version()
    if out.exists():
        shutil.rmtree(out)
    (out / "functions").mkdir(parents=True)
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    for logical, binary in functions(template).items():
        built = ROOT / "target" / "lambda" / binary / "bootstrap.zip"
        if not built.exists():
            sys.exit(f"{built} is missing: make release builds it")
        shutil.copy(built, out / "functions" / f"{binary}.zip")
        resource = template["Resources"][logical]
        resource["Properties"]["CodeUri"] = f"functions/{binary}.zip"
        del resource["Metadata"]
    for logical, resource in template["Resources"].items():
        uri = resource.get("Properties", {}).get("DefinitionUri")
        if isinstance(uri, str):
            (out / pathlib.Path(uri).parent).mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / uri, out / uri)
    for name in ("README.md", "LICENSE", "member.yaml", "CHANGELOG.md"):
        shutil.copy(ROOT / name, out / name)
    text = ("# ecs-warden " + version() + ": the release template. Each function's code is "
            "the zip beside it;\n# deploy with sam deploy --template-file template.yaml "
            "--resolve-s3 (no build).\n")
    text += yaml.safe_dump(plain(template), sort_keys=False, width=100)
    (out / "template.yaml").write_text(text)
    if with_programs:
        for arch, name in PROGRAMS.items():
            built = ROOT / "target" / "programs" / arch / "ecs-warden" / "bootstrap"
            if not built.exists():
                sys.exit(f"{built} is missing: make release builds it")
            shutil.copy(built, out / name)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    sums = "".join(f"{sha256(p)}  {p.relative_to(out)}\n" for p in files)
    (out / "SHA256SUMS").write_text(sums)
    print(f"dist/{version()}: {len(files)} files")
    for p in files:
        print(f"  {p.relative_to(out)}  {p.stat().st_size:,} bytes")


def elf_machine(data):
    if data[:4] != b"\x7fELF":
        return None
    return int.from_bytes(data[18:20], "little")


def local_paths(template):
    """Every property of the template that names a file: what must be in the release."""
    found = []
    for logical, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "DefinitionUri", "ContentUri", "TemplateURL", "Location"):
            if isinstance(props.get(key), str):
                found.append((f"{logical}.{key}", props[key]))
    app = template.get("Metadata", {}).get("AWS::ServerlessRepo::Application", {})
    for key in ("LicenseUrl", "ReadmeUrl"):
        if key in app:
            found.append((f"Metadata.{key}", app[key]))
    return found


def check(directory):
    """What every release must be; exits naming each problem."""
    import zipfile

    out = pathlib.Path(directory).resolve()
    problems = []
    template = cfn_yaml.load(str(out / "template.yaml"))
    for where, path in local_paths(template):
        target = (out / path).resolve()
        if "://" in path or not target.is_relative_to(out):
            problems.append(f"{where} names {path}, outside the release")
        elif not target.is_file():
            problems.append(f"{where} names {path}, which the release does not hold")
    for logical, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        if "Metadata" in resource:
            problems.append(f"{logical} still has build metadata: sam would build it")
        uri = resource["Properties"].get("CodeUri", "")
        if not str(uri).endswith(".zip"):
            problems.append(f"{logical}: CodeUri {uri} is not a zip")
            continue
        with zipfile.ZipFile(out / uri) as z:
            if "bootstrap" not in z.namelist():
                problems.append(f"{uri} holds no bootstrap")
                continue
            info = z.getinfo("bootstrap")
            if (info.external_attr >> 16) & 0o111 == 0:
                problems.append(f"{uri}: bootstrap is not executable")
            if elf_machine(z.read("bootstrap")[:20]) != EM_AARCH64:
                problems.append(f"{uri}: bootstrap is not an arm64 (aarch64) ELF binary")
        if resource["Properties"].get("Architectures", template.get("Globals", {})
                                      .get("Function", {}).get("Architectures")) != ["arm64"]:
            problems.append(f"{logical} is not declared arm64")
    if sar_version(template) != out.name:
        problems.append(f"SemanticVersion {sar_version(template)} is not the release's {out.name}")
    for arch, name in PROGRAMS.items():
        path = out / name
        if path.exists():
            want = EM_X86_64 if arch == "x86_64" else EM_AARCH64
            if elf_machine(path.read_bytes()[:20]) != want:
                problems.append(f"{name} is not built for {arch}")
            if not path.stat().st_mode & 0o111:
                problems.append(f"{name} is not executable")
    listed = {}
    for line in (out / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} - {"SHA256SUMS"}
    if set(listed) != files:
        problems.append(f"SHA256SUMS lists {sorted(set(listed) ^ files)} wrongly")
    for name, digest in listed.items():
        if (out / name).is_file() and sha256(out / name) != digest:
            problems.append(f"{name}: its checksum does not match SHA256SUMS")
    lint = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "sam"), "validate", "--lint",
         "--template-file", str(out / "template.yaml"), "--region", "us-east-1"],
        capture_output=True, text=True, env={**__import__("os").environ,
                                             "SAM_CLI_TELEMETRY": "0"})
    if lint.returncode != 0:
        problems.append("sam validate --lint refuses the template:\n" + lint.stdout + lint.stderr)
    if problems:
        sys.exit("the release is not right:\n  " + "\n  ".join(problems))
    print(json.dumps({"release": str(out.relative_to(ROOT)), "functions":
                      len(functions_of_release(template)), "ok": True}))


def functions_of_release(template):
    return [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["assemble"]:
        assemble("--programs" in args)
    elif args[:1] == ["check"] and len(args) == 2:
        check(args[1])
    elif args == ["version"]:
        print(version())
    elif args == ["--check-version"]:
        check_version()
    else:
        sys.exit(__doc__)
