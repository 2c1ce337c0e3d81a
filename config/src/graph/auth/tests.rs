use crate::testing::{GUARDED, JWT_BASICS, assert_errors, guarded_with};

const ROUTE: &str = "bindings.north_mcp_proxy.routes[1].guarded.authn_jwt";
const FORWARD: &str = "bindings.south_mcp_client_time.options.authorization.authn_jwt";

/// guarded.yaml with its endpoint unguarded (no `authorization`, no metadata).
fn unguarded_endpoint() -> String {
    let start = GUARDED.find("      authorization: { authn_jwt");
    let end = GUARDED.find("    exit: north_mcp_proxy");
    match (start, end) {
        (Some(start), Some(end)) => format!("{}{}", &GUARDED[..start], &GUARDED[end..]),
        _ => panic!("guarded.yaml changed shape"),
    }
}

/// guarded.yaml with a second guard, `other`.
fn with_other_guard(yaml: &str) -> String {
    let other = format!("  other:\n    type: jwt\n    options:\n{JWT_BASICS}      keys_file: k\n");
    yaml.replacen("bindings:\n", &format!("{other}bindings:\n"), 1)
}

#[test]
fn guarded_route_and_forwarding_need_a_guarded_endpoint() {
    assert_errors(
        &unguarded_endpoint(),
        &[
            &format!(
                "{ROUTE}: route is guarded by `authn_jwt` but \
                 `bindings.north_mcp_server.options.authorization` names no guard"
            ),
            &format!(
                "{FORWARD}: forwards tokens checked by `authn_jwt` but \
                 `bindings.north_mcp_server`, which reaches this client, names no guard in \
                 `options.authorization`"
            ),
        ],
    );
}

#[test]
fn guarded_route_and_forwarding_use_the_endpoint_guard() {
    let yaml = with_other_guard(GUARDED).replacen(
        "authorization: { authn_jwt: { credentials: \"Bearer {credentials}\" } }\n      resource",
        "authorization: { other: { credentials: \"Bearer {credentials}\" } }\n      resource",
        1,
    );
    assert_errors(
        &yaml,
        &[
            &format!(
                "{ROUTE}: route is guarded by `authn_jwt` but `bindings.north_mcp_server` \
                 checks callers with `other`"
            ),
            &format!(
                "{FORWARD}: forwards tokens checked by `authn_jwt` but \
                 `bindings.north_mcp_server`, which reaches this client, checks callers with \
                 `other`"
            ),
        ],
    );
}

#[test]
fn guarded_route_and_forwarding_must_name_a_guard_that_exists() {
    let yaml = guarded_with("guarded: { authn_jwt:", "guarded: { authn:").replacen(
        "authorization: { authn_jwt: { credentials: \"Bearer {credentials}\" } }   #",
        "authorization: { jwt: { credentials: \"Bearer {credentials}\" } }   #",
        1,
    );
    assert_errors(
        &yaml,
        &[
            "bindings.north_mcp_proxy.routes[1].guarded.authn: no guard named `authn`",
            "bindings.south_mcp_client_time.options.authorization.jwt: no guard named `jwt`",
        ],
    );
}

#[test]
fn a_guard_that_could_not_be_read_is_not_reported_again_where_it_is_named() {
    let yaml = guarded_with("    type: jwt\n", "    type: basic\n");
    assert_errors(
        &yaml,
        &["guards.authn_jwt.type: unknown variant `basic`, expected `jwt`"],
    );
}

#[test]
fn a_client_behind_several_routes_reports_its_disagreement_once() {
    let yaml = unguarded_endpoint().replacen(
        "      - when: [ { toolkit: time } ]\n",
        "      - when: [ { toolkit: time, tools: [ get-* ] } ]\n        exit: south_mcp_client_time\n      \
         - when: [ { toolkit: time } ]\n",
        1,
    );
    assert_errors(
        &yaml,
        // Route by route: the client (reached by routes[1] first), then routes[2].
        &[
            &format!(
                "{FORWARD}: forwards tokens checked by `authn_jwt` but \
                 `bindings.north_mcp_server`, which reaches this client, names no guard in \
                 `options.authorization`"
            ),
            "bindings.north_mcp_proxy.routes[2].guarded.authn_jwt: route is guarded by \
             `authn_jwt` but `bindings.north_mcp_server.options.authorization` names no guard",
        ],
    );
}
