//! Server messages: one WebSocket message in, one [`ServerMessage`] out.
//!
//! A frame's base64 text is most of a message, so it is read in place: the JSON is
//! deserialised into borrowed fields (the base64 is copied only if the sender escaped
//! something in it), its decoded length is checked against [`MAX_IMAGE_BYTES`] before the
//! image buffer is allocated, and the rest of the message is skipped, not built. Every other
//! field is checked by hand so that errors name the field and never quote its value.

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{MAX_IMAGE_BYTES, MAX_SUMMARY_CHARS, MAX_TEXT_BYTES, PreviewError};
use crate::core::frame::MAX_DIMENSION;

/// Standard base64, padded or not (senders differ).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Longest message type kept in [`ServerMessage::Ignored`], in characters.
const MAX_TYPE_CHARS: usize = 64;
/// Longest string value kept in a status summary, in characters.
const MAX_STATUS_VALUE_CHARS: usize = 200;

/// One message from the server.
#[derive(Clone, Debug, PartialEq)]
pub enum ServerMessage {
    /// A picture.
    Frame(PreviewFrame),
    /// Server state, summarised as `key=value` pairs (nested objects one level deep, as
    /// `key.sub=value`), keys in alphabetical order, at most [`MAX_SUMMARY_CHARS`].
    Status(String),
    /// The page's new URL (at most [`MAX_SUMMARY_CHARS`]). May hold secrets.
    Url(String),
    /// The server reports a failure (agent-browser sends these when input fails); the text
    /// is empty if it gave none.
    Error(String),
    /// A message of another type, ignored; carries the type (at most 64 characters).
    Ignored(String),
}

/// How a frame's image is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
}

impl ImageFormat {
    /// The format of an image, from its first bytes.
    pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
        if bytes.starts_with(&[0xff, 0xd8]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
            Some(ImageFormat::Png)
        } else {
            None
        }
    }
}

/// One picture as the server sent it, not yet decoded.
#[derive(Clone, PartialEq)]
pub struct PreviewFrame {
    /// The frame's sequence number, to [`ack`](super::ack_message) under ack pacing.
    pub seq: Option<u64>,
    /// The encoded image (at most [`MAX_IMAGE_BYTES`]).
    pub image: Vec<u8>,
    /// Its format, sniffed from its first bytes.
    pub format: ImageFormat,
    /// The page's size in device-independent pixels (`metadata.deviceWidth/Height`),
    /// when given and within `1..=MAX_DIMENSION`. The picture may be scaled from it; input
    /// coordinates are picture pixels regardless.
    pub device_size: Option<[u32; 2]>,
    /// When the browser captured it (`metadata.timestamp`), milliseconds since the epoch.
    pub captured_ms: Option<f64>,
}

impl fmt::Debug for PreviewFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreviewFrame")
            .field("seq", &self.seq)
            .field("image_bytes", &self.image.len())
            .field("format", &self.format)
            .field("device_size", &self.device_size)
            .field("captured_ms", &self.captured_ms)
            .finish()
    }
}

/// Parses one text message.
pub fn parse_text(text: &str) -> Result<ServerMessage, PreviewError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(PreviewError::TextTooLarge {
            len: text.len(),
            max: MAX_TEXT_BYTES,
        });
    }
    // A derived struct would also accept a JSON array, field by field.
    if !text.trim_start().starts_with('{') {
        return match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => Err(PreviewError::NotAnObject),
            Err(e) => Err(not_json(&e)),
        };
    }
    let msg: Incoming<'_> = serde_json::from_str(text).map_err(|e| not_json(&e))?;
    let kind = match msg.kind {
        None => {
            return Err(PreviewError::MissingField {
                kind: "server",
                field: "type",
            });
        }
        Some(AnyValue::Text(kind)) => kind,
        Some(AnyValue::Other) => {
            return Err(PreviewError::WrongType {
                field: "type",
                expected: "a string",
            });
        }
    };
    match kind.as_ref() {
        "frame" => frame(msg.seq, msg.data, msg.metadata).map(ServerMessage::Frame),
        "status" => status(text).map(ServerMessage::Status),
        "url" => match msg.url {
            None => Err(PreviewError::MissingField {
                kind: "url",
                field: "url",
            }),
            Some(Value::String(url)) => Ok(ServerMessage::Url(truncate(&url, MAX_SUMMARY_CHARS))),
            Some(_) => Err(PreviewError::WrongType {
                field: "url",
                expected: "a string",
            }),
        },
        "error" => Ok(ServerMessage::Error(match msg.message {
            Some(Value::String(m)) => truncate(&m, MAX_SUMMARY_CHARS),
            _ => String::new(),
        })),
        other => Ok(ServerMessage::Ignored(truncate(other, MAX_TYPE_CHARS))),
    }
}

/// Parses one binary message: a whole JPEG or PNG image, without sequence or metadata.
pub fn parse_binary(bytes: &[u8]) -> Result<ServerMessage, PreviewError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(PreviewError::ImageTooLarge {
            len: bytes.len(),
            max: MAX_IMAGE_BYTES,
        });
    }
    let format = sniff(bytes, "binary message")?;
    Ok(ServerMessage::Frame(PreviewFrame {
        seq: None,
        image: bytes.to_vec(),
        format,
        device_size: None,
        captured_ms: None,
    }))
}

fn not_json(e: &serde_json::Error) -> PreviewError {
    // serde_json's syntax errors name a position, never the text.
    PreviewError::NotJson {
        detail: e.to_string(),
    }
}

fn sniff(bytes: &[u8], what: &'static str) -> Result<ImageFormat, PreviewError> {
    ImageFormat::sniff(bytes).ok_or_else(|| {
        let magic = if bytes.is_empty() {
            "empty".to_string()
        } else {
            let hex: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
            format!("first bytes {}", hex.join(" "))
        };
        PreviewError::UnknownImageFormat { what, magic }
    })
}

fn frame(
    seq: Option<Value>,
    data: Option<AnyValue<'_>>,
    metadata: Option<Value>,
) -> Result<PreviewFrame, PreviewError> {
    let seq = match seq {
        None => None,
        Some(v) => Some(v.as_u64().ok_or(PreviewError::WrongType {
            field: "seq",
            expected: "a non-negative integer",
        })?),
    };
    let data = match data {
        None => {
            return Err(PreviewError::MissingField {
                kind: "frame",
                field: "data",
            });
        }
        Some(AnyValue::Text(data)) => data,
        Some(AnyValue::Other) => {
            return Err(PreviewError::WrongType {
                field: "data",
                expected: "a string",
            });
        }
    };
    let image = decode_base64(&data)?;
    let format = sniff(&image, "frame data")?;
    let (device_size, captured_ms) = read_metadata(metadata.as_ref());
    Ok(PreviewFrame {
        seq,
        image,
        format,
        device_size,
        captured_ms,
    })
}

/// Decodes base64 (after a `data:…;base64,` prefix, if any), refusing images over
/// [`MAX_IMAGE_BYTES`] before allocating.
fn decode_base64(data: &str) -> Result<Vec<u8>, PreviewError> {
    let b64 = match data.strip_prefix("data:") {
        Some(url) => {
            let (header, body) = url.split_once(',').ok_or(PreviewError::DataUrlNotBase64)?;
            if !header.to_ascii_lowercase().ends_with(";base64") {
                return Err(PreviewError::DataUrlNotBase64);
            }
            body
        }
        None => data,
    };
    // The decoded length, exact for valid base64 (invalid base64 fails below anyway).
    let digits = b64.trim_end_matches('=').len();
    let len = digits / 4 * 3 + digits % 4 * 6 / 8;
    if len > MAX_IMAGE_BYTES {
        return Err(PreviewError::ImageTooLarge {
            len,
            max: MAX_IMAGE_BYTES,
        });
    }
    BASE64.decode(b64).map_err(|e| PreviewError::Base64 {
        detail: e.to_string(),
    })
}

/// The advisory parts of `metadata`: unusable values are dropped, never fatal.
fn read_metadata(metadata: Option<&Value>) -> (Option<[u32; 2]>, Option<f64>) {
    let Some(Value::Object(m)) = metadata else {
        return (None, None);
    };
    let side = |key: &str| {
        let v = m.get(key)?.as_f64()?.round();
        (v >= 1.0 && v <= f64::from(MAX_DIMENSION)).then_some(v as u32)
    };
    let device_size = side("deviceWidth")
        .zip(side("deviceHeight"))
        .map(|(w, h)| [w, h]);
    let captured_ms = m
        .get("timestamp")
        .and_then(Value::as_f64)
        .filter(|t| t.is_finite());
    (device_size, captured_ms)
}

/// Summarises a status message's fields (the message is parsed again, whole: status
/// messages are small and their fields are not known in advance).
fn status(text: &str) -> Result<String, PreviewError> {
    let map: Map<String, Value> = serde_json::from_str(text).map_err(|e| not_json(&e))?;
    let mut parts = Vec::new();
    for (key, value) in &map {
        if key == "type" {
            continue;
        }
        match value {
            Value::Object(inner) => {
                for (sub, v) in inner {
                    parts.push(format!("{key}.{sub}={}", scalar(v)));
                }
            }
            v => parts.push(format!("{key}={}", scalar(v))),
        }
    }
    Ok(truncate(&parts.join(", "), MAX_SUMMARY_CHARS))
}

/// A short rendering of one value: scalars as they are (strings cut), containers by size.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => truncate(s, MAX_STATUS_VALUE_CHARS),
        Value::Array(a) => format!("[{} items]", a.len()),
        Value::Object(o) => format!("{{{} fields}}", o.len()),
        other => other.to_string(),
    }
}

/// At most `max` characters of `s`, with `…` in place of the rest.
fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((cut, _)) => {
            let mut out = s[..cut].to_string();
            out.push('…');
            out
        }
    }
}

/// The fields a message may carry; all others are skipped unread.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<AnyValue<'a>>,
    #[serde(default)]
    seq: Option<Value>,
    #[serde(borrow, default)]
    data: Option<AnyValue<'a>>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    url: Option<Value>,
    #[serde(default)]
    message: Option<Value>,
}

/// A string, borrowed from the message when it has no escapes, or a note that the value
/// was of another type (skipped without building it).
enum AnyValue<'a> {
    Text(Cow<'a, str>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for AnyValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyValueVisitor)
    }
}

struct AnyValueVisitor;

impl<'de> Visitor<'de> for AnyValueVisitor {
    type Value = AnyValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(AnyValue::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(AnyValue::Text(Cow::Owned(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(AnyValue::Text(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(AnyValue::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(AnyValue::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(AnyValue::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(AnyValue::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(AnyValue::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(AnyValue::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(AnyValue::Other)
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

    use super::*;

    /// Enough of a JPEG for parsing (it is not decoded here).
    const JPEG_BYTES: &[u8] = &[0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9];
    const PNG_BYTES: &[u8] = &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 9];

    fn frame_of(msg: Result<ServerMessage, PreviewError>) -> PreviewFrame {
        match msg {
            Ok(ServerMessage::Frame(f)) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_full_frame_message() {
        let text = format!(
            r#"{{"type":"frame","seq":42,"data":"{}","metadata":{{"deviceWidth":1280,"deviceHeight":720,"timestamp":1712345678901.5,"offsetTop":0,"pageScaleFactor":1}}}}"#,
            STANDARD.encode(JPEG_BYTES)
        );
        let f = frame_of(parse_text(&text));
        assert_eq!(f.seq, Some(42));
        assert_eq!(f.image, JPEG_BYTES);
        assert_eq!(f.format, ImageFormat::Jpeg);
        assert_eq!(f.device_size, Some([1280, 720]));
        assert_eq!(f.captured_ms, Some(1_712_345_678_901.5));
        let debug = format!("{f:?}");
        assert!(debug.contains("image_bytes: 9"), "{debug}");
    }

    #[test]
    fn a_bare_frame_message_and_its_variants() {
        let png = STANDARD.encode(PNG_BYTES);
        let f = frame_of(parse_text(&format!(r#"{{"data":"{png}","type":"frame"}}"#)));
        assert_eq!((f.seq, f.format), (None, ImageFormat::Png));
        assert_eq!((f.device_size, f.captured_ms), (None, None));
        // Integer timestamps, fractional device sizes, nulls as absent.
        let f = frame_of(parse_text(&format!(
            r#"{{"type":"frame","seq":null,"data":"{png}","metadata":{{"deviceWidth":411.4,"deviceHeight":914.6,"timestamp":1712345678901}}}}"#
        )));
        assert_eq!(f.device_size, Some([411, 915]));
        assert_eq!(f.captured_ms, Some(1_712_345_678_901.0));
        // Unpadded base64, a data URL, and JSON-escaped slashes all decode.
        let unpadded = STANDARD_NO_PAD.encode(JPEG_BYTES);
        let f = frame_of(parse_text(&format!(
            r#"{{"type":"frame","data":"{unpadded}"}}"#
        )));
        assert_eq!(f.image, JPEG_BYTES);
        let f = frame_of(parse_text(&format!(
            r#"{{"type":"frame","data":"data:image/jpeg;base64,{}"}}"#,
            STANDARD.encode(JPEG_BYTES)
        )));
        assert_eq!(f.image, JPEG_BYTES);
        let slashy: Vec<u8> = [JPEG_BYTES, &[0xff; 6]].concat();
        let b64 = STANDARD.encode(&slashy);
        assert!(b64.contains('/'), "{b64}");
        let f = frame_of(parse_text(&format!(
            r#"{{"type":"frame","data":"{}"}}"#,
            b64.replace('/', "\\/")
        )));
        assert_eq!(f.image, slashy);
    }

    #[test]
    fn unusable_metadata_is_dropped_not_fatal() {
        let png = STANDARD.encode(PNG_BYTES);
        for metadata in [
            r#"5"#,
            r#"{"deviceWidth":"wide","deviceHeight":720,"timestamp":"now"}"#,
            r#"{"deviceWidth":-5,"deviceHeight":720}"#,
            r#"{"deviceWidth":100000,"deviceHeight":720}"#,
            r#"{"deviceWidth":1280}"#,
        ] {
            let f = frame_of(parse_text(&format!(
                r#"{{"type":"frame","data":"{png}","metadata":{metadata}}}"#
            )));
            assert_eq!((f.device_size, f.captured_ms), (None, None), "{metadata}");
        }
    }

    #[test]
    fn binary_messages_are_whole_images() {
        let f = frame_of(parse_binary(JPEG_BYTES));
        assert_eq!(
            (f.format, f.seq, f.image.as_slice()),
            (ImageFormat::Jpeg, None, JPEG_BYTES)
        );
        assert_eq!(frame_of(parse_binary(PNG_BYTES)).format, ImageFormat::Png);
        let err = parse_binary(b"GIF89a...").unwrap_err();
        assert_eq!(
            err,
            PreviewError::UnknownImageFormat {
                what: "binary message",
                magic: "first bytes 47 49 46 38".into()
            }
        );
        assert!(
            err.to_string().contains("neither a JPEG nor a PNG"),
            "{err}"
        );
        assert!(matches!(
            parse_binary(&[]),
            Err(PreviewError::UnknownImageFormat { .. })
        ));
        let big = vec![0xffu8; MAX_IMAGE_BYTES + 1];
        assert_eq!(
            parse_binary(&big),
            Err(PreviewError::ImageTooLarge {
                len: MAX_IMAGE_BYTES + 1,
                max: MAX_IMAGE_BYTES
            })
        );
    }

    #[test]
    fn status_url_error_and_unknown_messages() {
        assert_eq!(
            parse_text(
                r#"{"type":"status","connected":true,"screencasting":false,"viewportWidth":1280,"viewportHeight":720}"#
            ),
            Ok(ServerMessage::Status(
                "connected=true, screencasting=false, viewportHeight=720, viewportWidth=1280"
                    .into()
            ))
        );
        assert_eq!(
            parse_text(
                r#"{"type":"status","status":"streaming","viewport":{"width":390,"height":844},"tabs":[1,2]}"#
            ),
            Ok(ServerMessage::Status(
                "status=streaming, tabs=[2 items], viewport.height=844, viewport.width=390".into()
            ))
        );
        assert_eq!(
            parse_text(r#"{"type":"status"}"#),
            Ok(ServerMessage::Status(String::new()))
        );
        let long = "x".repeat(10_000);
        match parse_text(&format!(r#"{{"type":"status","note":"{long}"}}"#)) {
            Ok(ServerMessage::Status(s)) => {
                assert_eq!(
                    s.chars().count(),
                    "note=".len() + MAX_STATUS_VALUE_CHARS + 1
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_text(r#"{"type":"url","url":"https://example.com/a?b=c"}"#),
            Ok(ServerMessage::Url("https://example.com/a?b=c".into()))
        );
        assert_eq!(
            parse_text(r#"{"type":"error","message":"Browser not launched"}"#),
            Ok(ServerMessage::Error("Browser not launched".into()))
        );
        assert_eq!(
            parse_text(r#"{"type":"error"}"#),
            Ok(ServerMessage::Error(String::new()))
        );
        assert_eq!(
            parse_text(r#"{"type":"cursor","shape":"pointer","data":5}"#),
            Ok(ServerMessage::Ignored("cursor".into()))
        );
        let long_type = "t".repeat(1000);
        match parse_text(&format!(r#"{{"type":"{long_type}"}}"#)) {
            Ok(ServerMessage::Ignored(t)) => assert_eq!(t.chars().count(), MAX_TYPE_CHARS + 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_messages_are_named_errors() {
        let png = STANDARD.encode(PNG_BYTES);
        let cases: Vec<(String, PreviewError)> = vec![
            (
                "".into(),
                PreviewError::NotJson {
                    detail: String::new(),
                },
            ),
            (
                "{".into(),
                PreviewError::NotJson {
                    detail: String::new(),
                },
            ),
            (
                r#"{"type":"frame",}"#.into(),
                PreviewError::NotJson {
                    detail: String::new(),
                },
            ),
            ("[1,2]".into(), PreviewError::NotAnObject),
            ("42".into(), PreviewError::NotAnObject),
            (r#""frame""#.into(), PreviewError::NotAnObject),
            (
                r#"{"seq":1}"#.into(),
                PreviewError::MissingField {
                    kind: "server",
                    field: "type",
                },
            ),
            (
                r#"{"type":5}"#.into(),
                PreviewError::WrongType {
                    field: "type",
                    expected: "a string",
                },
            ),
            (
                r#"{"type":"frame","seq":1}"#.into(),
                PreviewError::MissingField {
                    kind: "frame",
                    field: "data",
                },
            ),
            (
                r#"{"type":"frame","data":null}"#.into(),
                PreviewError::MissingField {
                    kind: "frame",
                    field: "data",
                },
            ),
            (
                r#"{"type":"frame","data":[1,{"a":2}]}"#.into(),
                PreviewError::WrongType {
                    field: "data",
                    expected: "a string",
                },
            ),
            (
                format!(r#"{{"type":"frame","seq":"7","data":"{png}"}}"#),
                PreviewError::WrongType {
                    field: "seq",
                    expected: "a non-negative integer",
                },
            ),
            (
                format!(r#"{{"type":"frame","seq":-1,"data":"{png}"}}"#),
                PreviewError::WrongType {
                    field: "seq",
                    expected: "a non-negative integer",
                },
            ),
            (
                r#"{"type":"frame","data":"not base64!"}"#.into(),
                PreviewError::Base64 {
                    detail: String::new(),
                },
            ),
            (
                r#"{"type":"frame","data":"data:image/jpeg,abc"}"#.into(),
                PreviewError::DataUrlNotBase64,
            ),
            (
                r#"{"type":"frame","data":"data:image/jpeg;base64"}"#.into(),
                PreviewError::DataUrlNotBase64,
            ),
            (
                format!(
                    r#"{{"type":"frame","data":"{}"}}"#,
                    STANDARD.encode(b"GIF89a")
                ),
                PreviewError::UnknownImageFormat {
                    what: "frame data",
                    magic: "first bytes 47 49 46 38".into(),
                },
            ),
            (
                r#"{"type":"frame","data":""}"#.into(),
                PreviewError::UnknownImageFormat {
                    what: "frame data",
                    magic: "empty".into(),
                },
            ),
            (
                r#"{"type":"url"}"#.into(),
                PreviewError::MissingField {
                    kind: "url",
                    field: "url",
                },
            ),
            (
                r#"{"type":"url","url":["a"]}"#.into(),
                PreviewError::WrongType {
                    field: "url",
                    expected: "a string",
                },
            ),
        ];
        for (text, want) in cases {
            let got = parse_text(&text).unwrap_err();
            // The detail of library errors is theirs; the variant is ours.
            match (&got, &want) {
                (PreviewError::NotJson { .. }, PreviewError::NotJson { .. })
                | (PreviewError::Base64 { .. }, PreviewError::Base64 { .. }) => {}
                _ => assert_eq!(got, want, "{text}"),
            }
            assert!(!got.to_string().is_empty());
        }
    }

    #[test]
    fn errors_never_quote_the_message() {
        for text in [
            r#"{"type":"url","url":{"token":"SECRET"}}"#,
            r#"{"type":"frame","seq":"SECRET","data":""}"#,
            r#"{"type":"frame","data":"SECRET?"}"#,
            r#"{"type":"url","url":"SECRET"#,
            r#"{"type":"SECRET" "url":"x"}"#,
            r#"["SECRET"]"#,
        ] {
            let err = parse_text(text).unwrap_err();
            assert!(!err.to_string().contains("SECRET"), "{text}: {err}");
            assert!(!format!("{err:?}").contains("SECRET"), "{text}: {err:?}");
        }
    }

    #[test]
    fn oversize_messages_are_refused_before_decoding() {
        let huge = " ".repeat(MAX_TEXT_BYTES + 1);
        assert_eq!(
            parse_text(&huge),
            Err(PreviewError::TextTooLarge {
                len: MAX_TEXT_BYTES + 1,
                max: MAX_TEXT_BYTES
            })
        );
        drop(huge);
        // Base64 within the text limit whose image would be over the image limit.
        let digits = (MAX_IMAGE_BYTES / 3 + 1) * 4;
        let text = format!(r#"{{"type":"frame","data":"{}"}}"#, "A".repeat(digits));
        assert!(text.len() <= MAX_TEXT_BYTES);
        assert_eq!(
            parse_text(&text),
            Err(PreviewError::ImageTooLarge {
                len: digits / 4 * 3,
                max: MAX_IMAGE_BYTES
            })
        );
    }

    #[test]
    fn sniffing_needs_the_magic() {
        assert_eq!(ImageFormat::sniff(&[0xff, 0xd8]), Some(ImageFormat::Jpeg));
        assert_eq!(ImageFormat::sniff(&[0xff]), None);
        assert_eq!(ImageFormat::sniff(b"\x89PNG"), Some(ImageFormat::Png));
        assert_eq!(ImageFormat::sniff(b"\x89PN"), None);
    }
}
