//! How toolkits' names appear to clients: `<toolkit>__<tool>`, `<toolkit>__<prompt>`,
//! `<toolkit>+<uri>` (resources, templates, task ids), and back.
//!
//! Toolkit names are DNS labels, so they contain neither `__` nor `+`: the
//! first separator in an exposed name always ends the toolkit part.

use std::sync::{Arc, LazyLock};

use memchr::memmem::Finder;
use serde_json::Value;

use crate::jsonrpc::Params;
use crate::mcp::method::{Form, Method, Rename};

const NAME_SEP: &str = "__";
const URI_SEP: char = '+';

/// The naming scheme of one proxy.
#[derive(Clone, Debug)]
pub enum Naming {
    /// Every name carries its toolkit.
    Prefixed,
    /// `prefix: never`: one toolkit, names unchanged.
    Unchanged { toolkit: Arc<str> },
}

impl Naming {
    pub fn name(&self, toolkit: &str, name: &str) -> String {
        match self {
            Self::Prefixed => format!("{toolkit}{NAME_SEP}{name}"),
            Self::Unchanged { .. } => name.to_owned(),
        }
    }

    pub fn uri(&self, toolkit: &str, uri: &str) -> String {
        match self {
            Self::Prefixed => format!("{toolkit}{URI_SEP}{uri}"),
            Self::Unchanged { .. } => uri.to_owned(),
        }
    }

    /// `(toolkit, name)` of an exposed tool or prompt name.
    pub fn split_name<'a>(&'a self, exposed: &'a str) -> Option<(&'a str, &'a str)> {
        match self {
            // NB: split at the first `_` (a char search; a `str` pattern builds a
            // substring searcher per call, and this runs on every call): toolkit
            // names have none, so it starts the separator or the name is no
            // toolkit's.
            Self::Prefixed => {
                let (toolkit, rest) = exposed.split_once('_')?;
                Some((toolkit, rest.strip_prefix('_')?))
            }
            Self::Unchanged { toolkit } => Some((toolkit, exposed)),
        }
    }

    /// `(toolkit, uri)` of an exposed resource URI, template or task id.
    pub fn split_uri<'a>(&'a self, exposed: &'a str) -> Option<(&'a str, &'a str)> {
        match self {
            Self::Prefixed => exposed.split_once(URI_SEP),
            Self::Unchanged { toolkit } => Some((toolkit, exposed)),
        }
    }

    /// `name` as the client sees it, in `form`.
    fn exposed(&self, toolkit: &str, form: Form, name: &str) -> String {
        match form {
            Form::Name => self.name(toolkit, name),
            Form::Uri => self.uri(toolkit, name),
        }
    }

    /// Rewrite a result the toolkit returned for a request of `method` into exposed names.
    pub fn expose_result(&self, toolkit: &str, method: &Method, result: &mut Value) {
        self.expose(toolkit, &method.rename, result);
    }

    /// Whether [`Naming::expose_result`] would leave a result of `method`
    /// whose JSON text is `text` as it is, judged from the text alone and
    /// erring towards "no". It renames only under the keys below (content
    /// blocks of type `resource`/`resource_link`, `task`, `_meta`'s related
    /// task): a text without these words, and without `\u` escapes (the only
    /// way JSON can spell them otherwise), has nothing it would touch.
    pub fn leaves_untouched(&self, method: &Method, text: &str) -> bool {
        if matches!(self, Self::Unchanged { .. }) {
            return true;
        }
        static RESOURCE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("resource"));
        static TASK: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("task"));
        let words: &[&LazyLock<Finder<'static>>] = match method.rename {
            Rename::Nothing => &[&RELATED_TASK],
            Rename::ToolResult | Rename::PromptMessages => &[&RESOURCE, &TASK],
            Rename::Items { .. } | Rename::Field { .. } => return false,
        };
        lacks(text, words)
    }

    /// Rewrite the params of a notification or request (of method `method`)
    /// that a toolkit sends to the client.
    pub fn expose_params(&self, toolkit: &str, method: &str, params: &mut Value) {
        let rename = Method::find(method).map_or(&Rename::Nothing, |m| &m.rename);
        self.expose(toolkit, rename, params);
    }

    fn expose(&self, toolkit: &str, rename: &Rename, value: &mut Value) {
        if matches!(self, Self::Unchanged { .. }) {
            return;
        }
        match *rename {
            Rename::Nothing => {}
            Rename::Items { list, key, form } => {
                if let Some(Value::Array(items)) = value.get_mut(list) {
                    for item in items {
                        map_str(item, key, |s| self.exposed(toolkit, form, s));
                    }
                }
            }
            Rename::Field { key, form } => map_str(value, key, |s| self.exposed(toolkit, form, s)),
            Rename::ToolResult => {
                self.expose_content(toolkit, value.get_mut("content"));
                if let Some(task) = value.get_mut("task") {
                    map_str(task, "taskId", |s| self.uri(toolkit, s));
                }
            }
            Rename::PromptMessages => {
                if let Some(Value::Array(messages)) = value.get_mut("messages") {
                    for m in messages {
                        self.expose_content(toolkit, m.get_mut("content"));
                    }
                }
            }
        }
        self.expose_meta(toolkit, value);
    }

    /// [`Naming::hide_meta`] for a request's or notification's params,
    /// which are left as text when it says there is nothing to undo.
    pub fn hide_params_meta(&self, params: &mut Params) {
        if params
            .text()
            .is_some_and(|text| lacks(text, &[&RELATED_TASK]))
        {
            return;
        }
        self.hide_meta(params);
    }

    /// Undo [`Naming::expose_params`]-style task references in what the client sends.
    pub fn hide_meta(&self, params: &mut Value) {
        if let Some(task) = related_task(params)
            && let Some(Value::String(id)) = task.get_mut("taskId")
            && let Some((_, inner)) = self.split_uri(id)
        {
            *id = inner.to_owned();
        }
    }

    fn expose_meta(&self, toolkit: &str, value: &mut Value) {
        if let Some(task) = related_task(value) {
            map_str(task, "taskId", |s| self.uri(toolkit, s));
        }
    }

    /// Resource links and embedded resources: one content block or an array of them.
    fn expose_content(&self, toolkit: &str, content: Option<&mut Value>) {
        match content {
            Some(Value::Array(blocks)) => {
                for block in blocks {
                    self.expose_block(toolkit, block);
                }
            }
            Some(block) => self.expose_block(toolkit, block),
            None => {}
        }
    }

    fn expose_block(&self, toolkit: &str, block: &mut Value) {
        match block.get("type").and_then(Value::as_str) {
            Some("resource_link") => map_str(block, "uri", |s| self.uri(toolkit, s)),
            Some("resource") => {
                if let Some(resource) = block.get_mut("resource") {
                    map_str(resource, "uri", |s| self.uri(toolkit, s));
                }
            }
            _ => {}
        }
    }
}

// NB: searchers built once; `str::contains` builds one per call and these
// run on every relayed message.
static ESCAPE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\\u"));
static RELATED_TASK: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("related-task"));

/// Whether the JSON `text` surely spells none of `words`: it has none of
/// them, nor a `\u` escape (the only other way JSON can spell them).
fn lacks(text: &str, words: &[&LazyLock<Finder<'static>>]) -> bool {
    let text = text.as_bytes();
    ESCAPE.find(text).is_none() && !words.iter().any(|w| w.find(text).is_some())
}

fn related_task(value: &mut Value) -> Option<&mut Value> {
    value
        .get_mut("_meta")?
        .get_mut("io.modelcontextprotocol/related-task")
}

fn map_str(value: &mut Value, key: &str, f: impl Fn(&str) -> String) {
    if let Some(Value::String(s)) = value.get_mut(key) {
        *s = f(s);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::mcp::method;

    #[test]
    fn names_and_uris_round_trip_through_the_prefix() {
        let n = Naming::Prefixed;
        assert_eq!(n.name("time", "get_current_time"), "time__get_current_time");
        assert_eq!(
            n.split_name("time__get_current_time"),
            Some(("time", "get_current_time"))
        );
        // A tool whose own name contains `__` keeps it.
        assert_eq!(n.split_name("a__b__c"), Some(("a", "b__c")));
        assert_eq!(
            n.uri(
                "everything",
                "demo://resource/static/document/architecture.md"
            ),
            "everything+demo://resource/static/document/architecture.md"
        );
        assert_eq!(n.split_uri("e+file:///a+b"), Some(("e", "file:///a+b")));
        assert_eq!(n.split_name("no-prefix"), None);
        // No toolkit name has a `_`; one before the separator names no toolkit.
        assert_eq!(n.split_name("a_b__c"), None);
        assert_eq!(n.split_name("a_"), None);
    }

    #[test]
    fn a_result_is_left_untouched_only_when_renaming_would_not_change_it() {
        let n = Naming::Prefixed;
        let results = [
            (
                &method::TOOLS_CALL,
                json!({"content": [{"type": "text", "text": "hello"}]}),
            ),
            (
                &method::TOOLS_CALL,
                json!({"content": [{"type": "resource_link", "uri": "a://b", "name": "b"}]}),
            ),
            (
                &method::TOOLS_CALL,
                json!({"content": [], "task": {"taskId": "t1"}}),
            ),
            (
                &method::TOOLS_CALL,
                json!({"content": [], "_meta": {"io.modelcontextprotocol/related-task": {"taskId": "t"}}}),
            ),
            (
                &method::PROMPTS_GET,
                json!({"messages": [{"role": "user", "content": {"type": "resource", "resource": {"uri": "a://b"}}}]}),
            ),
            (
                &method::PROMPTS_GET,
                json!({"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}]}),
            ),
            (&method::TOOLS_LIST, json!({"tools": []})),
            (&method::PING, json!({})),
        ];
        for (method, result) in results {
            let text = result.to_string();
            let mut exposed = result.clone();
            n.expose_result("kit", method, &mut exposed);
            if n.leaves_untouched(method, &text) {
                assert_eq!(exposed, result, "{text}");
            }
        }
        // The common answer of a tool is relayed as it is; an escaped key is not trusted.
        let text = json!({"content": [{"type": "text", "text": "hello"}]}).to_string();
        assert!(n.leaves_untouched(&method::TOOLS_CALL, &text));
        let escaped = r#"{"content":[{"type":"\u0072esource_link","uri":"a://b"}]}"#;
        assert!(!n.leaves_untouched(&method::TOOLS_CALL, escaped));
    }

    #[test]
    fn unchanged_naming_maps_everything_to_its_one_toolkit() {
        let n = Naming::Unchanged {
            toolkit: "everything".into(),
        };
        assert_eq!(n.name("everything", "echo"), "echo");
        assert_eq!(n.split_name("time__x"), Some(("everything", "time__x")));
        let mut result = json!({"tools": [{"name": "echo"}]});
        n.expose_result("everything", &method::TOOLS_LIST, &mut result);
        assert_eq!(result, json!({"tools": [{"name": "echo"}]}));
    }

    #[test]
    fn tool_results_expose_resource_links_and_embedded_resources() {
        let n = Naming::Prefixed;
        let mut result = json!({"content": [
            {"type": "text", "text": "x"},
            {"type": "resource_link", "uri": "demo://a", "name": "a"},
            {"type": "resource", "resource": {"uri": "demo://b", "text": "b"}},
        ], "task": {"taskId": "t1"}});
        n.expose_result("e", &method::TOOLS_CALL, &mut result);
        assert_eq!(result["content"][1]["uri"], "e+demo://a");
        assert_eq!(result["content"][2]["resource"]["uri"], "e+demo://b");
        assert_eq!(result["task"]["taskId"], "e+t1");
    }

    #[test]
    fn lists_expose_every_item() {
        let n = Naming::Prefixed;
        let mut r = json!({"resourceTemplates": [{"uriTemplate": "demo://{id}"}]});
        n.expose_result("e", &method::TEMPLATES_LIST, &mut r);
        assert_eq!(r["resourceTemplates"][0]["uriTemplate"], "e+demo://{id}");
        let mut r = json!({"messages": [{"role": "user", "content": {"type": "resource", "resource": {"uri": "x://y"}}}]});
        n.expose_result("e", &method::PROMPTS_GET, &mut r);
        assert_eq!(r["messages"][0]["content"]["resource"]["uri"], "e+x://y");
        let mut p = json!({"uri": "demo://a"});
        n.expose_params("e", "notifications/resources/updated", &mut p);
        assert_eq!(p["uri"], "e+demo://a");
    }
}
