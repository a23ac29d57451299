//! The shape of the alarm ecs-warden creates for a step-scaling policy: the deployment's
//! defaults (`WARDEN_ALARM_*`, `WARDEN_SCALE_*_THRESHOLD`), which a service's
//! `ecs-warden:` tags override one by one.

use aws_sdk_cloudwatch::types::Statistic;

use super::OVERRIDE_TAG_PREFIX;
use crate::domain::catalog::{CREATED_BY_TAG, IGNORE_TAG};
use crate::invocation::settings::SettingsError;

/// One setting of a created alarm that a deployment default and a service tag can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Knob {
    Namespace,
    Metric,
    Statistic,
    Period,
    EvaluationPeriods,
    ScaleOutThreshold,
    ScaleInThreshold,
}

/// Every knob with its environment variable (set by the template) and its ECS service tag.
const KNOBS: [(Knob, &str, &str); 7] = [
    (
        Knob::Namespace,
        "WARDEN_ALARM_NAMESPACE",
        "ecs-warden:alarm-namespace",
    ),
    (
        Knob::Metric,
        "WARDEN_ALARM_METRIC",
        "ecs-warden:alarm-metric",
    ),
    (
        Knob::Statistic,
        "WARDEN_ALARM_STATISTIC",
        "ecs-warden:alarm-statistic",
    ),
    (
        Knob::Period,
        "WARDEN_ALARM_PERIOD_SECONDS",
        "ecs-warden:alarm-period",
    ),
    (
        Knob::EvaluationPeriods,
        "WARDEN_ALARM_EVALUATION_PERIODS",
        "ecs-warden:alarm-evaluation-periods",
    ),
    (
        Knob::ScaleOutThreshold,
        "WARDEN_SCALE_OUT_THRESHOLD",
        "ecs-warden:scale-out-threshold",
    ),
    (
        Knob::ScaleInThreshold,
        "WARDEN_SCALE_IN_THRESHOLD",
        "ecs-warden:scale-in-threshold",
    ),
];

/// The ECS service tags that override the alarm defaults, in documentation order.
pub fn override_tags() -> impl Iterator<Item = &'static str> {
    KNOBS.iter().map(|(_, _, tag)| *tag)
}

/// The shape of the alarm created for a step-scaling policy.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSettings {
    /// Metric namespace, `AWS/ECS` by default.
    pub namespace: String,
    /// Metric name, `CPUUtilization` by default.
    pub metric: String,
    /// Statistic, `Average` by default.
    pub statistic: Statistic,
    /// Period in seconds, 60 by default.
    pub period: i32,
    /// Periods that must breach before the alarm fires, 3 by default.
    pub evaluation_periods: i32,
    /// Threshold of alarms for policies that add capacity, 75 by default.
    pub scale_out_threshold: f64,
    /// Threshold of alarms for policies that remove capacity, 25 by default.
    pub scale_in_threshold: f64,
}

impl Default for AlarmSettings {
    fn default() -> Self {
        Self {
            namespace: "AWS/ECS".into(),
            metric: "CPUUtilization".into(),
            statistic: Statistic::Average,
            period: 60,
            evaluation_periods: 3,
            scale_out_threshold: 75.0,
            scale_in_threshold: 25.0,
        }
    }
}

/// CloudWatch's longest evaluation window: period × evaluation periods.
const MAX_WINDOW_SECONDS: i64 = 86_400;

impl AlarmSettings {
    /// Reads the deployment defaults (`WARDEN_ALARM_*`, `WARDEN_SCALE_*_THRESHOLD`) through
    /// `lookup`, the built-in defaults where unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut settings = Self::default();
        for (knob, var, _) in KNOBS {
            let Some(raw) = lookup(var).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            settings.set(knob, &raw).map_err(|problem| SettingsError {
                name: var,
                value: raw.clone(),
                problem,
            })?;
        }
        settings.check_window().map_err(|problem| SettingsError {
            name: "WARDEN_ALARM_EVALUATION_PERIODS",
            value: settings.evaluation_periods.to_string(),
            problem,
        })?;
        Ok(settings)
    }

    /// These settings with a service's `ecs-warden:` tags applied. On success, also the
    /// tags that changed something; on failure, every bad tag and why.
    pub fn with_overrides<'a>(
        &self,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(Self, Vec<String>), Vec<String>> {
        let mut settings = self.clone();
        let mut applied = Vec::new();
        let mut problems = Vec::new();
        for (key, value) in tags {
            if !key.starts_with(OVERRIDE_TAG_PREFIX) {
                continue;
            }
            match KNOBS.iter().find(|(_, _, tag)| *tag == key) {
                Some((knob, _, _)) => match settings.set(*knob, value) {
                    Ok(()) => applied.push(format!("{key}={value}")),
                    Err(problem) => problems.push(format!("tag {key}={value:?}: {problem}")),
                },
                // ecs-warden's own tags that are not alarm settings.
                None if key == IGNORE_TAG || key == CREATED_BY_TAG => {}
                // A tag of a newer or older release, or a typo: said, never a failure.
                None => applied.push(format!(
                    "{key}={value:?} ignored: not a tag ecs-warden knows (its alarm tags are {})",
                    override_tags().collect::<Vec<_>>().join(", ")
                )),
            }
        }
        if let Err(problem) = settings.check_window() {
            problems.push(format!(
                "period {}s × {} evaluation periods: {problem}",
                settings.period, settings.evaluation_periods
            ));
        }
        if problems.is_empty() {
            Ok((settings, applied))
        } else {
            Err(problems)
        }
    }

    fn set(&mut self, knob: Knob, raw: &str) -> Result<(), &'static str> {
        let raw = raw.trim();
        match knob {
            Knob::Namespace | Knob::Metric => {
                if raw.is_empty() || raw.len() > 255 {
                    return Err("expected 1 to 255 characters");
                }
                if knob == Knob::Namespace {
                    raw.clone_into(&mut self.namespace);
                } else {
                    raw.clone_into(&mut self.metric);
                }
            }
            Knob::Statistic => {
                self.statistic = match raw {
                    "Average" => Statistic::Average,
                    "Sum" => Statistic::Sum,
                    "Minimum" => Statistic::Minimum,
                    "Maximum" => Statistic::Maximum,
                    "SampleCount" => Statistic::SampleCount,
                    _ => return Err("expected Average, Sum, Minimum, Maximum or SampleCount"),
                }
            }
            Knob::Period => {
                let period: i32 = raw
                    .parse()
                    .map_err(|_| "expected a whole number of seconds")?;
                if !(matches!(period, 10 | 20 | 30) || (period >= 60 && period % 60 == 0)) {
                    return Err("expected 10, 20, 30 or a multiple of 60 seconds");
                }
                self.period = period;
            }
            Knob::EvaluationPeriods => {
                let periods: i32 = raw.parse().map_err(|_| "expected a whole number")?;
                if periods < 1 {
                    return Err("expected at least 1");
                }
                self.evaluation_periods = periods;
            }
            Knob::ScaleOutThreshold | Knob::ScaleInThreshold => {
                let threshold: f64 = raw
                    .parse()
                    .ok()
                    .filter(|t: &f64| t.is_finite())
                    .ok_or("expected a number")?;
                if knob == Knob::ScaleOutThreshold {
                    self.scale_out_threshold = threshold;
                } else {
                    self.scale_in_threshold = threshold;
                }
            }
        }
        Ok(())
    }

    fn check_window(&self) -> Result<(), &'static str> {
        if i64::from(self.period) * i64::from(self.evaluation_periods) > MAX_WINDOW_SECONDS {
            Err("CloudWatch evaluates at most one day (86400 s) of periods")
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_override_defaults_and_bad_tags_are_named() {
        let defaults = AlarmSettings::default();
        let (s, applied) = defaults
            .with_overrides([
                ("ecs-warden:scale-out-threshold", "60"),
                ("ecs-warden:alarm-metric", "MemoryUtilization"),
                ("team", "payments"),
            ])
            .unwrap();
        assert_eq!(s.scale_out_threshold, 60.0);
        assert_eq!(s.metric, "MemoryUtilization");
        assert_eq!(s.scale_in_threshold, 25.0);
        assert_eq!(applied.len(), 2);
        let problems = defaults
            .with_overrides([
                ("ecs-warden:scale-out-threshold", "high"),
                ("ecs-warden:alarm-period", "45"),
                ("ecs-warden:alarm-treshold", "1"),
            ])
            .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("ecs-warden:scale-out-threshold=\"high\""));
        // A tag ecs-warden does not know is said, and never fails the alarm.
        let (s, noted) = defaults
            .with_overrides([
                ("ecs-warden:alarm-treshold", "1"),
                ("ecs-warden:scale-in-threshold", "10"),
                ("ecs-warden:created-by", "ecs-warden"),
            ])
            .unwrap();
        assert_eq!(s.scale_in_threshold, 10.0);
        assert_eq!(noted.len(), 2, "{noted:?}");
        assert!(noted[0]
            .contains("ecs-warden:alarm-treshold=\"1\" ignored: not a tag ecs-warden knows"));
        let window = defaults
            .with_overrides([
                ("ecs-warden:alarm-period", "3600"),
                ("ecs-warden:alarm-evaluation-periods", "48"),
            ])
            .unwrap_err();
        assert!(window[0].contains("one day"), "{window:?}");
    }

    #[test]
    fn environment_defaults_are_read_and_checked() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            AlarmSettings::from_lookup(move |n| {
                vars.iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            })
        };
        assert_eq!(env(&[]).unwrap(), AlarmSettings::default());
        let s = env(&[
            ("WARDEN_SCALE_IN_THRESHOLD", "10"),
            ("WARDEN_ALARM_STATISTIC", "Maximum"),
        ])
        .unwrap();
        assert_eq!(
            (s.scale_in_threshold, s.statistic),
            (10.0, Statistic::Maximum)
        );
        let err = env(&[("WARDEN_ALARM_PERIOD_SECONDS", "0")]).unwrap_err();
        assert_eq!(err.name, "WARDEN_ALARM_PERIOD_SECONDS");
    }
}
