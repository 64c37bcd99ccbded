//! Dependencies the fault tests own, so that they can stop them without touching the servers
//! every other test shares: a PostgreSQL cluster in a temporary directory, an S3-compatible
//! server (moto) as a process of its own, and a TCP proxy that can be told to stop answering.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

pub use crate::helpers::free_port;

/// Runs `command`, failing the test with its output if it fails.
fn run(what: &str, command: &mut Command) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A PostgreSQL cluster of the test's own: `initdb` into a temporary directory, `pg_ctl` on a
/// free port. As root (as `tests/run` is on this machine kind) it runs as the `postgres` user,
/// because PostgreSQL refuses to run as root.
pub struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl OwnPostgres {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let own = Self {
            bin: postgres_bin_dir(),
            port: free_port(),
            dir,
        };
        if is_root() {
            run(
                "chown the cluster directory",
                Command::new("chown").arg("postgres:").arg(own.dir.path()),
            );
        }
        run(
            "initdb",
            own.as_postgres(own.bin.join("initdb"))
                .args([
                    "--auth=trust",
                    "--username=postgres",
                    "--no-sync",
                    "--encoding=UTF8",
                    "-D",
                ])
                .arg(own.data()),
        );
        own.start_again();
        own
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server the way a crash or a pulled plug does: no shutdown checkpoint, every
    /// connection cut.
    pub fn stop_immediately(&self) {
        run(
            "pg_ctl stop -m immediate",
            self.pg_ctl().args(["stop", "-m", "immediate", "-w"]),
        );
    }

    /// Starts the server (again) on the same port and data, and waits until it accepts.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log");
        run(
            "pg_ctl start",
            self.pg_ctl()
                .args(["start", "-w", "-t", "30", "-o", &options, "-l"])
                .arg(log),
        );
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self) -> Command {
        let mut command = self.as_postgres(self.bin.join("pg_ctl"));
        command.arg("-D").arg(self.data());
        command
    }

    fn as_postgres(&self, program: PathBuf) -> Command {
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self
            .pg_ctl()
            .args(["stop", "-m", "immediate"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Whether this process runs as root: `/proc/self` belongs to the process's user.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The newest installed PostgreSQL's programs (Debian keeps them off the PATH).
fn postgres_bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .expect("PostgreSQL is installed under /usr/lib/postgresql (tests/run installs it)")
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version").1
}

/// The S3-compatible test server (moto) as a process of the test's own, on a free port. It
/// keeps everything in memory, so after a restart its buckets must be created again.
pub struct OwnS3Server {
    port: u16,
    process: Option<Child>,
}

impl OwnS3Server {
    pub async fn start() -> Self {
        let mut server = Self {
            port: free_port(),
            process: None,
        };
        server.start_again().await;
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().expect("kill moto_server");
            process.wait().expect("moto_server exits");
        }
    }

    pub async fn start_again(&mut self) {
        let process = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server on the PATH (tests/run installs it)");
        self.process = Some(process);
        let probe = format!("{}/moto-api/", self.endpoint());
        let deadline = Instant::now() + Duration::from_secs(30);
        while reqwest::get(&probe).await.is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for OwnS3Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP proxy in front of a real server that can be told to hang: from then on it accepts
/// connections and holds them open, and holds the ones it had, without passing a byte either
/// way, like a server that stopped answering or a network that drops packets.
pub struct HangingProxy {
    address: SocketAddr,
    hanging: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl HangingProxy {
    /// A proxy to `upstream`; with `upstream` `None` it hangs from the start.
    pub async fn start(upstream: Option<SocketAddr>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let hanging = Arc::new(AtomicBool::new(upstream.is_none()));
        let task = tokio::spawn(accept_loop(listener, upstream, hanging.clone()));
        Self {
            address,
            hanging,
            task,
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn hang(&self) {
        self.hanging.store(true, Ordering::SeqCst);
    }
}

impl Drop for HangingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: Option<SocketAddr>,
    hanging: Arc<AtomicBool>,
) {
    // Aborting this task drops both, and with them every connection it holds or forwards.
    let mut held = Vec::new();
    let mut forwarding = tokio::task::JoinSet::new();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        match upstream {
            Some(upstream) if !hanging.load(Ordering::SeqCst) => {
                forwarding.spawn(forward(client, upstream, hanging.clone()));
            }
            _ => held.push(client),
        }
    }
}

/// Copies bytes both ways until the proxy is told to hang, then holds both sockets silently
/// (they close when the proxy is dropped).
async fn forward(client: TcpStream, upstream: SocketAddr, hanging: Arc<AtomicBool>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (client_reads, client_writes) = client.into_split();
    let (server_reads, server_writes) = server.into_split();
    // Each direction stops as soon as a hang is asked for: a chunk read after `hang()` is
    // never passed on. The halves stay alive (held) until both directions end.
    let _ = tokio::join!(
        pass_on(client_reads, server_writes, &hanging),
        pass_on(server_reads, client_writes, &hanging),
    );
}

async fn pass_on(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    hanging: &AtomicBool,
) -> (OwnedReadHalf, OwnedWriteHalf) {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return (from, to),
            Ok(read) => read,
        };
        if hanging.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return (from, to);
        }
    }
}
