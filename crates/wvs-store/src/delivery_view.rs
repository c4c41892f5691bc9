//! What the Deliveries pages ask of the store, and what it answers: deliveries with the
//! state an operator reads (a pending delivery of a disabled hook is *held*, one that failed
//! before and waits for its next try is *retrying*), filtered and paged, each with its
//! attempts.

use crate::model::{AttemptId, DeliveryId, EventId, HookId, Millis};

/// Where a delivery stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its first attempt.
    Pending,
    /// Waiting while its hook is disabled: it goes when the hook sends again.
    Held,
    /// Failed before; waiting for its next attempt.
    Retrying,
    /// Being sent now.
    InFlight,
    /// Given up after its last attempt (resendable).
    Failed,
    Succeeded,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 6] = [
        DeliveryState::Pending,
        DeliveryState::Held,
        DeliveryState::Retrying,
        DeliveryState::InFlight,
        DeliveryState::Failed,
        DeliveryState::Succeeded,
    ];

    /// The state's name in queries and filters (`in_flight`).
    pub fn name(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Held => "held",
            DeliveryState::Retrying => "retrying",
            DeliveryState::InFlight => "in_flight",
            DeliveryState::Failed => "failed",
            DeliveryState::Succeeded => "succeeded",
        }
    }

    pub fn parse(name: &str) -> Option<DeliveryState> {
        Self::ALL.into_iter().find(|state| state.name() == name)
    }

    /// It will be attempted again without anyone asking (so a resend is not needed).
    pub fn will_be_sent(self) -> bool {
        matches!(
            self,
            DeliveryState::Pending
                | DeliveryState::Held
                | DeliveryState::Retrying
                | DeliveryState::InFlight
        )
    }
}

/// Which states a listing keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStates {
    Any,
    /// Every state but succeeded: what still waits, and what was given up.
    Undelivered,
    /// What will still be sent without anyone asking: pending, held, retrying, in flight.
    Waiting,
    Only(DeliveryState),
}

/// A listing of deliveries; every part left `None` keeps all.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryFilter {
    /// One hook's deliveries, or the whole instance's.
    pub hook_id: Option<HookId>,
    pub states: DeliveryStates,
    /// The delivery's trigger as logged (`push_hooks`).
    pub trigger: Option<String>,
    pub event_uuid: Option<String>,
    /// Events received at or after this time...
    pub from: Option<Millis>,
    /// ...and before this one.
    pub to: Option<Millis>,
}

/// One delivery (an event to one hook) with its attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub hook_id: HookId,
    pub event_id: EventId,
    pub event_uuid: String,
    /// When the event was received.
    pub event_at: Millis,
    pub trigger: String,
    pub state: DeliveryState,
    /// When it is due next (pending, held, retrying); for a held delivery the hook's own
    /// wait comes on top.
    pub next_attempt_at: Millis,
    /// Its attempts (those of the queue and resends of the same event), oldest first.
    pub attempts: Vec<AttemptSummary>,
}

/// One attempt, as a delivery's line shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptSummary {
    pub id: AttemptId,
    pub response_status: Option<u16>,
    pub internal_error: Option<String>,
    pub created_at: Millis,
}
