//! The moto server: one per test process, started on first use on a free 127.0.0.1 port
//! from the project's venv.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::Credentials;
pub use ecs_warden::handlers::Handler;

/// The account id the sample events in `events/` are written for.
pub const SAMPLE_ACCOUNT: &str = "111122223333";
/// The region the sample events come from, and the one the harness's clients act in.
pub const SAMPLE_REGION: &str = "eu-west-1";

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// The project's venv, created by `scripts/venv.sh` when it is not there yet.
pub fn venv_bin(tool: &str) -> PathBuf {
    let venv = std::env::var_os("WARDEN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv"));
    let venv = if venv.is_absolute() {
        venv
    } else {
        root().join(venv)
    };
    if !venv.join("bin").join(tool).exists() {
        let status = Command::new(root().join("scripts/venv.sh"))
            .status()
            .expect("run scripts/venv.sh");
        assert!(status.success(), "scripts/venv.sh failed");
    }
    venv.join("bin").join(tool)
}

struct Moto {
    endpoint: String,
    // Held so the server's stdin stays open: it exits when this process does.
    _server: Child,
}

fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let port = free_port();
        let server = Command::new(venv_bin("python"))
            .arg(root().join("tests/moto_server.py"))
            .arg(port.to_string())
            .arg("--exit-with-stdin")
            // Step Functions' Wait states wait a hundredth of their seconds: a deletion's
            // 15 s between drain steps takes 150 ms.
            .args(["--wait-scale", "0.01"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto server");
        wait_for_http(port, Duration::from_secs(60));
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            _server: server,
        }
    })
}

/// Set to `1` to run the slow tests: the built binaries under a Lambda Runtime API and the
/// state machines. `make test` (and so CI) sets it.
pub const SLOW_TESTS_ENV: &str = "WARDEN_SLOW_TESTS";

/// True when a slow test should return at once because [`SLOW_TESTS_ENV`] is not set; it
/// says so in the test's output.
pub fn skip_slow_test() -> bool {
    if std::env::var(SLOW_TESTS_ENV).is_ok_and(|v| v == "1") {
        return false;
    }
    println!("skipped: a slow test, run with {SLOW_TESTS_ENV}=1 (make test sets it)");
    true
}

/// The directory that holds the function binaries, as `cargo build --workspace
/// --all-targets` leaves them: the feature set `cargo test` resolves, so the tests and the
/// binaries share one build of the SDK. The tests never run cargo; a binary that is missing
/// or older than a source it is built from fails here with the command that builds it.
pub fn built_functions() -> PathBuf {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let dir = root().join("target/debug");
            let newest = |paths: &[&str]| {
                paths
                    .iter()
                    .map(|p| newest_modified(&root().join(p)))
                    .max()
                    .flatten()
            };
            let library = ["shared/src", "functions", "Cargo.lock"];
            let functions = newest(&library);
            let program = newest(&[&library[..], &["cli/src"]].concat());
            // The functions, and the command-line program, each against what it is built from.
            let programs = crate::handlers::MEMBER_FUNCTIONS
                .into_iter()
                .map(|f| (f, functions))
                .chain([("ecs-warden", program)]);
            for (name, newest_source) in programs {
                let binary = dir.join(name);
                let built = std::fs::metadata(&binary).and_then(|m| m.modified()).ok();
                let fresh = matches!((built, newest_source), (Some(b), Some(s)) if b >= s);
                assert!(
                    fresh,
                    "{} is missing or older than its sources: build it with \
                     `cargo build --workspace --all-targets` (make test does)",
                    binary.display()
                );
            }
            dir
        })
        .clone()
}

/// The newest modification time of `path` or of any file under it.
fn newest_modified(path: &Path) -> Option<std::time::SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .flatten()
        .filter(|e| e.file_name() != "target")
        .filter_map(|e| newest_modified(&e.path()))
        .max()
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// Waits until something on `port` answers an HTTP request.
pub fn wait_for_http(port: u16, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
            let mut first = [0u8; 12];
            if stream.read_exact(&mut first).is_ok() && first.starts_with(b"HTTP/") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("nothing answered on 127.0.0.1:{port} within {limit:?}");
}

/// Waits until something accepts connections on `port`, without asking it anything (cargo
/// lambda's Runtime API holds any request until a function takes it).
pub fn wait_for_listener(port: u16, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("nothing listened on 127.0.0.1:{port} within {limit:?}");
}

/// Overrides the functions' retry policy in the tests, `standard:N` or `adaptive:N`
/// (`scripts/fault_tuning.py` compares them under faults); unset, the functions' own.
pub const RETRY_ENV: &str = "WARDEN_TEST_RETRY";

/// The retry policy the tests' clients use: [`RETRY_ENV`], else the functions' own.
pub fn retry_config() -> aws_config::retry::RetryConfig {
    use aws_config::retry::RetryConfig;
    let Ok(wanted) = std::env::var(RETRY_ENV) else {
        return ecs_warden::aws::retry_config();
    };
    let parsed = wanted.split_once(':').and_then(|(mode, n)| {
        let n: u32 = n.parse().ok()?;
        match mode {
            "standard" => Some(RetryConfig::standard().with_max_attempts(n)),
            "adaptive" => Some(RetryConfig::adaptive().with_max_attempts(n)),
            _ => None,
        }
    });
    parsed.unwrap_or_else(|| panic!("{RETRY_ENV}={wanted}: expected standard:N or adaptive:N"))
}

/// The moto endpoint, starting the server on first use.
pub fn endpoint() -> &'static str {
    &moto().endpoint
}

pub(crate) fn config_with(credentials: Credentials) -> SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(ecs_warden::aws::https_client())
        .retry_config(retry_config())
        .timeout_config(ecs_warden::aws::timeout_config())
        .region(Region::new(SAMPLE_REGION))
        .endpoint_url(endpoint())
        .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .build()
}
