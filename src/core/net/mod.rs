//! Transports: TCP, TLS and WebSocket connections, and the HTTP client the providers share.
//!
//! TLS is rustls with the `ring` provider and the platform's trust store, built once and used by
//! both reqwest and our WebSocket connector. [`pipe_tcp`] and [`pipe_websocket`] turn an RFB
//! connection (plain TCP, or binary WebSocket messages) into a [`BytePipe`]: bytes in, which
//! a blocking decoder thread reads (from the socket itself, or from a bounded channel of
//! WebSocket messages), and a bounded channel of client messages out; message boundaries
//! disappear there.

use crate::core::event::ErrorKind;
mod budget;

pub use budget::{Budget, Budgeted, Held};

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use super::event::StreamStats;
use super::redact;

/// Time allowed for TCP + TLS + WebSocket/HTTP upgrade.
pub const CONNECT_TIMEOUT_MS: u64 = 10_000;
/// Largest WebSocket message we accept.
pub const MAX_WS_MESSAGE_BYTES: usize = 16 << 20;
/// Chunks of socket bytes queued for the decoder (at most; [`INCOMING_BUDGET_BYTES`]
/// bounds their bytes).
const INCOMING_CHUNKS: usize = 64;
/// Bytes of WebSocket messages queued for the decoder; one larger message passes alone.
pub const INCOMING_BUDGET_BYTES: usize = 4 << 20;
/// Client messages queued for the socket (the decoder's own are a few bytes each; the
/// operator's input holds a share of [`OUTGOING_BUDGET_BYTES`]).
const OUTGOING_MESSAGES: usize = 256;
/// Bytes of operator input (pastes, keys, pointer) queued for the socket.
pub const OUTGOING_BUDGET_BYTES: usize = 1 << 20;

/// Why a connection could not be made or did not last.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("timed out connecting to {target}")]
    ConnectTimeout { target: String },
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("WebSocket upgrade to {target} refused: HTTP {status}")]
    UpgradeRefused { target: String, status: u16 },
    #[error("WebSocket error: {0}")]
    WebSocket(String),
    #[error("the server sent a text message on a binary stream")]
    UnexpectedText,
    #[error("connection closed{}", .0.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Closed(Option<String>),
}

impl NetError {
    /// Reconnecting may help for everything but TLS set-up problems.
    /// What kind of failure this is, for the front end.
    pub fn kind(&self) -> ErrorKind {
        match self {
            NetError::UpgradeRefused { status, .. } => ErrorKind::from_http_status(*status),
            NetError::UnexpectedText => ErrorKind::Protocol,
            _ => ErrorKind::Network,
        }
    }

    pub fn is_retryable(&self) -> bool {
        !matches!(self, NetError::Tls(_))
    }
}

/// Anything we can read and write bytes over.
pub trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ByteStream for T {}

/// The shared rustls client configuration (ring + platform verifier).
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, NetError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            use rustls_platform_verifier::BuilderVerifierExt;
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_platform_verifier()
                .map_err(|e| e.to_string())
                .map(|b| Arc::new(b.with_no_client_auth()))
        })
        .clone()
        .map_err(NetError::Tls)
}

/// Most redirects one request follows.
pub const MAX_REDIRECTS: usize = 5;

/// The HTTP client every provider's REST calls use: a request takes at most 30 s, and
/// follows redirects only within the origin it was sent to (reqwest drops its own
/// `Authorization` on a cross-origin redirect, not a custom header such as `x-api-key`,
/// nor a form body holding a client secret): a redirect elsewhere is answered to the caller
/// unfollowed.
pub fn http_client() -> Result<reqwest::Client, NetError> {
    http_builder()?
        .timeout(Duration::from_secs(30))
        .redirect(same_origin_redirects())
        .build()
        .map_err(|e| NetError::Tls(e.to_string()))
}

/// Follows at most [`MAX_REDIRECTS`] redirects, all to the first request's origin.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if same_origin && attempt.previous().len() <= MAX_REDIRECTS {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// Longest silence on a long-lived HTTP stream (SSE sends a keep-alive every 15 s or so).
pub const STREAM_IDLE_TIMEOUT_MS: u64 = 60_000;

/// The HTTP client for long-lived streams (Server-Sent Events): no limit on the whole
/// transfer, but one on silence.
///
/// It follows up to [`MAX_REDIRECTS`] redirects anywhere (a playlist may move to a CDN):
/// the only credential it carries is `Authorization`, which reqwest drops on the way to
/// another host.
pub fn streaming_http_client() -> Result<reqwest::Client, NetError> {
    http_builder()?
        .read_timeout(Duration::from_millis(STREAM_IDLE_TIMEOUT_MS))
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        .build()
        .map_err(|e| NetError::Tls(e.to_string()))
}

fn http_builder() -> Result<reqwest::ClientBuilder, NetError> {
    // Anything that builds rustls configs without naming a provider gets ring too.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = tls_config()?;
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .connect_timeout(Duration::from_millis(CONNECT_TIMEOUT_MS))
        .user_agent(concat!("lookout/", env!("CARGO_PKG_VERSION"))))
}

async fn with_timeout<T>(
    target: &str,
    fut: impl Future<Output = Result<T, NetError>>,
) -> Result<T, NetError> {
    tokio::time::timeout(Duration::from_millis(CONNECT_TIMEOUT_MS), fut)
        .await
        .unwrap_or_else(|_| {
            Err(NetError::ConnectTimeout {
                target: target.to_string(),
            })
        })
}

/// Opens a TCP connection (no timeout of its own).
async fn tcp(host: &str, port: u16, target: &str) -> Result<TcpStream, NetError> {
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| NetError::Connect {
            target: target.to_string(),
            reason: e.to_string(),
        })?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Plain TCP to `host:port`, with the connect timeout.
pub async fn connect_tcp(host: &str, port: u16) -> Result<TcpStream, NetError> {
    let target = format!("{host}:{port}");
    with_timeout(&target, tcp(host, port, &target)).await
}

/// A WebSocket over our connection type.
pub type WsStream = tokio_tungstenite::WebSocketStream<Box<dyn ByteStream>>;

/// Opens a WebSocket to a `ws://` or `wss://` URL offering `subprotocols`.
pub async fn connect_ws(url: &url::Url, subprotocols: &[&str]) -> Result<WsStream, NetError> {
    connect_ws_with(url, subprotocols, &[]).await
}

/// [`connect_ws`] with extra request headers (`Authorization`, `Cookie`). Header values and
/// subprotocols may be secret: no error repeats them.
pub async fn connect_ws_with(
    url: &url::Url,
    subprotocols: &[&str],
    headers: &[(&str, &str)],
) -> Result<WsStream, NetError> {
    let target = redact::url(url.as_str());
    with_timeout(&target, async {
        let host = url.host_str().unwrap_or_default().to_string();
        let tls = match url.scheme() {
            "ws" => false,
            "wss" => true,
            other => {
                return Err(NetError::Connect {
                    target: target.clone(),
                    reason: format!("unsupported scheme {other}"),
                });
            }
        };
        let port = url.port().unwrap_or(if tls { 443 } else { 80 });
        let host_for_tcp = host.trim_start_matches('[').trim_end_matches(']');
        let tcp = tcp(host_for_tcp, port, &target).await?;
        let stream: Box<dyn ByteStream> = if tls {
            let name = rustls::pki_types::ServerName::try_from(host_for_tcp.to_string())
                .map_err(|e| NetError::Tls(e.to_string()))?;
            let conn = tokio_rustls::TlsConnector::from(tls_config()?)
                .connect(name, tcp)
                .await
                .map_err(|e| NetError::Connect {
                    target: target.clone(),
                    reason: format!("TLS: {e}"),
                })?;
            Box::new(conn)
        } else {
            Box::new(tcp)
        };
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| NetError::WebSocket(e.to_string()))?;
        if !subprotocols.is_empty() {
            let value = subprotocols.join(", ");
            request.headers_mut().insert(
                http::header::SEC_WEBSOCKET_PROTOCOL,
                value
                    .parse()
                    .map_err(|_| NetError::WebSocket("bad subprotocol".into()))?,
            );
        }
        for (name, value) in headers {
            let name = http::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| NetError::WebSocket(format!("bad header name {name:?}")))?;
            let value = http::header::HeaderValue::from_str(value)
                .map_err(|_| NetError::WebSocket(format!("bad value for header {name}")))?;
            request.headers_mut().insert(name, value);
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_WS_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_WS_MESSAGE_BYTES));
        let (ws, _response) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(config))
                .await
                .map_err(|e| match e {
                    tungstenite::Error::Http(resp) => NetError::UpgradeRefused {
                        target: target.clone(),
                        status: resp.status().as_u16(),
                    },
                    other => NetError::Connect {
                        target: target.clone(),
                        reason: redact_ws_error(&other),
                    },
                })?;
        Ok(ws)
    })
    .await
}

/// tungstenite errors can quote URLs; keep only what is safe.
fn redact_ws_error(e: &tungstenite::Error) -> String {
    match e {
        tungstenite::Error::Url(_) => "invalid WebSocket URL".to_string(),
        other => redact::url(&other.to_string()),
    }
}

/// One client message for the socket, holding its share of the outgoing budget (if any)
/// until it is written.
pub type Outgoing = Budgeted<Vec<u8>>;

/// The two ends of a byte pipe to a remote, as the session and decoder see them.
pub struct BytePipe {
    /// The remote's bytes, in order, for the decoder thread.
    pub incoming: Incoming,
    /// Bytes to write, one client message per item.
    pub outgoing: mpsc::Sender<Outgoing>,
    /// What operator input must take before it joins `outgoing`.
    pub outgoing_budget: Budget,
    /// Resolves when the connection ends, with why.
    pub closed: oneshot::Receiver<NetError>,
    /// Dropping this closes the connection, whoever still holds the channels.
    pub guard: PipeGuard,
}

/// Where the decoder thread reads a connection's bytes.
pub enum Incoming {
    /// Chunks of any size pumped by a task on the runtime (WebSocket messages), each
    /// holding its share of [`INCOMING_BUDGET_BYTES`] until read; the channel ends (None)
    /// when the socket closes.
    Chunks(mpsc::Receiver<Budgeted<Bytes>>),
    /// A TCP socket the decoder thread reads itself.
    Socket(SocketReader),
}

impl Incoming {
    /// A blocking reader of the bytes, for the decoder thread.
    pub fn into_reader(self) -> Box<dyn std::io::Read + Send> {
        match self {
            Incoming::Chunks(rx) => Box::new(ChannelReader::new(rx)),
            Incoming::Socket(socket) => Box::new(socket),
        }
    }
}

/// Closes its connection when dropped.
#[derive(Debug)]
pub struct PipeGuard {
    /// Dropping it stops the task that owns a pumped connection.
    _stop: Option<oneshot::Sender<()>>,
    /// A socket read and written by threads, shut down on drop.
    socket: Option<(std::net::TcpStream, Arc<CloseNote>)>,
}

impl Drop for PipeGuard {
    fn drop(&mut self) {
        if let Some((socket, note)) = self.socket.take() {
            note.set(NetError::Closed(Some("closed by the viewer".into())));
            // Wakes the threads blocked on it; an error means it is closed already.
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
    }
}

fn pipe_guard() -> (PipeGuard, oneshot::Receiver<()>) {
    let (tx, rx) = oneshot::channel();
    let guard = PipeGuard {
        _stop: Some(tx),
        socket: None,
    };
    (guard, rx)
}

/// Why a connection read and written by threads ended: the first to know says.
#[derive(Debug)]
struct CloseNote(std::sync::Mutex<Option<oneshot::Sender<NetError>>>);

impl CloseNote {
    fn set(&self, why: NetError) {
        let sender = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(sender) = sender {
            let _ = sender.send(why);
        }
    }
}

/// The read side of a piped TCP socket: blocking reads on the decoder's own thread.
#[derive(Debug)]
pub struct SocketReader {
    socket: std::net::TcpStream,
    stats: Arc<StreamStats>,
    note: Arc<CloseNote>,
}

impl std::io::Read for SocketReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.socket.read(buf) {
            Ok(0) => {
                self.note.set(NetError::Closed(None));
                Ok(0)
            }
            Ok(n) => {
                self.stats.add_bytes(n);
                Ok(n)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                self.note.set(NetError::Closed(Some(e.to_string())));
                Err(e)
            }
        }
    }
}

/// Turns a connected TCP socket into a byte pipe whose reading side is the socket itself:
/// the decoder thread reads it directly ([`Incoming::Socket`]), with no task, channel or
/// copy between them (a task pumping chunks cost two thread wake-ups per chunk), and an
/// `rfb-write` thread writes the outgoing messages in order. Dropping the guard shuts the
/// socket down, which ends both.
pub fn pipe_tcp(stream: TcpStream, stats: Arc<StreamStats>) -> Result<BytePipe, NetError> {
    let setup =
        |e: std::io::Error| NetError::Closed(Some(format!("cannot set up the socket: {e}")));
    let socket = stream.into_std().map_err(setup)?;
    socket.set_nonblocking(false).map_err(setup)?;
    let (reader, mut writer) = (
        socket.try_clone().map_err(setup)?,
        socket.try_clone().map_err(setup)?,
    );
    let (out_tx, mut out_rx) = mpsc::channel::<Outgoing>(OUTGOING_MESSAGES);
    let (closed_tx, closed_rx) = oneshot::channel();
    let note = Arc::new(CloseNote(std::sync::Mutex::new(Some(closed_tx))));
    let writer_note = note.clone();
    std::thread::Builder::new()
        .name("rfb-write".into())
        .spawn(move || {
            use std::io::Write;
            let why = loop {
                match out_rx.blocking_recv() {
                    Some(msg) => {
                        if let Err(e) = writer.write_all(&msg.data) {
                            break NetError::Closed(Some(e.to_string()));
                        }
                    }
                    None => break NetError::Closed(Some("session closed the connection".into())),
                }
            };
            writer_note.set(why);
            let _ = writer.shutdown(std::net::Shutdown::Both);
        })
        .map_err(|e| NetError::Closed(Some(format!("cannot start the writer thread: {e}"))))?;
    Ok(BytePipe {
        incoming: Incoming::Socket(SocketReader {
            socket: reader,
            stats,
            note: note.clone(),
        }),
        outgoing: out_tx,
        outgoing_budget: Budget::new(OUTGOING_BUDGET_BYTES),
        closed: closed_rx,
        guard: PipeGuard {
            _stop: None,
            socket: Some((socket, note)),
        },
    })
}

/// Starts pumping a binary WebSocket through bounded channels.
pub fn pipe_websocket(ws: WsStream, stats: Arc<StreamStats>) -> BytePipe {
    let (in_tx, in_rx) = mpsc::channel(INCOMING_CHUNKS);
    let in_budget = Budget::new(INCOMING_BUDGET_BYTES);
    let (out_tx, mut out_rx) = mpsc::channel::<Outgoing>(OUTGOING_MESSAGES);
    let (closed_tx, closed_rx) = oneshot::channel();
    let (guard, stopped) = pipe_guard();
    let (mut sink, mut stream) = ws.split();
    tokio::spawn(async move {
        let read_loop = async {
            while let Some(msg) = stream.next().await {
                match msg {
                    Ok(Message::Binary(data)) => {
                        stats.add_bytes(data.len());
                        let Some(held) = in_budget.take(data.len()).await else {
                            return NetError::Closed(Some("decoder stopped".into()));
                        };
                        if in_tx.send(Budgeted::holding(data, held)).await.is_err() {
                            return NetError::Closed(Some("decoder stopped".into()));
                        }
                    }
                    Ok(Message::Text(_)) => return NetError::UnexpectedText,
                    Ok(Message::Close(frame)) => {
                        return NetError::Closed(frame.and_then(|f| {
                            (!f.reason.is_empty()).then(|| {
                                format!("{} ({})", redact::url(&f.reason), u16::from(f.code))
                            })
                        }));
                    }
                    Ok(_) => {}
                    Err(e) => return NetError::WebSocket(redact_ws_error(&e)),
                }
            }
            NetError::Closed(None)
        };
        let write_loop = async {
            while let Some(msg) = out_rx.recv().await {
                if let Err(e) = sink.send(Message::Binary(msg.data.into())).await {
                    return NetError::WebSocket(redact_ws_error(&e));
                }
            }
            let _ = sink.close().await;
            NetError::Closed(Some("session closed the connection".into()))
        };
        let why = tokio::select! {
            why = read_loop => why,
            why = write_loop => why,
            _ = stopped => NetError::Closed(Some("closed by the viewer".into())),
        };
        let _ = closed_tx.send(why);
    });
    BytePipe {
        incoming: Incoming::Chunks(in_rx),
        outgoing: out_tx,
        outgoing_budget: Budget::new(OUTGOING_BUDGET_BYTES),
        closed: closed_rx,
        guard,
    }
}

/// A blocking [`std::io::Read`] over the incoming chunks, for a decoder thread.
pub struct ChannelReader {
    rx: mpsc::Receiver<Budgeted<Bytes>>,
    /// The chunk being read; its share of the budget goes back once it is read whole.
    current: Budgeted<Bytes>,
}

impl ChannelReader {
    pub fn new(rx: mpsc::Receiver<Budgeted<Bytes>>) -> Self {
        Self {
            rx,
            current: Budgeted::free(Bytes::new()),
        }
    }
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.data.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.data.len());
        buf[..n].copy_from_slice(&self.current.data.split_to(n));
        Ok(n)
    }
}

/// A blocking [`std::io::Write`] that queues each write as one outgoing message.
#[derive(Clone)]
pub struct ChannelWriter {
    tx: mpsc::Sender<Outgoing>,
}

impl ChannelWriter {
    /// The decoder's own messages (requests, a few bytes each) take no budget: their
    /// number is bounded by the channel.
    pub fn new(tx: mpsc::Sender<Outgoing>) -> Self {
        Self { tx }
    }
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Budgeted::free(buf.to_vec()))
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "connection closed")
            })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn channel_reader_joins_chunks_and_ends_cleanly() {
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Budgeted::free(Bytes::from_static(b"ab")))
            .unwrap();
        tx.try_send(Budgeted::free(Bytes::from_static(b"cde")))
            .unwrap();
        drop(tx);
        let mut r = ChannelReader::new(rx);
        let mut got = [0u8; 4];
        r.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"abcd");
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"e");
    }

    #[test]
    fn channel_writer_reports_a_closed_peer() {
        let (tx, rx) = mpsc::channel(1);
        let mut w = ChannelWriter::new(tx);
        w.write_all(b"hello").unwrap();
        drop(rx);
        assert_eq!(
            w.write_all(b"x").unwrap_err().kind(),
            std::io::ErrorKind::BrokenPipe
        );
    }

    #[tokio::test]
    async fn tcp_pipe_carries_bytes_both_ways() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b"RFB 003.008\n").await.unwrap();
            let mut buf = [0u8; 3];
            s.read_exact(&mut buf).await.unwrap();
            buf
        });
        let stats = Arc::new(StreamStats::default());
        let stream = connect_tcp("127.0.0.1", addr.port()).await.unwrap();
        let pipe = pipe_tcp(stream, stats.clone()).unwrap();
        assert!(matches!(pipe.incoming, Incoming::Socket(_)));
        let mut reader = pipe.incoming.into_reader();
        let read = tokio::task::spawn_blocking(move || {
            let mut first = [0u8; 12];
            reader.read_exact(&mut first).unwrap();
            // The server ends after its three bytes: end of stream.
            let mut rest = Vec::new();
            reader.read_to_end(&mut rest).unwrap();
            (first, rest)
        });
        pipe.outgoing
            .send(Budgeted::free(b"xyz".to_vec()))
            .await
            .unwrap();
        assert_eq!(&server.await.unwrap(), b"xyz");
        let (first, rest) = read.await.unwrap();
        assert_eq!(&first, b"RFB 003.008\n");
        assert!(rest.is_empty());
        assert_eq!(stats.sample().bytes_in, 12);
        assert!(matches!(pipe.closed.await.unwrap(), NetError::Closed(None)));
    }

    #[tokio::test]
    async fn dropping_the_guard_closes_the_socket_and_ends_the_reader() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = connect_tcp("127.0.0.1", addr.port()).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let pipe = pipe_tcp(stream, Arc::new(StreamStats::default())).unwrap();
        let BytePipe {
            incoming,
            outgoing,
            guard,
            closed,
            ..
        } = pipe;
        // The decoder thread is blocked reading when the viewer closes the connection.
        let mut reader = incoming.into_reader();
        let read = tokio::task::spawn_blocking(move || reader.read(&mut [0u8; 16]));
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(guard);
        let mut buf = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(5), server.read(&mut buf))
            .await
            .expect("the socket stayed open")
            .unwrap();
        assert_eq!(n, 0, "the server saw end of stream");
        let got = tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .expect("the reader stayed blocked")
            .unwrap();
        assert!(matches!(got, Ok(0) | Err(_)), "{got:?}");
        let why = closed.await.unwrap();
        assert_eq!(
            why.to_string(),
            NetError::Closed(Some("closed by the viewer".into())).to_string()
        );
        drop(outgoing);
    }
}
