//! TLS to the Postgres server as the URL's `sslmode` asks, against the real server (which has
//! `ssl` on, with the distribution's self-signed certificate for `localhost`) and, for a
//! server that offers no TLS, a small stand-in that answers the request for TLS with "no".

use crate::postgres::{admin_rows, refused, with_login, Schemas, ServerHold};
use crate::support::TempDir;
use wfc::backends::{Access, PostgresBackend};
use wfc::runtime::TaskBackend;

/// `url` with `params` added to its query.
fn with_params(url: &str, params: &str) -> String {
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}{params}")
}

/// The server's certificate file, which signs itself; the test needs the server's TLS on.
fn server_certificate() -> String {
    let ssl = admin_rows("SHOW ssl");
    assert_eq!(
        ssl[0][0].as_deref(),
        Some("on"),
        "the test server has TLS off: turn `ssl` on to test TLS"
    );
    let file = admin_rows("SHOW ssl_cert_file");
    file[0][0].clone().expect("ssl_cert_file")
}

/// Whether the connections of application `name` use TLS, one answer each.
fn tls_of(name: &str) -> Vec<bool> {
    admin_rows(&format!(
        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid \
         WHERE a.application_name = '{name}'"
    ))
    .into_iter()
    .map(|row| row[0].as_deref() == Some("t"))
    .collect()
}

#[test]
fn each_sslmode_connects_as_libpq_would() {
    let schemas = Schemas::new("tls");
    let url = schemas.url();
    let certificate = server_certificate();
    let localhost = url.replacen("127.0.0.1", "localhost", 1);
    assert_ne!(localhost, url, "the test server is at 127.0.0.1: {url}");
    let cases = [
        (url.clone(), "sslmode=disable", false),
        (url.clone(), "sslmode=prefer", true),
        (url.clone(), "sslmode=require", true),
        (
            url.clone(),
            &format!("sslmode=verify-ca&sslrootcert={certificate}"),
            true,
        ),
        (
            localhost,
            &format!("sslmode=verify-full&sslrootcert={certificate}"),
            true,
        ),
    ];
    for (n, (url, params, encrypted)) in cases.iter().enumerate() {
        let name = format!("wfc_tls_{}_{n}", std::process::id());
        let url = with_params(url, &format!("{params}&application_name={name}"));
        let backend = PostgresBackend::open(&url, Access::Create)
            .unwrap_or_else(|error| panic!("{params}: {error}"));
        backend.list_runs().expect("runs");
        assert_eq!(tls_of(&name), [*encrypted], "{params}");
    }
}

#[test]
fn a_certificate_that_fails_the_check_is_a_clear_error() {
    let _hold = ServerHold::take(false);
    let certificate = server_certificate();
    let url = with_login(&crate::postgres::server_url(), "postgres:sekrit");
    // The server's certificate names `localhost`, not the address connected to.
    let stderr = refused(
        &with_params(
            &url,
            &format!("sslmode=verify-full&sslrootcert={certificate}"),
        ),
        "not valid for name \"127.0.0.1\"",
    );
    assert!(stderr.contains("sslrootcert=PATH"), "{stderr}");
    // A CA that did not sign it.
    let dir = TempDir::new("wfc-pg-tls");
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "other.key",
            "-out",
            "other.pem",
            "-subj",
            "/CN=other",
            "-days",
            "1",
        ])
        .current_dir(dir.path())
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let other = dir.path().join("other.pem");
    let stderr = refused(
        &with_params(
            &url,
            &format!("sslmode=verify-ca&sslrootcert={}", other.display()),
        ),
        "invalid peer certificate",
    );
    assert!(stderr.contains("did not pass the check"), "{stderr}");
    // A file that is not there.
    refused(
        &with_params(&url, "sslmode=verify-ca&sslrootcert=/no/such/ca.pem"),
        "cannot read the CA certificates `/no/such/ca.pem`",
    );
    refused(
        &with_params(&url, "sslmode=sometimes"),
        "`sslmode=sometimes` in",
    );
}

/// A server that answers wfc's request for TLS with "no", as one with `ssl = off` does.
#[test]
fn sslmode_require_against_a_server_without_tls_is_a_clear_error_and_prefer_falls_back() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("its address").port();
    let server = std::thread::spawn(move || {
        let mut asked = Vec::new();
        for _ in 0..2 {
            let (mut socket, _) = listener.accept().expect("wfc connects");
            let mut request = [0u8; 8];
            socket
                .read_exact(&mut request)
                .expect("the request for TLS");
            asked.push(request);
            socket.write_all(b"N").expect("no TLS here");
            // What comes next (`prefer`) is the plain startup message: the stand-in ends there.
        }
        asked
    });
    let url = format!("postgres://postgres:sekrit@127.0.0.1:{port}/test");
    let stderr = refused(
        &with_params(&url, "sslmode=require"),
        "server does not support TLS",
    );
    assert!(stderr.contains("turn `ssl` on at the server"), "{stderr}");
    // `prefer` goes on without TLS: the stand-in then hangs up, which is a plain error.
    let dir = TempDir::new("wfc-pg-notls");
    let runs = crate::support::wfc(
        dir.path(),
        &["runs", "--backend", &with_params(&url, "sslmode=prefer")],
    );
    assert_eq!(runs.code, 2, "{}", runs.stderr);
    assert!(!runs.stderr.contains("TLS"), "{}", runs.stderr);
    let asked = server.join().expect("the stand-in ends");
    // SSLRequest: length 8, code 80877103.
    for request in asked {
        assert_eq!(request, [0, 0, 0, 8, 4, 210, 22, 47]);
    }
}
