//! No client holds a connection beyond the configured timeouts (issue 15,
//! point 4), over plain sockets so that a request can stall half-way: a
//! body that stops arriving is answered 408 in the dialect's own body and
//! its connection closed; headers that stop arriving are answered 408 and
//! closed; an idle keep-alive connection is closed.
//!
//! The server runs with one-second timeouts; each test waits for the
//! server to close the connection with a generous deadline (it never
//! sleeps, and asserts no timing beyond "closed before the deadline").

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::pipeline::DIALECTS;

/// The timeouts the server under test runs with.
const SHORT: Duration = Duration::from_secs(1);
/// How long a test waits for the server to close a connection: far beyond
/// `SHORT`, so a loaded machine does not fail it; a server that never
/// closes fails it.
const PATIENCE: Duration = Duration::from_secs(30);

async fn app_with_short_timeouts(backend: Backend) -> TestApp {
    spawn_app_with(backend, |config| {
        config.body_timeout = SHORT;
        config.header_timeout = SHORT;
        config.keep_alive = SHORT;
    })
    .await
    .unwrap()
}

/// What the server sent on one connection before it closed it, or before
/// the patience ran out.
#[derive(Debug)]
struct Exchange {
    /// Everything the server wrote.
    received: String,
    /// Whether the server closed the connection (end of stream or reset).
    closed: bool,
    /// Why the request could not be written whole, if it could not (the
    /// server may answer and close before a stalled request is all sent).
    #[expect(dead_code, reason = "shown in failure messages, through Debug")]
    write_error: Option<String>,
}

impl Exchange {
    /// The status of the first answer.
    fn status(&self) -> Option<u16> {
        self.received
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
    }

    /// The first answer's body as JSON (the answers here are `Content-Length` bodies).
    fn json(&self) -> Value {
        let body = self
            .received
            .split_once("\r\n\r\n")
            .map_or("", |(_, body)| body);
        serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {:?}", self.received))
    }
}

/// Connect to the app, write `sent`, and read until the server closes the
/// connection or `PATIENCE` runs out. Blocking: call it off the runtime.
fn stall(address: &str, sent: &[u8]) -> Exchange {
    let mut stream = TcpStream::connect(address).unwrap();
    let write_error = stream.write_all(sent).err().map(|e| e.to_string());
    let deadline = Instant::now() + PATIENCE;
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    let closed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break false;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buffer) {
            Ok(0) => break true,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break false;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // A reset is the server closing too.
            Err(_) => break true,
        }
    };
    Exchange {
        received: String::from_utf8_lossy(&received).into_owned(),
        closed,
        write_error,
    }
}

async fn stall_on(app: &TestApp, sent: String) -> Exchange {
    let address = app.address.trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || stall(&address, sent.as_bytes()))
        .await
        .unwrap()
}

/// Headers complete, `Content-Length: 60000`, 3 bytes sent, then nothing
/// (and the same with a chunked body that stops after its first chunk):
/// every dialect answers 408 in its own error body, and the connection is
/// closed. Without a credential the answer is the dialect's 401, and the
/// connection is closed as well.
async fn a_stalled_body_is_408_and_closed(backend: Backend) {
    let app = app_with_short_timeouts(backend).await;
    for dialect in &DIALECTS {
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n",
            dialect.body_route, app.address
        );
        for line in dialect.credential_lines(&app) {
            head.push_str(&line);
            head.push_str("\r\n");
        }
        for (framing, body) in [
            ("Content-Length: 60000", "{\"a"),
            ("Transfer-Encoding: chunked", "3\r\n{\"a\r\n"),
        ] {
            let label = format!("{} ({framing})", dialect.name);
            let exchange = stall_on(&app, format!("{head}{framing}\r\n\r\n{body}")).await;
            assert!(exchange.closed, "{label}: still open: {exchange:?}");
            assert_eq!(exchange.status(), Some(408), "{label}: {exchange:?}");
            assert!(
                dialect.is_error_body(&exchange.json(), StatusCode::REQUEST_TIMEOUT),
                "{label}: {exchange:?}"
            );
        }
        // No credential: refused at once, and the unread body does not
        // keep the connection.
        for (framing, body) in [
            ("Content-Length: 60000", "{\"a"),
            ("Transfer-Encoding: chunked", "3\r\n{\"a\r\n"),
        ] {
            let anonymous = format!(
                "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n{body}",
                dialect.body_route, app.address
            );
            let label = format!("{} without a credential ({framing})", dialect.name);
            let exchange = stall_on(&app, anonymous).await;
            assert!(exchange.closed, "{label}: still open: {exchange:?}");
            assert_eq!(exchange.status(), Some(401), "{label}: {exchange:?}");
        }
    }
    // A route that reads no body, and a path no route serves.
    for path in ["/healthz", "/v1/nothing"] {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{{\"a\r\n",
            app.address
        );
        let exchange = stall_on(&app, request).await;
        assert!(exchange.closed, "{path}: still open: {exchange:?}");
        assert!(exchange.status().is_some(), "{path}: {exchange:?}");
    }
}

/// Headers that stop half-way are answered 408 and the connection closed;
/// a connection that sends nothing is closed; an idle keep-alive
/// connection is closed after its answer.
async fn slow_headers_and_idle_connections_are_closed(backend: Backend) {
    let app = app_with_short_timeouts(backend).await;
    let host = app.address.clone();

    let half = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nAccept: appl");
    let exchange = stall_on(&app, half).await;
    assert!(exchange.closed, "half a header: still open: {exchange:?}");
    assert_eq!(exchange.status(), Some(408), "{exchange:?}");

    let exchange = stall_on(&app, String::new()).await;
    assert!(exchange.closed, "nothing sent: still open: {exchange:?}");

    let idle = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let exchange = stall_on(&app, idle).await;
    assert!(exchange.closed, "idle keep-alive: still open: {exchange:?}");
    assert_eq!(exchange.status(), Some(200), "{exchange:?}");
}

both_backends!(
    a_stalled_body_is_408_and_closed,
    slow_headers_and_idle_connections_are_closed
);
