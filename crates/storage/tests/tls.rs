//! DI-01: with `sslmode=require` (or `verify-*`) in the URL, the store reaches
//! PostgreSQL only over TLS: a server that offers no TLS is refused before any
//! credential is sent, and a real server's session is encrypted. The second part
//! needs ZHILI_TEST_PG (a server with `ssl = on`, as Debian's is) and skips without.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zhili_storage::Store;

#[tokio::test]
async fn a_server_without_tls_is_refused_before_the_password_is_sent() {
    // A "PostgreSQL" that answers the client's SSLRequest with 'N' (no TLS) and
    // records whatever comes after it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 8];
        sock.read_exact(&mut request).await.unwrap();
        sock.write_all(b"N").await.unwrap();
        let mut after = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            sock.read_to_end(&mut after),
        )
        .await;
        (request, after)
    });
    let url = format!("postgres://zhili:secret-pw@127.0.0.1:{port}/zhili?sslmode=require");
    let refused = Store::connect(&url).await;
    assert!(refused.is_err(), "a plaintext server was accepted");
    let (request, after) = server.await.unwrap();
    // The SSLRequest: length 8, code 80877103.
    assert_eq!(request, [0, 0, 0, 8, 4, 210, 22, 47]);
    assert!(
        after.is_empty(),
        "nothing (no startup message, no user name) after the refusal: {after:?}"
    );
}

#[tokio::test]
async fn the_session_to_a_real_server_is_encrypted() {
    let Some(url) = zhili_storage::testing::fresh_postgres_url().await else {
        eprintln!("skipped: ZHILI_TEST_PG not set");
        return;
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let store = Store::connect(&format!("{url}{sep}sslmode=require"))
        .await
        .expect("TLS to the test server (ssl = on)");
    zhili_storage::testing::execute(
        &store,
        "DO $$ BEGIN IF NOT (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) \
         THEN RAISE EXCEPTION 'plaintext session'; END IF; END $$",
    )
    .await;
}
