use crate::testing::{assert_errors, guarded_with};

const SERVER: &str = "bindings.north_mcp_server.options";
const CLIENT: &str = "bindings.south_mcp_client_time.options";
/// The server's `authorization` line in guarded.yaml.
const SERVER_AUTHORIZATION: &str = "      authorization: { authn_jwt: { credentials: \"Bearer {credentials}\" } }\n      resource_metadata:";
/// The time client's forwarding line in guarded.yaml.
const CLIENT_AUTHORIZATION: &str =
    "      authorization: { authn_jwt: { credentials: \"Bearer {credentials}\" } }   #";
const METADATA: &str = "        resource: http://127.0.0.1:7114/mcp  #";

fn with_server_authorization(authorization: &str) -> String {
    guarded_with(
        SERVER_AUTHORIZATION,
        &format!("      authorization: {authorization}\n      resource_metadata:"),
    )
}

fn with_client_options(options: &str) -> String {
    guarded_with(CLIENT_AUTHORIZATION, &format!("{options}\n      #"))
}

fn with_metadata(fields: &str) -> String {
    guarded_with(METADATA, &format!("{fields}\n        #"))
}

#[test]
fn server_authorization_names_one_guard() {
    let yaml = with_server_authorization(
        "{ authn_jwt: { credentials: \"Bearer {credentials}\" }, other: { credentials: \"{credentials}\" } }",
    );
    assert_errors(
        &yaml,
        &[
            &format!("{SERVER}.authorization: name one guard, found 2"),
            &format!("{SERVER}.authorization.other: no guard named `other`"),
        ],
    );
}

#[test]
fn credentials_template_holds_the_placeholder_once_and_fits_a_header() {
    let field = format!("{SERVER}.authorization.authn_jwt.credentials");
    for bad in [
        "Bearer",
        "{credentials}{credentials}",
        "Bearer {credential}",
    ] {
        assert_errors(
            &with_server_authorization(&format!("{{ authn_jwt: {{ credentials: \"{bad}\" }} }}")),
            &[&format!(
                "{field}: must contain `{{credentials}}` exactly once"
            )],
        );
    }
    for bad in [
        " Bearer {credentials}",
        "Bearer {credentials}\\n",
        "Bearer\\r\\n{credentials}",
        "Bé {credentials}",
    ] {
        assert_errors(
            &with_server_authorization(&format!("{{ authn_jwt: {{ credentials: \"{bad}\" }} }}")),
            &[&format!(
                "{field}: not a valid header value: only visible ASCII characters, spaces and \
                 tabs, and no space at either end"
            )],
        );
    }
    for good in [
        "{credentials}",
        "Token {credentials};v=1",
        "bearer\\t{credentials}",
    ] {
        assert_errors(
            &with_server_authorization(&format!("{{ authn_jwt: {{ credentials: \"{good}\" }} }}")),
            &[],
        );
    }
}

#[test]
fn server_authorization_must_name_a_guard_that_exists() {
    let yaml =
        with_server_authorization("{ authn_jtw: { credentials: \"Bearer {credentials}\" } }");
    // Routes and clients are not compared with a guard that does not exist.
    assert_errors(
        &yaml,
        &[&format!(
            "{SERVER}.authorization.authn_jtw: no guard named `authn_jtw`"
        )],
    );
}

#[test]
fn resource_metadata_needs_authorization() {
    let yaml = guarded_with(SERVER_AUTHORIZATION, "      resource_metadata:")
        .replace("guarded: { authn_jwt: [ \"time:read\" ] }", "")
        .replace(CLIENT_AUTHORIZATION, "      #");
    assert_errors(
        &yaml,
        &[&format!(
            "{SERVER}.resource_metadata: needs `options.authorization`: the metadata describes \
             a guarded endpoint"
        )],
    );
}

#[test]
fn resource_metadata_urls_are_absolute_http_urls() {
    let metadata = format!("{SERVER}.resource_metadata");
    let yaml = with_metadata(
        "        resource: \"https://mcp.example.com/mcp#x\"\n        \
         authorization_servers: [ \"https://auth.example.com\", \"auth.example.com\" ]\n        \
         scopes_supported: [ \"\" ]\n        resource_name: \"\"\n        \
         resource_documentation: \"docs\"",
    );
    assert_errors(
        &yaml,
        &[
            &format!("{metadata}.resource: must not contain a fragment"),
            &format!(
                "{metadata}.authorization_servers[1]: not an http(s) URL: relative URL without a base"
            ),
            &format!("{metadata}.scopes_supported[0]: must not be empty"),
            &format!("{metadata}.resource_name: must not be empty"),
            &format!(
                "{metadata}.resource_documentation: not an http(s) URL: relative URL without a base"
            ),
        ],
    );
    let good = with_metadata(
        "        resource: https://mcp.example.com/mcp\n        \
         authorization_servers: [ https://auth.example.com ]\n        \
         scopes_supported: []\n        resource_name: Tools\n        \
         resource_documentation: \"https://docs.example.com/mcp#auth\"",
    );
    assert_errors(&good, &[]);
}

#[test]
fn client_forwards_tokens_of_one_guard_with_a_valid_template() {
    let yaml = with_client_options(
        "      authorization: { authn_jwt: { credentials: \"Bearer\" }, b: { credentials: \"{credentials}\" } }",
    );
    assert_errors(
        &yaml,
        &[
            &format!("{CLIENT}.authorization: name one guard, found 2"),
            &format!(
                "{CLIENT}.authorization.authn_jwt.credentials: must contain `{{credentials}}` \
                 exactly once"
            ),
            &format!("{CLIENT}.authorization.b: no guard named `b`"),
        ],
    );
}

#[test]
fn static_credentials_are_a_file_a_header_and_a_format() {
    let credentials = format!("{CLIENT}.credentials");
    let with = |fields: &str| with_client_options(&format!("      credentials: {{ {fields} }}"));
    assert_errors(&with("file: /etc/mcpgw/credentials/time/token"), &[]);
    assert_errors(
        &with("file: /run/token, header: X-Api-Key, format: \"{credentials}\""),
        &[],
    );
    assert_errors(
        &with("file: \"\", header: \"X Key\", format: \"Key\""),
        &[
            &format!("{credentials}.file: must not be empty"),
            &format!(
                "{credentials}.header: not an HTTP header name (letters, digits and any of \
                 !#$%&'*+-.^_`|~)"
            ),
            &format!("{credentials}.format: must contain `{{credentials}}` exactly once"),
        ],
    );
    assert_errors(
        &with("file: \"a\\0\", header: \"\""),
        &[
            &format!("{credentials}.file: must not contain a NUL character"),
            &format!(
                "{credentials}.header: not an HTTP header name (letters, digits and any of \
                 !#$%&'*+-.^_`|~)"
            ),
        ],
    );
    for owned in [
        "Mcp-Session-Id",
        "mcp-protocol-version",
        "Content-Type",
        "accept",
        "Host",
        "content-length",
        "last-event-id",
    ] {
        assert_errors(
            &with(&format!("file: t, header: {owned}")),
            &[&format!(
                "{credentials}.header: `{}` is set by the gateway itself",
                owned.to_ascii_lowercase()
            )],
        );
    }
}

#[test]
fn forwarding_and_a_static_authorization_credential_contradict_each_other() {
    let guarded = crate::testing::GUARDED.replacen(
        CLIENT_AUTHORIZATION,
        &format!(
            "{}\n      credentials: {{ file: /run/token }}\n      #",
            &CLIENT_AUTHORIZATION[..CLIENT_AUTHORIZATION.len() - 4]
        ),
        1,
    );
    let message = "both `options.authorization` (the caller's token) and `options.credentials` \
                   set `Authorization`; keep one, or send this credential in another `header`";
    assert_errors(&guarded, &[&format!("{CLIENT}.credentials: {message}")]);
    let written = guarded.replace(
        "{ file: /run/token }",
        "{ file: /run/token, header: Authorization }",
    );
    assert_errors(
        &written,
        &[&format!("{CLIENT}.credentials.header: {message}")],
    );
    let elsewhere = guarded.replace(
        "{ file: /run/token }",
        "{ file: /run/token, header: x-api-key }",
    );
    assert_errors(&elsewhere, &[]);
}

#[test]
fn authorization_url_is_an_absolute_http_url_without_user_info() {
    let field = format!("{CLIENT}.authorization_url");
    let with = |url: &str| with_client_options(&format!("      authorization_url: \"{url}\""));
    assert_errors(&with("https://time.example.com/connect?x=1#top"), &[]);
    assert_errors(
        &with("https://me@time.example.com/connect"),
        &[&format!(
            "{field}: must not contain user info (credentials never go in the config)"
        )],
    );
    assert_errors(
        &with("mailto:me@example.com"),
        &[&format!(
            "{field}: not an http(s) URL: scheme `mailto`, expected `http` or `https`"
        )],
    );
}
