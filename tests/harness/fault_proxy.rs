//! A fault-injecting HTTP proxy between the functions and moto: a share of the requests
//! get a fault AWS really produces (a throttling answer, a 500, a 503, a reset before or
//! after moto handled the request, or a slow answer), the rest pass through untouched.
//!
//! Faults are drawn from a seeded sequence, so a failing run can be repeated with the seed
//! it prints (`WARDEN_FAULT_SEED`). Plain threads, not tasks: the proxy outlives the tokio
//! runtime of the test that started it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The faults the proxy injects, in the order [`FaultCounts`] reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 400 with the protocol's throttling error (`Throttling` / `ThrottlingException`).
    Throttle,
    /// HTTP 500 `InternalFailure`, moto never sees the request.
    Internal,
    /// HTTP 503 `ServiceUnavailable`, moto never sees the request.
    Unavailable,
    /// The connection reset before the request reached moto.
    ResetBefore,
    /// Moto handled the request (a write happened), then the connection reset: the answer
    /// is lost, as in a timeout after the call.
    ResetAfter,
    /// Moto's answer, delivered late.
    Slow,
}

impl Fault {
    /// Every kind, in report order.
    pub const ALL: [Fault; 6] = [
        Fault::Throttle,
        Fault::Internal,
        Fault::Unavailable,
        Fault::ResetBefore,
        Fault::ResetAfter,
        Fault::Slow,
    ];

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Throttle => "throttled",
            Fault::Internal => "500",
            Fault::Unavailable => "503",
            Fault::ResetBefore => "reset before",
            Fault::ResetAfter => "reset after the write",
            Fault::Slow => "slow",
        }
    }
}

/// How many requests the proxy saw and which faults it injected.
#[derive(Debug, Default)]
pub struct FaultCounts {
    requests: AtomicUsize,
    injected: [AtomicUsize; 6],
    stalled: AtomicBool,
}

impl FaultCounts {
    /// Requests seen.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// Whether the proxy has held a request unanswered: a stall proxy its operation, a cut
    /// proxy the first request past its cut.
    pub fn stalled(&self) -> bool {
        self.stalled.load(Ordering::SeqCst)
    }

    /// Faults injected, all kinds.
    pub fn faults(&self) -> usize {
        self.injected
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .sum()
    }

    /// Faults of one kind.
    pub fn of(&self, fault: Fault) -> usize {
        let i = Fault::ALL.iter().position(|f| *f == fault).unwrap_or(0);
        self.injected[i].load(Ordering::Relaxed)
    }

    /// `N requests, M faults (throttled a, 500 b, ...)`.
    pub fn summary(&self) -> String {
        let kinds: Vec<String> = Fault::ALL
            .iter()
            .map(|f| format!("{} {}", f.name(), self.of(*f)))
            .collect();
        format!(
            "{} requests, {} faults ({})",
            self.requests(),
            self.faults(),
            kinds.join(", ")
        )
    }
}

/// The seed the proxy draws its faults from when `WARDEN_FAULT_SEED` gives none.
pub const DEFAULT_FAULT_SEED: u64 = 20_261_203;

/// A running proxy; requests to [`FaultProxy::endpoint`] go to `upstream`.
pub struct FaultProxy {
    endpoint: String,
    counts: Arc<FaultCounts>,
    seed: u64,
}

struct Shared {
    upstream: String,
    percent: u64,
    /// Stall mode: the first request of this operation is never answered (forwarded to
    /// moto first when `.1`: the write happens, its answer never comes).
    stall: Option<(String, bool)>,
    stalled: AtomicUsize,
    /// Cut mode: after this many writes reached moto, nothing more is answered.
    cut_after: Option<usize>,
    writes: AtomicUsize,
    seed: u64,
    next: AtomicU64,
    counts: Arc<FaultCounts>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`host:port`) that faults `percent` % of requests.
    pub fn start(upstream: &str, percent: u64) -> Self {
        Self::spawn(upstream, percent, None)
    }

    /// Starts a proxy that passes requests through until `writes` writes have reached
    /// moto, then answers nothing more: the caller is cut off right after that write, as
    /// a function is by a timeout or a crash. [`FaultCounts::stalled`] says when the cut
    /// has happened.
    pub fn cut_after(upstream: &str, writes: usize) -> Self {
        Self::spawn(upstream, 0, Some(writes))
    }

    /// Starts a proxy that passes every request through but the first of `operation`,
    /// which it holds unanswered for two minutes: a connection that stalls. With
    /// `after_moto` the request reaches moto first, so a write happens and only its answer
    /// is lost. [`FaultCounts::stalled`] says whether it happened.
    pub fn stall(upstream: &str, operation: &str, after_moto: bool) -> Self {
        Self::spawn_with(upstream, 0, None, Some((operation.to_owned(), after_moto)))
    }

    fn spawn(upstream: &str, percent: u64, cut_after: Option<usize>) -> Self {
        Self::spawn_with(upstream, percent, cut_after, None)
    }

    fn spawn_with(
        upstream: &str,
        percent: u64,
        cut_after: Option<usize>,
        stall: Option<(String, bool)>,
    ) -> Self {
        // A fixed seed unless one is given, so a failure is the same failure when run again;
        // the seed is printed, and the test's output is shown when it fails.
        let seed = std::env::var("WARDEN_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_FAULT_SEED);
        println!("fault proxy: {percent} % of requests faulted, seed {seed} (WARDEN_FAULT_SEED)");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let counts = Arc::new(FaultCounts::default());
        let shared = Arc::new(Shared {
            upstream: upstream.to_owned(),
            percent,
            stall,
            stalled: AtomicUsize::new(0),
            cut_after,
            writes: AtomicUsize::new(0),
            seed,
            next: AtomicU64::new(0),
            counts: counts.clone(),
        });
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve(&shared, conn));
            }
        });
        Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            counts,
            seed,
        }
    }

    /// Where the functions should send their requests.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// What the proxy has seen and done so far.
    pub fn counts(&self) -> &FaultCounts {
        &self.counts
    }

    /// The seed of this run's faults, to repeat it with `WARDEN_FAULT_SEED`.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl Shared {
    /// The fault for the next request, if any: splitmix64 over (seed, request number).
    fn draw(&self) -> Option<(Fault, u64)> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut z = self
            .seed
            .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        if z % 100 >= self.percent {
            return None;
        }
        let fault = Fault::ALL[((z / 100) % Fault::ALL.len() as u64) as usize];
        Some((fault, z >> 32))
    }
}

/// One request as it came in: its head (request line and headers) and body.
struct Request {
    head: String,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The operation: `X-Amz-Target`'s suffix (awsJson) or the body's `Action` (awsQuery).
    fn operation(&self) -> String {
        if let Some(target) = self.header("x-amz-target") {
            return target.rsplit('.').next().unwrap_or_default().to_owned();
        }
        String::from_utf8_lossy(&self.body)
            .split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
            .unwrap_or_default()
            .to_owned()
    }

    /// Whether the operation changes something.
    fn is_write(&self) -> bool {
        crate::is_write(&self.operation())
    }

    /// Whether the body is awsJson (ECS, Application Auto Scaling) rather than awsQuery.
    fn is_json(&self) -> bool {
        self.header("content-type")
            .is_some_and(|t| t.contains("json"))
    }
}

/// Reads one request; `None` at a clean end of the connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let end = line == "\r\n";
        head.push_str(&line);
        if end {
            break;
        }
    }
    let mut request = Request {
        head,
        body: Vec::new(),
    };
    assert!(
        request.header("transfer-encoding").is_none(),
        "the proxy reads Content-Length bodies only: {}",
        request.head
    );
    let length: usize = request
        .header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    request.body = vec![0; length];
    reader.read_exact(&mut request.body).ok()?;
    Some(request)
}

/// Serves one client connection, one request at a time.
fn serve(shared: &Shared, conn: TcpStream) {
    let Ok(writer) = conn.try_clone() else { return };
    let mut reader = BufReader::new(conn);
    while let Some(request) = read_request(&mut reader) {
        shared.counts.requests.fetch_add(1, Ordering::Relaxed);
        if let Some((operation, after_moto)) = &shared.stall {
            if request.operation() == *operation
                && shared.stalled.fetch_add(1, Ordering::SeqCst) == 0
            {
                shared.counts.stalled.store(true, Ordering::SeqCst);
                if *after_moto {
                    let _ = forward(&shared.upstream, &request);
                }
                std::thread::sleep(Duration::from_secs(120));
                return;
            }
        }
        if let Some(limit) = shared.cut_after {
            if shared.writes.load(Ordering::SeqCst) >= limit {
                // Cut off: hold the connection unanswered until the caller gives up.
                shared.counts.stalled.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_secs(120));
                return;
            }
            if request.is_write() {
                shared.writes.fetch_add(1, Ordering::SeqCst);
            }
        }
        let drawn = shared.draw();
        if let Some((fault, _)) = drawn {
            let i = Fault::ALL.iter().position(|f| *f == fault).unwrap_or(0);
            shared.counts.injected[i].fetch_add(1, Ordering::Relaxed);
        }
        let answer = match drawn.map(|(fault, r)| (fault, injected(fault, &request), r)) {
            None => forward(&shared.upstream, &request),
            Some((_, Some(error), _)) => Some(error),
            Some((Fault::ResetAfter, _, _)) => {
                let _ = forward(&shared.upstream, &request);
                None
            }
            Some((Fault::Slow, _, r)) => {
                std::thread::sleep(Duration::from_millis(200 + r % 800));
                forward(&shared.upstream, &request)
            }
            Some(_) => None,
        };
        let mut writer = &writer;
        match answer {
            Some(bytes) if writer.write_all(&bytes).is_ok() => {}
            // A reset, not a close: linger 0 makes the kernel send RST.
            _ => {
                let _ = socket_linger_zero(writer);
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}

/// Sets SO_LINGER to zero so that closing the socket resets the connection.
fn socket_linger_zero(stream: &TcpStream) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a correctly sized linger struct.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sends `request` to moto on a connection of its own and returns the whole answer.
fn forward(upstream: &str, request: &Request) -> Option<Vec<u8>> {
    let mut conn = TcpStream::connect(upstream).ok()?;
    // One request per upstream connection: ask moto to close it, so the answer ends at EOF.
    let mut head: String = request
        .head
        .lines()
        .filter(|l| {
            !l.is_empty()
                && !l
                    .split_once(':')
                    .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("connection"))
        })
        .map(|l| format!("{l}\r\n"))
        .collect();
    head.push_str("Connection: close\r\n\r\n");
    conn.write_all(head.as_bytes()).ok()?;
    conn.write_all(&request.body).ok()?;
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).ok()?;
    Some(keep_alive(answer))
}

/// Moto's answer with its `Connection: close` removed, so the client keeps its connection
/// to the proxy (a client that reconnects for every call is not what Lambda runs).
fn keep_alive(answer: Vec<u8>) -> Vec<u8> {
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return answer;
    };
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let has_length = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("content-length:") || l.starts_with("transfer-encoding:")
    });
    let body = &answer[split + 4..];
    let mut out: String = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    if !has_length {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// The error answer a fault gives instead of moto's, in the request's protocol; `None`
/// for the faults that are not an answer.
fn injected(fault: Fault, request: &Request) -> Option<Vec<u8>> {
    // (status, reason, awsJson __type, awsQuery Type, awsQuery Code, message)
    let (status, reason, json_type, kind, code, message) = match fault {
        Fault::Throttle => (
            400,
            "Bad Request",
            "ThrottlingException",
            "Sender",
            "Throttling",
            "Rate exceeded",
        ),
        Fault::Internal => (
            500,
            "Internal Server Error",
            "InternalFailure",
            "Receiver",
            "InternalFailure",
            "injected",
        ),
        Fault::Unavailable => (
            503,
            "Service Unavailable",
            "ServiceUnavailableException",
            "Receiver",
            "ServiceUnavailable",
            "injected",
        ),
        Fault::ResetBefore | Fault::ResetAfter | Fault::Slow => return None,
    };
    Some(if request.is_json() {
        error_answer(
            status,
            reason,
            "application/x-amz-json-1.1",
            format!(r#"{{"__type":"{json_type}","message":"{message}"}}"#),
        )
    } else {
        query_error(status, reason, kind, code, message)
    })
}

/// An error answer with `body`.
fn error_answer(status: u16, reason: &str, content_type: &str, body: String) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: injected\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// An awsQuery error answer (IAM, CloudWatch, STS, SNS).
fn query_error(status: u16, reason: &str, kind: &str, code: &str, message: &str) -> Vec<u8> {
    error_answer(
        status,
        reason,
        "text/xml",
        format!(
            "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>injected</RequestId></ErrorResponse>"
        ),
    )
}
