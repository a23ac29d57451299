//! The prerequisite every event-driven function shares: EventBridge receives "AWS API Call
//! via CloudTrail" events only from a region where a CloudTrail trail logs management
//! events (EventBridge User Guide, "Events from AWS services"; an organization trail
//! counts, Event history does not). Without one, no guard is ever triggered there and only
//! reconcile's sweep catches drift.
//!
//! [`check`] reads, for each region, the trails that apply there (DescribeTrails with shadow
//! trails), then each trail once, in its home region: whether it is logging and which
//! management events its selectors keep. The judgement, [`TrailReading::delivers`], is pure.
//! Reads only, whatever the mode.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_cloudtrail::types::{
    AdvancedEventSelector, AdvancedFieldSelector, EventSelector, ReadWriteType,
};

use crate::aws::{CallError, FailedCall, TrailClients};
use crate::domain::checks::Check;
use crate::invocation::report::{Finding, Status};

/// The check name of this module's findings.
pub const CHECK: Check = Check::Cloudtrail;

/// What a region's trails must deliver for the functions that listen there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// The region the events are delivered in.
    pub region: String,
    /// The `eventSource`s whose write management events trigger the functions.
    pub sources: BTreeSet<&'static str>,
    /// Whether one of them is a global service (IAM): a trail then must include global
    /// service events too.
    pub global: bool,
    /// The functions never triggered in the region without such a trail.
    pub functions: BTreeSet<&'static str>,
}

/// One trail as read: where it applies, whether it logs, and what its selectors keep.
#[derive(Debug, Clone)]
pub struct TrailReading {
    /// Whether it is logging now (StartLogging / StopLogging).
    pub logging: bool,
    /// Whether it logs the events of global services such as IAM.
    pub global_events: bool,
    /// Its basic event selectors.
    pub selectors: Vec<EventSelector>,
    /// Its advanced event selectors (a trail has one kind or the other).
    pub advanced: Vec<AdvancedEventSelector>,
}

/// Which management events of one source a trail keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kept {
    /// Calls that change something (what the guards are triggered by).
    pub writes: bool,
    /// Describe, Get and List calls (access-doctor's refused reads).
    pub reads: bool,
}

impl std::ops::BitOrAssign for Kept {
    fn bitor_assign(&mut self, other: Self) {
        self.writes |= other.writes;
        self.reads |= other.reads;
    }
}

impl TrailReading {
    /// The management events of `source` this trail's selectors keep. A trail without
    /// custom selectors keeps every management event (CloudTrail User Guide, "Logging
    /// management events"); AWS answers GetEventSelectors for it with the default basic
    /// selector, moto with two empty lists.
    pub fn keeps(&self, source: &str) -> Kept {
        if self.selectors.is_empty() && self.advanced.is_empty() {
            return Kept {
                writes: true,
                reads: true,
            };
        }
        let mut kept = Kept::default();
        for selector in &self.selectors {
            kept |= basic_keeps(selector, source);
        }
        for selector in &self.advanced {
            kept |= advanced_keeps(selector, source);
        }
        kept
    }

    /// Why this trail does not deliver the write events `need` requires in its region, or
    /// `None` when it does.
    pub fn falls_short(&self, need: &Need) -> Option<String> {
        if !self.logging {
            return Some(
                "is not logging, says cloudtrail:GetTrailStatus (StartLogging turns it on)".into(),
            );
        }
        if need.global && !self.global_events {
            return Some(
                "leaves out global service events, IAM's among them: \
                 cloudtrail:DescribeTrails says IncludeGlobalServiceEvents false"
                    .into(),
            );
        }
        let missing: Vec<&str> = need
            .sources
            .iter()
            .copied()
            .filter(|s| !self.keeps(s).writes)
            .collect();
        if missing.is_empty() {
            None
        } else {
            Some(format!(
                "keeps no write management events of {}, says cloudtrail:GetEventSelectors",
                missing.join(", ")
            ))
        }
    }

    /// Whether it keeps the read management events of every source `need` names.
    pub fn keeps_reads(&self, need: &Need) -> bool {
        need.sources.iter().all(|s| self.keeps(s).reads)
    }
}

/// A basic selector: `IncludeManagementEvents` (default true), `ReadWriteType` (default
/// All), and the sources it excludes.
fn basic_keeps(selector: &EventSelector, source: &str) -> Kept {
    let excluded = selector
        .exclude_management_event_sources()
        .iter()
        .any(|s| s == source);
    if selector.include_management_events() == Some(false) || excluded {
        return Kept::default();
    }
    match selector.read_write_type() {
        Some(ReadWriteType::ReadOnly) => Kept {
            writes: false,
            reads: true,
        },
        Some(ReadWriteType::WriteOnly) => Kept {
            writes: true,
            reads: false,
        },
        _ => Kept {
            writes: true,
            reads: true,
        },
    }
}

/// An advanced selector keeps an event when every one of its field selectors admits it
/// (CloudTrail API Reference, AdvancedFieldSelector). Management events are told apart by
/// `eventCategory`, `readOnly` and `eventSource`.
fn advanced_keeps(selector: &AdvancedEventSelector, source: &str) -> Kept {
    let admits = |field: &str, value: &str| {
        selector
            .field_selectors()
            .iter()
            .filter(|f| f.field() == field)
            .all(|f| field_admits(f, value))
    };
    let management = selector
        .field_selectors()
        .iter()
        .any(|f| f.field() == "eventCategory")
        && admits("eventCategory", "Management");
    // Any other field (resources.type, eventName, ...) belongs to data or network
    // activity selectors; one that names it is not a management selector.
    let only_management_fields = selector
        .field_selectors()
        .iter()
        .all(|f| matches!(f.field(), "eventCategory" | "readOnly" | "eventSource"));
    if !management || !only_management_fields || !admits("eventSource", source) {
        return Kept::default();
    }
    Kept {
        writes: admits("readOnly", "false"),
        reads: admits("readOnly", "true"),
    }
}

/// Whether `value` passes one field selector: it matches one value of each positive
/// operator used, and none of the negative ones.
fn field_admits(field: &AdvancedFieldSelector, value: &str) -> bool {
    let any_or_unused = |list: &[String], test: &dyn Fn(&str) -> bool| {
        list.is_empty() || list.iter().any(|v| test(v))
    };
    let none = |list: &[String], test: &dyn Fn(&str) -> bool| !list.iter().any(|v| test(v));
    any_or_unused(field.equals(), &|v| v == value)
        && any_or_unused(field.starts_with(), &|v| value.starts_with(v))
        && any_or_unused(field.ends_with(), &|v| value.ends_with(v))
        && none(field.not_equals(), &|v| v == value)
        && none(field.not_starts_with(), &|v| value.starts_with(v))
        && none(field.not_ends_with(), &|v| value.ends_with(v))
}

/// A trail DescribeTrails listed in a region.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    name: String,
    arn: String,
    home_region: String,
    global_events: bool,
}

/// One finding per need, `compliant` when a logging trail delivers the region's write
/// management events, `failed` (naming the functions that will never run) when none
/// does or the trails cannot be read. Each trail is read once however many regions it
/// covers.
pub async fn check(clients: &TrailClients, needs: &[Need]) -> Vec<Finding> {
    let mut readings: HashMap<String, Result<TrailReading, FailedCall>> = HashMap::new();
    let mut findings = Vec::new();
    for need in needs {
        let listed = match list(clients, &need.region).await {
            Ok(listed) => listed,
            Err(why) => {
                findings.push(unknown(need, &why));
                continue;
            }
        };
        let mut reasons = Vec::new();
        let mut delivering = Vec::new();
        for trail in &listed {
            if !readings.contains_key(&trail.arn) {
                let reading = read(clients, trail).await;
                readings.insert(trail.arn.clone(), reading);
            }
        }
        for trail in &listed {
            match &readings[&trail.arn] {
                Ok(reading) => match reading.falls_short(need) {
                    None => delivering.push((trail, reading)),
                    Some(why) => reasons.push(format!("trail {} {why}", trail.name)),
                },
                Err(why) => reasons.push(format!("trail {} could not be read: {why}", trail.name)),
            }
        }
        findings.push(match delivering.first() {
            Some((trail, _)) => {
                let reads = delivering.iter().any(|(_, r)| r.keeps_reads(need));
                delivered(need, trail, reads)
            }
            None => {
                if listed.is_empty() {
                    reasons.push(format!(
                        "cloudtrail:DescribeTrails lists no trail that applies to {}",
                        need.region
                    ));
                }
                missing(need, &reasons)
            }
        });
    }
    findings
}

/// The trails that apply to `region`: multi-region trails (organization trails among
/// them, seen from a member account as shadow trails) and those whose home it is.
async fn list(clients: &TrailClients, region: &str) -> Result<Vec<Listed>, FailedCall> {
    let out = clients
        .client(region)
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(|e| CallError::from_sdk(&e).on("cloudtrail:DescribeTrails", region))?;
    Ok(out
        .trail_list()
        .iter()
        .filter_map(|t| {
            let multi_region = t.is_multi_region_trail().unwrap_or(false);
            let listed = Listed {
                name: t.name().unwrap_or_default().to_owned(),
                arn: t.trail_arn()?.to_owned(),
                home_region: t.home_region().unwrap_or(region).to_owned(),
                // CreateTrail's default is true.
                global_events: t.include_global_service_events().unwrap_or(true),
            };
            (multi_region || listed.home_region == region).then_some(listed)
        })
        .collect())
}

/// Reads a trail's status and selectors in its home region, by ARN: the name alone does
/// not find a shadow trail, nor an organization trail from a member account (CloudTrail
/// API Reference, GetTrailStatus and GetEventSelectors).
async fn read(clients: &TrailClients, trail: &Listed) -> Result<TrailReading, FailedCall> {
    let client = clients.client(&trail.home_region);
    let status = client
        .get_trail_status()
        .name(&trail.arn)
        .send()
        .await
        .map_err(|e| CallError::from_sdk(&e).on("cloudtrail:GetTrailStatus", &trail.arn))?;
    let selectors = client
        .get_event_selectors()
        .trail_name(&trail.arn)
        .send()
        .await
        .map_err(|e| CallError::from_sdk(&e).on("cloudtrail:GetEventSelectors", &trail.arn))?;
    Ok(TrailReading {
        logging: status.is_logging().unwrap_or(false),
        global_events: trail.global_events,
        selectors: selectors.event_selectors().to_vec(),
        advanced: selectors.advanced_event_selectors().to_vec(),
    })
}

fn list_of(functions: &BTreeSet<&'static str>) -> String {
    functions.iter().copied().collect::<Vec<_>>().join(", ")
}

fn delivered(need: &Need, trail: &Listed, reads: bool) -> Finding {
    let mut detail = format!(
        "trail {} ({}) logs the write management events of {} in {}: {} are triggered there",
        trail.name,
        trail.arn,
        need.sources.iter().copied().collect::<Vec<_>>().join(", "),
        need.region,
        list_of(&need.functions),
    );
    if !reads {
        detail.push_str(
            "; no trail keeps read events, so access-doctor never hears of a refused \
             Describe, Get or List call here",
        );
    }
    Finding::new(&need.region, CHECK, Status::Compliant, detail)
}

fn missing(need: &Need, reasons: &[String]) -> Finding {
    Finding::new(
        &need.region,
        CHECK,
        Status::Failed,
        format!(
            "no trail logs write management events in {region}, so EventBridge receives no \
             API-call events there and {functions} will never be triggered; until one does, \
             only this sweep catches what they would. {reasons}. Create a trail that logs \
             management events (a multi-region or an organization trail counts) and start \
             its logging",
            region = need.region,
            reasons = reasons.join("; "),
            functions = list_of(&need.functions),
        ),
    )
}

fn unknown(need: &Need, why: &FailedCall) -> Finding {
    Finding::new(
        &need.region,
        CHECK,
        Status::Failed,
        format!(
            "could not tell whether a trail delivers the events {} are triggered by in {}: {why}",
            list_of(&need.functions),
            need.region,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(sources: &[&'static str], global: bool) -> Need {
        Need {
            region: "us-east-1".into(),
            sources: sources.iter().copied().collect(),
            global,
            functions: ["role-drift-guard"].into_iter().collect(),
        }
    }

    fn trail(selectors: Vec<EventSelector>, advanced: Vec<AdvancedEventSelector>) -> TrailReading {
        TrailReading {
            logging: true,
            global_events: true,
            selectors,
            advanced,
        }
    }

    fn basic(rw: ReadWriteType, management: bool, excluded: &[&str]) -> EventSelector {
        let mut b = EventSelector::builder()
            .read_write_type(rw)
            .include_management_events(management);
        for s in excluded {
            b = b.exclude_management_event_sources(*s);
        }
        b.build()
    }

    fn field(name: &str, op: &str, values: &[&str]) -> AdvancedFieldSelector {
        let mut b = AdvancedFieldSelector::builder().field(name);
        for v in values {
            b = match op {
                "Equals" => b.equals(*v),
                "NotEquals" => b.not_equals(*v),
                "StartsWith" => b.starts_with(*v),
                _ => b.not_starts_with(*v),
            };
        }
        b.build().unwrap()
    }

    fn advanced(fields: Vec<AdvancedFieldSelector>) -> AdvancedEventSelector {
        AdvancedEventSelector::builder()
            .set_field_selectors(Some(fields))
            .build()
            .unwrap()
    }

    const ECS: &str = "ecs.amazonaws.com";

    #[test]
    fn no_custom_selectors_keep_every_management_event() {
        let kept = trail(vec![], vec![]).keeps(ECS);
        assert_eq!(
            kept,
            Kept {
                writes: true,
                reads: true
            }
        );
    }

    #[test]
    fn basic_selectors_follow_read_write_type_and_exclusions() {
        let cases = [
            (basic(ReadWriteType::All, true, &[]), true, true),
            (basic(ReadWriteType::WriteOnly, true, &[]), true, false),
            (basic(ReadWriteType::ReadOnly, true, &[]), false, true),
            (basic(ReadWriteType::All, false, &[]), false, false),
            (
                basic(ReadWriteType::All, true, &["kms.amazonaws.com"]),
                true,
                true,
            ),
            (basic(ReadWriteType::All, true, &[ECS]), false, false),
        ];
        for (selector, writes, reads) in cases {
            let kept = trail(vec![selector.clone()], vec![]).keeps(ECS);
            assert_eq!(kept, Kept { writes, reads }, "{selector:?}");
        }
    }

    #[test]
    fn two_basic_selectors_add_up() {
        let t = trail(
            vec![
                basic(ReadWriteType::ReadOnly, true, &[]),
                basic(ReadWriteType::WriteOnly, true, &[]),
            ],
            vec![],
        );
        assert_eq!(
            t.keeps(ECS),
            Kept {
                writes: true,
                reads: true
            }
        );
    }

    #[test]
    fn advanced_selectors_are_read_field_by_field() {
        let management = || field("eventCategory", "Equals", &["Management"]);
        let cases = [
            // The console's "Management events: write" template.
            (
                vec![management(), field("readOnly", "Equals", &["false"])],
                true,
                false,
            ),
            (vec![management()], true, true),
            (
                vec![management(), field("readOnly", "Equals", &["true"])],
                false,
                true,
            ),
            (
                vec![management(), field("eventSource", "NotEquals", &[ECS])],
                false,
                false,
            ),
            (
                vec![
                    management(),
                    field("eventSource", "NotEquals", &["kms.amazonaws.com"]),
                ],
                true,
                true,
            ),
            // A data events selector keeps no management event.
            (
                vec![
                    field("eventCategory", "Equals", &["Data"]),
                    field("resources.type", "Equals", &["AWS::S3::Object"]),
                ],
                false,
                false,
            ),
            (
                vec![
                    management(),
                    field("eventSource", "StartsWith", &["ecs."]),
                    field("readOnly", "NotStartsWith", &["t"]),
                ],
                true,
                false,
            ),
        ];
        for (fields, writes, reads) in cases {
            let t = trail(vec![], vec![advanced(fields.clone())]);
            assert_eq!(t.keeps(ECS), Kept { writes, reads }, "{fields:?}");
        }
    }

    #[test]
    fn a_trail_falls_short_when_stopped_without_global_events_or_without_writes() {
        let sources = [ECS, "autoscaling.amazonaws.com"];
        assert_eq!(
            trail(vec![], vec![]).falls_short(&need(&sources, false)),
            None
        );

        let mut stopped = trail(vec![], vec![]);
        stopped.logging = false;
        assert!(stopped
            .falls_short(&need(&sources, false))
            .unwrap()
            .contains("not logging"));

        let mut regional = trail(vec![], vec![]);
        regional.global_events = false;
        assert_eq!(regional.falls_short(&need(&sources, false)), None);
        assert!(regional
            .falls_short(&need(&["iam.amazonaws.com"], true))
            .unwrap()
            .contains("global service events"));

        let reads_only = trail(vec![basic(ReadWriteType::ReadOnly, true, &[])], vec![]);
        let why = reads_only.falls_short(&need(&sources, false)).unwrap();
        assert!(
            why.contains("autoscaling.amazonaws.com, ecs.amazonaws.com"),
            "{why}"
        );
    }
}
