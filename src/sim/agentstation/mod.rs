//! The simulated AgentStation (PROVIDERS.md §2): its key, workstations and forced failures
//! ([`station`]) and their log streams ([`log_stream`]); each workstation's recorder and
//! its HLS streams are in [`crate::sim::hls`]. The REST routes, the log stream and the HLS
//! routes are in `routes::agentstation`.
//!
//! Dependencies point down: `station` uses `log_stream` and `hls`.

pub(crate) mod log_stream;
pub(crate) mod station;
