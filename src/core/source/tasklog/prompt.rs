//! The prompt a task waits on, as the runner's stream and our own answers tell it.
//!
//! **From the stream.** An `input_request` opens the pending prompt (unless its answer has
//! been seen already, as when a replay delivers them out of order); an `input_response` with
//! its `request_id`, from any viewer, closes it. The runner echoes an answer even when the
//! prompt times out (it goes on with `""` after the task's `input_timeout`), so a response
//! always comes. A status does not close the prompt while the task runs: the status is a
//! snapshot of the runner's database taken on connecting, sent before the replay, and it
//! can lag the stream. A final status (completed, failed, cancelled) does close it: the task
//! takes no more input and the runner refuses answers.
//!
//! **A status ahead of its request.** A late joiner's `status` may name an
//! `input_request_id` before the `input_request` itself has been replayed (PROVIDERS.md
//! §4). If that request is the last one seen (a reconnect, whose replay is dropped as
//! duplicates), the prompt reopens whole; otherwise it is pending *without its text*
//! ([`PendingPrompt::prompt`] is `None`): front ends wait for the question rather than
//! guess it, and its `input_request` fills it in.
//!
//! **Our answers.** The real runner takes an answer sent over its socket only when the
//! socket's 5 s blocking read returns, so the echo may come about 5 s later. An answer we
//! sent ([`Prompts::answer_sent`]) closes the prompt at once and is remembered: neither the
//! stale status nor a replay reopens it. Until the echo the prompt is
//! [`Prompts::unconfirmed`] (a front end may say "sent, waiting for the task to confirm");
//! if delivery fails ([`Prompts::answer_failed`]) it reopens, unless an answer was seen
//! meanwhile.
//!
//! The one case this cannot see is an answer given while we were away and pushed out of the
//! 50-message replay by later output; `TaskLog::dismiss_prompt` is for the caller that
//! learns it otherwise (the task's REST status).

use std::collections::{HashMap, VecDeque};

use super::message::{InputRequest, TaskStatus};
use super::name_text;

/// The question a task waits on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPrompt {
    /// What an answer must name.
    pub request_id: String,
    /// The question; `None` while only the task's status has named the request (wait for
    /// it: do not ask).
    pub prompt: Option<String>,
    /// Whether the answer is a secret (mask it while typing, never log it). True while the
    /// request itself has not been seen.
    pub password: bool,
    /// When the task asked, when known (to show the time left before its input timeout).
    pub asked_at: Option<super::Micros>,
}

impl PendingPrompt {
    fn of(r: &InputRequest) -> PendingPrompt {
        PendingPrompt {
            request_id: r.request_id.clone(),
            prompt: Some(r.prompt.clone()),
            password: r.password,
            asked_at: r.meta.timestamp,
        }
    }
}

/// Strings remembered in insertion order, the oldest forgotten past `cap`.
#[derive(Debug)]
pub(super) struct Recent<V> {
    map: HashMap<String, V>,
    order: VecDeque<String>,
    cap: usize,
}

impl<V> Recent<V> {
    pub fn new(cap: usize) -> Self {
        Recent {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Remembers `key`; false if it was already remembered (its value is then replaced).
    pub fn insert(&mut self, key: &str, value: V) -> bool {
        if let Some(v) = self.map.get_mut(key) {
            *v = value;
            return false;
        }
        if self.order.len() >= self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.map.remove(&old);
        }
        self.map.insert(key.to_string(), value);
        self.order.push_back(key.to_string());
        true
    }

    /// Forgets `key`; whether it was remembered. Linear in the number remembered.
    pub fn remove(&mut self, key: &str) -> bool {
        if self.map.remove(key).is_none() {
            return false;
        }
        self.order.retain(|k| k != key);
        true
    }

    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.map.get(key)
    }
}

/// The prompt state of one task's log.
#[derive(Debug)]
pub(super) struct Prompts {
    /// Requests seen: request id → whether it asked for a password.
    requests: Recent<bool>,
    /// Request ids whose answer the runner echoed (ours, anyone's, or the time-out's "").
    answered: Recent<()>,
    /// Request ids we sent an answer to.
    sent: Recent<()>,
    pending: Option<PendingPrompt>,
    /// The prompt we answered, until the runner echoes an answer to it.
    unconfirmed: Option<PendingPrompt>,
    /// The latest request seen, whole, to reopen it when a status names it again.
    last_request: Option<PendingPrompt>,
}

impl Prompts {
    /// Remembers up to `cap` request ids of each kind.
    pub fn new(cap: usize) -> Self {
        Prompts {
            requests: Recent::new(cap),
            answered: Recent::new(cap),
            sent: Recent::new(cap),
            pending: None,
            unconfirmed: None,
            last_request: None,
        }
    }

    /// Whether `request_id` needs no answer from us: its answer was echoed, or we sent one.
    pub fn settled(&self, request_id: &str) -> bool {
        self.answered.contains(request_id) || self.sent.contains(request_id)
    }

    /// Whether the runner echoed an answer to `request_id`.
    pub fn was_answered(&self, request_id: &str) -> bool {
        self.answered.contains(request_id)
    }

    /// Whether we sent an answer to `request_id` (confirmed or not).
    pub fn was_sent(&self, request_id: &str) -> bool {
        self.sent.contains(request_id)
    }

    /// Whether an answer to `request_id` is a secret: its request asked for a password, or
    /// was never seen (it could have).
    pub fn is_password(&self, request_id: &str) -> bool {
        self.requests.get(request_id).copied().unwrap_or(true)
    }

    pub fn pending(&self) -> Option<&PendingPrompt> {
        self.pending.as_ref()
    }

    pub fn unconfirmed(&self) -> Option<&PendingPrompt> {
        self.unconfirmed.as_ref()
    }

    pub fn dismiss(&mut self) -> Option<PendingPrompt> {
        self.pending.take()
    }

    /// A replay: the prompt a recording says was waiting.
    pub fn set_pending(&mut self, prompt: Option<PendingPrompt>) {
        self.pending = prompt;
        self.unconfirmed = None;
    }

    /// An `input_request`: the task asks (a new question also means any earlier one is
    /// over).
    pub fn on_request(&mut self, r: &InputRequest) {
        self.requests.insert(&r.request_id, r.password);
        let prompt = PendingPrompt::of(r);
        if !self.settled(&r.request_id) {
            self.pending = Some(prompt.clone());
        }
        if self
            .unconfirmed
            .as_ref()
            .is_some_and(|u| u.request_id != r.request_id)
        {
            self.unconfirmed = None;
        }
        self.last_request = Some(prompt);
    }

    /// An `input_response`: the prompt is answered, by whoever.
    pub fn on_response(&mut self, request_id: &str) {
        self.answered.insert(request_id, ());
        let matches =
            |p: &Option<PendingPrompt>| p.as_ref().is_some_and(|p| p.request_id == request_id);
        if matches(&self.pending) {
            self.pending = None;
        }
        if matches(&self.unconfirmed) {
            self.unconfirmed = None;
        }
    }

    /// A status: a final one closes everything; one waiting on a request we have not
    /// settled opens it (whole if it is the last request seen, else without its text).
    pub fn on_status(&mut self, status: &TaskStatus, input_request_id: Option<&str>) {
        if status.is_final() {
            self.pending = None;
            self.unconfirmed = None;
            return;
        }
        let Some(waited) = input_request_id.filter(|_| *status == TaskStatus::WaitingForInput)
        else {
            return;
        };
        if self.settled(waited)
            || self
                .pending
                .as_ref()
                .is_some_and(|p| p.request_id == waited)
        {
            return;
        }
        self.pending = match &self.last_request {
            Some(last) if last.request_id == waited => Some(last.clone()),
            _ => Some(PendingPrompt {
                request_id: name_text(waited),
                prompt: None,
                password: self.is_password(waited),
                asked_at: None,
            }),
        };
    }

    /// We sent an answer to `request_id`: the prompt closes now, not at the echo.
    pub fn answer_sent(&mut self, request_id: &str) {
        self.sent.insert(request_id, ());
        if self.answered.contains(request_id) {
            return;
        }
        if let Some(p) = self.pending.take_if(|p| p.request_id == request_id) {
            self.unconfirmed = Some(p);
        }
    }

    /// Our answer to `request_id` did not arrive: its prompt reopens unless an answer was
    /// seen meanwhile or another prompt is open.
    pub fn answer_failed(&mut self, request_id: &str) {
        if !self.sent.remove(request_id) {
            return;
        }
        let ours = self.unconfirmed.take_if(|u| u.request_id == request_id);
        if let Some(p) = ours
            && self.pending.is_none()
            && !self.answered.contains(request_id)
        {
            self.pending = Some(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::TaskLog;
    use crate::core::redact::Secret;

    const ASK_R1: &str = r#"{"type":"input_request","id":"1-0","request_id":"r1","data":"City?","password":"False"}"#;

    fn pending(log: &TaskLog) -> Option<(String, Option<String>)> {
        log.pending_prompt()
            .map(|p| (p.request_id.clone(), p.prompt.clone()))
    }

    #[test]
    fn our_answer_closes_the_prompt_at_once_and_nothing_reopens_it() {
        let mut log = TaskLog::default();
        log.push_text(ASK_R1);
        log.answer_sent("r1", &Secret::new("Athens"));
        assert_eq!(pending(&log), None, "closed before the echo");
        assert!(log.was_sent("r1") && !log.was_answered("r1") && log.is_settled("r1"));
        assert_eq!(log.unconfirmed_answer().unwrap().request_id, "r1");
        // A reconnect meanwhile: its status (a snapshot) still waits on r1, its replay
        // repeats the request (dropped) — neither asks again.
        log.push_text(
            r#"{"type":"status","data":{"status":"WAITING_FOR_INPUT","input_request_id":"r1"}}"#,
        );
        log.push_text(ASK_R1);
        assert_eq!(pending(&log), None);
        // The echo confirms it; the next question opens.
        log.push_text(r#"{"type":"input_response","id":"1-1","request_id":"r1","data":"Athens"}"#);
        assert!(log.was_answered("r1"));
        assert_eq!(log.unconfirmed_answer(), None);
        log.push_text(r#"{"type":"input_request","id":"1-2","request_id":"r2","data":"Date?"}"#);
        assert_eq!(pending(&log), Some(("r2".into(), Some("Date?".into()))));
    }

    #[test]
    fn an_undelivered_answer_reopens_its_prompt_unless_it_was_answered() {
        let mut log = TaskLog::default();
        log.push_text(ASK_R1);
        log.answer_sent("r1", &Secret::new("Athens"));
        log.answer_failed("r1");
        assert_eq!(pending(&log), Some(("r1".into(), Some("City?".into()))));
        assert!(!log.was_sent("r1"));
        // Sent again, and someone else's answer is echoed first: failing changes nothing.
        log.answer_sent("r1", &Secret::new("Athens"));
        log.push_text(r#"{"type":"input_response","id":"1-1","request_id":"r1","data":"Rome"}"#);
        log.answer_failed("r1");
        assert_eq!(pending(&log), None);
        // A failure for an answer never sent, or after the end, reopens nothing.
        log.answer_failed("nope");
        log.push_text(r#"{"type":"input_request","id":"1-2","request_id":"r2","data":"Date?"}"#);
        log.answer_sent("r2", &Secret::new("today"));
        log.push_text(r#"{"type":"status","data":{"status":"COMPLETED"}}"#);
        log.answer_failed("r2");
        assert_eq!(pending(&log), None);
        assert_eq!(log.unconfirmed_answer(), None);
    }

    #[test]
    fn a_status_ahead_of_its_request_waits_for_the_question() {
        let mut log = TaskLog::default();
        log.push_text(
            r#"{"type":"status","data":{"status":"WAITING_FOR_INPUT","input_request_id":"r7"}}"#,
        );
        assert_eq!(
            pending(&log),
            Some(("r7".into(), None)),
            "no text: not asked"
        );
        log.push_text(r#"{"id":"5-0","type":"input_request","request_id":"r7","data":"Name?","password":"False"}"#);
        let p = log.pending_prompt().unwrap();
        assert_eq!((p.prompt.as_deref(), p.password), (Some("Name?"), false));
        // Named again after it was dismissed (its replay is a duplicate): whole at once.
        log.dismiss_prompt();
        log.push_text(
            r#"{"type":"status","data":{"status":"WAITING_FOR_INPUT","input_request_id":"r7"}}"#,
        );
        assert_eq!(pending(&log), Some(("r7".into(), Some("Name?".into()))));
    }
}
