//! Field rules of the tls client, each error at its field.

use crate::testing::{assert_errors, errors, github_with_tls_options};

const TLS: &str = "bindings.south_tls_client_github.options";

#[test]
fn sni_is_exactly_one_host_name_or_ip_address() {
    let cases = [
        (
            "[ a.example, b.example ]",
            "sni: expected exactly one server name, found 2",
        ),
        ("[]", "sni: expected exactly one server name, found 0"),
        ("[ \"a b\" ]", "sni[0]: not an IP address or host name"),
        ("[ \"\" ]", "sni[0]: must not be empty"),
    ];
    for (sni, error) in cases {
        let yaml = github_with_tls_options(&format!("      sni: {sni}\n"));
        assert_errors(&yaml, &[&format!("{TLS}.{error}")]);
    }
    for sni in ["127.0.0.1", "::1", "localhost"] {
        assert_errors(
            &github_with_tls_options(&format!("      sni: [ \"{sni}\" ]\n")),
            &[],
        );
    }
}

#[test]
fn alpn_lists_each_protocol_once() {
    let yaml = github_with_tls_options("      alpn: [ h2, http/1.1, h2 ]\n");
    assert_errors(&yaml, &[&format!("{TLS}.alpn[2]: `h2` is already listed")]);
}

#[test]
fn trust_and_certificate_files_are_non_empty_paths() {
    let yaml = github_with_tls_options(
        "      trust: [ /ca.pem, \"\", \"a\\0b\" ]\n      certificate_file: \"\"\n      key_file: \"\"\n",
    );
    let expected = [
        "trust[1]: must not be empty",
        "trust[2]: must not contain a NUL character",
        "certificate_file: must not be empty",
        "key_file: must not be empty",
    ];
    assert_eq!(errors(&yaml), expected.map(|e| format!("{TLS}.{e}")));
}

#[test]
fn a_client_certificate_needs_both_files() {
    let needs = ": a client certificate needs both its chain and its key";
    let yaml = github_with_tls_options("      certificate_file: /tls.crt\n");
    let error = format!("{TLS}.key_file: required with `certificate_file`{needs}");
    assert_errors(&yaml, &[&error]);
    let yaml = github_with_tls_options("      key_file: /tls.key\n");
    let error = format!("{TLS}.certificate_file: required with `key_file`{needs}");
    assert_errors(&yaml, &[&error]);
}

#[test]
fn skipping_verification_is_refused_with_anything_to_verify_with() {
    let cases = [
        ("      trust: [ /ca.pem ]\n", "`trust`"),
        ("      trustcacerts: true\n", "`trustcacerts: true`"),
        (
            "      trust: [ /ca.pem ]\n      trustcacerts: true\n",
            "`trust` and `trustcacerts: true`",
        ),
    ];
    for (options, conflict) in cases {
        let yaml = github_with_tls_options(&format!(
            "{options}      dangerously_skip_verification: true\n"
        ));
        let error = format!(
            "{TLS}.dangerously_skip_verification: turns certificate verification off, but \
             {conflict} says what to verify the server with; keep one"
        );
        assert_errors(&yaml, &[&error]);
    }
    let yaml = github_with_tls_options(
        "      trustcacerts: false\n      dangerously_skip_verification: true\n",
    );
    assert_errors(&yaml, &[]);
}

#[test]
fn trusting_nothing_is_refused() {
    let yaml = github_with_tls_options("      trustcacerts: false\n");
    let error = format!(
        "{TLS}.trustcacerts: `false` with no `trust` files trusts no certificate, so no server \
         could be verified; name CA files in `trust`, or leave `trustcacerts` out"
    );
    assert_errors(&yaml, &[&error]);
}
