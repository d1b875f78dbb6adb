//! The simulated Chaser (PROVIDERS.md §3): its sessions, preview tokens and open previews
//! ([`sessions`]) and one preview connection speaking the agent-browser streaming protocol
//! ([`preview`]). The REST routes and the preview upgrade are in `routes::chaser`.
//!
//! Dependencies point down: `preview` uses `sessions`.

pub(crate) mod preview;
pub(crate) mod sessions;
#[cfg(test)]
mod tests;
