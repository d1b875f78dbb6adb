//! Child processes the harness starts, and how it waits for them.
//!
//! Every peer runs in its own process group with its output in a log file inside the peer
//! set's temporary directory. [`Proc`] owns one child: dropping it sends SIGTERM to the
//! group (Chromium then shuts its helpers down), waits a bounded time, then SIGKILLs what is
//! left and reaps the child. Only processes this harness started are ever signalled.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long a peer may take to become ready (port open, display painted).
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a terminated process group may take to exit before it is killed.
const TERM_GRACE: Duration = Duration::from_secs(3);
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// One started child process, killed and reaped on drop.
pub struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Starts `cmd` in a new process group, stdin closed, stdout and stderr appended to
    /// `DIR/NAME.log` (stdout stays as configured when `keep_stdout` is set).
    pub fn spawn(name: &str, cmd: &mut Command, dir: &Path, keep_stdout: bool) -> Result<Self> {
        let log = dir.join(format!("{name}.log"));
        let file = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        if !keep_stdout {
            cmd.stdout(file.try_clone()?);
        }
        cmd.stdin(Stdio::null()).stderr(file).process_group(0);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name} ({:?})", cmd.get_program()))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log,
        })
    }

    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Fails with the tail of the log when the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => bail!(
                "{} exited early ({status}); last log lines:\n{}",
                self.name,
                self.log_tail()
            ),
        }
    }

    /// The last lines of the process's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    fn signal_group(&self, signal: &str) {
        // The group id is the child's pid (process_group(0)). `kill` fails harmlessly
        // when the group is already gone.
        let _ = Command::new("kill")
            .args([signal, "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            self.signal_group("-KILL");
            return;
        }
        self.signal_group("-TERM");
        let deadline = Instant::now() + TERM_GRACE;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            thread::sleep(POLL_INTERVAL);
        }
        self.signal_group("-KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding port 0")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until `port` accepts TCP connections, failing early if `proc` exits.
pub fn wait_for_port(proc: &mut Proc, port: u16) -> Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        proc.check_alive()?;
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "{} did not open port {port} within {READY_TIMEOUT:?}",
                proc.name
            );
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// Waits until an RFB server on `port` completes a handshake with security type None and
/// returns the framebuffer size from its ServerInit message.
pub fn wait_for_rfb(proc: &mut Proc, port: u16) -> Result<(u16, u16)> {
    wait_for_port(proc, port)?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        proc.check_alive()?;
        match rfb_server_size(port) {
            Ok(size) => return Ok(size),
            Err(err) if Instant::now() >= deadline => {
                return Err(err.context(format!("{} never completed an RFB handshake", proc.name)));
            }
            Err(_) => thread::sleep(POLL_INTERVAL),
        }
    }
}

/// RFB 3.8 handshake up to ServerInit: version, security type None (1), ClientInit shared.
fn rfb_server_size(port: u16) -> Result<(u16, u16)> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut version = [0u8; 12];
    stream.read_exact(&mut version)?;
    if &version[..4] != b"RFB " {
        bail!("not an RFB server: {version:?}");
    }
    stream.write_all(b"RFB 003.008\n")?;
    let mut count = [0u8; 1];
    stream.read_exact(&mut count)?;
    let mut types = vec![0u8; usize::from(count[0])];
    stream.read_exact(&mut types)?;
    if !types.contains(&1) {
        bail!("server does not offer security type None: {types:?}");
    }
    stream.write_all(&[1])?;
    let mut result = [0u8; 4];
    stream.read_exact(&mut result)?;
    if result != [0; 4] {
        bail!("security handshake failed: {result:?}");
    }
    stream.write_all(&[1])?;
    let mut size = [0u8; 4];
    stream.read_exact(&mut size)?;
    Ok((
        u16::from_be_bytes([size[0], size[1]]),
        u16::from_be_bytes([size[2], size[3]]),
    ))
}

/// Output of a command run to completion under a deadline.
pub struct Finished {
    pub status: ExitStatus,
    pub stderr: String,
}

/// Runs `cmd` with output captured to files in `dir`; kills it after `timeout`.
pub fn run_bounded(
    name: &str,
    cmd: &mut Command,
    dir: &Path,
    timeout: Duration,
) -> Result<Finished> {
    let mut proc = Proc::spawn(name, cmd, dir, false)?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = proc.child_mut().try_wait()? {
            return Ok(Finished {
                status,
                stderr: proc.log_tail(),
            });
        }
        if Instant::now() >= deadline {
            bail!(
                "{name} still running after {timeout:?}; log:\n{}",
                proc.log_tail()
            );
        }
        thread::sleep(POLL_INTERVAL);
    }
}
