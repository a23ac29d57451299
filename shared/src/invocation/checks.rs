//! What a finding checked, as the plumbing carries it: a name in the report and, for a
//! check of the account's state, the control it counts toward in Security Hub. The checks
//! and controls themselves are declared where their meaning lives: the domain's in
//! `domain::checks` (roles, alarms, trails, the deletion), the plumbing's own here (the
//! account a function acts in, its notification, its Security Hub import, a person's
//! approval). The plumbing reads them as data and knows none by name beyond its own.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Serialize, Serializer};

/// What a finding checked: its name in the JSON report, and the control it counts toward
/// when it is a state of the account. Two checks are the same when their names are.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckId {
    name: &'static str,
    control: Option<&'static dyn Control>,
}

impl CheckId {
    /// A check named `name` (snake_case, as reports have always named it), counting toward
    /// `control` when it is a state of the account.
    pub const fn new(name: &'static str, control: Option<&'static dyn Control>) -> Self {
        Self { name, control }
    }

    /// The account a function acts in: its member role, or who it is (STS).
    pub const ACCOUNT: Self = Self::new("account", None);
    /// The notification of an invocation's report.
    pub const NOTIFICATION: Self = Self::new("notification", None);
    /// The import of an invocation's findings into Security Hub.
    pub const SECURITY_HUB: Self = Self::new("security_hub", None);
    /// A person's approval, which the notification asks for.
    pub const APPROVAL: Self = Self::new("approval", None);
    /// The plumbing's own checks.
    pub const PLUMBING: [Self; 4] = [
        Self::ACCOUNT,
        Self::NOTIFICATION,
        Self::SECURITY_HUB,
        Self::APPROVAL,
    ];

    /// The name in the JSON report.
    pub fn as_str(self) -> &'static str {
        self.name
    }

    /// The control it counts toward, when it is a state of the account.
    pub fn control(self) -> Option<&'static dyn Control> {
        self.control
    }
}

impl fmt::Debug for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name)
    }
}

// Reports are read by name in tests and scripts: `finding.check == "trust"`.
impl PartialEq<&str> for CheckId {
    fn eq(&self, other: &&str) -> bool {
        self.name == *other
    }
}

impl PartialEq<str> for CheckId {
    fn eq(&self, other: &str) -> bool {
        self.name == other
    }
}

/// How much a control's failure matters, as Security Hub's severity label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// It stops ECS, or its scaling, outright.
    High,
    /// It leaves one service, or ecs-warden's own reaction, short.
    Medium,
}

/// What Security Hub's finding of a control is about, as ASFF types it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The IAM role the finding's resource is (`AwsIamRole`).
    IamRole,
    /// The account as a whole (`AwsAccount`): the resource is a region, not a thing.
    Account,
    /// The ECS service a scaling policy scales (`AwsEcsService`), and the policy itself.
    ScalingPolicy,
    /// An ECS task definition revision (`AwsEcsTaskDefinition`).
    TaskDefinition,
}

/// What an account must meet, as one Security Hub finding per resource: declared by the
/// domain, turned into findings by the plumbing, which knows a control only through this.
pub trait Control: Sync {
    /// Its name in finding and generator ids (which must never change: it keys findings).
    fn id(&self) -> &'static str;
    /// What the finding is about.
    fn subject(&self) -> Subject;
    /// How much a failure on `resource` matters.
    fn severity(&self, resource: &str) -> Severity;
    /// The finding's title for `resource` in `region`.
    fn title(&self, resource: &str, region: &str) -> String;
    /// What to do about a failure.
    fn recommendation(&self) -> &'static str;
}

// Controls are one per id: compared, ordered and hashed by it.
impl PartialEq for dyn Control {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl Eq for dyn Control {}

impl PartialOrd for dyn Control {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn Control {
    fn cmp(&self, other: &Self) -> Ordering {
        self.id().cmp(other.id())
    }
}

impl Hash for dyn Control {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl fmt::Debug for dyn Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}
