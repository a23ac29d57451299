"""After `sam build`: every function in template.yaml has an arm64 Linux bootstrap."""

import os
import sys

from cfnlint.decode import cfn_yaml

template = cfn_yaml.load("template.yaml")
functions = [n for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
problems = []
for name in functions:
    path = os.path.join(".aws-sam", "build", name, "bootstrap")
    try:
        with open(path, "rb") as f:
            header = f.read(20)
    except OSError as e:
        problems.append(f"{name}: {e}")
        continue
    # ELF, 64-bit, machine 0xB7 (AArch64) at offset 18.
    if header[:4] != b"\x7fELF" or header[4] != 2 or header[18] != 0xB7:
        problems.append(f"{name}: {path} is not a 64-bit arm64 ELF executable")
        continue
    print(f"{name}: {path} {os.path.getsize(path) / 1e6:.1f} MB arm64")
for line in problems:
    print(f"PROBLEM: {line}")
sys.exit(1 if problems else 0)
