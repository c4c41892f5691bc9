//! Adaptive per-hook concurrency: how many deliveries of each hook this node lets be in
//! flight, learnt from the hook's receiver as TCP's congestion window and Netflix's
//! concurrency limiters learn theirs (additive increase, multiplicative decrease).
//!
//! - Each answer that comes back quickly, while the limit is in use (at least half of it in
//!   flight), raises the limit by one, up to the ceiling.
//! - A timeout, a connection error, a 5xx or a 429 cuts it in half; an answer whose smoothed
//!   latency has risen well over the hook's usual one cuts it by a tenth. Attempts sent
//!   before the last cut were sent at the old concurrency, so they do not cut again: at most
//!   one cut per round of requests, as in TCP.
//! - It never goes under one.
//!
//! The claim enforces the limits ([`HookLimits::caps`]); a hook's `max_in_flight` stays a
//! hard cap above them, and an ordered hook keeps one in flight whatever its limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use wvs_send::AttemptResult;
use wvs_store::{Hook, HookId};

/// Where a hook's limit starts: what every hook had before limits adapted.
pub const INITIAL_LIMIT: u32 = 4;
/// The cut after a sign of overload (timeout, connection error, 5xx, 429).
const OVERLOAD_BACKOFF: f64 = 0.5;
/// The cut after latency rose.
const LATENCY_BACKOFF: f64 = 0.9;
/// Latency has risen when the recent average is this many times the usual one...
const LATENCY_TOLERANCE: f64 = 2.0;
/// ... and longer by at least this much (loopback answers jitter by fractions of a ms).
const LATENCY_FLOOR: Duration = Duration::from_millis(10);
/// Weights of a new answer's duration in the recent and the usual average.
const RECENT_WEIGHT: f64 = 0.25;
const USUAL_WEIGHT: f64 = 0.01;

/// What an attempt says about its receiver's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// It answered (2xx, 3xx, or a 4xx other than 429): it had room for the request.
    Answered,
    /// It timed out, refused or dropped the connection, or answered 5xx or 429.
    Overloaded,
    /// Nothing was learnt: the request was never sent (refused by the outbound guard, or
    /// impossible to build).
    Unknown,
}

impl Signal {
    pub fn of(result: &AttemptResult) -> Signal {
        match result.status {
            Some(429 | 500..=599) => Signal::Overloaded,
            Some(_) => Signal::Answered,
            None if result.permanent || never_sent(result) => Signal::Unknown,
            None => Signal::Overloaded,
        }
    }
}

/// The request was never sent: it could not be built (no headers), or the outbound guard
/// refused its destination.
fn never_sent(result: &AttemptResult) -> bool {
    result.request_headers.is_empty()
        || result
            .error
            .as_deref()
            .is_some_and(|error| error.starts_with("blocked: "))
}

/// Every hook's limit on this node, with the ceiling none passes.
pub struct HookLimits {
    ceiling: u32,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    hooks: HashMap<HookId, Adaptive>,
    /// The caps as last handed to a claim; `None` once a limit changed.
    caps: Option<Arc<HashMap<HookId, u32>>>,
}

/// One hook's limit and what it is learnt from.
struct Adaptive {
    limit: f64,
    /// Its deliveries in flight on this node.
    in_flight: u32,
    /// Smoothed durations of answered attempts, in seconds: recent and usual.
    recent: f64,
    usual: f64,
    /// Attempts started before this were sent at the concurrency before the last cut.
    last_cut: Instant,
}

impl Adaptive {
    fn new(ceiling: u32) -> Adaptive {
        Adaptive {
            limit: f64::from(INITIAL_LIMIT.min(ceiling)),
            in_flight: 0,
            recent: 0.0,
            usual: 0.0,
            last_cut: Instant::now(),
        }
    }

    fn cap(&self) -> u32 {
        // The limit is kept between 1 and the ceiling: the cast cannot overflow.
        self.limit.floor() as u32
    }

    /// Folds in an answer's duration; whether latency has risen.
    fn latency_rose(&mut self, took: Duration) -> bool {
        let took = took.as_secs_f64();
        if self.usual == 0.0 {
            (self.recent, self.usual) = (took, took);
            return false;
        }
        self.recent += RECENT_WEIGHT * (took - self.recent);
        self.usual += USUAL_WEIGHT * (took - self.usual);
        self.recent > self.usual * LATENCY_TOLERANCE
            && self.recent - self.usual > LATENCY_FLOOR.as_secs_f64()
    }
}

/// One delivery in flight, from [`HookLimits::started`] to [`HookLimits::finished`].
#[must_use]
pub struct Ticket {
    hook: HookId,
    started: Instant,
}

impl HookLimits {
    /// `ceiling`: the most any hook's limit reaches (at least 1).
    pub fn new(ceiling: u32) -> HookLimits {
        HookLimits {
            ceiling: ceiling.max(1),
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent at every await-free step: a panic elsewhere cannot
        // leave it half changed.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts following these hooks (at the initial limit) if they are new: a hook's first
    /// claim then respects its limit too.
    pub fn know(&self, hooks: impl IntoIterator<Item = HookId>) {
        let mut state = self.state();
        let mut added = false;
        for hook in hooks {
            state.hooks.entry(hook).or_insert_with(|| {
                added = true;
                Adaptive::new(self.ceiling)
            });
        }
        if added {
            state.caps = None;
        }
    }

    /// Stops following a hook that is gone.
    pub fn forget(&self, hook: HookId) {
        let mut state = self.state();
        if state.hooks.remove(&hook).is_some() {
            state.caps = None;
        }
    }

    /// Every followed hook's current limit, for the claim.
    pub fn caps(&self) -> Arc<HashMap<HookId, u32>> {
        let mut state = self.state();
        if let Some(caps) = &state.caps {
            return caps.clone();
        }
        let caps: Arc<HashMap<HookId, u32>> = Arc::new(
            state
                .hooks
                .iter()
                .map(|(id, hook)| (*id, hook.cap()))
                .collect(),
        );
        state.caps = Some(caps.clone());
        caps
    }

    /// The deliveries `hook` may have in flight now, as the API, the page and the metrics
    /// show it: its adaptive limit under its `max_in_flight`, one for an ordered hook.
    pub fn shown(&self, hook: &Hook) -> u32 {
        if hook.limits.ordered {
            return 1;
        }
        let adaptive = self
            .state()
            .hooks
            .get(&hook.id)
            .map_or(INITIAL_LIMIT.min(self.ceiling), Adaptive::cap);
        adaptive.min(hook.limits.max_in_flight)
    }

    /// Every followed hook's adaptive limit (without its `max_in_flight`), for the metrics.
    pub fn all(&self) -> Vec<(HookId, u32)> {
        let state = self.state();
        state
            .hooks
            .iter()
            .map(|(id, hook)| (*id, hook.cap()))
            .collect()
    }

    /// A delivery of `hook` is being sent.
    pub fn started(&self, hook: HookId) -> Ticket {
        let mut state = self.state();
        let ceiling = self.ceiling;
        if !state.hooks.contains_key(&hook) {
            state.caps = None;
        }
        state
            .hooks
            .entry(hook)
            .or_insert_with(|| Adaptive::new(ceiling))
            .in_flight += 1;
        Ticket {
            hook,
            started: Instant::now(),
        }
    }

    /// The delivery of `ticket` ended with `signal` after `took` (the HTTP exchange).
    pub fn finished(&self, ticket: Ticket, signal: Signal, took: Duration) {
        let mut state = self.state();
        let Some(hook) = state.hooks.get_mut(&ticket.hook) else {
            return;
        };
        let in_use = hook.in_flight.saturating_mul(2) >= hook.cap();
        hook.in_flight = hook.in_flight.saturating_sub(1);
        let before = hook.cap();
        let backoff = match signal {
            Signal::Unknown => None,
            Signal::Overloaded => Some(OVERLOAD_BACKOFF),
            Signal::Answered if hook.latency_rose(took) => Some(LATENCY_BACKOFF),
            Signal::Answered => {
                if in_use {
                    hook.limit = (hook.limit + 1.0).min(f64::from(self.ceiling));
                }
                None
            }
        };
        if let Some(backoff) = backoff
            && ticket.started >= hook.last_cut
        {
            hook.limit = (hook.limit * backoff).max(1.0);
            hook.last_cut = Instant::now();
        }
        if hook.cap() != before {
            state.caps = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Duration = Duration::from_millis(1);

    fn cap_of(limits: &HookLimits, hook: HookId) -> u32 {
        limits.caps()[&hook]
    }

    /// Sends `n` deliveries of `hook` at once and ends them all with `signal`.
    fn round(limits: &HookLimits, hook: HookId, n: u32, signal: Signal, took: Duration) {
        let tickets: Vec<Ticket> = (0..n).map(|_| limits.started(hook)).collect();
        for ticket in tickets {
            limits.finished(ticket, signal, took);
        }
    }

    #[test]
    fn answers_raise_the_limit_while_it_is_in_use_up_to_the_ceiling() {
        let limits = HookLimits::new(10);
        limits.know([HookId(7)]);
        assert_eq!(cap_of(&limits, HookId(7)), INITIAL_LIMIT);
        round(&limits, HookId(7), 4, Signal::Answered, QUICK);
        // Ending with 4, then 3 in flight (of 4, then 5): two answers while in use.
        assert_eq!(
            cap_of(&limits, HookId(7)),
            6,
            "one per answer while half is in use"
        );
        round(&limits, HookId(7), 16, Signal::Answered, QUICK);
        assert_eq!(cap_of(&limits, HookId(7)), 10, "the ceiling");
    }

    #[test]
    fn a_limit_not_in_use_does_not_grow() {
        let limits = HookLimits::new(64);
        for _ in 0..20 {
            round(&limits, HookId(1), 1, Signal::Answered, QUICK);
        }
        assert_eq!(
            cap_of(&limits, HookId(1)),
            INITIAL_LIMIT,
            "one in flight of four"
        );
    }

    #[test]
    fn overload_halves_the_limit_once_per_round_down_to_one() {
        let limits = HookLimits::new(64);
        round(&limits, HookId(3), 32, Signal::Answered, QUICK);
        let grown = cap_of(&limits, HookId(3));
        assert!(grown > 16, "{grown}");
        round(&limits, HookId(3), grown, Signal::Overloaded, QUICK);
        assert_eq!(
            cap_of(&limits, HookId(3)),
            grown / 2,
            "a round of failures: one cut"
        );
        for _ in 0..5 {
            round(&limits, HookId(3), 1, Signal::Overloaded, QUICK);
        }
        assert_eq!(cap_of(&limits, HookId(3)), 1, "never under one");
    }

    #[test]
    fn rising_latency_cuts_the_limit() {
        let limits = HookLimits::new(64);
        round(
            &limits,
            HookId(5),
            32,
            Signal::Answered,
            Duration::from_millis(5),
        );
        let grown = cap_of(&limits, HookId(5));
        let mut cut = false;
        for _ in 0..10 {
            round(
                &limits,
                HookId(5),
                1,
                Signal::Answered,
                Duration::from_millis(200),
            );
            cut |= cap_of(&limits, HookId(5)) < grown;
        }
        assert!(cut, "answers forty times slower than usual cut the limit");
    }

    #[test]
    fn nothing_learnt_changes_nothing() {
        let limits = HookLimits::new(64);
        round(&limits, HookId(9), 4, Signal::Unknown, QUICK);
        assert_eq!(cap_of(&limits, HookId(9)), INITIAL_LIMIT);
    }

    #[test]
    fn signals_of_results() {
        let sent = |status| AttemptResult {
            status,
            request_headers: vec![("X-WVS-Event".into(), "Push Hook".into())],
            ..AttemptResult::default()
        };
        assert_eq!(Signal::of(&sent(Some(200))), Signal::Answered);
        assert_eq!(Signal::of(&sent(Some(404))), Signal::Answered);
        assert_eq!(Signal::of(&sent(Some(429))), Signal::Overloaded);
        assert_eq!(Signal::of(&sent(Some(503))), Signal::Overloaded);
        assert_eq!(Signal::of(&sent(None)), Signal::Overloaded, "a timeout");
        assert_eq!(
            Signal::of(&AttemptResult::default()),
            Signal::Unknown,
            "never sent"
        );
    }
}
