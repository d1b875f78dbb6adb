//! The simulated Optexity (PROVIDERS.md §1): its tasks, each following a plan on the clock
//! ([`tasks`]). Its REST routes and the websockify endpoint are in `routes::optexity`; the
//! streams behind it are [`crate::sim::rfb`]'s.

pub(crate) mod tasks;
#[cfg(test)]
mod tests;
