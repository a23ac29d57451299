"""The EventBridge rules of template.yaml as data: shared/src/handlers/rules.json.

Usage: python rule_table.py [--check]

`ecs-warden replay` routes an event to the functions these rules deliver it to, as
EventBridge would (the library's `handlers::routes`). The patterns are copied as the
template writes them; a `!Sub` keeps `${AWS::Partition}` and `${AWS::AccountId}`, which the
router fills in from the event, and has the template's parameters at their defaults. With
--check the file must be what the template gives (make template-check), so the two never
drift apart; the contract test holds the router's answers against EventBridge's own
matcher for every sample.
"""

import json
import pathlib
import sys

from cfnlint.decode import cfn_yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
TARGET = ROOT / "shared" / "src" / "handlers" / "rules.json"
sys.path.insert(0, str(ROOT / "tests"))
import routes  # noqa: E402


def resolver(parameters):
    def resolve(value):
        if isinstance(value, dict):
            if set(value) == {"Fn::Sub"}:
                text = value["Fn::Sub"]
                for name, spec in parameters.items():
                    if "Default" in spec:
                        text = text.replace("${" + name + "}", str(spec["Default"]))
                return text
            if set(value) == {"Fn::GetAtt"} or set(value) == {"Ref"}:
                raise ValueError(f"a pattern refers to a resource: {value}")
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value
    return resolve


def table(template):
    routes.resolve = resolver(template.get("Parameters", {}))
    found = []
    for rule in routes.rules(template):
        if rule["condition"] not in (None, "IsUsEast1"):
            raise ValueError(f"{rule['name']}: a condition the router does not know")
        found.append({
            "name": rule["name"],
            "functions": rule["functions"],
            "state": rule["state"],
            "us_east_1_only": rule["condition"] == "IsUsEast1",
            "pattern": rule["pattern"],
        })
    return json.dumps({"rules": found}, indent=1, sort_keys=True) + "\n"


def main():
    text = table(cfn_yaml.load(str(ROOT / "template.yaml")))
    if "--check" in sys.argv[1:]:
        if not TARGET.exists() or TARGET.read_text() != text:
            sys.exit(f"{TARGET.relative_to(ROOT)} is not what template.yaml gives: "
                     "run make rules")
        return
    TARGET.write_text(text)


if __name__ == "__main__":
    main()
