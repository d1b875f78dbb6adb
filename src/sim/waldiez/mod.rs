//! The simulated Waldiez Runner (PROVIDERS.md §4), behaving like the runner's code rather
//! than its docs: its client account and tokens ([`runner`]), its scripted tasks
//! ([`plan`], [`tasks`], the demo ones in [`demo`]) and its task sockets ([`socket`], timed
//! like the runner's handler by [`read_loop`]). The REST routes and the socket upgrade are
//! in `routes::waldiez`.
//!
//! Dependencies point down: `runner` and `socket` use `tasks`, which uses `plan`; `socket`
//! uses `read_loop`; `demo` uses `plan` only.

pub(crate) mod demo;
pub(crate) mod plan;
pub(crate) mod read_loop;
pub(crate) mod runner;
pub(crate) mod socket;
pub(crate) mod tasks;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod timing_tests;
