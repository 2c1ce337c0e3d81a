//! A small parser of the OpenMetrics text the gateway serves at `/metrics`,
//! so that tests read values by name and labels instead of grepping lines.
//! Strict where a scraper would be: every sample belongs to a family
//! declared by `# TYPE`, label values are quoted and escaped, and the text
//! ends with `# EOF`.

use std::collections::{BTreeMap, HashMap};

/// One sample line: `name{label="value",…} value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition.
#[derive(Debug)]
pub struct Exposition {
    /// Family name → type (`counter`, `gauge`, `histogram`, …).
    pub types: HashMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// Parse `text`; panics (naming the line) on anything malformed.
    pub fn parse(text: &str) -> Self {
        let mut types = HashMap::new();
        let mut samples = Vec::new();
        let mut ended = false;
        for (n, line) in text.lines().enumerate() {
            assert!(!ended, "line {}: text after # EOF", n + 1);
            if line == "# EOF" {
                ended = true;
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest
                    .split_once(' ')
                    .unwrap_or_else(|| panic!("line {}: bad TYPE: {line}", n + 1));
                types.insert(name.to_owned(), kind.to_owned());
                continue;
            }
            if line.starts_with('#') {
                continue; // HELP, UNIT
            }
            let sample =
                parse_sample(line).unwrap_or_else(|e| panic!("line {}: {e}: {line}", n + 1));
            assert!(
                family_of(&sample.name, &types).is_some(),
                "line {}: sample of no declared family: {line}",
                n + 1
            );
            samples.push(sample);
        }
        assert!(ended, "the exposition ends with # EOF");
        Self { types, samples }
    }

    /// The value of the sample `name` whose labels are exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut found = self
            .samples
            .iter()
            .filter(|s| s.name == name && s.labels == wanted);
        let first = found.next()?;
        assert!(found.next().is_none(), "{name} {labels:?} appears twice");
        Some(first.value)
    }

    /// [`Self::value`], 0 when the series does not exist (a counter not yet counted).
    pub fn count(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.value(name, labels).map_or(0, |v| v as u64)
    }

    /// Every sample of `name` whose labels include `labels`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }

    /// The sum of the samples of `name` whose labels include `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|s| s.value).sum()
    }
}

/// The family a sample belongs to: its own name, or the name without a
/// suffix its family's type writes (`_total`, `_bucket`, `_count`, …).
fn family_of<'a>(sample: &'a str, types: &HashMap<String, String>) -> Option<&'a str> {
    if types.contains_key(sample) {
        return Some(sample);
    }
    ["_total", "_created", "_bucket", "_count", "_sum", "_info"]
        .iter()
        .find_map(|suffix| sample.strip_suffix(suffix))
        .filter(|family| types.contains_key(*family))
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    if name.is_empty() || !name.chars().all(valid) {
        return Err(format!("bad metric name {name:?}"));
    }
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            if let Some(after) = inner.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = inner.split_once("=\"").ok_or("label without =\"")?;
            if key.is_empty() || !key.chars().all(valid) {
                return Err(format!("bad label name {key:?}"));
            }
            let (value, after) = label_value(after)?;
            if labels.insert(key.to_owned(), value).is_some() {
                return Err(format!("label {key} twice"));
            }
            inner = match after.strip_prefix(',') {
                Some(next) => next,
                None if after.starts_with('}') => after,
                None => return Err("expected , or } after a label".into()),
            };
        }
    }
    let value = rest
        .strip_prefix(' ')
        .ok_or("no space before the value")?
        .split(' ')
        .next()
        .ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse::<f64>()
            .map_err(|e| format!("bad value {v:?}: {e}"))?,
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// A quoted label value (after its opening quote), unescaped, and what follows
/// its closing quote.
fn label_value(text: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[i + 1..])),
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, '"')) => value.push('"'),
                Some((_, '\\')) => value.push('\\'),
                _ => return Err("bad escape".into()),
            },
            c => value.push(c),
        }
    }
    Err("unterminated label value".into())
}
