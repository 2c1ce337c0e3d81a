//! What a reconcile reports, as the API server is to take it: the status of a
//! gateway and of a toolkit (standard conditions with `observedGeneration`),
//! and the Event that marks a change of what a gateway programs. Pure: the
//! reconcilers write them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::runtime::events::{Event, EventType};
use mcpgw_crds::{McpGateway, McpToolkit, condition_type};
use serde_json::{Value, json};

use crate::render::{Rendered, Verdict};
use crate::resources;

/// The status of `gateway` (a server-side apply patch of its `/status`).
pub fn gateway(gateway: &McpGateway, rendered: &Rendered, ready: &Verdict, serving: i32) -> Value {
    let generation = gateway.metadata.generation;
    let conditions = conditions(
        gateway_conditions(gateway),
        generation,
        &[
            (condition_type::ACCEPTED, &rendered.accepted),
            (condition_type::PROGRAMMED, &rendered.programmed),
            (condition_type::READY, ready),
            (condition_type::RESOLVED_REFS, &rendered.resolved_refs),
        ],
    );
    json!({
        "apiVersion": "mcpgw.dev/v1alpha1",
        "kind": "McpGateway",
        "status": {
            "observedGeneration": generation,
            "conditions": conditions,
            "toolkits": rendered.served,
            "endpoint": resources::endpoint(gateway),
            "readyReplicas": serving,
        }
    })
}

/// The status of `toolkit`: `Accepted`, and `ResolvedRefs` when they were checked.
pub fn toolkit(toolkit: &McpToolkit, accepted: &Verdict, refs: Option<&Verdict>) -> Value {
    let generation = toolkit.metadata.generation;
    let existing = toolkit.status.as_ref().map(|s| s.conditions.as_slice());
    let mut verdicts = vec![(condition_type::ACCEPTED, accepted)];
    verdicts.extend(refs.map(|refs| (condition_type::RESOLVED_REFS, refs)));
    let conditions = conditions(existing.unwrap_or_default(), generation, &verdicts);
    json!({
        "apiVersion": "mcpgw.dev/v1alpha1",
        "kind": "McpToolkit",
        "status": {"observedGeneration": generation, "conditions": conditions},
    })
}

/// The Event for `programmed`, when it is not what the gateway's status already says:
/// `Normal Programmed`, or a `Warning` with the reason it is not.
pub fn programmed_event(gateway: &McpGateway, programmed: &Verdict) -> Option<Event> {
    let unchanged = gateway_conditions(gateway)
        .iter()
        .find(|c| c.type_ == condition_type::PROGRAMMED)
        .is_some_and(|c| {
            c.message == programmed.message && c.status == status_word(programmed.status)
        });
    if unchanged {
        return None;
    }
    let (type_, reason) = if programmed.status {
        (EventType::Normal, "Programmed")
    } else {
        (EventType::Warning, programmed.reason)
    };
    Some(Event {
        type_,
        reason: reason.to_owned(),
        note: Some(programmed.message.chars().take(1000).collect()),
        action: "Reconcile".to_owned(),
        secondary: None,
    })
}

/// The conditions the gateway's status holds now.
fn gateway_conditions(gateway: &McpGateway) -> &[Condition] {
    let existing = gateway.status.as_ref().map(|s| s.conditions.as_slice());
    existing.unwrap_or_default()
}

/// The conditions for `verdicts` (type, verdict), in that order.
fn conditions(
    existing: &[Condition],
    generation: Option<i64>,
    verdicts: &[(&str, &Verdict)],
) -> Vec<Condition> {
    verdicts
        .iter()
        .map(|(type_, verdict)| condition(existing, type_, verdict, generation))
        .collect()
}

/// A condition, keeping `lastTransitionTime` when the status did not change.
fn condition(
    existing: &[Condition],
    type_: &str,
    verdict: &Verdict,
    generation: Option<i64>,
) -> Condition {
    let status = status_word(verdict.status);
    let since = existing
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| Time(k8s_openapi::jiff::Timestamp::now()));
    Condition {
        type_: type_.to_owned(),
        status,
        reason: verdict.reason.to_owned(),
        message: verdict.message.clone(),
        last_transition_time: since,
        observed_generation: generation,
    }
}

fn status_word(status: bool) -> String {
    if status { "True" } else { "False" }.to_owned()
}
