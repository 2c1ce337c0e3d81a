use std::time::Duration;

use super::{DurationError, IsoDuration};

fn parse(text: &str) -> Result<Duration, DurationError> {
    text.parse::<IsoDuration>().map(IsoDuration::as_duration)
}

#[test]
fn seconds_minutes_hours_and_days_are_parsed() {
    assert_eq!(parse("PT30S"), Ok(Duration::from_secs(30)));
    assert_eq!(parse("PT1M30S"), Ok(Duration::from_secs(90)));
    assert_eq!(parse("PT1H"), Ok(Duration::from_secs(3_600)));
    assert_eq!(parse("P1D"), Ok(Duration::from_secs(86_400)));
    assert_eq!(parse("P1DT2H3M4S"), Ok(Duration::from_secs(93_784)));
    assert_eq!(parse("PT0S"), Ok(Duration::ZERO));
}

#[test]
fn fractional_seconds_are_parsed_to_the_nanosecond() {
    assert_eq!(parse("PT0.5S"), Ok(Duration::from_millis(500)));
    assert_eq!(parse("PT1.000000001S"), Ok(Duration::new(1, 1)));
}

#[test]
fn lower_case_letters_are_accepted_like_java_does() {
    assert_eq!(parse("pt1m"), Ok(Duration::from_secs(60)));
}

#[test]
fn garbage_is_rejected_with_a_syntax_error() {
    for text in [
        "", "P", "PT", "P1DT", "30S", "PT30", "PTS", "PT-1S", "PT1S1M", "PT1M1M", "PT1.S", "PT 1S",
        "P1H", "PT1D", "PT1.5.5S",
    ] {
        assert_eq!(parse(text), Err(DurationError::Syntax), "{text}");
    }
}

#[test]
fn years_months_and_weeks_are_rejected() {
    for text in ["P1Y", "P1M", "P2W"] {
        assert_eq!(parse(text), Err(DurationError::Calendar), "{text}");
    }
}

#[test]
fn fractions_are_allowed_on_seconds_only() {
    assert_eq!(parse("PT1.5M"), Err(DurationError::Fraction));
    assert_eq!(parse("P1.5D"), Err(DurationError::Fraction));
    assert_eq!(parse("PT0.1234567891S"), Err(DurationError::Precision));
}

#[test]
fn huge_durations_overflow_cleanly() {
    assert_eq!(parse("P999999999999999999D"), Err(DurationError::Overflow));
    assert_eq!(
        parse("PT99999999999999999999S"),
        Err(DurationError::Overflow)
    );
}

#[test]
fn display_is_canonical_and_parses_back() {
    let cases = [
        (Duration::ZERO, "PT0S"),
        (Duration::from_secs(90), "PT1M30S"),
        (Duration::from_millis(500), "PT0.5S"),
        (Duration::from_secs(3_600), "PT1H"),
        (Duration::from_secs(86_400), "P1D"),
        (Duration::new(93_784, 250_000_000), "P1DT2H3M4.25S"),
        (Duration::from_secs(86_400 + 60), "P1DT1M"),
    ];
    for (duration, text) in cases {
        assert_eq!(IsoDuration::new(duration).to_string(), text);
        assert_eq!(parse(text), Ok(duration));
    }
}
