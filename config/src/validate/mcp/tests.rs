//! Guarded routes, and several routes per toolkit (the older rules of the MCP
//! bindings are tested in `validate::tests`).

use crate::testing::{assert_errors, guarded_with};

const GUARDED_ROUTE: &str = "guarded: { authn_jwt: [ \"time:read\" ] }";
const ROUTE: &str = "bindings.north_mcp_proxy.routes[1]";
const TIME_ROUTE: &str = "      - when: [ { toolkit: time } ]\n";

fn with_guarded(guarded: &str) -> String {
    guarded_with(GUARDED_ROUTE, &format!("guarded: {guarded}"))
}

/// guarded.yaml with `routes` inserted before the time route.
fn with_routes_before_time(routes: &str) -> String {
    guarded_with(TIME_ROUTE, &format!("{routes}{TIME_ROUTE}"))
}

#[test]
fn a_route_is_guarded_by_one_guard() {
    assert_errors(
        &with_guarded("{ authn_jwt: [ a ], other: [ b ] }"),
        &[
            &format!("{ROUTE}.guarded: name one guard, found 2"),
            &format!("{ROUTE}.guarded.other: no guard named `other`"),
        ],
    );
}

#[test]
fn roles_must_not_be_blank_but_may_be_none() {
    assert_errors(
        &with_guarded("{ authn_jwt: [ \"\", x, \" \" ] }"),
        &[
            &format!("{ROUTE}.guarded.authn_jwt[0]: must not be empty"),
            &format!("{ROUTE}.guarded.authn_jwt[2]: must not be empty"),
        ],
    );
    assert_errors(&with_guarded("{ authn_jwt: [] }"), &[]);
}

#[test]
fn several_routes_may_name_a_toolkit_when_they_share_its_client() {
    let yaml = with_routes_before_time(
        "      - when: [ { toolkit: time, tools: [ get_current_time ] } ]\n        \
         exit: south_mcp_client_time\n",
    );
    assert_errors(&yaml, &[]);
}

#[test]
fn routes_of_one_toolkit_must_exit_to_the_same_client() {
    let yaml = with_routes_before_time(
        "      - when: [ { toolkit: time, tools: [ get_current_time ] } ]\n        \
         exit: south_mcp_client_everything\n",
    );
    assert_errors(
        &yaml,
        &[
            "bindings.north_mcp_proxy.routes[1].exit: `south_mcp_client_everything` is already \
             the exit of routes[0] (toolkit `everything`); each toolkit needs its own mcp client",
        ],
    );
    let yaml = guarded_with(
        "exit: south_mcp_client_time",
        "exit: south_mcp_client_time\n      \
         - when: [ { toolkit: everything } ]\n        exit: south_mcp_client_time",
    );
    assert_errors(
        &yaml,
        &[
            "bindings.north_mcp_proxy.routes[2].when[0].toolkit: toolkit `everything` is already \
             defined by routes[0], which exits to `south_mcp_client_everything`; every route of a \
             toolkit exits to its one mcp client",
        ],
    );
}

#[test]
fn prefix_never_allows_several_routes_of_one_toolkit() {
    let yaml = crate::testing::demo_with("prefix: always", "prefix: never")
        .replacen(
            "{ toolkit: time }",
            "{ toolkit: everything, tools: [ echo ] }",
            1,
        )
        .replacen(
            "exit: south_mcp_client_time",
            "exit: south_mcp_client_everything",
            1,
        )
        .replacen("  south_mcp_client_time:\n", "  unused:\n", 1);
    let errors = crate::testing::errors(&yaml);
    // Only the client left behind is reported, not the prefix mode.
    assert_eq!(
        errors,
        ["bindings.unused: not reachable from any tcp server"],
        "{yaml}"
    );
}
