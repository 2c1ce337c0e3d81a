//! A tls client's options compile into its toolkits' `TlsPlan`s.

use super::tests_egress::egress;
use crate::plan::{ClientCertificatePlan, TlsPlan};
use crate::testing::github_with_tls_options;

fn tls_of(yaml: &str) -> Option<TlsPlan> {
    egress(yaml, "github").ok().and_then(|egress| egress.tls)
}

#[test]
fn trust_files_and_a_client_certificate_are_carried_into_the_plan() {
    let yaml = github_with_tls_options(
        "      trust: [ /etc/ca/a.pem, /etc/ca/b.pem ]\n      \
         certificate_file: /etc/tls/tls.crt\n      key_file: /etc/tls/tls.key\n",
    );
    let expected = TlsPlan {
        trust_system_roots: false,
        trust_files: vec!["/etc/ca/a.pem".to_owned(), "/etc/ca/b.pem".to_owned()],
        client_certificate: Some(ClientCertificatePlan {
            certificate_file: "/etc/tls/tls.crt".to_owned(),
            key_file: "/etc/tls/tls.key".to_owned(),
        }),
        ..TlsPlan::system_default()
    };
    assert_eq!(tls_of(&yaml), Some(expected));
    let both =
        github_with_tls_options("      trust: [ /etc/ca/a.pem ]\n      trustcacerts: true\n");
    let tls = tls_of(&both).map(|tls| (tls.trust_system_roots, tls.trust_files.len()));
    assert_eq!(tls, Some((true, 1)), "the system's roots and the file");
}

#[test]
fn skipping_verification_trusts_nothing_and_says_so_in_the_plan() {
    let yaml = github_with_tls_options("      dangerously_skip_verification: true\n");
    let expected = TlsPlan {
        trust_system_roots: false,
        skip_verification: true,
        ..TlsPlan::system_default()
    };
    assert_eq!(tls_of(&yaml), Some(expected));
}
