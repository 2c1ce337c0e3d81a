//! Who a request is made by, as the endpoint's guard established it, and
//! which proxy routes admit them.

use std::sync::Arc;

use mcpgw_config::AccessRule;

use crate::guard::{Caller, Token};

/// The maker of one request.
#[derive(Clone, Debug)]
pub enum Principal {
    /// No token was presented (or the endpoint has no guard).
    Anonymous,
    /// A token the guard accepted.
    Caller(Arc<Caller>),
}

impl Principal {
    /// The caller's token, for toolkits that are configured to receive it.
    pub fn token(&self) -> Option<&Token> {
        match self {
            Self::Anonymous => None,
            Self::Caller(caller) => Some(&caller.token),
        }
    }

    /// Who the caller is; `None` when anonymous.
    pub fn identity(&self) -> Option<&str> {
        match self {
            Self::Anonymous => None,
            Self::Caller(caller) => Some(&caller.identity),
        }
    }

    /// Whether a route admits this principal: an open route everyone, a guarded
    /// one only an authenticated caller holding every role it names.
    pub fn admitted_by(&self, rule: &AccessRule) -> bool {
        match (&rule.roles, self) {
            (None, _) => true,
            (Some(_), Self::Anonymous) => false,
            (Some(roles), Self::Caller(caller)) => caller.has_roles(roles),
        }
    }
}
