//! Evaluating a `LabelSelector` against an object's labels, as the API
//! server would (`matchLabels` and `matchExpressions` are ANDed).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

/// A selector that cannot match anything sensible: an unknown operator, or
/// values where the operator takes none (or none where it needs some).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);

/// A checked selector.
#[derive(Debug, Clone)]
pub struct Selector<'a>(&'a LabelSelector);

impl<'a> Selector<'a> {
    pub fn new(selector: &'a LabelSelector) -> Result<Self, SelectorError> {
        for (i, r) in selector.match_expressions.iter().flatten().enumerate() {
            let values = r.values.as_deref().unwrap_or_default();
            let ok = match r.operator.as_str() {
                "In" | "NotIn" => !values.is_empty(),
                "Exists" | "DoesNotExist" => values.is_empty(),
                other => {
                    return Err(SelectorError(format!(
                        "matchExpressions[{i}].operator: {other:?} is not In, NotIn, Exists or DoesNotExist"
                    )));
                }
            };
            if !ok {
                return Err(SelectorError(format!(
                    "matchExpressions[{i}].values: {} takes {}",
                    r.operator,
                    if values.is_empty() {
                        "values"
                    } else {
                        "no values"
                    }
                )));
            }
        }
        Ok(Self(selector))
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let by_label = self
            .0
            .match_labels
            .iter()
            .flatten()
            .all(|(k, v)| labels.get(k) == Some(v));
        by_label
            && self
                .0
                .match_expressions
                .iter()
                .flatten()
                .all(|r| requirement(r, labels))
    }
}

fn requirement(r: &LabelSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let value = labels.get(&r.key);
    let values = r.values.as_deref().unwrap_or_default();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.contains(v)),
        "NotIn" => value.is_none_or(|v| !values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: (!values.is_empty()).then(|| values.iter().map(|v| (*v).to_owned()).collect()),
        }
    }

    #[test]
    fn match_labels_and_expressions_are_all_required() {
        let selector = LabelSelector {
            match_labels: Some(labels(&[("tier", "public")])),
            match_expressions: Some(vec![
                expr("team", "In", &["a", "b"]),
                expr("deprecated", "DoesNotExist", &[]),
                expr("env", "NotIn", &["dev"]),
            ]),
        };
        let s = Selector::new(&selector).expect("valid");
        assert!(s.matches(&labels(&[("tier", "public"), ("team", "a")])));
        assert!(!s.matches(&labels(&[("tier", "public"), ("team", "c")])));
        assert!(!s.matches(&labels(&[("team", "a")])));
        assert!(!s.matches(&labels(&[
            ("tier", "public"),
            ("team", "a"),
            ("deprecated", "")
        ])));
        assert!(!s.matches(&labels(&[
            ("tier", "public"),
            ("team", "a"),
            ("env", "dev")
        ])));
    }

    #[test]
    fn an_empty_selector_matches_everything() {
        let selector = LabelSelector::default();
        assert!(
            Selector::new(&selector)
                .expect("valid")
                .matches(&BTreeMap::new())
        );
    }

    #[test]
    fn malformed_requirements_are_errors() {
        for bad in [
            expr("a", "Equals", &["x"]),
            expr("a", "In", &[]),
            expr("a", "Exists", &["x"]),
        ] {
            let selector = LabelSelector {
                match_expressions: Some(vec![bad]),
                ..Default::default()
            };
            assert!(Selector::new(&selector).is_err());
        }
    }
}
