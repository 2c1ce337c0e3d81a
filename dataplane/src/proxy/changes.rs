//! What a reload changes for the sessions of one endpoint: upstream
//! sessions of toolkits that went away or changed end, and clients hear that
//! their lists may differ.

use std::sync::Arc;

use super::{Naming, Proxy, Toolkit, end_upstream};
use crate::jsonrpc::{Message, Notification};
use crate::mcp::method::LISTS_CHANGED;
use crate::session::Session;

/// What a reload changed in a proxy's toolkits.
#[derive(Debug, Default)]
pub struct ToolkitChanges {
    /// Toolkits (as they were) that went away or now point elsewhere: their
    /// upstream sessions end.
    pub reopen: Vec<Arc<Toolkit>>,
    /// Whether what clients can list may have changed.
    pub lists_changed: bool,
}

impl Proxy {
    /// What changed from `old` (the proxy this one replaces) for clients
    /// and their upstream sessions.
    pub fn changes_since(&self, old: &Proxy) -> ToolkitChanges {
        let reopen: Vec<_> = old
            .toolkits
            .iter()
            .filter(|before| {
                self.toolkit(&before.name)
                    .is_none_or(|after| after.plan != before.plan)
            })
            .cloned()
            .collect();
        let added = self.toolkits.iter().any(|t| old.toolkit(&t.name).is_none());
        let renamed = !matches!(
            (&self.naming, &old.naming),
            (Naming::Prefixed, Naming::Prefixed)
                | (Naming::Unchanged { .. }, Naming::Unchanged { .. })
        );
        ToolkitChanges {
            lists_changed: added || renamed || !reopen.is_empty(),
            reopen,
        }
    }
}

impl Proxy {
    /// After a reload: drop the cached pages of the toolkits that changed or
    /// went away (they are unreachable already; this frees their memory).
    pub fn forget_pages(&self, changes: &ToolkitChanges) {
        if let Some(cache) = &self.cache {
            for toolkit in &changes.reopen {
                cache.forget(toolkit.listing.id);
            }
        }
    }
}

impl ToolkitChanges {
    pub fn is_empty(&self) -> bool {
        self.reopen.is_empty() && !self.lists_changed
    }

    /// After a reload: end the session's upstream sessions with toolkits that
    /// went away or changed (they re-open on next use), and tell the client
    /// to list again.
    pub fn apply_to(&self, session: &Session) {
        for toolkit in &self.reopen {
            if let Some(upstream) = session.drop_upstream(&toolkit.name) {
                end_upstream(toolkit.clone(), upstream, None);
            }
        }
        if self.lists_changed {
            for method in LISTS_CHANGED {
                let note = Message::Notification(Notification::new(method.name, None));
                session.notify(crate::sse::message_event(&note.encode()));
            }
        }
    }
}
