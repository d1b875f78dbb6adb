//! "Watch every running task": a provider's task list, read every [`LIST_EVERY`], handed
//! to the console as the sources of the tasks that are not over. The Waldiez Runner lists
//! its tasks (`waldiez:*`); Optexity, Chaser and AgentStation publish no list
//! (PROVIDERS.md), so their tasks are named one by one.
//!
//! A [`Listing`] holds only the latest news (a `watch` channel): a console that looks
//! seldom gets the freshest list, never a backlog.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::core::config::Settings;
use crate::core::event::Waker;
use crate::core::net;
use crate::core::provider::waldiez::WaldiezClient;
use crate::core::redact;

/// Every task of the Waldiez Runner that is not over.
pub const WALDIEZ_ALL: &str = "waldiez:*";

/// How often a list is read.
pub const LIST_EVERY: Duration = Duration::from_secs(5);

/// Whether `text` names a task list rather than a task.
pub fn is_listing(text: &str) -> bool {
    text.trim() == WALDIEZ_ALL
}

/// The latest news of a followed list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListNews {
    /// The tasks that are not over, as sources (`waldiez:ID`), in the provider's order.
    Tasks(Vec<String>),
    /// The list could not be read (said without secrets); it is read again later.
    Failed(String),
}

/// A followed task list: the latest [`ListNews`]. Dropping it stops the reading.
#[derive(Debug)]
pub struct Listing {
    /// What was typed to follow it (`waldiez:*`).
    pub label: String,
    news: watch::Receiver<Option<ListNews>>,
    task: Option<AbortHandle>,
}

impl Listing {
    /// A listing fed by hand through the sender (tests, and lists read elsewhere).
    pub fn fed(label: &str) -> (Listing, watch::Sender<Option<ListNews>>) {
        let (tx, rx) = watch::channel(None);
        let listing = Listing {
            label: label.to_string(),
            news: rx,
            task: None,
        };
        (listing, tx)
    }

    /// The news since the last call, if any.
    pub fn news(&mut self) -> Option<ListNews> {
        if !self.news.has_changed().unwrap_or(false) {
            return None;
        }
        self.news.borrow_and_update().clone()
    }
}

impl Drop for Listing {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Starts following the list `text` names ([`is_listing`]) on `rt`, with the providers'
/// `settings`; `wake` is called with each news.
pub fn follow(
    rt: &tokio::runtime::Handle,
    text: &str,
    settings: &Settings,
    wake: Waker,
) -> Result<Listing, String> {
    if !is_listing(text) {
        return Err(format!("{text} is not a task list (try {WALDIEZ_ALL})"));
    }
    let s = &settings.waldiez;
    let http = net::http_client().map_err(|e| e.to_string())?;
    let client = WaldiezClient::new(http, s.base_url(), s.credentials(), s.auth());
    let (mut listing, tx) = Listing::fed(WALDIEZ_ALL);
    let task = rt.spawn(async move {
        loop {
            let news = match client.unfinished_tasks().await {
                Ok(tasks) => ListNews::Tasks(
                    tasks
                        .into_iter()
                        .map(|t| format!("waldiez:{}", t.id))
                        .collect(),
                ),
                Err(e) => ListNews::Failed(redact::text(&e.to_string()).into_owned()),
            };
            if tx.send(Some(news)).is_err() {
                return;
            }
            wake();
            tokio::time::sleep(LIST_EVERY).await;
        }
    });
    listing.task = Some(task.abort_handle());
    Ok(listing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_runner_wide_list_is_a_listing_and_news_come_once() {
        assert!(is_listing("waldiez:*") && is_listing(" waldiez:* "));
        assert!(!is_listing("waldiez:42") && !is_listing("optexity:*"));
        let (mut listing, tx) = Listing::fed("waldiez:*");
        assert_eq!(listing.news(), None);
        tx.send(Some(ListNews::Tasks(vec!["waldiez:a".into()])))
            .unwrap();
        tx.send(Some(ListNews::Failed("down".into()))).unwrap();
        assert_eq!(
            listing.news(),
            Some(ListNews::Failed("down".into())),
            "the latest"
        );
        assert_eq!(listing.news(), None);
    }
}
