use std::time::{Duration, Instant};

use super::{Allow, NamePattern};

#[track_caller]
fn assert_matches(pattern: &str, yes: &[&str], no: &[&str]) {
    let compiled = NamePattern::new(pattern);
    for name in yes {
        assert!(compiled.matches(name), "`{pattern}` should match `{name}`");
    }
    for name in no {
        assert!(
            !compiled.matches(name),
            "`{pattern}` should not match `{name}`"
        );
    }
}

#[test]
fn literal_pattern_matches_only_itself() {
    assert_matches("echo", &["echo"], &["", "ech", "echoo", "Echo", "xecho"]);
}

#[test]
fn star_matches_any_run_including_none_and_slashes() {
    assert_matches(
        "get-*",
        &["get-", "get-x", "get-tiny-image", "get-a/b/c"],
        &["get", "gets", "xget-x"],
    );
    assert_matches(
        "demo://resource/static/*",
        &["demo://resource/static/", "demo://resource/static/1/2"],
        &["demo://resource/dynamic/1", "demo://resource/static"],
    );
    assert_matches("*-tool", &["-tool", "a-tool", "a/b-tool"], &["a-tools"]);
}

#[test]
fn question_mark_matches_exactly_one_character() {
    assert_matches("a?c", &["abc", "a?c", "a/c"], &["ac", "abbc", "abcd"]);
    assert_matches("???", &["abc", "日本語"], &["ab", "abcd", ""]);
}

#[test]
fn stars_in_the_middle_backtrack() {
    assert_matches(
        "a*b*c",
        &["abc", "aXbYc", "abbbc", "abcbc", "a-b-c-b-c", "acbc"],
        &["ab", "acb", "abcx", "xabc", "ac"],
    );
    assert_matches("*a*", &["a", "bab", "aaa"], &["", "bbb"]);
    assert_matches("*?", &["a", "ab"], &[""]);
    assert_matches("?*?", &["ab", "abc"], &["a", ""]);
}

#[test]
fn empty_name_and_empty_pattern() {
    assert_matches("", &[""], &["a"]);
    assert_matches("*", &[""], &[]);
    assert_matches("?", &[], &[""]);
    assert_matches("a*", &[], &[""]);
}

#[test]
fn patterns_of_stars_only_match_everything() {
    for pattern in ["*", "**", "***"] {
        assert_matches(pattern, &["", "a", "a/b", "日本", "*?"], &[]);
    }
}

#[test]
fn brackets_and_backslashes_are_literal() {
    assert_matches("[ab]", &["[ab]"], &["a", "b"]);
    assert_matches(r"a\*", &[r"a\", r"a\bc"], &["a*", "a"]);
    assert_matches("a.b", &["a.b"], &["axb"]);
}

#[test]
fn unicode_is_matched_by_character() {
    assert_matches("日?語", &["日本語"], &["日語", "日本本語"]);
    assert_matches("*語", &["語", "日本語"], &["日本"]);
    assert_matches("é*", &["é", "éte"], &["e\u{301}"]);
    assert_matches("?", &["😀", "é"], &["e\u{301}"]);
    assert_matches("a?b", &["a😀b"], &["a😀😀b"]);
}

#[test]
fn pathological_pattern_finishes_fast() {
    let name = "a".repeat(20_000);
    let pattern = NamePattern::new("*a*a*a*a*a*a*a*a*a*a*b");
    let start = Instant::now();
    assert!(!pattern.matches(&name));
    let many = NamePattern::new(&"*a".repeat(200));
    assert!(many.matches(&name));
    assert!(!many.matches(&format!("{name}b")));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn as_str_returns_the_pattern_as_written() {
    assert_eq!(NamePattern::new("get-*").as_str(), "get-*");
}

fn patterns(list: &[&str]) -> Option<Vec<NamePattern>> {
    Some(list.iter().map(|p| NamePattern::new(p)).collect())
}

#[test]
fn absent_lists_allow_everything() {
    let allow = Allow::default();
    assert!(allow.is_unrestricted());
    assert!(allow.tool("anything") && allow.prompt("") && allow.resource("file:///x"));
}

#[test]
fn empty_lists_allow_nothing() {
    let allow = Allow {
        tools: patterns(&[]),
        prompts: patterns(&[]),
        resources: patterns(&[]),
    };
    assert!(!allow.is_unrestricted());
    assert!(!allow.tool("echo") && !allow.prompt("") && !allow.resource("demo://x"));
}

#[test]
fn each_kind_uses_its_own_list() {
    let allow = Allow {
        tools: patterns(&["echo", "get-*"]),
        prompts: None,
        resources: patterns(&["demo://resource/static/*"]),
    };
    assert!(!allow.is_unrestricted());
    assert!(allow.tool("echo") && allow.tool("get-sum") && !allow.tool("add"));
    assert!(allow.prompt("anything"));
    assert!(allow.resource("demo://resource/static/1"));
    assert!(allow.resource("demo://resource/static/{id}"));
    assert!(!allow.resource("demo://resource/dynamic/1"));
    assert!(!allow.tool("demo://resource/static/1"));
}

#[test]
fn a_list_that_matches_everything_is_still_a_restriction() {
    let allow = Allow {
        tools: patterns(&["*"]),
        ..Allow::default()
    };
    assert!(!allow.is_unrestricted());
    assert!(allow.tool("anything"));
}
