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

/// The function binaries, built once per test process as `cargo lambda watch` builds them
/// (`--workspace --bins`, so features resolve over the workspace and the SDK is not
/// compiled a second time): the directory that holds them.
pub fn built_functions() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let built = Command::new(env!("CARGO"))
                .args(["build", "--quiet", "--workspace", "--bins"])
                .current_dir(root())
                .status()
                .expect("cargo build");
            assert!(built.success(), "cargo build --workspace --bins failed");
            root().join("target/debug")
        })
        .clone()
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
