//! One error type for the core: each source and provider keeps its own enum of named
//! failures, gathered here with the two questions the session asks of any error.

use super::event::{ErrorKind, SessionError};
use super::net::NetError;
use super::provider::agentstation::AgentStationError;
use super::provider::chaser::ChaserError;
use super::provider::optexity::OptexityError;
use super::provider::waldiez::WaldiezError;
use super::source::SourceParseError;
use super::source::hls::HlsError;
use super::source::rfb::RfbError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Optexity(#[from] OptexityError),
    #[error(transparent)]
    Chaser(#[from] ChaserError),
    #[error(transparent)]
    Waldiez(#[from] WaldiezError),
    #[error(transparent)]
    AgentStation(#[from] AgentStationError),
    #[error(transparent)]
    Rfb(#[from] RfbError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error(transparent)]
    Source(#[from] SourceParseError),
    #[error(transparent)]
    Hls(#[from] HlsError),
}

impl CoreError {
    /// What kind of failure this is: what the front end decides by.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CoreError::Optexity(e) => e.kind(),
            CoreError::Chaser(e) => e.kind(),
            CoreError::Waldiez(e) => e.kind(),
            CoreError::AgentStation(e) => e.kind(),
            CoreError::Rfb(e) => e.kind(),
            CoreError::Net(e) => e.kind(),
            CoreError::Source(_) => ErrorKind::Config,
            CoreError::Hls(e) => e.kind(),
        }
    }

    /// The error as it crosses to the front end: kind, retryable, message.
    pub fn to_session_error(&self) -> SessionError {
        SessionError::new(self.kind(), self.is_retryable(), self.user_message())
    }

    /// Whether trying the same thing again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            CoreError::Optexity(e) => e.is_retryable(),
            CoreError::Chaser(e) => e.is_retryable(),
            CoreError::Waldiez(e) => e.is_retryable(),
            CoreError::AgentStation(e) => e.is_retryable(),
            CoreError::Rfb(e) => e.is_retryable(),
            CoreError::Net(e) => e.is_retryable(),
            CoreError::Source(_) => false,
            CoreError::Hls(e) => e.is_retryable(),
        }
    }

    /// How long the provider asked us to wait before trying again, if it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            CoreError::Chaser(e) => e.retry_after(),
            CoreError::AgentStation(e) => e.retry_after(),
            _ => None,
        }
    }

    /// One plain line for the operator. Never holds a secret: every variant's message is
    /// built from redacted parts, and the whole is masked again (`redact::text`).
    pub fn user_message(&self) -> String {
        // Parts came from servers too (an error's `detail`): whatever secret they repeat is
        // masked here.
        let text = super::redact::text(&self.to_string()).into_owned();
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => text,
        }
    }
}
