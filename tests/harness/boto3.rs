//! What the tests arrange and read through boto3 scripts (`tests/arrange.py`,
//! `tests/routes.py`) rather than a Rust client: EC2 instances, SNS topics with an SQS
//! queue, CloudTrail trails, and EventBridge's TestEventPattern.
use std::process::Command;

use serde_json::Value;

use crate::*;

impl Account {
    /// Starts `count` EC2 instances in `region` (through boto3: the EC2 SDK crate is too
    /// heavy to build for this) and returns their ids.
    pub fn run_instances(&self, region: &str, count: usize) -> Vec<String> {
        let ids = self.arrange(&["run-instances", region, &count.to_string()]);
        serde_json::from_value(ids).expect("instance ids")
    }

    /// A subnet of `region`'s default VPC (moto makes one per availability zone) and the
    /// VPC's default security group: `(subnet, security group)`.
    pub fn default_subnet(&self, region: &str) -> (String, String) {
        let out = self.arrange(&["default-subnet", region]);
        let field = |k: &str| out[k].as_str().expect("subnet and group").to_owned();
        (field("subnet"), field("security_group"))
    }

    /// An SNS topic in `region` with an SQS queue subscribed to it, to read notifications
    /// back: `(topic ARN, queue URL)`.
    pub fn topic_with_queue(&self, region: &str, name: &str) -> (String, String) {
        let out = self.arrange(&["topic-with-queue", region, name]);
        let field = |k: &str| out[k].as_str().expect("topic and queue").to_owned();
        (field("topic"), field("queue"))
    }

    /// Takes every notification the queue holds: `{"subject", "message", "attributes"}`.
    pub fn notifications(&self, region: &str, queue_url: &str) -> Vec<Value> {
        match self.arrange(&["receive", region, queue_url]) {
            Value::Array(list) => list,
            other => panic!("expected a list of notifications, got {other}"),
        }
    }

    /// A CloudTrail trail homed in `region` (`multi_region` or not), logging when `logging`,
    /// with the S3 bucket it writes to; returns its ARN. moto differs from AWS in two
    /// ways the tests do not lean on: it answers GetEventSelectors for a trail without
    /// custom selectors with empty lists (AWS answers the default selector) and
    /// DescribeTrails always says `HasCustomEventSelectors: false`; selectors are tested
    /// with aws-smithy-mocks (`shared/tests/library/mocked_trails.rs`).
    pub fn trail(&self, region: &str, name: &str, multi_region: bool, logging: bool) -> String {
        let scope = if multi_region {
            "multi-region"
        } else {
            "single-region"
        };
        let start = if logging { "start" } else { "stop" };
        let out = self.arrange(&["trail", region, name, scope, start]);
        out["arn"].as_str().expect("the trail's ARN").to_owned()
    }

    /// Starts the logging of the trail `arn` homed in `region`.
    pub fn start_logging(&self, region: &str, arn: &str) {
        self.arrange(&["start-logging", region, arn]);
    }

    /// Runs template.yaml's state machine `resource` on moto's Step Functions interpreter
    /// in this account, its Lambda tasks reaching the built binaries (`tests/statemachine.py`
    /// says what `settings` holds), and waits for the execution's end: `{"status", "error",
    /// "cause", "output", "states", "tasks"}`.
    pub fn run_state_machine(&self, resource: &str, input: &Value, settings: Value) -> Value {
        let mut settings = settings;
        settings["binaries"] = Value::from(built_functions().to_string_lossy().into_owned());
        self.python(
            "statemachine.py",
            &[resource, &input.to_string(), &settings.to_string()],
        )
    }

    /// Runs `tests/arrange.py` with `args` in this account and parses what it prints.
    fn arrange(&self, args: &[&str]) -> Value {
        self.python("arrange.py", args)
    }

    /// Which rule of `template.yaml` each EventBridge event in `events/` matches, asked of
    /// EventBridge's TestEventPattern on moto (`tests/routes.py`).
    pub fn routes(&self) -> Value {
        self.routes_of("template.yaml")
    }

    /// As [`Self::routes`], for the rules of `template` (`member.yaml`'s forwarding rules).
    pub fn routes_of(&self, template: &str) -> Value {
        let template = root().join(template);
        let events = root().join("events");
        self.python(
            "routes.py",
            &[&template.to_string_lossy(), &events.to_string_lossy()],
        )
    }

    /// Runs the boto3 script `tests/SCRIPT` with `args` in this account and parses the
    /// JSON it prints.
    fn python(&self, script: &str, args: &[&str]) -> Value {
        let out = Command::new(venv_bin("python"))
            .arg(root().join("tests").join(script))
            .args(args)
            .envs(self.env())
            .output()
            .unwrap_or_else(|e| panic!("run tests/{script}: {e}"));
        assert!(
            out.status.success(),
            "{script} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{script} prints JSON: {e}"))
    }
}
