//! The byte pipes an RFB connection runs over: a plain TCP socket (`vnc://`) or a WebSocket
//! carrying the RFB stream in binary messages (websockify, subprotocol `binary`).
//!
//! Over WebSocket the server deliberately cuts its output at awkward places, as real
//! websockify deployments do: messages are at most 16 KiB, and every few writes one is split
//! again at a pseudo-random point, so clients must treat messages as a plain byte stream.

use std::ops::Range;

use axum::extract::ws::{Message, WebSocket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest WebSocket message the server sends.
pub const MAX_WS_MESSAGE_BYTES: usize = 16 * 1024;
/// Every this many writes, one message is split at an arbitrary point.
const SPLIT_EVERY: u32 = 3;
/// Bytes read from TCP at a time.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// Why the pipe failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
    #[error("WebSocket error: {0}")]
    WebSocket(String),
    #[error("the client sent a text message on a binary stream")]
    TextMessage,
}

/// A connection's byte pipe.
pub enum Transport {
    Tcp(TcpStream),
    Ws {
        socket: Box<WebSocket>,
        writes: u32,
        rng: u32,
    },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Tcp(_) => "Transport::Tcp",
            Transport::Ws { .. } => "Transport::Ws",
        })
    }
}

impl Transport {
    pub fn websocket(socket: WebSocket, seed: u32) -> Self {
        Transport::Ws {
            socket: Box::new(socket),
            writes: 0,
            rng: seed | 1,
        }
    }

    /// Waits for client bytes and appends them to `buf`; `false` once the client has gone.
    /// Cancel-safe: bytes are appended only when the wait completes.
    pub async fn recv(&mut self, buf: &mut Vec<u8>) -> Result<bool, TransportError> {
        match self {
            Transport::Tcp(s) => {
                buf.reserve(READ_CHUNK_BYTES);
                Ok(s.read_buf(buf).await? > 0)
            }
            Transport::Ws { socket, .. } => loop {
                match socket.recv().await {
                    None | Some(Ok(Message::Close(_))) => return Ok(false),
                    Some(Ok(Message::Binary(b))) => {
                        buf.extend_from_slice(&b);
                        return Ok(true);
                    }
                    Some(Ok(Message::Text(_))) => return Err(TransportError::TextMessage),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Err(e)) => return Err(TransportError::WebSocket(e.to_string())),
                }
            },
        }
    }

    /// Sends bytes of the RFB stream.
    pub async fn send(&mut self, data: &[u8]) -> Result<(), TransportError> {
        match self {
            Transport::Tcp(s) => Ok(s.write_all(data).await?),
            Transport::Ws {
                socket,
                writes,
                rng,
            } => {
                *writes = writes.wrapping_add(1);
                let cut = writes.is_multiple_of(SPLIT_EVERY).then(|| {
                    // xorshift32
                    *rng ^= *rng << 13;
                    *rng ^= *rng >> 17;
                    *rng ^= *rng << 5;
                    *rng as usize
                });
                for range in message_plan(data.len(), cut) {
                    socket
                        .send(Message::Binary(bytes::Bytes::copy_from_slice(&data[range])))
                        .await
                        .map_err(|e| TransportError::WebSocket(e.to_string()))?;
                }
                Ok(())
            }
        }
    }
}

/// How `len` bytes go out as WebSocket messages: pieces of at most
/// [`MAX_WS_MESSAGE_BYTES`], the first cut once more at a point derived from `cut`.
fn message_plan(len: usize, cut: Option<usize>) -> Vec<Range<usize>> {
    let mut plan = Vec::with_capacity(len / MAX_WS_MESSAGE_BYTES + 2);
    let mut at = 0;
    while at < len {
        let end = (at + MAX_WS_MESSAGE_BYTES).min(len);
        match cut {
            Some(c) if at == 0 && end > 1 => {
                let mid = 1 + c % (end - 1);
                plan.push(0..mid);
                plan.push(mid..end);
            }
            _ => plan.push(at..end),
        }
        at = end;
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_capped_and_sometimes_cut_inside() {
        let max = MAX_WS_MESSAGE_BYTES;
        assert_eq!(message_plan(0, Some(3)), Vec::<Range<usize>>::new());
        assert_eq!(
            message_plan(40_000, None),
            vec![0..max, max..2 * max, 2 * max..40_000]
        );
        assert_eq!(message_plan(10, Some(3)), vec![0..4, 4..10]);
        assert_eq!(message_plan(1, Some(3)), vec![0..1]);
        for cut in [0, 1, 7, usize::MAX] {
            let plan = message_plan(max + 5, Some(cut));
            assert_eq!(plan.len(), 3);
            assert!(plan.iter().all(|r| !r.is_empty() && r.len() <= max));
            assert_eq!(plan.last(), Some(&(max..max + 5)));
        }
    }
}
