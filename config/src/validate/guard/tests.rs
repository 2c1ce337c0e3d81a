use crate::testing::{GUARDED, JWT_BASICS, assert_errors, guarded_with, with_jwt_options};

const OPTIONS: &str = "guards.authn_jwt.options";
const FILE: &str = "      keys_file: /etc/mcpgw/jwks/jwks.json\n";

/// RFC 7517 appendix A.1's P-256 key coordinates (32 bytes each).
const P256_X: &str = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
const P256_Y: &str = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";
/// RFC 8037 appendix A.2's Ed25519 public key (32 bytes).
const ED25519_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

fn with_options(more: &str) -> String {
    with_jwt_options(&format!("{JWT_BASICS}{more}"))
}

/// The guard with these inline keys (a YAML flow sequence).
fn with_keys(keys: &str) -> String {
    with_options(&format!("      keys: {keys}\n"))
}

fn rsa(extra: &str) -> String {
    format!(
        "{{ kty: RSA, n: sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1Wl, e: AQAB{extra} }}"
    )
}

fn ec(crv: &str, x: &str, y: &str, extra: &str) -> String {
    format!("{{ kty: EC, crv: \"{crv}\", x: {x}, y: {y}{extra} }}")
}

#[test]
fn guarded_example_is_valid() {
    assert_errors(GUARDED, &[]);
}

#[test]
fn guard_names_use_the_binding_name_characters() {
    let yaml = guarded_with("  authn_jwt:\n    type: jwt", "  authn.jwt:\n    type: jwt");
    let errors = crate::testing::errors(&yaml);
    assert_eq!(
        errors.first().map(String::as_str),
        Some("guards.authn.jwt: guard names may only contain letters, digits, `_` and `-`"),
        "{errors:#?}"
    );
}

#[test]
fn issuer_and_audience_must_not_be_blank() {
    let yaml = with_jwt_options(&format!(
        "      issuer: \" \"\n      audience: \"\"\n{FILE}"
    ));
    assert_errors(
        &yaml,
        &[
            &format!("{OPTIONS}.issuer: must not be empty"),
            &format!("{OPTIONS}.audience: must not be empty"),
        ],
    );
}

#[test]
fn audience_may_be_a_list_of_at_least_one() {
    let issuer = "      issuer: https://auth.example.com\n";
    let with_audience =
        |audience: &str| with_jwt_options(&format!("{issuer}      audience: {audience}\n{FILE}"));
    assert_errors(&with_audience("[ a, b ]"), &[]);
    assert_errors(
        &with_audience("[]"),
        &[&format!(
            "{OPTIONS}.audience: at least one audience is required"
        )],
    );
    assert_errors(
        &with_audience("[ a, \"\" ]"),
        &[&format!("{OPTIONS}.audience[1]: must not be empty")],
    );
}

#[test]
fn exactly_one_of_keys_and_keys_file() {
    assert_errors(
        &with_options(""),
        &[&format!(
            "{OPTIONS}.keys: one of `keys` and `keys_file` is required"
        )],
    );
    let both = format!("{FILE}      keys: https://auth.example.com/jwks.json\n");
    assert_errors(
        &with_options(&both),
        &[&format!(
            "{OPTIONS}.keys: `keys` and `keys_file` are both set; give exactly one"
        )],
    );
}

#[test]
fn keys_file_must_be_a_non_empty_path_without_nul() {
    let field = format!("{OPTIONS}.keys_file");
    assert_errors(
        &with_options("      keys_file: \"\"\n"),
        &[&format!("{field}: must not be empty")],
    );
    assert_errors(
        &with_options("      keys_file: \"a\\0b\"\n"),
        &[&format!("{field}: must not contain a NUL character")],
    );
}

#[test]
fn jwks_url_is_an_absolute_http_or_https_url() {
    let field = format!("{OPTIONS}.keys");
    for good in [
        "https://auth.example.com/.well-known/jwks.json",
        "http://127.0.0.1:8080/jwks",
    ] {
        assert_errors(&with_options(&format!("      keys: {good}\n")), &[]);
    }
    let cases = [
        (
            "ftp://x/jwks",
            "not an http(s) URL: scheme `ftp`, expected `http` or `https`",
        ),
        (
            "https:/x/jwks",
            "not an http(s) URL: expected `http(s)://host[:port]/path`",
        ),
        ("/jwks", "not an http(s) URL: relative URL without a base"),
        (
            "https://u:p@x/jwks",
            "must not contain user info (credentials never go in the config)",
        ),
        ("https://x/jwks#k", "must not contain a fragment"),
    ];
    for (url, message) in cases {
        assert_errors(
            &with_options(&format!("      keys: \"{url}\"\n")),
            &[&format!("{field}: {message}")],
        );
    }
}

#[test]
fn inline_keys_of_each_type_are_accepted() {
    let keys = format!(
        "[ {}, {}, {}, {{ kty: OKP, crv: Ed25519, x: {ED25519_X}, alg: EdDSA }} ]",
        rsa(", kid: r1, alg: PS256, use: sig"),
        ec("P-256", P256_X, P256_Y, ", kid: e1, alg: ES256"),
        ec("P-384", &"A".repeat(64), &"B".repeat(64), ", alg: ES384"),
    );
    assert_errors(&with_keys(&keys), &[]);
}

#[test]
fn inline_keys_need_at_least_one_key() {
    assert_errors(
        &with_keys("[]"),
        &[&format!("{OPTIONS}.keys: at least one key is required")],
    );
}

#[test]
fn inline_keys_need_the_members_of_their_type() {
    let key = format!("{OPTIONS}.keys");
    assert_errors(
        &with_keys(&format!(
            "[ {{ kty: RSA, n: abc }}, {{ kty: EC, crv: P-256, x: {P256_X} }}, {{ kty: OKP, crv: Ed25519 }} ]"
        )),
        &[
            &format!("{key}[0].e: missing required field"),
            &format!("{key}[1].y: missing required field"),
            &format!("{key}[2].x: missing required field"),
        ],
    );
    assert_errors(
        &with_keys(&format!("[ {} ]", rsa(&format!(", x: {ED25519_X}")))),
        &[&format!("{key}[0].x: `x` is not a member of an `RSA` key")],
    );
    assert_errors(
        &with_keys("[ { kty: oct, kid: a } ]"),
        &[&format!(
            "{key}[0].kty: unsupported key type `oct`, expected one of `RSA`, `EC`, `OKP`"
        )],
    );
}

#[test]
fn inline_keys_are_on_supported_curves_with_full_length_coordinates() {
    let key = format!("{OPTIONS}.keys[0]");
    assert_errors(
        &with_keys(&format!("[ {} ]", ec("P-521", P256_X, P256_Y, ""))),
        &[&format!(
            "{key}.crv: unsupported curve `P-521` for an `EC` key, expected `P-256` or `P-384`"
        )],
    );
    assert_errors(
        &with_keys(&format!("[ {} ]", ec("P-384", P256_X, P256_Y, ""))),
        &[
            &format!("{key}.x: must be the base64url of 48 bytes for `P-384`"),
            &format!("{key}.y: must be the base64url of 48 bytes for `P-384`"),
        ],
    );
    assert_errors(
        &with_keys("[ { kty: OKP, crv: X25519, x: abc } ]"),
        &[&format!(
            "{key}.crv: unsupported curve `X25519` for an `OKP` key, expected `Ed25519`"
        )],
    );
    assert_errors(
        &with_keys(&format!(
            "[ {} ]",
            rsa("").replace("e: AQAB", "e: \"AQ+B=\"")
        )),
        &[&format!(
            "{key}.e: not base64url (RFC 4648 §5, without padding)"
        )],
    );
}

#[test]
fn inline_key_algorithm_must_be_supported_and_fit_the_key() {
    let key = format!("{OPTIONS}.keys");
    let keys = format!(
        "[ {}, {}, {}, {{ kty: OKP, crv: Ed25519, x: {ED25519_X}, alg: ES256 }} ]",
        rsa(", alg: HS256"),
        rsa(", alg: ES256"),
        ec("P-256", P256_X, P256_Y, ", alg: ES384"),
    );
    assert_errors(
        &with_keys(&keys),
        &[
            &format!(
                "{key}[0].alg: unsupported algorithm `HS256`, expected one of `RS256`, `RS384`, \
                 `RS512`, `PS256`, `PS384`, `PS512`, `ES256`, `ES384`, `EdDSA`"
            ),
            &format!("{key}[1].alg: `ES256` cannot be used with an `RSA` key"),
            &format!("{key}[2].alg: `ES384` cannot be used with an `EC` key on `P-256`"),
            &format!("{key}[3].alg: `ES256` cannot be used with an `OKP` key on `Ed25519`"),
        ],
    );
}

#[test]
fn inline_keys_are_signature_keys_with_unique_ids() {
    let key = format!("{OPTIONS}.keys");
    let keys = format!(
        "[ {}, {}, {} ]",
        rsa(", kid: a, use: enc"),
        rsa(", kid: b"),
        ec("P-256", P256_X, P256_Y, ", kid: a"),
    );
    assert_errors(
        &with_keys(&keys),
        &[
            &format!(
                "{key}[0].use: unsupported key use `enc`, expected `sig` (only signature keys \
                 verify tokens)"
            ),
            &format!("{key}[2].kid: key id `a` is already used by keys[0]"),
        ],
    );
}

#[test]
fn algorithms_are_listed_once_each_and_at_least_one() {
    let field = format!("{OPTIONS}.algorithms");
    assert_errors(
        &with_options(&format!(
            "{FILE}      algorithms: [ RS256, ES256, RS256 ]\n"
        )),
        &[&format!("{field}[2]: `RS256` is already listed")],
    );
    assert_errors(
        &with_options(&format!("{FILE}      algorithms: []\n")),
        &[&format!("{field}: at least one algorithm is required")],
    );
}

#[test]
fn leeway_is_at_most_five_minutes_and_refresh_between_a_second_and_a_day() {
    let with = |more: &str| with_options(&format!("{FILE}{more}"));
    assert_errors(
        &with("      leeway: PT5M\n      refresh_interval: P1D\n"),
        &[],
    );
    assert_errors(
        &with("      leeway: PT0S\n      refresh_interval: PT1S\n"),
        &[],
    );
    assert_errors(
        &with("      leeway: PT5M1S\n      refresh_interval: PT0.5S\n"),
        &[
            &format!("{OPTIONS}.leeway: must be at most PT5M"),
            &format!("{OPTIONS}.refresh_interval: must be between PT1S and P1D"),
        ],
    );
    assert_errors(
        &with("      refresh_interval: P1DT1S\n"),
        &[&format!(
            "{OPTIONS}.refresh_interval: must be between PT1S and P1D"
        )],
    );
}

#[test]
fn roles_and_identity_claims_must_not_be_blank() {
    assert_errors(
        &with_options(&format!("{FILE}      roles: \"\"\n      identity: \" \"\n")),
        &[
            &format!("{OPTIONS}.roles: must not be empty"),
            &format!("{OPTIONS}.identity: must not be empty"),
        ],
    );
}

#[test]
fn every_guard_error_is_reported_at_once() {
    let yaml = with_jwt_options(&format!(
        "      issuer: \"\"\n      audience: []\n      keys: [ {} ]\n      leeway: PT1H\n",
        rsa(", use: enc")
    ));
    assert_errors(
        &yaml,
        &[
            &format!("{OPTIONS}.issuer: must not be empty"),
            &format!("{OPTIONS}.audience: at least one audience is required"),
            &format!(
                "{OPTIONS}.keys[0].use: unsupported key use `enc`, expected `sig` (only \
                 signature keys verify tokens)"
            ),
            &format!("{OPTIONS}.leeway: must be at most PT5M"),
        ],
    );
}

#[test]
fn a_guard_nothing_uses_is_fine() {
    let yaml = GUARDED.replacen(
        "bindings:\n",
        &format!("  unused:\n    type: jwt\n    options:\n{JWT_BASICS}{FILE}bindings:\n"),
        1,
    );
    assert_errors(&yaml, &[]);
}

#[test]
fn trusted_ca_bundles_go_with_an_https_jwks_url_only() {
    let https = "      keys: https://auth.example.com/jwks.json\n";
    let trust = "      trust: [ /etc/mcpgw/jwks/ca.crt ]\n";
    assert_errors(&with_options(&format!("{https}{trust}")), &[]);
    assert_errors(
        &with_options(&format!("{FILE}{trust}")),
        &[&format!(
            "{OPTIONS}.trust: applies to an `https` JWKS URL in `keys` only"
        )],
    );
    let blank = "      trust: [ \"\" ]\n";
    let errors = crate::testing::errors(&with_options(&format!("{https}{blank}")));
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("{OPTIONS}.trust[0]"))),
        "{errors:?}"
    );
}
