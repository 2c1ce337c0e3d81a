//! TEMPORARY stub of the JWT guard (the real module lands from the wt-guard branch).
#![allow(dead_code, missing_docs)]

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use mcpgw_config::JwtGuardPlan;

#[derive(Debug)]
pub struct JwtGuard;

#[derive(Debug, Default, Clone)]
pub struct KeyFetcher {
    _private: (),
}

#[derive(Debug, thiserror::Error)]
#[error("bad guard")]
pub struct GuardError;

impl JwtGuard {
    pub fn new(_plan: &JwtGuardPlan, _fetcher: KeyFetcher) -> Result<Self, GuardError> {
        Ok(Self)
    }
    pub async fn verify(&self, _token: &str) -> Result<Caller, Denied> {
        Err(Denied::Malformed)
    }
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub identity: String,
    pub roles: BTreeSet<String>,
    pub token: Token,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);
impl Token {
    pub fn new(raw: &str) -> Self {
        Self(raw.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}
impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("malformed token")]
    Malformed,
}
