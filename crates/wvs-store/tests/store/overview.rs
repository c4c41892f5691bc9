//! What the overview counts: hooks by alert state, and attempts over time.

use super::*;

pub(crate) async fn check_hook_alert_counts(store: &dyn Store) {
    let now = 10_000;
    hook(store, HookOwner::System).await;
    let resting = hook(store, HookOwner::System).await;
    let dead = hook(store, HookOwner::System).await;
    store
        .set_hook_health(
            resting.id,
            HookHealth {
                recent_failures: 4,
                backoff_count: 1,
                disabled_until: Some(Millis(now + 60_000)),
                permanently_disabled: false,
            },
        )
        .await
        .unwrap();
    store
        .set_hook_health(
            dead.id,
            HookHealth {
                recent_failures: 40,
                backoff_count: 0,
                disabled_until: None,
                permanently_disabled: true,
            },
        )
        .await
        .unwrap();
    let counts = store.hook_alert_counts(Millis(now)).await.unwrap();
    assert_eq!(
        counts,
        HookAlertCounts {
            executable: 1,
            temporarily_disabled: 1,
            disabled: 1
        }
    );
    // The hooks counted, to list them.
    let resting_ids = store.disabled_hook_ids(Millis(now), false).await.unwrap();
    assert_eq!(resting_ids, [resting.id]);
    assert_eq!(
        store.disabled_hook_ids(Millis(now), true).await.unwrap(),
        [dead.id]
    );
    // Once the backoff ends, the hook counts as executable again.
    let later = store
        .hook_alert_counts(Millis(now + 120_000))
        .await
        .unwrap();
    assert_eq!(later.executable, 2);
    assert!(
        store
            .disabled_hook_ids(Millis(now + 120_000), false)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Attempts per minute (2xx apart from the rest) and the slowest hooks, since a time.
pub(crate) async fn check_activity(store: &dyn Store) {
    let fast = hook(store, HookOwner::System).await;
    let slow = hook(store, HookOwner::System).await;
    let minute = 60_000;
    let logged = [
        (fast.id, Some(200), 10 * minute + 5, 0.1),
        (fast.id, Some(500), 10 * minute + 9, 0.1),
        (slow.id, None, 11 * minute + 1, 3.0),
        (slow.id, Some(204), 11 * minute + 2, 1.0),
        // Before the span: not counted.
        (fast.id, Some(200), 9 * minute, 0.1),
    ];
    for (hook_id, status, at, seconds) in logged {
        let mut row = attempt(hook_id, None, None, Outcome::Succeeded, status, Millis(at));
        row.execution_duration = seconds;
        store.log_attempt(row, &KeepHealth).await.unwrap();
    }
    let activity = store.activity(Millis(10 * minute), 5).await.unwrap();
    assert_eq!(
        activity.per_minute,
        vec![
            MinuteActivity {
                minute: Millis(10 * minute),
                succeeded: 1,
                failed: 1
            },
            MinuteActivity {
                minute: Millis(11 * minute),
                succeeded: 1,
                failed: 1
            },
        ]
    );
    let slowest: Vec<(HookId, u64)> = activity
        .slowest_hooks
        .iter()
        .map(|h| (h.hook_id, h.attempts))
        .collect();
    assert_eq!(slowest, vec![(slow.id, 2), (fast.id, 2)]);
    assert!((activity.slowest_hooks[0].mean_seconds - 2.0).abs() < 1e-9);
    assert_eq!(
        store
            .activity(Millis(10 * minute), 1)
            .await
            .unwrap()
            .slowest_hooks
            .len(),
        1
    );
}
