//! ISO-8601 durations, the `PnDTnHnMn.nS` subset that Zilla (Java's
//! `Duration.parse`) accepts: `PT30S`, `PT1M30S`, `PT0.5S`, `P1D`, `P1DT12H`.
//!
//! Years, months and weeks are rejected because their length varies or is
//! easily misread; a fraction is allowed on seconds only.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A duration written in ISO-8601 form, e.g. `PT30S`, `PT1M30S`, `PT0.5S`, `P1D`.
///
/// Parsing accepts the `PnDTnHnMn.nS` subset (letters in either case); display
/// writes the shortest canonical form (`PT90S` displays as `PT1M30S`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoDuration(Duration);

impl IsoDuration {
    /// Wraps a duration.
    pub const fn new(duration: Duration) -> Self {
        Self(duration)
    }

    /// A whole number of seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// The duration.
    pub const fn as_duration(self) -> Duration {
        self.0
    }
}

impl From<Duration> for IsoDuration {
    fn from(duration: Duration) -> Self {
        Self(duration)
    }
}

impl From<IsoDuration> for Duration {
    fn from(duration: IsoDuration) -> Self {
        duration.0
    }
}

/// Why a string is not an ISO-8601 duration of the supported subset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not of the form `PnDTnHnMn.nS`.
    #[error("expected an ISO-8601 duration such as `PT30S`, `PT1M30S`, `PT0.5S` or `P1D`")]
    Syntax,
    /// Years, months or weeks.
    #[error("years, months and weeks are not supported; use days (`P1D`) or hours (`PT24H`)")]
    Calendar,
    /// A fraction on something other than seconds.
    #[error("only seconds may have a fraction, e.g. `PT0.5S`")]
    Fraction,
    /// More than nanosecond precision.
    #[error("at most 9 digits after the decimal point")]
    Precision,
    /// More seconds than fit in 64 bits.
    #[error("too large")]
    Overflow,
}

impl FromStr for IsoDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let upper = text.to_ascii_uppercase();
        let rest = upper.strip_prefix('P').ok_or(DurationError::Syntax)?;
        let (date, time) = match rest.split_once('T') {
            Some((date, time)) => (date, Some(time)),
            None => (rest, None),
        };
        // `P`, `PT` and `P1DT` have no component where one is required.
        if (date.is_empty() && time.is_none()) || time == Some("") {
            return Err(DurationError::Syntax);
        }
        let mut secs: u64 = 0;
        let mut nanos: u32 = 0;
        for component in components(date)? {
            match component.unit {
                'D' => secs = add(secs, component.whole, 86_400)?,
                'Y' | 'M' | 'W' => return Err(DurationError::Calendar),
                _ => return Err(DurationError::Syntax),
            }
            if component.nanos.is_some() {
                return Err(DurationError::Fraction);
            }
        }
        let mut last = 0;
        for component in components(time.unwrap_or(""))? {
            let (rank, unit_secs) = match component.unit {
                'H' => (1, 3_600),
                'M' => (2, 60),
                'S' => (3, 1),
                _ => return Err(DurationError::Syntax),
            };
            // Units in order, each at most once.
            if rank <= last {
                return Err(DurationError::Syntax);
            }
            last = rank;
            match component.nanos {
                Some(fraction) if component.unit == 'S' => nanos = fraction,
                Some(_) => return Err(DurationError::Fraction),
                None => {}
            }
            secs = add(secs, component.whole, unit_secs)?;
        }
        Ok(Self(Duration::new(secs, nanos)))
    }
}

fn add(total: u64, count: u64, unit_secs: u64) -> Result<u64, DurationError> {
    count
        .checked_mul(unit_secs)
        .and_then(|secs| total.checked_add(secs))
        .ok_or(DurationError::Overflow)
}

/// `12H`, `0.5S`: a number and its unit letter.
struct Component {
    whole: u64,
    nanos: Option<u32>,
    unit: char,
}

fn components(mut text: &str) -> Result<Vec<Component>, DurationError> {
    let mut out = Vec::new();
    while !text.is_empty() {
        let number_end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or(DurationError::Syntax)?;
        let (number, rest) = text.split_at(number_end);
        let mut chars = rest.chars();
        let unit = chars.next().ok_or(DurationError::Syntax)?;
        text = chars.as_str();
        let (whole, fraction) = match number.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (number, None),
        };
        let whole = digits(whole)?;
        let nanos = fraction.map(fraction_nanos).transpose()?;
        out.push(Component { whole, nanos, unit });
    }
    Ok(out)
}

fn digits(text: &str) -> Result<u64, DurationError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DurationError::Syntax);
    }
    text.parse().map_err(|_| DurationError::Overflow)
}

fn fraction_nanos(text: &str) -> Result<u32, DurationError> {
    if text.len() > 9 {
        return Err(DurationError::Precision);
    }
    // `digits` rejects an empty fraction (`PT1.S`) before padding hides it.
    digits(text)?;
    let nanos = digits(&format!("{text:0<9}"))?;
    // At most 9 digits, so below 10^9 and within u32.
    u32::try_from(nanos).map_err(|_| DurationError::Overflow)
}

impl fmt::Display for IsoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.0.as_secs();
        let nanos = self.0.subsec_nanos();
        let (days, rest) = (total / 86_400, total % 86_400);
        let (hours, minutes, secs) = (rest / 3_600, rest % 3_600 / 60, rest % 60);
        f.write_str("P")?;
        if days > 0 {
            write!(f, "{days}D")?;
            if rest == 0 && nanos == 0 {
                return Ok(());
            }
        }
        f.write_str("T")?;
        if hours > 0 {
            write!(f, "{hours}H")?;
        }
        if minutes > 0 {
            write!(f, "{minutes}M")?;
        }
        if secs > 0 || nanos > 0 || (days == 0 && hours == 0 && minutes == 0) {
            write!(f, "{secs}")?;
            if nanos > 0 {
                let fraction = format!("{nanos:09}");
                write!(f, ".{}", fraction.trim_end_matches('0'))?;
            }
            f.write_str("S")?;
        }
        Ok(())
    }
}

impl Serialize for IsoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl de::Visitor<'_> for Visitor {
            type Value = IsoDuration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO-8601 duration such as `PT30S`")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<IsoDuration, E> {
                text.parse()
                    .map_err(|error| E::custom(format_args!("invalid duration `{text}`: {error}")))
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

impl JsonSchema for IsoDuration {
    fn schema_name() -> Cow<'static, str> {
        "IsoDuration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An ISO-8601 duration of the form `PnDTnHnMn.nS`, e.g. `PT30S`, \
                `PT1M30S`, `PT0.5S`, `P1D`. Years, months and weeks are not supported; only \
                seconds may have a fraction (at most 9 digits).",
            "type": "string",
            "pattern": r"^[Pp](\d+[Dd])?([Tt](\d+[Hh])?(\d+[Mm])?(\d+(\.\d{1,9})?[Ss])?)?$",
            "examples": ["PT30S", "PT1M30S", "PT0.5S", "P1D"],
        })
    }
}

#[cfg(test)]
mod tests;
