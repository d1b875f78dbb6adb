//! Provider REST clients: each turns a task id and a credential into a stream endpoint,
//! with the provider's errors as named variants.

pub mod chaser;
pub mod optexity;
