//! One console per user: a second `lookout open LINK` (or `lookout` alone) hands its links
//! to the console already running instead of opening another window.
//!
//! The running console listens on a Unix socket in a directory only its user can open:
//! `$XDG_RUNTIME_DIR/lookout/instance.sock`, or `/tmp/lookout-UID/instance.sock` where
//! there is no runtime directory. A caller sends one line, `{"open":["LINK",…]}`, and
//! reads one back: `ok`, or `error: WHY`. Both ends check who is at the other: the
//! directory must belong to the user and be closed to everyone else, the caller talks
//! only to a console of its own user, and the console answers only its own user's callers
//! (the kernel's peer credentials, `SO_PEERCRED`). The directory is never a symbolic
//! link. The console checks the links itself ([`super::link::source_of`]): what arrives
//! is untrusted text, at most [`MAX_MESSAGE`] bytes. It answers `ok` only once the window
//! has taken the links.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The longest message either end reads, in bytes.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// The most links one message opens.
pub const MAX_LINKS: usize = 64;
/// How long either end waits for the other.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Why links could not be handed over, or the console could not listen.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("refused {path}: it belongs to user {owner}, not to you ({you})")]
    NotYours { path: PathBuf, owner: u32, you: u32 },
    #[error("refused {path}: other users can open it (mode {mode:o}); it must be 700")]
    Open { path: PathBuf, mode: u32 },
    #[error("refused {0}: it is not a directory (a symbolic link?)")]
    NotADirectory(PathBuf),
    #[error("refused the console at {path}: it runs as user {peer}, not as you ({you})")]
    OtherUser { path: PathBuf, peer: u32, you: u32 },
    #[error("the running console did not open the links: {0}")]
    Rejected(String),
    #[error("cannot talk to the running console at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a message asks.
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    open: Vec<String>,
}

/// The socket of this user's console.
pub fn socket_path() -> PathBuf {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(run) if Path::new(&run).is_absolute() => Path::new(&run).join("lookout"),
        _ => std::env::temp_dir().join(format!("lookout-{}", uid())),
    };
    dir.join("instance.sock")
}

/// Hands `links` to the console listening at `path`. `Ok(false)` when none listens (the
/// caller opens the console itself); `Ok(true)` once it has taken them.
pub fn hand_over(path: &Path, links: &[String]) -> Result<bool, InstanceError> {
    let io = |source| InstanceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let Some(dir) = path.parent() else {
        return Ok(false);
    };
    match std::fs::symlink_metadata(dir) {
        Ok(meta) => check_private(dir, &meta)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io(e)),
    }
    let mut stream = match UnixStream::connect(path) {
        Ok(stream) => stream,
        Err(e) if nobody_listens(&e) => return Ok(false),
        Err(e) => return Err(io(e)),
    };
    let peer = peer_uid(&stream).map_err(io)?;
    if peer != uid() {
        return Err(InstanceError::OtherUser {
            path: path.to_path_buf(),
            peer,
            you: uid(),
        });
    }
    stream.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
    let mut line = serde_json::to_vec(&Message {
        open: links.to_vec(),
    })
    .map_err(|e| io(e.into()))?;
    line.push(b'\n');
    stream.write_all(&line).map_err(io)?;
    let reply = read_line(&mut stream).map_err(io)?;
    match reply.strip_prefix("error: ") {
        None if reply == "ok" => Ok(true),
        None => Err(InstanceError::Rejected(format!(
            "unexpected reply {reply:?}"
        ))),
        Some(why) => Err(InstanceError::Rejected(why.to_string())),
    }
}

/// The console's end: while it lives, links sent to the socket reach `on_open` (the
/// sources they name); dropped, it stops and removes the socket, if it is still its own.
pub struct Listener {
    path: PathBuf,
    /// The socket's file (device and inode), to remove only our own.
    file: (u64, u64),
    /// The listening socket, shut down to end the accepting thread.
    socket: UnixListener,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Listens at `path`, making its directory (700) if missing. A socket left by a
    /// console that has ended is replaced; one that answers is another console's, and an
    /// error. `on_open` gets the sources of each message's links, checked, and says
    /// whether the window took them.
    pub fn start(
        path: &Path,
        on_open: impl Fn(Vec<String>) -> bool + Send + 'static,
    ) -> Result<Self, InstanceError> {
        let io = |source| InstanceError::Io {
            path: path.to_path_buf(),
            source,
        };
        let dir = path.parent().unwrap_or(Path::new("/"));
        // Only the last step is made: the runtime or temporary directory above it exists.
        match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        check_private(dir, &std::fs::symlink_metadata(dir).map_err(io)?)?;
        // Two consoles starting at once check and bind one after the other (the lock is
        // released when this returns): the second finds the first listening instead of
        // taking its socket away.
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(dir.join("instance.lock"))
            .map_err(io)?;
        lock.lock().map_err(io)?;
        match UnixStream::connect(path) {
            Ok(_) => {
                return Err(io(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    "another console listens there",
                )));
            }
            Err(e) if nobody_listens(&e) => {
                let _ = std::fs::remove_file(path);
            }
            Err(e) => return Err(io(e)),
        }
        let listener = UnixListener::bind(path).map_err(io)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        let meta = std::fs::symlink_metadata(path).map_err(io)?;
        let socket = listener.try_clone().map_err(io)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("lookout-instance".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if stopping.load(Ordering::Relaxed) {
                        break;
                    }
                    match stream {
                        Ok(stream) => {
                            if let Err(e) = serve(stream, &on_open) {
                                tracing::info!("a caller of the console: {e}");
                            }
                        }
                        // Out of descriptors, say: wait rather than spin.
                        Err(_) => std::thread::sleep(Duration::from_millis(100)),
                    }
                }
            })
            .map_err(io)?;
        Ok(Self {
            path: path.to_path_buf(),
            file: (meta.dev(), meta.ino()),
            socket,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        self.stop.store(true, Ordering::Relaxed);
        // Ends the accept, whoever holds the path now.
        // SAFETY: shutdown takes the descriptor `self.socket` keeps open and no memory.
        #[allow(unsafe_code)]
        unsafe {
            libc::shutdown(self.socket.as_raw_fd(), libc::SHUT_RDWR);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let ours =
            std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.file);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Answers one caller.
fn serve(mut stream: UnixStream, on_open: &dyn Fn(Vec<String>) -> bool) -> std::io::Result<()> {
    let peer = peer_uid(&stream)?;
    if peer != uid() {
        // Another user's process: not a word.
        return Ok(());
    }
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let line = read_line(&mut stream)?;
    let reply = match opened(&line).map(on_open) {
        Ok(true) => "ok".to_string(),
        Ok(false) => "error: the console is closing or busy".to_string(),
        Err(why) => format!("error: {why}"),
    };
    stream.write_all(format!("{reply}\n").as_bytes())
}

/// The sources a message's links open, or why not.
fn opened(line: &str) -> Result<Vec<String>, String> {
    let message: Message =
        serde_json::from_str(line).map_err(|e| format!("not a message Lookout sends: {e}"))?;
    if message.open.len() > MAX_LINKS {
        return Err(format!("more than {MAX_LINKS} links"));
    }
    message
        .open
        .iter()
        .map(|link| super::link::source_of(link).map_err(|e| e.to_string()))
        .collect()
}

/// One line of at most [`MAX_MESSAGE`] bytes, without its end.
fn read_line(stream: &mut UnixStream) -> std::io::Result<String> {
    let mut line = Vec::new();
    BufReader::new(stream.take(MAX_MESSAGE as u64 + 1)).read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        let why = match line.len() > MAX_MESSAGE {
            true => "a message longer than 64 KiB",
            false => "a message cut short",
        };
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why));
    }
    line.pop();
    String::from_utf8(line)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "a message not UTF-8"))
}

/// The directory holding the socket is a directory (not a symbolic link), belongs to this
/// user and is closed to the others.
fn check_private(dir: &Path, meta: &std::fs::Metadata) -> Result<(), InstanceError> {
    if !meta.is_dir() {
        return Err(InstanceError::NotADirectory(dir.to_path_buf()));
    }
    if meta.uid() != uid() {
        return Err(InstanceError::NotYours {
            path: dir.to_path_buf(),
            owner: meta.uid(),
            you: uid(),
        });
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(InstanceError::Open {
            path: dir.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// A connection error that means no console listens (none started, or one ended).
fn nobody_listens(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
    )
}

fn uid() -> u32 {
    // SAFETY: getuid takes nothing and cannot fail.
    #[allow(unsafe_code)]
    unsafe {
        libc::getuid()
    }
}

/// The user id of the process at the other end of `stream` (`SO_PEERCRED`).
fn peer_uid(stream: &UnixStream) -> std::io::Result<u32> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes given, and the socket is
    // open for the call's length (borrowed from `stream`).
    #[allow(unsafe_code)]
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(cred.uid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn private_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    #[test]
    fn links_reach_the_running_console_checked() {
        let dir = private_dir();
        let path = dir.path().join("lookout/instance.sock");
        // Nobody listens yet: the caller opens the console itself.
        assert!(!hand_over(&path, &["lookout:optexity/a".into()]).unwrap());
        let (tx, rx) = mpsc::sync_channel(8);
        let listener = Listener::start(&path, move |s| tx.send(s).is_ok()).unwrap();
        let mode = std::fs::metadata(path.parent().unwrap()).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let links = vec!["lookout:optexity/a".to_string(), "lookout:waldiez/b".into()];
        assert!(hand_over(&path, &links).unwrap());
        assert_eq!(rx.recv().unwrap(), ["optexity:a", "waldiez:b"]);
        // No link: the console comes forward.
        assert!(hand_over(&path, &[]).unwrap());
        assert!(rx.recv().unwrap().is_empty());
        // A bad link is refused, by the console, with why.
        let err = hand_over(&path, &["lookout:evil/x".into()]).unwrap_err();
        assert!(err.to_string().contains("unknown provider"), "{err}");
        // A second console cannot take the socket over.
        assert!(Listener::start(&path, |_| true).is_err());
        drop(listener);
        assert!(!path.exists(), "the socket is removed");
        assert!(!hand_over(&path, &[]).unwrap());
    }

    #[test]
    fn a_console_that_cannot_take_links_says_so_and_leaves_a_newer_socket_alone() {
        let dir = private_dir();
        let path = dir.path().join("instance.sock");
        let closing = Listener::start(&path, |_| false).unwrap();
        let err = hand_over(&path, &["lookout:optexity/a".into()]).unwrap_err();
        assert!(err.to_string().contains("closing or busy"), "{err}");
        // Its socket is replaced under it (a cleaner removed it, another console bound):
        // dropped, it ends without waiting on the other, and leaves that one's socket.
        std::fs::remove_file(&path).unwrap();
        let (tx, rx) = mpsc::sync_channel(8);
        let newer = Listener::start(&path, move |s| tx.send(s).is_ok()).unwrap();
        drop(closing);
        assert!(path.exists());
        assert!(hand_over(&path, &["lookout:optexity/b".into()]).unwrap());
        assert_eq!(rx.recv().unwrap(), ["optexity:b"]);
        drop(newer);
        assert!(!path.exists());
    }

    #[test]
    fn of_two_consoles_starting_at_once_one_listens() {
        for _ in 0..40 {
            let dir = private_dir();
            let path = dir.path().join("instance.sock");
            let gate = Arc::new(std::sync::Barrier::new(2));
            let start = || {
                let (gate, path) = (Arc::clone(&gate), path.clone());
                std::thread::Builder::new()
                    .name("console".into())
                    .spawn(move || {
                        gate.wait();
                        Listener::start(&path, |_| true)
                    })
                    .unwrap()
            };
            let (a, b) = (start(), start());
            let (a, b) = (a.join().unwrap(), b.join().unwrap());
            assert!(a.is_ok() != b.is_ok(), "both listen, or neither");
            let listening = a.or(b).unwrap();
            assert!(
                hand_over(&path, &[]).unwrap(),
                "the socket left is not the listener's"
            );
            drop(listening);
        }
    }

    #[test]
    fn a_socket_left_behind_is_replaced() {
        let dir = private_dir();
        let path = dir.path().join("instance.sock");
        drop(UnixListener::bind(&path).unwrap()); // a console that ended
        assert!(path.exists());
        assert!(!hand_over(&path, &[]).unwrap(), "nobody answers");
        let (tx, rx) = mpsc::sync_channel(8);
        let _listener = Listener::start(&path, move |s| tx.send(s).is_ok()).unwrap();
        assert!(hand_over(&path, &["lookout:chaser/c".into()]).unwrap());
        assert_eq!(rx.recv().unwrap(), ["chaser:c"]);
    }

    #[test]
    fn a_socket_of_another_user_or_open_to_others_is_refused() {
        let dir = private_dir();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = hand_over(&open.join("instance.sock"), &[]).unwrap_err();
        assert!(
            matches!(err, InstanceError::Open { mode: 0o755, .. }),
            "{err}"
        );
        assert!(Listener::start(&open.join("instance.sock"), |_| true).is_err());
        // A symbolic link to a private directory of the user's is not the socket's place.
        let real = dir.path().join("real");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&real)
            .unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = hand_over(&link.join("instance.sock"), &[]).unwrap_err();
        assert!(matches!(err, InstanceError::NotADirectory(_)), "{err}");
        assert!(Listener::start(&link.join("instance.sock"), |_| true).is_err());
        if uid() != 0 {
            return; // only root can give a directory away
        }
        let theirs = dir.path().join("theirs");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&theirs)
            .unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        let err = hand_over(&theirs.join("instance.sock"), &[]).unwrap_err();
        assert!(
            matches!(err, InstanceError::NotYours { owner: 65534, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("belongs to user 65534"));
    }

    #[test]
    fn what_arrives_is_bounded_and_checked() {
        assert!(opened("not json").unwrap_err().contains("not a message"));
        let many = serde_json::to_string(&Message {
            open: vec!["lookout:optexity/a".into(); MAX_LINKS + 1],
        })
        .unwrap();
        assert!(opened(&many).unwrap_err().contains("more than 64"));
        let dir = private_dir();
        let path = dir.path().join("instance.sock");
        let (tx, rx) = mpsc::sync_channel(8);
        let _listener = Listener::start(&path, move |s| tx.send(s).is_ok()).unwrap();
        // A message without end, longer than the limit: dropped with no answer.
        let mut stream = UnixStream::connect(&path).unwrap();
        let _ = stream.write_all(&vec![b'x'; MAX_MESSAGE + 10]);
        let mut reply = String::new();
        let _ = stream.read_to_string(&mut reply);
        assert_eq!(reply, "");
        assert!(rx.try_recv().is_err());
        // The console still answers the next caller.
        assert!(hand_over(&path, &[]).unwrap());
    }
}
