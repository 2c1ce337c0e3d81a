//! One descriptor per MCP method the gateway knows: how a client's message
//! of that method is handled (answered here, fanned out as a list, routed by
//! a param naming the toolkit, …), how names in what a toolkit returns for
//! it are exposed to the client, and which protocol eras have it.
//!
//! Everything that depends on the method reads it from here, so adding a
//! method (or an era) is one entry, not a hunt through the proxy.

use super::Era;

/// What the gateway knows of one method.
#[derive(Debug)]
pub struct Method {
    pub name: &'static str,
    /// What the gateway does with it when a client sends it.
    pub handling: Handling,
    /// How toolkit names in its result (for a request) or its params (for a
    /// message a toolkit sends) are exposed to the client.
    pub rename: Rename,
    /// The eras whose clients and servers may send it.
    pub eras: Eras,
}

/// How a client's message of a method is handled.
#[derive(Debug)]
pub enum Handling {
    /// `ping`: answered by the gateway.
    Ping,
    /// `initialize`: the handshake, answered at the edge; refused later in a session.
    Initialize,
    /// `server/discover`: 2026-07-28's replacement of the handshake.
    // NB: answered once the gateway serves that era's clients; until then no
    // client negotiates it, so the era check refuses it first.
    Discover,
    /// A paginated list, fanned out to every toolkit and merged.
    List(ListKind),
    /// Routed to the toolkit named by a param (`params[key]`).
    Routed { key: &'static str, target: Target },
    /// `completion/complete`: routed by `params.ref`, a prompt or resource.
    Completion,
    /// `logging/setLevel`: sent to every toolkit that logs.
    SetLevel,
    /// `notifications/initialized`: the gateway sent its own to each upstream.
    Initialized,
    /// `notifications/cancelled`: goes where the cancelled request went.
    Cancelled,
    /// Any other client notification: to every toolkit the session has open.
    Broadcast,
    /// Sent by servers only (notifications, server→client requests): relayed
    /// to the client, renamed.
    FromServer,
}

/// What a routed name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Tool,
    Prompt,
    Resource,
    Task,
}

impl Target {
    /// How the target is written in an error (`Unknown tool: …`).
    pub fn noun(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
            Self::Resource => "resource",
            Self::Task => "task",
        }
    }

    /// How an exposed name of this target carries its toolkit.
    pub const fn form(self) -> Form {
        match self {
            Self::Tool | Self::Prompt => Form::Name,
            Self::Resource | Self::Task => Form::Uri,
        }
    }
}

/// A paginated list method.
#[derive(Debug)]
pub struct ListKind {
    /// The key of the items in the result.
    pub items: &'static str,
    /// The capability path a toolkit must declare to be asked.
    pub capability: &'static [&'static str],
    /// The item field that allow-lists apply to, and what it names.
    pub filter: Option<(&'static str, Target)>,
    /// Whether pages may be served from the listing cache (the catalogue
    /// lists; not `tasks/list`, whose items change with every call).
    pub cacheable: bool,
}

/// How a toolkit name is written into a name: `<toolkit>__<name>` or `<toolkit>+<uri>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Name,
    Uri,
}

/// Where names sit in what a toolkit returns for a method.
#[derive(Debug)]
pub enum Rename {
    /// Nothing to rename (beyond the related-task metadata every message may carry).
    Nothing,
    /// Each item of the array `list` has its `key` exposed.
    Items {
        list: &'static str,
        key: &'static str,
        form: Form,
    },
    /// The field `key` of the object itself.
    Field { key: &'static str, form: Form },
    /// A tool result: resource links and embedded resources in `content`, and `task.taskId`.
    ToolResult,
    /// A prompt: the content of each of its `messages`.
    PromptMessages,
}

/// The eras a method exists in.
#[derive(Clone, Copy, Debug)]
pub struct Eras {
    pub sessions: bool,
    pub stateless: bool,
}

impl Eras {
    pub fn has(self, era: Era) -> bool {
        match era {
            Era::Sessions => self.sessions,
            Era::Stateless => self.stateless,
        }
    }
}

const BOTH: Eras = Eras {
    sessions: true,
    stateless: true,
};
const SESSIONS: Eras = Eras {
    sessions: true,
    stateless: false,
};
const STATELESS: Eras = Eras {
    sessions: false,
    stateless: true,
};

const fn method(name: &'static str, handling: Handling, rename: Rename, eras: Eras) -> Method {
    Method {
        name,
        handling,
        rename,
        eras,
    }
}

/// A list of `items` from toolkits declaring `capability`; each item is
/// named by its `key` (allow-lists filter on it, and it is exposed).
const fn list(
    name: &'static str,
    items: &'static str,
    capability: &'static [&'static str],
    key: &'static str,
    target: Target,
    eras: Eras,
) -> Method {
    let kind = ListKind {
        items,
        capability,
        filter: Some((key, target)),
        cacheable: !matches!(target, Target::Task),
    };
    let rename = Rename::Items {
        list: items,
        key,
        form: target.form(),
    };
    method(name, Handling::List(kind), rename, eras)
}

/// A request routed by `params[key]`, naming a `target`.
const fn routed(
    name: &'static str,
    key: &'static str,
    target: Target,
    rename: Rename,
    eras: Eras,
) -> Method {
    method(name, Handling::Routed { key, target }, rename, eras)
}

/// A message only servers send, with a field to expose.
const fn from_server(name: &'static str, rename: Rename, eras: Eras) -> Method {
    method(name, Handling::FromServer, rename, eras)
}

/// A notification a client sends, handled by `handling`.
const fn from_client(name: &'static str, handling: Handling, eras: Eras) -> Method {
    method(name, handling, NOTHING, eras)
}

const fn uri_field(key: &'static str) -> Rename {
    Rename::Field {
        key,
        form: Form::Uri,
    }
}

const NOTHING: Rename = Rename::Nothing;

pub static PING: Method = method("ping", Handling::Ping, NOTHING, SESSIONS);
pub static INITIALIZE: Method = method("initialize", Handling::Initialize, NOTHING, SESSIONS);
pub static DISCOVER: Method = method("server/discover", Handling::Discover, NOTHING, STATELESS);
pub static TOOLS_LIST: Method = list(
    "tools/list",
    "tools",
    &["tools"],
    "name",
    Target::Tool,
    BOTH,
);
pub static PROMPTS_LIST: Method = list(
    "prompts/list",
    "prompts",
    &["prompts"],
    "name",
    Target::Prompt,
    BOTH,
);
pub static RESOURCES_LIST: Method = list(
    "resources/list",
    "resources",
    &["resources"],
    "uri",
    Target::Resource,
    BOTH,
);
pub static TEMPLATES_LIST: Method = list(
    "resources/templates/list",
    "resourceTemplates",
    &["resources"],
    "uriTemplate",
    Target::Resource,
    BOTH,
);
pub static TASKS_LIST: Method = list(
    "tasks/list",
    "tasks",
    &["tasks", "list"],
    "taskId",
    Target::Task,
    SESSIONS,
);
pub static TOOLS_CALL: Method =
    routed("tools/call", "name", Target::Tool, Rename::ToolResult, BOTH);
pub static PROMPTS_GET: Method = routed(
    "prompts/get",
    "name",
    Target::Prompt,
    Rename::PromptMessages,
    BOTH,
);
pub static RESOURCES_READ: Method = routed(
    "resources/read",
    "uri",
    Target::Resource,
    Rename::Items {
        list: "contents",
        key: "uri",
        form: Form::Uri,
    },
    BOTH,
);
pub static RESOURCES_SUBSCRIBE: Method = routed(
    "resources/subscribe",
    "uri",
    Target::Resource,
    NOTHING,
    SESSIONS,
);
pub static RESOURCES_UNSUBSCRIBE: Method = routed(
    "resources/unsubscribe",
    "uri",
    Target::Resource,
    NOTHING,
    SESSIONS,
);
pub static TASKS_GET: Method = routed(
    "tasks/get",
    "taskId",
    Target::Task,
    uri_field("taskId"),
    BOTH,
);
pub static TASKS_CANCEL: Method = routed(
    "tasks/cancel",
    "taskId",
    Target::Task,
    uri_field("taskId"),
    BOTH,
);
pub static TASKS_RESULT: Method = routed(
    "tasks/result",
    "taskId",
    Target::Task,
    Rename::ToolResult,
    SESSIONS,
);
pub static COMPLETE: Method = method("completion/complete", Handling::Completion, NOTHING, BOTH);
pub static SET_LEVEL: Method = method("logging/setLevel", Handling::SetLevel, NOTHING, SESSIONS);
pub static INITIALIZED: Method =
    from_client("notifications/initialized", Handling::Initialized, SESSIONS);
pub static CANCELLED: Method = from_client("notifications/cancelled", Handling::Cancelled, BOTH);
pub static PROGRESS: Method = from_client("notifications/progress", Handling::Broadcast, BOTH);
pub static ROOTS_LIST_CHANGED: Method = from_client(
    "notifications/roots/list_changed",
    Handling::Broadcast,
    SESSIONS,
);
/// `subscriptions/listen` (2026-07-28): a request whose reply is a stream that
/// lasts as long as the client listens (the proxy serves it; see `proxy::listen`).
pub const LISTEN: &str = "subscriptions/listen";
pub static TOOLS_LIST_CHANGED: Method =
    from_server("notifications/tools/list_changed", NOTHING, BOTH);
pub static PROMPTS_LIST_CHANGED: Method =
    from_server("notifications/prompts/list_changed", NOTHING, BOTH);
pub static RESOURCES_LIST_CHANGED: Method =
    from_server("notifications/resources/list_changed", NOTHING, BOTH);
pub static RESOURCES_UPDATED: Method =
    from_server("notifications/resources/updated", uri_field("uri"), BOTH);
pub static TASK_STATUS: Method =
    from_server("notifications/tasks/status", uri_field("taskId"), SESSIONS);
pub static LOG_MESSAGE: Method = from_server("notifications/message", NOTHING, BOTH);
pub static ELICIT: Method = from_server("elicitation/create", NOTHING, BOTH);
pub static SAMPLE: Method = from_server("sampling/createMessage", NOTHING, BOTH);
pub static ROOTS_LIST: Method = from_server("roots/list", NOTHING, BOTH);

/// Every method the gateway knows.
pub static ALL: &[&Method] = &[
    &PING,
    &INITIALIZE,
    &DISCOVER,
    &TOOLS_LIST,
    &PROMPTS_LIST,
    &RESOURCES_LIST,
    &TEMPLATES_LIST,
    &TASKS_LIST,
    &TOOLS_CALL,
    &PROMPTS_GET,
    &RESOURCES_READ,
    &RESOURCES_SUBSCRIBE,
    &RESOURCES_UNSUBSCRIBE,
    &TASKS_GET,
    &TASKS_CANCEL,
    &TASKS_RESULT,
    &COMPLETE,
    &SET_LEVEL,
    &INITIALIZED,
    &CANCELLED,
    &PROGRESS,
    &ROOTS_LIST_CHANGED,
    &TOOLS_LIST_CHANGED,
    &PROMPTS_LIST_CHANGED,
    &RESOURCES_LIST_CHANGED,
    &RESOURCES_UPDATED,
    &TASK_STATUS,
    &LOG_MESSAGE,
    &ELICIT,
    &SAMPLE,
    &ROOTS_LIST,
];

/// The notifications that tell a client to list again, one per list.
pub static LISTS_CHANGED: [&Method; 3] = [
    &TOOLS_LIST_CHANGED,
    &PROMPTS_LIST_CHANGED,
    &RESOURCES_LIST_CHANGED,
];

impl Method {
    /// The descriptor of `name`; `None` for a method the gateway does not know
    /// (relayed as it is where one toolkit can take it).
    pub fn find(name: &str) -> Option<&'static Method> {
        ALL.iter().copied().find(|m| m.name == name)
    }

    /// Whether this method is `name`.
    pub fn is(&self, name: &str) -> bool {
        self.name == name
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_method_is_listed_once_and_found_by_name() {
        let names: BTreeSet<_> = ALL.iter().map(|m| m.name).collect();
        assert_eq!(names.len(), ALL.len(), "a method is listed twice");
        for m in ALL {
            assert!(std::ptr::eq(Method::find(m.name).expect("found"), *m));
        }
        assert!(Method::find("vendor/extension").is_none());
    }

    #[test]
    fn the_handshake_and_discovery_belong_to_one_era_each() {
        assert!(INITIALIZE.eras.has(Era::Sessions) && !INITIALIZE.eras.has(Era::Stateless));
        assert!(DISCOVER.eras.has(Era::Stateless) && !DISCOVER.eras.has(Era::Sessions));
        assert!(PING.eras.has(Era::Sessions) && !PING.eras.has(Era::Stateless));
        assert!(TOOLS_CALL.eras.has(Era::Sessions) && TOOLS_CALL.eras.has(Era::Stateless));
        assert_eq!(Era::of("2025-11-25"), Era::Sessions);
        assert_eq!(Era::of("2026-07-28"), Era::Stateless);
    }

    #[test]
    fn lists_rename_the_field_their_allow_lists_filter() {
        for m in ALL {
            if let (Handling::List(kind), Rename::Items { list, key, .. }) =
                (&m.handling, &m.rename)
            {
                assert_eq!(kind.items, *list, "{}", m.name);
                if let Some((filtered, _)) = kind.filter {
                    assert_eq!(filtered, *key, "{}", m.name);
                }
            }
        }
    }
}
