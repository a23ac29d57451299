//! Configuration from the environment, read once at cold start.

use std::time::Duration;

use serde::Serialize;

use crate::aws::ids::is_region_name;

/// Whether the functions may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Create what is missing and repair drift additively.
    Enforce,
    /// Make no write call; report what would be done.
    Audit,
}

/// The settings every function shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `WARDEN_MODE`: `enforce` (default) or `audit`.
    pub mode: Mode,
    /// `WARDEN_VERDICT_TTL_SECONDS`: how long a warm container trusts a compliant verdict
    /// (default 60; 0 turns the memory off).
    pub verdict_ttl: Duration,
    /// `WARDEN_REGIONS`: the regions sweeps and inventories cover; unset, the function's own.
    pub regions: Vec<String>,
}

/// Default for `WARDEN_VERDICT_TTL_SECONDS`: long enough to absorb a burst of events from
/// one deployment, short enough that drift made outside CloudTrail is seen within a minute.
pub const DEFAULT_VERDICT_TTL: Duration = Duration::from_secs(60);

/// A setting whose value cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("bad setting {name}={value:?}: {problem}")]
pub struct SettingsError {
    /// The variable.
    pub name: &'static str,
    /// What it held.
    pub value: String,
    /// What is wrong.
    pub problem: &'static str,
}

impl Settings {
    /// Reads the settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mode = match lookup("WARDEN_MODE").as_deref().map(str::trim) {
            None | Some("") | Some("enforce") => Mode::Enforce,
            Some("audit") => Mode::Audit,
            Some(other) => {
                return Err(SettingsError {
                    name: "WARDEN_MODE",
                    value: other.into(),
                    problem: "expected enforce or audit",
                })
            }
        };
        let verdict_ttl = match lookup("WARDEN_VERDICT_TTL_SECONDS") {
            None => DEFAULT_VERDICT_TTL,
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| SettingsError {
                    name: "WARDEN_VERDICT_TTL_SECONDS",
                    value: raw,
                    problem: "expected a whole number of seconds",
                })?,
        };
        let own_region = lookup("AWS_REGION").unwrap_or_default();
        let mut regions: Vec<String> = lookup("WARDEN_REGIONS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(String::from)
            .collect();
        if let Some(bad) = regions.iter().find(|r| !is_region_name(r)) {
            return Err(SettingsError {
                name: "WARDEN_REGIONS",
                value: bad.clone(),
                problem: "not a region name such as eu-west-1",
            });
        }
        if regions.is_empty() && !own_region.is_empty() {
            regions.push(own_region);
        }
        Ok(Self {
            mode,
            verdict_ttl,
            regions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_to_enforce_in_the_own_region() {
        let s = settings(&[("AWS_REGION", "eu-west-1")]).unwrap();
        assert_eq!(s.mode, Mode::Enforce);
        assert_eq!(s.regions, ["eu-west-1"]);
        assert_eq!(s.verdict_ttl, DEFAULT_VERDICT_TTL);
    }

    #[test]
    fn reads_audit_regions_and_ttl() {
        let s = settings(&[
            ("WARDEN_MODE", "audit"),
            ("WARDEN_REGIONS", "us-east-1, eu-west-1,"),
            ("WARDEN_VERDICT_TTL_SECONDS", "0"),
        ])
        .unwrap();
        assert_eq!(s.mode, Mode::Audit);
        assert_eq!(s.regions, ["us-east-1", "eu-west-1"]);
        assert_eq!(s.verdict_ttl, Duration::ZERO);
    }

    #[test]
    fn rejects_what_it_cannot_use_by_name() {
        for (name, value) in [
            ("WARDEN_MODE", "Enforce!"),
            ("WARDEN_REGIONS", "eu-west-1,Europe"),
            ("WARDEN_VERDICT_TTL_SECONDS", "1m"),
        ] {
            let err = settings(&[(name, value)]).unwrap_err();
            assert_eq!(err.name, name);
        }
    }
}
