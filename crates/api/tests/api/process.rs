//! The real `userhub` binary as a child process, for the tests that need a
//! process of its own (its memory, a `kill -9`): its administrator
//! commands, `serve` on a random port, and HTTP/1.1 exchanges over plain
//! sockets, from plain threads.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `userhub` binary with a clean environment for its tunables, so that
/// the defaults (argon2's 19 MiB among them) are what runs unless a test
/// sets one.
pub fn userhub(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_userhub"));
    for (name, _) in std::env::vars() {
        if name.starts_with("USERHUB_") || name == "MALLOC_MMAP_THRESHOLD_" {
            command.env_remove(name);
        }
    }
    command.env("DATABASE_URL", database_url);
    command
}

/// Run an administrator command; its standard output.
pub fn admin(database_url: &str, args: &[&str]) -> String {
    let output = userhub(database_url)
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(output.status.success(), "userhub {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Tenant `acme` and an ADMIN key of it, made with the administrator
/// commands; the key.
pub fn acme_admin_key(database_url: &str) -> String {
    // Only `serve` and `migrate` create a SQLite file that does not exist.
    admin(database_url, &["migrate"]);
    admin(database_url, &["tenant", "create", "acme"]);
    let out = admin(
        database_url,
        &["api-key", "create", "--tenant", "acme", "--role", "ADMIN"],
    );
    out.lines().last().unwrap().trim().to_owned()
}

/// The running server; killed when dropped, so a failing test leaves
/// no process behind.
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
    /// The last lines the server logged, but for its 200 and 401 answers.
    log: Arc<Mutex<VecDeque<String>>>,
}

/// Log lines kept for a failure message.
const LOG_TAIL: usize = 40;

impl Server {
    /// `userhub serve` on a random port of 127.0.0.1 with the environment
    /// `env` added; returns once it says where it listens.
    pub fn start(database_url: &str, env: &[(&str, String)]) -> Self {
        let mut command = userhub(database_url);
        command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        // The server names its port in its log; keep reading the log after
        // that (one access line a request), or a full pipe would stall it.
        let stderr = child.stderr.take().unwrap();
        let (found, address) = mpsc::channel();
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                // The last lines, for the failure message; access lines
                // of answered requests tell nothing.
                if !line.contains("\" 200 ") && !line.contains("\" 401 ") {
                    let mut tail = log.lock().unwrap_or_else(PoisonError::into_inner);
                    if tail.len() == LOG_TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(line.clone());
                }
                if let Some(at) = line.find("listening on http://")
                    && let Some(found) = found.take()
                {
                    let address = &line[at + "listening on http://".len()..];
                    let _ = found.send(address.trim().to_owned());
                }
            }
        });
        let mut server = Server {
            child,
            address: String::new(),
            log: tail,
        };
        match address.recv_timeout(Duration::from_secs(120)) {
            Ok(address) => server.address = address,
            Err(_) => panic!(
                "the server did not say where it listens: {:?}",
                server.child.try_wait()
            ),
        }
        server
    }

    /// The server's last log lines, one a line.
    pub fn log_tail(&self) -> String {
        let tail = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Resident memory in KiB, from `/proc/<pid>/status`.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmRSS in {status}"))
    }

    /// The names of the server's threads.
    pub fn thread_names(&self) -> Vec<String> {
        std::fs::read_dir(format!("/proc/{}/task", self.child.id()))
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_owned())
            .collect()
    }

    /// `kill -9`: SIGKILL, no chance to finish anything; returns once the
    /// process is gone.
    pub fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer read to its end.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The status line and headers.
    pub head: String,
    /// The body.
    pub body: String,
}

impl Answer {
    /// A header's value (the name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {} {:?}", self.status, self.body))
    }
}

/// Send one HTTP/1.1 request on a new connection and read the answer to
/// its end (`Connection: close`).
pub fn send(address: &str, request: &[u8]) -> Result<Answer, String> {
    let mut stream = TcpStream::connect(address).map_err(|e| format!("connect: {e}"))?;
    // Generous: on a loaded 2-core machine an answer may take long.
    let patience = Some(Duration::from_secs(300));
    stream
        .set_read_timeout(patience)
        .and_then(|()| stream.set_write_timeout(patience))
        .map_err(|e| format!("timeouts: {e}"))?;
    stream
        .write_all(request)
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {answer:?}"))?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .map_or((answer.as_str(), ""), |(head, body)| (head, body));
    Ok(Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    })
}

/// [`send`], answering the status and the body.
pub fn exchange(address: &str, request: &[u8]) -> Result<(u16, String), String> {
    send(address, request).map(|answer| (answer.status, answer.body))
}

/// An HTTP/1.1 request without a body, with `headers` (`Name: value`).
pub fn get(address: &str, path: &str, headers: &[String]) -> Vec<u8> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// An HTTP/1.1 POST of `body` as JSON, with `headers` (`Name: value`).
pub fn post(address: &str, path: &str, headers: &[String], body: &Value) -> Vec<u8> {
    let body = body.to_string();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(&body);
    request.into_bytes()
}

/// Poll `/healthz` until it answers 200.
pub fn wait_until_healthy(server: &Server) {
    let request = get(&server.address, "/healthz", &[]);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let answer = exchange(&server.address, &request);
        if matches!(answer, Ok((200, _))) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz never answered 200: {answer:?}\nthe server's log:\n{}",
            server.log_tail()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
