//! What each caller may see and use of a toolkit: the toolkit's routes
//! (`ToolkitPlan::access`), each with its allow-lists and the roles it needs.
//!
//! A caller sees a toolkit when one of its routes admits them, and an item
//! when an admitting route allows it. An item that only a route needing more
//! roles allows, in a toolkit the caller sees, is a step-up (403
//! `insufficient_scope`, or 401 for an anonymous caller); anything else the
//! caller may not use does not exist for them.

use mcpgw_config::Allow;

use super::Toolkit;
use crate::mcp::method::Target;
use crate::principal::Principal;

/// Whether a caller may use one item.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Decision {
    Allowed,
    /// Unknown to this caller.
    Hidden,
    /// Allowed to callers holding these roles (the first such route's).
    NeedsRoles(Vec<String>),
}

impl Toolkit {
    /// Whether any route of the toolkit admits `principal`.
    pub(super) fn visible_to(&self, principal: &Principal) -> bool {
        self.access.iter().any(|rule| principal.admitted_by(rule))
    }

    /// Whether `principal` may see the item `name` (of `target`'s kind) in a list.
    pub(super) fn lists(&self, principal: &Principal, target: Target, name: &str) -> bool {
        self.access
            .iter()
            .any(|rule| principal.admitted_by(rule) && allows(&rule.allow, target, name))
    }

    /// Whether `principal` may use the item `name` (the toolkit's own name for it).
    pub(super) fn decide(&self, principal: &Principal, target: Target, name: &str) -> Decision {
        if !self.visible_to(principal) {
            return Decision::Hidden;
        }
        let mut needs = None;
        for rule in &self.access {
            if !allows(&rule.allow, target, name) {
                continue;
            }
            if principal.admitted_by(rule) {
                return Decision::Allowed;
            }
            if needs.is_none() {
                needs = rule.roles.clone();
            }
        }
        needs.map_or(Decision::Hidden, Decision::NeedsRoles)
    }

    /// Whether `principal` may use everything the toolkit offers, so that its
    /// answers need no filtering.
    pub(super) fn unrestricted_for(&self, principal: &Principal) -> bool {
        self.access
            .iter()
            .any(|rule| principal.admitted_by(rule) && rule.allow.is_unrestricted())
    }
}

/// Whether a route's allow-lists let `name` (of `target`'s kind) through.
fn allows(allow: &Allow, target: Target, name: &str) -> bool {
    match target {
        Target::Tool => allow.tool(name),
        Target::Prompt => allow.prompt(name),
        Target::Resource => allow.resource(name),
        Target::Task => true,
    }
}

/// What a principal may see of a proxy, as a key for anything that caches
/// lists: two principals with equal views get the same lists from the same
/// upstream answers, and a principal who may see less never shares a key with
/// one who may see more.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct View {
    /// Per toolkit, in route order: which of its routes admit the principal.
    admitted: Vec<Vec<bool>>,
    /// The identity, when a visible toolkit gets the caller's token: its
    /// answers may differ for each caller.
    identity: Option<String>,
}

impl super::Proxy {
    /// The [`View`] of `principal`.
    pub fn view(&self, principal: &Principal) -> View {
        let admitted = self
            .toolkits
            .iter()
            .map(|t| t.access.iter().map(|r| principal.admitted_by(r)).collect())
            .collect();
        let personal = self
            .toolkits
            .iter()
            .any(|t| t.visible_to(principal) && t.client.forwards_caller_token());
        View {
            admitted,
            identity: personal
                .then(|| principal.identity().map(str::to_owned))
                .flatten(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use mcpgw_config::{AccessRule, NamePattern};

    use super::*;
    use crate::guard::{Caller, Token};

    fn toolkit(access: Vec<AccessRule>) -> Toolkit {
        Toolkit::for_tests("github", access)
    }

    fn caller(roles: &[&str]) -> Principal {
        Principal::Caller(Arc::new(Caller {
            identity: "alice".into(),
            roles: roles
                .iter()
                .map(|r| (*r).to_owned())
                .collect::<BTreeSet<_>>(),
            token: Token::new("t"),
        }))
    }

    fn tools(patterns: &[&str], roles: Option<&[&str]>) -> AccessRule {
        AccessRule {
            allow: Allow {
                tools: Some(patterns.iter().map(|p| NamePattern::new(p)).collect()),
                ..Allow::default()
            },
            roles: roles.map(|r| r.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    #[test]
    fn views_differ_exactly_when_what_callers_may_see_differs() {
        let plan = mcpgw_config::ProxyPlan {
            prefix: mcpgw_config::PrefixMode::Always,
            toolkits: vec![],
            cache: None,
        };
        let metrics = std::sync::Arc::new(crate::metrics::Metrics::default());
        let http = crate::south::HttpClient::new();
        let mut proxy = super::super::Proxy::new("t", &plan, &http, metrics, None).expect("proxy");
        proxy.toolkits = vec![Arc::new(toolkit(vec![
            tools(&["get_*"], None),
            tools(&["create_*"], Some(&["github:write"])),
        ]))];
        let (reader, other_reader) = (caller(&["github:read"]), caller(&["x"]));
        let writer = caller(&["github:write"]);
        assert_eq!(proxy.view(&reader), proxy.view(&other_reader));
        assert_eq!(proxy.view(&reader), proxy.view(&Principal::Anonymous));
        assert_ne!(proxy.view(&reader), proxy.view(&writer));
    }

    #[test]
    fn a_guarded_toolkit_does_not_exist_for_callers_without_its_roles() {
        let github = toolkit(vec![AccessRule {
            roles: Some(vec!["github:tools".into()]),
            ..AccessRule::open()
        }]);
        for principal in [Principal::Anonymous, caller(&["other"])] {
            assert!(!github.visible_to(&principal));
            assert_eq!(
                github.decide(&principal, Target::Tool, "search"),
                Decision::Hidden
            );
        }
        let member = caller(&["github:tools", "other"]);
        assert!(github.visible_to(&member) && github.unrestricted_for(&member));
        assert_eq!(
            github.decide(&member, Target::Tool, "search"),
            Decision::Allowed
        );
    }

    #[test]
    fn a_visible_toolkit_asks_for_the_roles_of_a_tool_it_hides() {
        let github = toolkit(vec![
            tools(&["get_*"], None),
            tools(&["create_*"], Some(&["github:write"])),
        ]);
        let reader = caller(&["github:read"]);
        assert_eq!(
            github.decide(&reader, Target::Tool, "get_issue"),
            Decision::Allowed
        );
        assert_eq!(
            github.decide(&reader, Target::Tool, "create_issue"),
            Decision::NeedsRoles(vec!["github:write".into()])
        );
        assert_eq!(
            github.decide(&Principal::Anonymous, Target::Tool, "create_issue"),
            Decision::NeedsRoles(vec!["github:write".into()])
        );
        assert_eq!(
            github.decide(&reader, Target::Tool, "delete_repo"),
            Decision::Hidden
        );
        assert!(!github.lists(&reader, Target::Tool, "create_issue"));
        assert!(github.lists(&caller(&["github:write"]), Target::Tool, "create_issue"));
        assert!(!github.unrestricted_for(&reader));
    }
}
