//! The task lists the console follows ("watch every running task", `waldiez:*`): each
//! hands over the tasks its provider lists as they start, once each, so a task the
//! operator removed from the wall stays removed. Tasks found this way are not kept in the
//! workspace one by one: the list is, and finds them again.

use std::collections::HashSet;

use crate::core::listing::{ListNews, Listing};

/// Starts following a task list named as typed, or says why it cannot.
pub type FollowMaker = Box<dyn FnMut(&str) -> Result<Listing, String>>;

/// The most tasks one list adds to the wall: a runner listing more is told so.
pub const MAX_FOUND: usize = 256;

/// One followed list.
pub(super) struct Follow {
    pub listing: Listing,
    /// The sources it has handed over (at most [`MAX_FOUND`]).
    seen: HashSet<String>,
    /// Tasks the list held at its last reading.
    pub listed: usize,
    /// Why the last reading failed, or why tasks were left out.
    pub problem: Option<String>,
}

impl Follow {
    pub fn new(listing: Listing) -> Self {
        Follow {
            listing,
            seen: HashSet::new(),
            listed: 0,
            problem: None,
        }
    }

    /// The tasks to add now: listed, and not handed over before.
    pub fn found(&mut self) -> Vec<String> {
        match self.listing.news() {
            Some(ListNews::Tasks(list)) => {
                self.listed = list.len();
                self.problem = None;
                let mut new = Vec::new();
                for source in list {
                    if self.seen.contains(&source) {
                        continue;
                    }
                    if self.seen.len() >= MAX_FOUND {
                        self.problem = Some(format!(
                            "more than {MAX_FOUND} tasks: the rest are not on the wall"
                        ));
                        break;
                    }
                    self.seen.insert(source.clone());
                    new.push(source);
                }
                new
            }
            Some(ListNews::Failed(why)) => {
                self.problem = Some(why);
                Vec::new()
            }
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_listed_task_is_handed_over_once_and_no_more_than_the_wall_takes() {
        let (listing, tx) = Listing::fed("waldiez:*");
        let mut f = Follow::new(listing);
        let list = |ids: &[&str]| {
            Some(ListNews::Tasks(
                ids.iter().map(|i| format!("waldiez:{i}")).collect(),
            ))
        };
        tx.send(list(&["a", "b"])).unwrap();
        assert_eq!(f.found(), ["waldiez:a", "waldiez:b"]);
        assert_eq!(f.found(), Vec::<String>::new(), "no news");
        tx.send(list(&["b", "c"])).unwrap();
        assert_eq!(f.found(), ["waldiez:c"]);
        assert_eq!(f.listed, 2);
        tx.send(Some(ListNews::Failed("the runner is down".into())))
            .unwrap();
        assert!(f.found().is_empty());
        assert_eq!(f.problem.as_deref(), Some("the runner is down"));
        let many: Vec<String> = (0..MAX_FOUND + 10).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        tx.send(list(&many)).unwrap();
        assert_eq!(f.found().len(), MAX_FOUND - 3);
        assert!(f.problem.as_deref().unwrap().contains("more than"));
    }
}
